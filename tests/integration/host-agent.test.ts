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

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, registerAttempts: 3, appRetryFirstMs: 100, appRetryMaxMs: 400 };
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

  it("knows whose job it is: identity in the snapshot, history and search; other values stay secret", async () => {
    const { job_id: id } = hub.scheduleJob(
      makeJobRequest({
        env: {
          SEMAPHORE_PROJECT_NAME: "api-server",
          SEMAPHORE_JOB_NAME: "Unit tests",
          SEMAPHORE_GIT_BRANCH: "feature/parser",
          SEMAPHORE_GIT_SHA: "0123456789abcdef0123456789abcdef01234567",
          SEMAPHORE_GIT_COMMIT_AUTHOR: "alice",
          SEMAPHORE_ORGANIZATION_URL: "https://acme.semaphoreci.com",
          API_SECRET: SECRET_VALUE,
        },
        commands: ["sleep 0.3"],
      }),
    );
    const running = await until(() => agentEvents(events).find((a) => a.jobId === id && a.jobIdentity !== null), "the running job's identity");
    expect(running.jobIdentity).toMatchObject({ projectName: "api-server", branch: "feature/parser", commitAuthor: "alice" });
    const finished = await until(() => finishedEvent(events, id), `job-finished of ${id}`);
    expect(finished.job.identity).toMatchObject({ projectName: "api-server", jobName: "Unit tests", sha: "0123456789abcdef0123456789abcdef01234567" });
    expect((await host.listJobs({ project: "api-server" })).map((j) => j.id)).toEqual([id]);
    expect((await host.listJobs({ branch: "feature/parser" })).map((j) => j.id)).toEqual([id]);
    expect((await host.listJobs({ search: "ALICE" })).map((j) => j.id)).toEqual([id]);
    expect(await host.listJobs({ project: "other" })).toEqual([]);
    expect(events.some((e) => e.type === "activity" && e.message.includes("api-server · Unit tests (branch feature/parser @ 0123456 by alice)"))).toBe(true);
    expect(JSON.stringify(events)).not.toContain(SECRET_VALUE);
  });

  it("keeps the reason of a job the agent would not run, naming the field", async () => {
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ executor: "k8s", commands: ["echo never"] }));
    const finished = await until(() => finishedEvent(events, id), `job-finished of ${id}`);
    expect(finished.job).toMatchObject({ result: "failed", events: 0, problem: expect.stringMatching(/^executor: unknown executor 'k8s'/) });
    expect((await host.getJob({ jobId: id })).summary.problem).toMatch(/executor/);
    expect(hub.events(id)).toEqual([]);
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

  it("explains a refused registration token in words, without the token, and keeps trying", async () => {
    const wrong = "wrong-registration-token-0123456789";
    expect((await host.saveSettings({ settings: settingsFor(hub, { token: wrong }) })).ok).toBe(true);
    const before = events.length;
    await host.startAgent({});
    // The app's agent never gives up while it is switched on: it stays "registering", says why, and
    // when it tries next, with the back-off growing from appRetryFirstMs.
    const failing = await until(() => {
      const a = host.agentSnapshot;
      return a.phase === "registering" && a.error?.scope === "register" ? a : null;
    }, "a registration error");
    expect(failing.error?.message).toMatch(/^The registration token was refused \(HTTP 401\)\. Copy the agent type's registration token again/);
    expect(failing.error?.retryAt).toBeGreaterThan(failing.error!.at);
    const attempts = () => hub.requests().filter((r) => r.path.endsWith("/register")).length;
    const seen = attempts();
    await until(() => attempts() >= seen + 2, "two more registration attempts");
    expect(host.agentSnapshot.phase).toBe("registering");
    expect(host.agentSnapshot.lastExit === null || host.agentSnapshot.lastExit.reason !== "UNABLE_TO_REGISTER").toBe(true);
    await host.stopAgent({ when: "now" });
    await until(() => host.agentSnapshot.phase === "idle", "the agent to stop");
    expect(JSON.stringify(events.slice(before))).not.toContain(wrong);
    expect(JSON.stringify(events)).not.toContain(hub.registrationToken);
    expect((await host.saveSettings({ settings: settingsFor(hub) })).ok).toBe(true);
  });

  it("reaches the server with no click once it accepts registrations again", async () => {
    hub.injectFault({ target: "register", mode: "500", count: 3 });
    await host.startAgent({});
    const failing = await until(() => (host.agentSnapshot.error?.scope === "register" ? host.agentSnapshot : null), "a registration error");
    expect(failing.error?.message).toMatch(/^Semaphore answered with a server error \(HTTP 500\); it tries again\./);
    await until(() => host.agentSnapshot.phase === "waiting-for-jobs", "waiting for jobs after the refusals", 30_000);
    expect(host.agentSnapshot.error).toBeNull();
    expect(hub.requests().filter((r) => r.path.endsWith("/register") && r.fault === "500")).toHaveLength(3);
    await host.stopAgent({ when: "now" });
    await until(() => host.agentSnapshot.phase === "idle", "the agent to stop");
    expect(hub.violations()).toEqual([]);
  });

  it("Retry now cuts the back-off short", async () => {
    // A back-off far longer than the test: only Retry now can bring the next attempt.
    const slow = await Host.open({
      dataDir: tempDir("sa-host-data-"),
      secretCodec: plainFileCodec(),
      env: { PATH: process.env.PATH, HOME: tempDir("sa-host-home-"), LANG: "C.UTF-8" },
      timings: { ...TIMINGS, appRetryFirstMs: 10 * 60_000, appRetryMaxMs: 10 * 60_000 },
      watchConnectivity: false,
    });
    try {
      expect((await slow.saveSettings({ settings: settingsFor(hub) })).ok).toBe(true);
      hub.injectFault({ target: "register", mode: "500", count: 1 });
      await slow.startAgent({});
      const failing = await until(() => (slow.agentSnapshot.error?.scope === "register" ? slow.agentSnapshot : null), "a registration error");
      expect(failing.error!.retryAt! - failing.error!.at).toBeGreaterThanOrEqual(10 * 60_000);
      await slow.retryNow({});
      await until(() => slow.agentSnapshot.phase === "waiting-for-jobs", "waiting for jobs after Retry now");
    } finally {
      await slow.close({ timeoutMs: 10_000 });
    }
  });

  it("registers again after losing the server for longer than the sync window", async () => {
    const windowed = await Host.open({
      dataDir: tempDir("sa-host-data-"),
      secretCodec: plainFileCodec(),
      env: { PATH: process.env.PATH, HOME: tempDir("sa-host-home-"), LANG: "C.UTF-8" },
      timings: { ...TIMINGS, unableToSyncMs: 1500, disconnectAttempts: 1 },
      watchConnectivity: false,
    });
    const seen: HostEvent[] = [];
    windowed.subscribe((e) => seen.push(e));
    try {
      expect((await windowed.saveSettings({ settings: settingsFor(hub, { name: "host-sync-window-agent" }) })).ok).toBe(true);
      await windowed.startAgent({});
      await until(() => windowed.agentSnapshot.phase === "waiting-for-jobs", "waiting for jobs");
      const registrations = () => hub.agents().filter((a) => a.requested_name === "host-sync-window-agent").length;
      expect(registrations()).toBe(1);
      // The server goes away (every sync and the disconnect fail) for longer than the window.
      hub.injectFault({ target: "sync", mode: "500", count: 1_000 });
      hub.injectFault({ target: "disconnect", mode: "500", count: 1_000 });
      await until(
        () => seen.some((e) => e.type === "activity" && /lost contact with .*; connecting again/.test(e.message)),
        "the sync window to pass",
      );
      expect(windowed.agentSnapshot.phase).not.toBe("idle");
      hub.clearFaults();
      // Registered again (register was never refused), and syncing again once the server is back:
      // the error of the syncs that failed before the faults were cleared goes with the first success.
      await until(
        () => registrations() >= 2 && windowed.agentSnapshot.phase === "waiting-for-jobs" && windowed.agentSnapshot.error === null,
        "the agent back, registered again and syncing",
      );
    } finally {
      hub.clearFaults();
      await windowed.close({ timeoutMs: 10_000 });
    }
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
      // Once the command runs: a stop that breaks the env export ends the job `failed`, as in the Go
      // agent (spec §5.9), and under the app's default strict sandbox the shell takes a moment longer.
      await until(() => hub.events(id).some((e) => e.event === "cmd_started" && e.directive === "sleep 60"), "the job's command running", 20_000);
      await host.close();
      expect(finishedEvent(events, id)?.job.result, JSON.stringify(hub.events(id))).toBe("stopped");
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
