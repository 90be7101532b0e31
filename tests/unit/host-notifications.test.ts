// Which host events become desktop notifications, and that each kind can be turned off.
import { describe, expect, it } from "vitest";
import { idleAgentSnapshot, type AgentSnapshot, type HostEvent, type JobSummary } from "../../agent-core/host/contract.js";
import { NotificationWatcher, type NotificationSettings } from "../../agent-core/host/notifications.js";

const ALL: NotificationSettings = { notifyJobs: true, notifyConnection: true, notifyPauses: true };
const summary = (patch: Partial<JobSummary>): JobSummary => ({
  id: "job-1",
  mode: "semaphore",
  result: "passed",
  startedAt: 1,
  finishedAt: 2,
  durationMs: 1,
  events: 1,
  bytes: 1,
  identity: null,
  problem: null,
  stoppedBy: null,
  agentId: null,
  agentName: null,
  usage: null,
  ...patch,
});
const agentEvent = (patch: Partial<AgentSnapshot>): HostEvent => ({ type: "agent", agent: idleAgentSnapshot({ phase: "waiting-for-jobs", ...patch }) });

describe("NotificationWatcher", () => {
  it("a finished job, with why the agent stopped it", () => {
    const w = new NotificationWatcher();
    expect(w.onEvent({ type: "job-finished", job: summary({}) }, ALL)).toEqual([{ kind: "jobs", title: "Job passed", body: "job-1" }]);
    expect(w.onEvent({ type: "job-finished", job: summary({ result: "stopped", stoppedBy: "Stopped by you" }) }, ALL)).toEqual([
      { kind: "jobs", title: "Job was stopped", body: "job-1: Stopped by you" },
    ]);
    expect(w.onEvent({ type: "job-finished", job: summary({ result: "failed" }) }, { ...ALL, notifyJobs: false })).toEqual([]);
  });

  it("the agent cannot connect: once, when it starts failing", () => {
    const w = new NotificationWatcher();
    expect(w.onEvent(agentEvent({}), ALL)).toEqual([]);
    const failing = agentEvent({ error: { scope: "sync", message: "Can't reach acme.semaphoreci.com", at: 1, retryAt: 2 } });
    expect(w.onEvent(failing, ALL)).toEqual([{ kind: "connection", title: "The agent cannot connect", body: "Can't reach acme.semaphoreci.com" }]);
    expect(w.onEvent(failing, ALL)).toEqual([]);
  });

  it("pause changes: not taking jobs (with the line), lending again; off when turned off", () => {
    const w = new NotificationWatcher();
    w.onEvent(agentEvent({}), ALL);
    const snoozed = agentEvent({
      phase: "idle",
      hold: { kind: "snoozed", reason: "Snoozed until 18:00", since: 1, next: "resumes at 18:00", until: 2 },
      lending: { ...idleAgentSnapshot().lending, kind: "snoozed", line: "Snoozed until 18:00 (resumes at 18:00)" },
    });
    expect(w.onEvent(snoozed, ALL)).toEqual([{ kind: "pauses", title: "Not taking jobs", body: "Snoozed until 18:00 (resumes at 18:00)" }]);
    expect(w.onEvent(agentEvent({ phase: "registering" }), ALL)).toEqual([{ kind: "pauses", title: "Lending again", body: "The agent takes jobs again." }]);
    expect(w.onEvent(snoozed, { ...ALL, notifyPauses: false })).toEqual([]);
  });
});
