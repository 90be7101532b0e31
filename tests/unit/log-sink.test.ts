// LogWorker / JobLogSink: the job log pipeline in a worker thread, against the real local hub over
// HTTP on 127.0.0.1. Under vitest the worker runs the TypeScript sources (log-sink.ts registers a
// transpiling module hook in the worker), so these tests exercise the same code as the agent.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHub, type Hub } from "../../hub/hub.js";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import type { PusherNotice } from "../../agent-core/logs/log-pusher.js";
import { LogWorker, type JobLogSink } from "../../agent-core/logs/log-sink.js";
import { ApiClient } from "../../agent-core/protocol/client.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { registerClient, runningJob } from "../helpers/api-job.js";

const FAST: AgentTimings = { ...DEFAULT_TIMINGS, logPushMinMs: 20, logPushMaxMs: 40, logFlushMinMs: 10, logFlushMaxMs: 20, logFlushCheckMs: 100, httpTimeoutMs: 2000 };

let hub: Hub;
let dir: string;
let client: ApiClient;
let worker: LogWorker | null;
let errors: string[];

beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  dir = mkdtempSync(join(tmpdir(), "sa-log-sink-"));
  client = new ApiClient({ endpoint: hub.endpoint, noHttps: true, registrationToken: hub.registrationToken, timeoutMs: FAST.httpTimeoutMs });
  await registerClient(client, "log-sink-test-agent");
  errors = [];
  worker = new LogWorker({ client, onError: (message) => errors.push(message) });
});
afterEach(async () => {
  await worker?.terminate();
  await client.close();
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Has the hub assign the registered client a job; returns its logger settings. */
async function assignedJob() {
  return await runningJob(hub, client);
}

async function finishJob(jobId: string) {
  await client.sync({ state: "finished-job", job_id: jobId, job_result: "passed", interrupted_at: 0 });
  await client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 });
}

interface Opened {
  jobId: string;
  sink: JobLogSink;
  notices: PusherNotice[];
  jobErrors: string[];
}

async function openJob(timings: AgentTimings = FAST): Promise<Opened> {
  const { jobId, url, token } = await assignedJob();
  const notices: PusherNotice[] = [];
  const jobErrors: string[] = [];
  const sink = worker!.openJob({ dir, url, token, timings, onNotice: (n) => notices.push(n), onError: (m) => jobErrors.push(m) });
  return { jobId, sink, notices, jobErrors };
}

const started = (): JobLogEvent[] => [
  { event: "job_started", timestamp: 1 },
  { event: "cmd_started", timestamp: 1, directive: "seq" },
];
const output = (from: number, to: number, pad = 0): JobLogEvent[] =>
  Array.from({ length: to - from }, (_, i) => ({ event: "cmd_output", timestamp: 1, output: `${from + i}\n${"x".repeat(pad)}` }));
const finished = (): JobLogEvent[] => [
  { event: "cmd_finished", timestamp: 1, directive: "seq", exit_code: 0, started_at: 1, finished_at: 1 },
  { event: "job_finished", timestamp: 2, result: "passed" },
];

const lines = (events: JobLogEvent[]) => events.map((e) => `${JSON.stringify(e)}\n`).join("");
const logRequests = (jobId: string) => hub.requests().filter((r) => r.path.startsWith(`/api/v1/logs/${jobId}`));
const tick = () => new Promise((r) => setImmediate(r));

