// The wait after a failed log push (spec §7.2–§7.3): the next try comes after the tick delay
// ([250, 500) ms once flushing), never at once — not when the job ends (the flush) right after
// the failure, and not when a backlog forms meanwhile. Real HTTP on 127.0.0.1: the local hub drops
// the connection of the first push (its `drop` fault) and records when each request arrived.
// Only lower bounds on the gaps are asserted: they hold whatever the machine's load.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHub, type Hub } from "../../hub/hub.js";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import { JobEventLog } from "../../agent-core/logs/event-log.js";
import { BACKLOG_BYTES, LogPusher, type PusherNotice } from "../../agent-core/logs/log-pusher.js";
import { LogWorker } from "../../agent-core/logs/log-sink.js";
import { ApiClient } from "../../agent-core/protocol/client.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { registerClient, runningJob } from "../helpers/api-job.js";

// The spec's flush delay; a short fixed tick so that the first push comes soon.
const TIMINGS: AgentTimings = {
  ...DEFAULT_TIMINGS,
  logPushMinMs: 400,
  logPushMaxMs: 401,
  logFlushMinMs: 250,
  logFlushMaxMs: 500,
  logFlushCheckMs: 200,
  httpTimeoutMs: 5000,
};
// Request times are recorded in whole milliseconds and timers may fire a millisecond early.
const SLACK_MS = 3;

let hub: Hub;
let dir: string;
let client: ApiClient;

beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  dir = mkdtempSync(join(tmpdir(), "sa-pusher-retry-"));
  client = new ApiClient({ endpoint: hub.endpoint, noHttps: true, registrationToken: hub.registrationToken, timeoutMs: TIMINGS.httpTimeoutMs });
  await registerClient(client, "pusher-retry-agent");
});
afterEach(async () => {
  await client.close();
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

const events = (n: number, pad = 0): JobLogEvent[] => [
  { event: "job_started", timestamp: 1 },
  { event: "cmd_started", timestamp: 1, directive: "seq" },
  ...Array.from({ length: n }, (_, i): JobLogEvent => ({ event: "cmd_output", timestamp: 1, output: `${i}\n${"x".repeat(pad)}` })),
];
const ending: JobLogEvent[] = [
  { event: "cmd_finished", timestamp: 1, directive: "seq", exit_code: 0, started_at: 1, finished_at: 1 },
  { event: "job_finished", timestamp: 2, result: "passed" },
];

/** Arrival times (ms) of the job's log pushes at the hub, and whether each was the dropped one. */
function pushes(jobId: string): Array<{ at: number; dropped: boolean }> {
  return hub
    .requests()
    .filter((r) => r.path.startsWith(`/api/v1/logs/${encodeURIComponent(jobId)}`))
    .map((r) => ({ at: Date.parse(r.time), dropped: r.fault === "drop" }));
}

function waitForFailure(notices: PusherNotice[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const check = () => {
      if (notices.some((n) => n.kind === "push-failed")) return resolve();
      if (Date.now() > deadline) return reject(new Error("no failed push within 10 s"));
      setTimeout(check, 1);
    };
    check();
  });
}

describe("LogPusher after a failed push", () => {
  it("the job's end right after a dropped connection does not retry at once: the flush delay is waited", async () => {
    const { jobId, url, token } = await runningJob(hub, client);
    hub.injectFault({ target: "logs", mode: "drop", count: 1 });
    const log = new JobEventLog(dir);
    const all = [...events(5), ...ending];
    for (const e of all) log.append(e);
    const notices: PusherNotice[] = [];
    const pusher = new LogPusher({ log, url, token, client, timings: TIMINGS, onNotice: (n) => notices.push(n) });
    pusher.start();
    await waitForFailure(notices);
    // The job ends now: flush mode.
    expect(await pusher.close()).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.events(jobId)).toEqual(all);
    const [failed, retry] = pushes(jobId);
    expect(failed?.dropped).toBe(true);
    expect(retry).toBeDefined();
    expect(retry!.at - failed!.at).toBeGreaterThanOrEqual(TIMINGS.logFlushMinMs - SLACK_MS);
    log.dispose();
  });

  it("a backlog that forms after the failure does not cut the tick delay short", async () => {
    const { jobId, url, token } = await runningJob(hub, client);
    hub.injectFault({ target: "logs", mode: "drop", count: 1 });
    const log = new JobEventLog(dir);
    for (const e of events(5)) log.append(e);
    const notices: PusherNotice[] = [];
    const pusher = new LogPusher({ log, url, token, client, timings: TIMINGS, onNotice: (n) => notices.push(n) });
    pusher.start();
    await waitForFailure(notices);
    // Over a megabyte arrives while the pusher waits to retry.
    const flood = events(2000, Math.ceil(BACKLOG_BYTES / 1000)).slice(2);
    for (const e of flood) log.append(e);
    await hub.waitForEvents(jobId, (e) => e.length >= 7, 10_000);
    const [failed, retry] = pushes(jobId);
    expect(failed?.dropped).toBe(true);
    expect(retry!.at - failed!.at).toBeGreaterThanOrEqual(TIMINGS.logPushMinMs - SLACK_MS);
    for (const e of ending) log.append(e);
    expect((await pusher.close()).unsent).toBe(0);
    log.dispose();
  });
});

describe("LogWorker after a failed push", () => {
  it("the job's end right after a dropped connection waits the flush delay in the worker thread too", async () => {
    const worker = new LogWorker({ client });
    try {
      const { jobId, url, token } = await runningJob(hub, client);
      hub.injectFault({ target: "logs", mode: "drop", count: 1 });
      const notices: PusherNotice[] = [];
      const sink = worker.openJob({ dir, url, token, timings: TIMINGS, onNotice: (n) => notices.push(n) });
      const all = [...events(5), ...ending];
      for (const e of all) sink.append(e);
      await waitForFailure(notices);
      expect(await sink.close()).toEqual({ trimmed: false, unsent: 0 });
      expect(hub.events(jobId)).toEqual(all);
      const [failed, retry] = pushes(jobId);
      expect(failed?.dropped).toBe(true);
      expect(retry!.at - failed!.at).toBeGreaterThanOrEqual(TIMINGS.logFlushMinMs - SLACK_MS);
      sink.dispose();
    } finally {
      await worker.terminate();
    }
  });
});
