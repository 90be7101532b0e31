// The Host keeps each job's plan (the directives of its commands and of each kind of epilogue) and who
// stopped it, for the UI only: through a real agent against a real in-process hub, the JobDetail is
// right live and after the history is reopened, while what the hub recorded is exactly what the
// agent always sends (the same directives, in the runner's order, with no violation).
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJobRequest, startHub, type Hub } from "../../hub/hub.js";
import type { HostEvent, JobDetail, JobLogEvent, SettingsInput } from "../../agent-core/host/contract.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { waitUntil } from "../helpers/jobs.js";
import { FAST_TIMINGS, stopAll, tempDir } from "../helpers/processes.js";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, registerAttempts: 3, appRetryFirstMs: 100, appRetryMaxMs: 400 };
const ENV = "Exporting environment variables";
const FILES = "Injecting Files";


let hub: Hub;
let dataDir: string;
let home: string;
let host: Host;
let events: HostEvent[];

async function openHost(): Promise<void> {
  host = await Host.open({
    dataDir,
    secretCodec: plainFileCodec(),
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LANG: "C.UTF-8" },
    timings: TIMINGS,
    watchConnectivity: false,
  });
  events = [];
  host.subscribe((e) => events.push(e));
}

const until = <T>(check: () => T | undefined | null | false, what: string, timeoutMs = 30_000): Promise<T> => waitUntil(check, timeoutMs, what);

function settingsFor(overrides: Partial<SettingsInput> = {}): SettingsInput {
  return { ...defaultSettings(), endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken, name: "host-job-plan-agent", ...overrides };
}

const finished = (jobId: string) =>
  events.find((e): e is Extract<HostEvent, { type: "job-finished" }> => e.type === "job-finished" && e.job.id === jobId);
const startedEvent = (jobId: string) =>
  events.find((e): e is Extract<HostEvent, { type: "job-started" }> => e.type === "job-started" && e.job.summary.id === jobId);
const stoppingEvents = (jobId: string) =>
  events.filter((e): e is Extract<HostEvent, { type: "job-stopping" }> => e.type === "job-stopping" && e.job.summary.id === jobId);

function liveEvents(jobId: string): JobLogEvent[] {
  const out: JobLogEvent[] = [];
  for (const e of events) if (e.type === "job-output" && e.jobId === jobId) out.push(...e.events);
  return out;
}

const directives = (log: readonly JobLogEvent[]) => log.flatMap((e) => (e.event === "cmd_started" ? [e.directive] : []));

/** The stop's event is inside the command it ended: after its cmd_started, at or before its cmd_finished. */
function expectStopInside(log: readonly JobLogEvent[], stop: JobDetail["stop"], directive: string): void {
  const start = log.findIndex((e) => e.event === "cmd_started" && e.directive === directive);
  const end = log.findIndex((e) => e.event === "cmd_finished" && e.directive === directive);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(stop).not.toBeNull();
  expect(stop!.atEvent).toBeGreaterThan(start);
  expect(stop!.atEvent).toBeLessThanOrEqual(end);
  expect(log[end]).toMatchObject({ event: "cmd_finished", exit_code: 1 });
}

beforeAll(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  dataDir = tempDir("sa-plan-data-");
  home = tempDir("sa-plan-home-");
  await openHost();
  expect((await host.saveSettings({ settings: settingsFor({ sandbox: "none" }) })).ok).toBe(true);
  await host.startAgent({});
  await until(() => host.agentSnapshot.phase === "waiting-for-jobs", "waiting for jobs");
});

afterAll(async () => {
  await host?.close({ timeoutMs: 10_000 });
  await hub?.close();
  await stopAll(); // removes the temp folders
});

