// The Host with a real agent against a real in-process hub on 127.0.0.1: settings -> start ->
// jobs (live output, history, results) -> stop, and the local demo. Everything is observed through
// the host's own events and API, and checked against what the hub recorded.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJobRequest, startHub, type Hub } from "../../hub/hub.js";
import type { AgentSnapshot, HostEvent, JobLogEvent, SettingsInput } from "../../agent-core/host/contract.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { FAST_TIMINGS, ROOT } from "../helpers/processes.js";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, registerAttempts: 3 };
const SECRET_VALUE = "value-that-must-never-reach-the-ui-42";

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A host on fresh data and home folders, with every event it sends collected. */
async function openHost(): Promise<{ host: Host; events: HostEvent[] }> {
  const home = tempDir("sa-host-home-");
  const host = await Host.open({
    dataDir: tempDir("sa-host-data-"),
    secretCodec: plainFileCodec(),
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LANG: "C.UTF-8" },
    timings: TIMINGS,
    examplesDir: join(ROOT, "examples"),
  });
  const events: HostEvent[] = [];
  host.subscribe((e) => events.push(e));
  return { host, events };
}

/** Polls until `check` gives a value (bounded: a hang fails the test with `what`). */
async function until<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const agentEvents = (events: HostEvent[]) => events.flatMap((e) => (e.type === "agent" ? [e.agent] : []));
const lastAgent = (events: HostEvent[]): AgentSnapshot | undefined => agentEvents(events).at(-1);

function settingsFor(hub: Hub, overrides: Partial<SettingsInput> = {}): SettingsInput {
  return { ...defaultSettings(), endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken, name: "host-integration-agent", ...overrides };
}

/** The events of one job as the UI saw them live: contiguous job-output batches, in order. */
function liveEvents(events: HostEvent[], jobId: string): JobLogEvent[] {
  const out: JobLogEvent[] = [];
  for (const e of events) {
    if (e.type !== "job-output" || e.jobId !== jobId) continue;
    expect(e.from).toBe(out.length);
    out.push(...e.events);
  }
  return out;
}