describe("LogWorker", () => {
  it("delivers every event once, in order, keeps the local file as JSON lines and reports a clean close", async () => {
    const { jobId, sink, notices, jobErrors } = await openJob();
    expect(sink.path).toMatch(new RegExp(`^${dir}/job_log_\\d{19}\\.json$`));
    expect(statSync(sink.path).mode & 0o777).toBe(0o600);
    const seen: [JobLogEvent, number][] = [];
    sink.subscribe((event, index) => seen.push([event, index]));
    const events = [...started(), ...output(0, 4500), ...finished()];
    // Appended in bursts, as the PTY reader would, with event-loop turns in between.
    for (let i = 0; i < events.length; i += 100) {
      for (const e of events.slice(i, i + 100)) sink.append(e);
      await tick();
    }
    expect(sink.count).toBe(events.length);
    expect(seen.map(([, i]) => i)).toEqual(events.map((_, i) => i));
    expect(seen.map(([e]) => e)).toEqual(events);

    expect(await sink.close()).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.events(jobId)).toEqual(events);
    // Batches of at most 2000 lines with start_from offsets, nothing sent twice.
    const offsets = logRequests(jobId).map((r) => Number(new URL(r.path, "http://x").searchParams.get("start_from")));
    expect(offsets[0]).toBe(0);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(sink.readAll().toString("utf8")).toBe(lines(events));
    expect(notices).toEqual([]);
    expect(jobErrors).toEqual([]);
    expect(hub.violations()).toEqual([]);

    sink.dispose();
    expect(existsSync(sink.path)).toBe(false);
    sink.dispose(); // idempotent
  });

  it("carries big texts through the shared ring (and what does not fit or is not well-formed beside it) unchanged", async () => {
    const { jobId, sink } = await openJob();
    const big = (i: number, size: number) => `${i}:${"ab\"c\\d\u001b[0m\té€😀\n".repeat(Math.ceil(size / 16)).slice(0, size)}`;
    const events: JobLogEvent[] = [...started()];
    // 60 texts of ~256 K characters: far more than the 8 MB ring holds, all appended in one turn.
    for (let i = 0; i < 60; i++) events.push({ event: "cmd_output", timestamp: 1, output: big(i, 256 * 1024) });
    events.push({ event: "cmd_output", timestamp: 1, output: `lone surrogate \ud800 ${"y".repeat(8000)}` });
    for (let i = 0; i < 200; i++) events.push({ event: "cmd_output", timestamp: 1, output: big(i, 5000 + i) });
    events.push(...finished());
    for (const e of events) sink.append(e);
    expect(await sink.close()).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.logLines(jobId).map((l) => `${l}\n`).join("")).toBe(lines(events));
    expect(sink.readAll().toString("utf8")).toBe(lines(events));
    sink.dispose();
  });

  it("reuses one worker thread for consecutive jobs and lets it go idle in between", async () => {
    const first = await openJob();
    const thread = worker!.threadId;
    expect(thread).not.toBeNull();
    const a = [...started(), ...output(0, 10), ...finished()];
    for (const e of a) first.sink.append(e);
    await first.sink.close();
    first.sink.dispose();
    await finishJob(first.jobId);

    const second = await openJob();
    expect(worker!.threadId).toBe(thread);
    const b = [...started(), ...output(10, 30), ...finished()];
    for (const e of b) second.sink.append(e);
    await second.sink.close();
    expect(hub.events(first.jobId)).toEqual(a);
    expect(hub.events(second.jobId)).toEqual(b);
    expect(second.sink.path).not.toBe(first.sink.path);
    second.sink.dispose();
  });

  it("passes the pusher's notices on: 401 -> push failed, token refreshed", async () => {
    const one = await openJob();
    hub.expireLogToken(one.jobId);
    const events = [...started(), ...output(0, 10), ...finished()];
    for (const e of events) one.sink.append(e);
    expect(await one.sink.close()).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.events(one.jobId)).toEqual(events);
    expect(one.notices.map((n) => n.kind)).toEqual(["push-failed", "token-refreshed"]);
    expect(hub.job(one.jobId)?.refresh_count).toBe(1);
    one.sink.dispose();
  });

  it("reports a 422 as trimmed with the undelivered count", async () => {
    await worker?.terminate();
    await client.close();
    await hub.close();
    hub = await startHub({ nextSyncAfter: 100, logMaxEvents: 100 });
    client = new ApiClient({ endpoint: hub.endpoint, noHttps: true, registrationToken: hub.registrationToken, timeoutMs: FAST.httpTimeoutMs });
    await registerClient(client, "log-sink-test-agent");
    worker = new LogWorker({ client });
    const { jobId, sink, notices } = await openJob();
    for (const e of [...started(), ...output(0, 3000), ...finished()]) sink.append(e);
    const outcome = await sink.close();
    expect(outcome.trimmed).toBe(true);
    expect(outcome.unsent).toBeGreaterThan(0);
    expect(notices.map((n) => n.kind)).toContain("trimmed");
    expect(hub.job(jobId)?.trimmed).toBe(true);
    sink.dispose();
  });

  it("abort() returns at once with the last known outcome; dispose() removes the file", { timeout: 10_000 }, async () => {
    const { jobId, sink } = await openJob({ ...FAST, httpTimeoutMs: 600_000, logFlushChecks: 600, logFlushCheckMs: 1000 });
    hub.injectFault({ target: "logs", mode: "hang", count: 1000 });
    for (const e of started()) sink.append(e);
    await hub.waitFor(() => logRequests(jobId).some((r) => r.fault === "hang"));
    expect(sink.abort()).toEqual({ trimmed: false, unsent: 2 });
    // A close() after abort() does not flush for the (here 10-minute) window.
    expect(await sink.close()).toEqual({ trimmed: false, unsent: 2 });
    sink.dispose();
    expect(existsSync(sink.path)).toBe(false);
  });

  describe("when the worker dies", () => {
    it("continues the open job in this thread: nothing lost or duplicated, the error reported", async () => {
      const { jobId, sink, jobErrors } = await openJob();
      const before = [...started(), ...output(0, 3000)];
      for (const e of before) sink.append(e);
      await hub.waitForEvents(jobId, (e) => e.length >= 1000, 5000);
      const thread = worker!.threadId;
      // Crash with events still queued and in flight to the worker.
      const inFlight = output(3000, 3500);
      for (const e of inFlight) sink.append(e);
      worker!.crashForTesting();
      const after = [...output(3500, 4000), ...finished()];
      await new Promise((r) => setTimeout(r, 200));
      for (const e of after) sink.append(e);

      expect(await sink.close()).toEqual({ trimmed: false, unsent: 0 });
      const events = [...before, ...inFlight, ...after];
      expect(hub.events(jobId)).toEqual(events);
      expect(sink.readAll().toString("utf8")).toBe(lines(events));
      expect(hub.violations()).toEqual([]);
      expect(jobErrors).toHaveLength(1);
      expect(jobErrors[0]).toMatch(/log worker stopped unexpectedly: .*crash requested by a test.*continues in the agent's main thread/);
      expect(errors).toEqual([]); // reported once, by the job
      sink.dispose();
      expect(existsSync(sink.path)).toBe(false);
      expect(thread).not.toBe(worker!.threadId);
    });

    it("finishes a close() that was waiting for the worker", async () => {
      const { jobId, sink, jobErrors } = await openJob({ ...FAST, logFlushMinMs: 300, logFlushMaxMs: 301 });
      const events = [...started(), ...output(0, 50), ...finished()];
      hub.injectFault({ target: "logs", mode: "500", count: 3 });
      for (const e of events) sink.append(e);
      const closing = sink.close();
      await tick();
      worker!.crashForTesting();
      expect(await closing).toEqual({ trimmed: false, unsent: 0 });
      expect(hub.events(jobId)).toEqual(events);
      expect(jobErrors).toHaveLength(1);
      sink.dispose();
    });

    it("between jobs: reports it and starts a new worker with the next job", async () => {
      const first = await openJob();
      for (const e of [...started(), ...finished()]) first.sink.append(e);
      await first.sink.close();
      first.sink.dispose();
      await finishJob(first.jobId);
      const thread = worker!.threadId;
      worker!.crashForTesting();
      await hub.waitFor(() => errors.length > 0);
      expect(errors[0]).toMatch(/log worker stopped unexpectedly .*a new one starts with the next job/);
      expect(worker!.threadId).toBeNull();

      const second = await openJob();
      expect(worker!.threadId).not.toBeNull();
      expect(worker!.threadId).not.toBe(thread);
      const events = [...started(), ...output(0, 20), ...finished()];
      for (const e of events) second.sink.append(e);
      expect(await second.sink.close()).toEqual({ trimmed: false, unsent: 0 });
      expect(hub.events(second.jobId)).toEqual(events);
      expect(second.jobErrors).toEqual([]);
      second.sink.dispose();
    });
  });

  it("creates the event file synchronously and fails like JobEventLog when the directory is missing", async () => {
    const { url, token } = await assignedJob();
    expect(() => worker!.openJob({ dir: join(dir, "missing"), url, token, timings: FAST })).toThrow(/ENOENT/);
    expect(worker!.threadId).toBeNull(); // no worker started for nothing
  });

  it("readAll() reads the whole local file once closed", async () => {
    const { sink } = await openJob();
    const events = [...started(), ...output(0, 10, 1000), ...finished()];
    for (const e of events) sink.append(e);
    await sink.close();
    expect(readFileSync(sink.path, "utf8")).toBe(lines(events));
    expect(sink.readAll().toString("utf8")).toBe(lines(events));
    sink.dispose();
  });
});