describe("the job's plan and its stop, kept by the host for the UI", () => {
  it("a job failing at command 2 of 4: the plan names every command and each kind of epilogue, live and after a reopen; the hub's log is unchanged", async () => {
    const { job_id: id } = hub.scheduleJob(
      makeJobRequest({
        env: { SECRET_VALUE_NAME: "never-in-the-plan-123" },
        files: [{ path: "plan-file.txt", content: "file-content-never-in-the-plan-456", mode: "0644" }],
        commands: ["echo one", "sh -c 'exit 3'", "echo three", { directive: "echo four", alias: "Step four" }],
        epilogueAlways: ["echo always-1", "echo always-2"],
        epilogueOnPass: ["echo on-pass"],
        epilogueOnFail: [{ directive: "echo on-fail", alias: "Tell someone" }],
      }),
    );
    const done = await until(() => finished(id), `job-finished of ${id}`);
    expect(done.job.result).toBe("failed");
    await hub.waitForJobStatus(id, "finished", 15_000);

    const plan = {
      commands: ["echo one", "sh -c 'exit 3'", "echo three", "Step four"],
      epilogueAlways: ["echo always-1", "echo always-2"],
      epilogueOnPass: ["echo on-pass"],
      epilogueOnFail: ["Tell someone"],
    };
    expect(startedEvent(id)?.job).toMatchObject({ plan, stop: null });
    expect(await host.getJob({ jobId: id })).toMatchObject({ plan, stop: null, summary: { stoppedBy: null } });
    expect(JSON.stringify(startedEvent(id))).not.toContain("never-in-the-plan");

    // What Semaphore got: the runner's directives in its order, untouched; the UI saw the same events.
    const recorded = hub.events(id);
    expect(directives(recorded)).toEqual([ENV, FILES, "echo one", "sh -c 'exit 3'", ENV, "echo always-1", "echo always-2", "Tell someone"]);
    expect(liveEvents(id)).toEqual(recorded);
    expect(hub.violations()).toEqual([]);

    // The history keeps the plan across a restart of the app.
    await host.close({ timeoutMs: 10_000 });
    await openHost();
    expect(await host.getJob({ jobId: id })).toMatchObject({ plan, stop: null, summary: { result: "failed" } });
    expect((await host.getSnapshot({})).history.find((j) => j.id === id)?.result).toBe("failed");
    await host.startAgent({});
    await until(() => host.agentSnapshot.phase === "waiting-for-jobs", "waiting for jobs again");
  });

  it("a job stopped at the hub: stopped by Semaphore, at the command that was running, told to the UI at once", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["echo started", "sleep 60", "echo never"], epilogueAlways: ["echo cleanup"] }));
    await hub.waitForEvents(id, (evs) => evs.some((e) => e.event === "cmd_started" && e.directive === "sleep 60"), 20_000);
    await until(() => host.agentSnapshot.jobId === id, `job ${id} running`);
    hub.stopJob(id);
    const stopping = await until(() => stoppingEvents(id)[0], `job-stopping of ${id}`);
    expect(stopping.job).toMatchObject({ summary: { result: "running", stoppedBy: "Stopped by Semaphore" }, stop: { by: "Stopped by Semaphore" } });
    const done = await until(() => finished(id), `job-finished of ${id}`);
    expect(done.job).toMatchObject({ result: "stopped", stoppedBy: "Stopped by Semaphore" });
    // job-stopping came before the end of the log reached the UI.
    const at = (type: string) => events.findIndex((e) => e.type === type && (e.type === "job-stopping" ? e.job.summary.id === id : e.type === "job-finished" ? e.job.id === id : false));
    const lastOutput = events.findLastIndex((e) => e.type === "job-output" && e.jobId === id);
    expect(at("job-stopping")).toBeLessThan(lastOutput);
    expect(at("job-stopping")).toBeLessThan(at("job-finished"));

    const detail = await host.getJob({ jobId: id });
    expect(detail.stop).toEqual(stopping.job.stop);
    expectStopInside(hub.events(id), detail.stop, "sleep 60");
    expect(directives(hub.events(id))).toEqual([ENV, FILES, "echo started", "sleep 60"]);
    expect(liveEvents(id)).toEqual(hub.events(id));
    expect(hub.violations()).toEqual([]);
  });

  it("a job stopped with Stop this job: stopped by you, kept after a reopen", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["echo started", "sleep 60"] }));
    await hub.waitForEvents(id, (evs) => evs.some((e) => e.event === "cmd_started" && e.directive === "sleep 60"), 20_000);
    await until(() => host.agentSnapshot.jobId === id, `job ${id} running`);
    await host.stopJob({ jobId: id });
    const done = await until(() => finished(id), `job-finished of ${id}`);
    expect(done.job).toMatchObject({ result: "stopped", stoppedBy: "Stopped by you" });
    expect(stoppingEvents(id)).toHaveLength(1);
    await hub.waitForJobStatus(id, "finished", 15_000);
    expect(hub.job(id)?.result).toBe("stopped");
    expectStopInside(hub.events(id), (await host.getJob({ jobId: id })).stop, "sleep 60");
    expect(hub.violations()).toEqual([]);

    await host.close({ timeoutMs: 10_000 });
    await openHost();
    const again = await host.getJob({ jobId: id });
    expect(again).toMatchObject({ summary: { result: "stopped", stoppedBy: "Stopped by you" }, stop: { by: "Stopped by you" }, plan: { commands: ["echo started", "sleep 60"] } });
    expectStopInside(hub.events(id), again.stop, "sleep 60");
  });
});
