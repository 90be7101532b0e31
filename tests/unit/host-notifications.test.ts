// Which host events become desktop notifications, and that each kind can be turned off.
import { describe, expect, it } from "vitest";
import { idleAgentSnapshot, type AgentSnapshot, type HostEvent, type JobSummary } from "../../agent-core/host/contract.js";
import { NotificationWatcher, type NotificationSettings } from "../../agent-core/host/notifications.js";
import { jobSummary } from "../helpers/fixtures.js";

const ALL: NotificationSettings = { notifyJobs: true, notifyConnection: true, notifyPauses: true };
const summary = (patch: Partial<JobSummary>): JobSummary => jobSummary("job-1", patch);
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

  it("several agents: each is followed by its id (one's change is not another's), and named", () => {
    const w = new NotificationWatcher();
    const gpu = (id: string, patch: Partial<AgentSnapshot> = {}) => agentEvent({ id, name: `box-${id}`, ...patch });
    const agentOf = (e: HostEvent) => (e as Extract<HostEvent, { type: "agent" }>).agent;
    w.onEvent({ type: "agents", agents: [agentOf(gpu("gpu0")), agentOf(gpu("gpu1"))] }, ALL);
    expect(w.onEvent(gpu("gpu0"), ALL)).toEqual([]);
    const hot = gpu("gpu1", { phase: "idle", hold: { kind: "gpu", reason: "GPU 1 is too hot (90 °C, your limit 85 °C)", since: 1, next: null, until: null } });
    expect(w.onEvent(hot, ALL)).toEqual([{ kind: "pauses", title: "Not taking jobs", body: "box-gpu1: GPU 1 is too hot (90 °C, your limit 85 °C)" }]);
    // gpu0 carrying on is no change; gpu1 again is none either.
    expect(w.onEvent(gpu("gpu0"), ALL)).toEqual([]);
    expect(w.onEvent(hot, ALL)).toEqual([]);
    const failing = gpu("gpu0", { error: { scope: "sync", message: "Can't reach acme.semaphoreci.com", at: 1, retryAt: 2 } });
    expect(w.onEvent(failing, ALL)).toEqual([{ kind: "connection", title: "The agent cannot connect", body: "box-gpu0: Can't reach acme.semaphoreci.com" }]);
    expect(w.onEvent(gpu("gpu1", { phase: "waiting-for-jobs" }), ALL)).toEqual([{ kind: "pauses", title: "Lending again", body: "box-gpu1: The agent takes jobs again." }]);
  });
});