function finishedEvent(events: HostEvent[], jobId: string) {
  return events.find((e): e is Extract<HostEvent, { type: "job-finished" }> => e.type === "job-finished" && e.job.id === jobId);
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("Host with an agent and a hub", () => {
  let hub: Hub;
  let host: Host;
  let events: HostEvent[];

  beforeAll(async () => {
    hub = await startHub({ nextSyncAfter: 100 });
    ({ host, events } = await openHost());
  });
  afterAll(async () => {
    await host.close({ timeoutMs: 10_000 });
    await hub.close();
  });

  it("refuses to start before it is configured", async () => {
    await expect(host.startAgent({})).rejects.toMatchObject({ code: "invalid-state", message: expect.stringMatching(/not configured/) });
  });

  it("starts with the saved settings and waits for jobs", async () => {
    const saved = await host.saveSettings({ settings: settingsFor(hub) });
    expect(saved).toMatchObject({ ok: true, settings: { configured: true, tokenSet: true } });
    const started = await host.startAgent({});
    expect(started).toMatchObject({ phase: "registering", mode: "semaphore", endpoint: `http://${hub.endpoint}`, stopping: false });
    const waiting = await until(() => agentEvents(events).find((a) => a.phase === "waiting-for-jobs"), "phase waiting-for-jobs");
    expect(waiting.name).toBe("host-integration-agent");
    await until(() => host.agentSnapshot.lastSyncAt !== null, "a first successful sync");
    expect(host.agentSnapshot).toMatchObject({ phase: "waiting-for-jobs", error: null, jobId: null, lastExit: null, startedAt: expect.any(Number) });
    await expect(host.startAgent({})).rejects.toMatchObject({ code: "invalid-state", message: expect.stringMatching(/already running/) });
    await expect(host.startDemo({})).rejects.toMatchObject({ code: "invalid-state" });
  });

  it("runs a job: live output equals the hub's log, the history keeps it", async () => {
    const { job_id: id } = hub.scheduleJob(
      makeJobRequest({
        env: { GREETING: "hello", API_SECRET: SECRET_VALUE },
        commands: ['echo "$GREETING from the host test"', "seq 1 2000", 'printf "no newline at the end"'],
      }),
    );
    const finished = await until(() => finishedEvent(events, id), `job-finished of ${id}`);
    expect(finished.job).toMatchObject({ id, result: "passed", mode: "semaphore" });
    await hub.waitForJobStatus(id, "finished", 15_000);

    const started = events.find((e): e is Extract<HostEvent, { type: "job-started" }> => e.type === "job-started" && e.job.summary.id === id);
    expect(started?.job.envVarNames).toEqual(expect.arrayContaining(["GREETING", "API_SECRET"]));
    expect(started?.job.summary.result).toBe("running");
    const live = liveEvents(events, id);
    expect(live).toEqual(hub.events(id));
    expect(live.at(-1)).toMatchObject({ event: "job_finished", result: "passed" });
    // Order: job-started, then every output, then job-finished.
    const jobOf = (e: HostEvent) => (e.type === "job-started" ? e.job.summary.id : e.type === "job-output" ? e.jobId : e.type === "job-finished" ? e.job.id : null);
    const positions = (type: HostEvent["type"]) => events.flatMap((e, i) => (e.type === type && jobOf(e) === id ? [i] : []));
    expect(Math.max(...positions("job-started"))).toBeLessThan(Math.min(...positions("job-output")));
    expect(Math.max(...positions("job-output"))).toBeLessThan(Math.min(...positions("job-finished")));

    // The history has the whole log, page by page.
    const stored: JobLogEvent[] = [];
    for (let from = 0, done = false; !done; ) {
      const page = await host.readJobLog({ jobId: id, from, maxBytes: 4096 });
      stored.push(...page.events);
      from = page.next;
      done = page.done;
    }
    expect(stored).toEqual(hub.events(id));
    expect(await host.getJob({ jobId: id })).toMatchObject({ summary: { result: "passed", events: stored.length }, envVarNames: expect.arrayContaining(["API_SECRET"]) });
    expect((await host.listJobs({}))[0]?.id).toBe(id);
    expect(host.agentSnapshot.counts.passed).toBe(1);
    // Values never reach the UI, only names.
    expect(JSON.stringify(events)).not.toContain(SECRET_VALUE);
  });

  it("records a failing job as failed", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["echo about to fail", "false", "echo never"] }));
    expect((await until(() => finishedEvent(events, id), `job-finished of ${id}`)).job.result).toBe("failed");
    expect((await host.getJob({ jobId: id })).summary.result).toBe("failed");
    expect((await host.listJobs({ result: "failed" })).map((j) => j.id)).toEqual([id]);
  });

  it("records a job stopped at the hub as stopped", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["echo started", "sleep 60"] }));
    await hub.waitForEvents(id, (evs) => evs.some((e) => e.event === "cmd_started" && e.directive === "sleep 60"), 20_000);
    expect(host.agentSnapshot.jobId).toBe(id);
    expect((await host.getSnapshot({})).currentJob?.summary.id).toBe(id);
    hub.stopJob(id);
    expect((await until(() => finishedEvent(events, id), `job-finished of ${id}`)).job.result).toBe("stopped");
    expect(host.agentSnapshot.counts).toEqual({ passed: 1, failed: 1, stopped: 1 });
    const page = await host.readJobLog({ jobId: id, from: 0 });
    expect(page.done).toBe(true);
    expect(page.events.at(-1)).toMatchObject({ event: "job_finished", result: "stopped" });
  });

  it("previews output ahead of the chunking's hold; the events then repeat exactly that text", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["echo first-line; sleep 0.5; printf 'second-line\\n'; sleep 0.3"] }));
    await until(() => finishedEvent(events, id), `job-finished of ${id}`);
    const outputs = events.filter((e): e is Extract<HostEvent, { type: "job-output" }> => e.type === "job-output" && e.jobId === id);
    // What a UI shows that writes previews at once and skips what later events repeat.
    let shown = "";
    let ahead = 0;
    let firstSeenIn: "preview" | "event" | null = null;
    for (const batch of outputs) {
      for (const event of batch.events) {
        if (event.event !== "cmd_output") {
          ahead = 0;
          continue;
        }
        const skip = Math.min(ahead, event.output.length);
        ahead -= skip;
        shown += event.output.slice(skip);
        if (firstSeenIn === null && event.output.includes("first-line")) firstSeenIn = "event";
      }
      if (batch.preview !== undefined) {
        shown += batch.preview;
        ahead += batch.preview.length;
        if (firstSeenIn === null && batch.preview.includes("first-line")) firstSeenIn = "preview";
      }
    }
    expect(firstSeenIn).toBe("preview");
    const logged = hub.events(id).map((e) => (e.event === "cmd_output" ? e.output : "")).join("");
    expect(shown).toBe(logged);
    expect(logged).toContain("first-line\nsecond-line\n");
  });

  it("stops after the running job when asked to", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["sleep 1", "echo done"] }));
    await until(() => host.agentSnapshot.jobId === id, `job ${id} to run`);
    const asked = await host.stopAgent({ when: "after-job" });
    expect(asked).toMatchObject({ stopAfterJob: true, stopping: false });
    expect((await until(() => finishedEvent(events, id), `job-finished of ${id}`)).job.result).toBe("passed");
    const idle = await until(() => (lastAgent(events)?.phase === "idle" ? lastAgent(events) : undefined), "the agent to stop");
    expect(idle).toMatchObject({ stopping: false, stopAfterJob: false, jobId: null, lastExit: { reason: "INTERRUPTED", exitCode: 0, message: "stopped as requested" } });
    expect(hub.violations()).toEqual([]);
  });

  it("stops now when asked, and can start again", async () => {
    await host.startAgent({});
    await until(() => host.agentSnapshot.lastSyncAt !== null, "a first successful sync");
    const stopping = await host.stopAgent({ when: "now" });
    expect(stopping.stopping).toBe(true);
    await expect(host.startAgent({})).rejects.toMatchObject({ code: "invalid-state", message: expect.stringMatching(/still stopping/) });
    await until(() => host.agentSnapshot.phase === "idle", "the agent to stop");
    expect(host.agentSnapshot).toMatchObject({ startedAt: null, lastExit: { reason: "INTERRUPTED", exitCode: 0 } });
    await expect(host.stopAgent({ when: "now" })).rejects.toMatchObject({ code: "invalid-state" });
    expect(hub.violations()).toEqual([]);
  });

  it("stops at once while it cannot even register", async () => {
    hub.injectFault({ target: "register", mode: "hang", count: 1 });
    await host.startAgent({});
    await until(() => hub.requests().some((r) => r.path.endsWith("/register") && r.status === null), "the hanging register request");
    await host.stopAgent({ when: "now" });
    await until(() => host.agentSnapshot.phase === "idle", "the agent to stop");
    expect(host.agentSnapshot.lastExit).toMatchObject({ reason: "INTERRUPTED", exitCode: 0, message: expect.stringMatching(/without waiting/) });
    hub.clearFaults();
  });

  it("explains a failed registration, without the token", async () => {
    const wrong = "wrong-registration-token-0123456789";
    expect((await host.saveSettings({ settings: settingsFor(hub, { token: wrong }) })).ok).toBe(true);
    await host.startAgent({});
    await until(() => host.agentSnapshot.phase === "idle", "the agent to give up registering");
    const exit = host.agentSnapshot.lastExit;
    expect(exit).toMatchObject({ reason: "UNABLE_TO_REGISTER", exitCode: 1 });
    expect(exit?.message).toMatch(new RegExp(`^could not register with http://${hub.endpoint.replace(/\./g, "\\.")}: .*401`));
    expect(JSON.stringify(events)).not.toContain(wrong);
    expect(JSON.stringify(events)).not.toContain(hub.registrationToken);
    expect((await host.saveSettings({ settings: settingsFor(hub) })).ok).toBe(true);
  });

  it("runs the local demo: an example job through the embedded hub", async () => {
    const snapshot = await host.getSnapshot({});
    expect(snapshot.demo.examples.map((e) => e.id)).toEqual(expect.arrayContaining(["hello-world", "long-running"]));
    expect(snapshot.demo.examples[0]).toMatchObject({ id: "hello-world", title: "Hello world", description: expect.stringMatching(/smallest job/) });
    await expect(host.runExample({ exampleId: "hello-world" })).rejects.toMatchObject({ code: "invalid-state" });

    const demo = await host.startDemo({});
    expect(demo).toMatchObject({ running: true, hubUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect(host.agentSnapshot).toMatchObject({ mode: "demo", endpoint: demo.hubUrl });
    await expect(host.startAgent({})).rejects.toMatchObject({ code: "invalid-state" });
    await expect(host.runExample({ exampleId: "../package" })).rejects.toMatchObject({ code: "not-found" });

    const { jobId } = await host.runExample({ exampleId: "hello-world" });
    const finished = await until(() => finishedEvent(events, jobId), `the demo job ${jobId}`);
    expect(finished.job).toMatchObject({ result: "passed", mode: "demo" });
    const output = liveEvents(events, jobId).flatMap((e) => (e.event === "cmd_output" ? [e.output] : [])).join("");
    expect(output).toContain("this job ran through a local hub");

    const stopped = await host.stopDemo({});
    expect(stopped).toMatchObject({ running: false, hubUrl: null });
    expect(host.agentSnapshot).toMatchObject({ phase: "idle", mode: "demo", lastExit: { exitCode: 0 } });
    // The saved settings were not touched by the demo.
    expect((await host.getSettings({})).endpoint).toBe(hub.endpoint);
    expect(events.some((e) => e.type === "demo" && !e.demo.running)).toBe(true);
  });
});

describe("Host.close", () => {
  it("stops a running agent and its job before it returns", async () => {
    const hub = await startHub({ nextSyncAfter: 100 });
    const { host, events } = await openHost();
    try {
      expect((await host.saveSettings({ settings: settingsFor(hub) })).ok).toBe(true);
      await host.startAgent({});
      const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["sleep 60"] }));
      await hub.waitForJobStatus(id, "running", 20_000);
      await host.close();
      expect(finishedEvent(events, id)?.job.result).toBe("stopped");
      expect(host.agentSnapshot).toMatchObject({ phase: "idle", lastExit: { reason: "INTERRUPTED", exitCode: 0, message: "stopped as requested" } });
      expect(hub.job(id)?.result).toBe("stopped");
      expect(hub.violations()).toEqual([]);
      await expect(host.startAgent({})).rejects.toMatchObject({ code: "invalid-state" });
    } finally {
      await host.close();
      await hub.close();
    }
  });

  it("aborts an agent whose server stops answering, once the timeout is over", async () => {
    const hub = await startHub({ nextSyncAfter: 100 });
    const { host } = await openHost();
    try {
      expect((await host.saveSettings({ settings: settingsFor(hub) })).ok).toBe(true);
      await host.startAgent({});
      await until(() => host.agentSnapshot.lastSyncAt !== null, "a first successful sync");
      hub.injectFault({ target: "sync", mode: "hang", count: 1000 });
      await host.close({ timeoutMs: 500 });
      expect(host.agentSnapshot).toMatchObject({ phase: "idle", lastExit: { reason: "INTERRUPTED", message: expect.stringMatching(/without waiting/) } });
    } finally {
      await host.close();
      await hub.close();
    }
  });
});
