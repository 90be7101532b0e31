// LogPusher + ApiClient against the real local hub over HTTP on 127.0.0.1.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHub, type Hub } from "../../hub/hub.js";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import { JobEventLog } from "../../agent-core/logs/event-log.js";
import { LogPusher, type PusherNotice } from "../../agent-core/logs/log-pusher.js";
import { ApiClient } from "../../agent-core/protocol/client.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { registerClient, runningJob } from "../helpers/api-job.js";

const FAST: AgentTimings = { ...DEFAULT_TIMINGS, logPushMinMs: 20, logPushMaxMs: 40, logFlushMinMs: 10, logFlushMaxMs: 20, logFlushCheckMs: 100, httpTimeoutMs: 2000 };

let hub: Hub;
let dir: string;
let client: ApiClient;

beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  dir = mkdtempSync(join(tmpdir(), "sa-pusher-"));
});
afterEach(async () => {
  await client?.close();
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Registers a real client and has the hub assign it a job; returns the job's logger settings. */
async function assignedJob(timings: AgentTimings = FAST) {
  client = new ApiClient({ endpoint: hub.endpoint, noHttps: true, registrationToken: hub.registrationToken, timeoutMs: timings.httpTimeoutMs });
  await registerClient(client, "pusher-test-agent");
  return await runningJob(hub, client);
}

function fill(log: JobEventLog, outputs: number): JobLogEvent[] {
  const events: JobLogEvent[] = [
    { event: "job_started", timestamp: 1 },
    { event: "cmd_started", timestamp: 1, directive: "seq" },
  ];
  for (let i = 0; i < outputs; i++) events.push({ event: "cmd_output", timestamp: 1, output: `${i}\n` });
  events.push({ event: "cmd_finished", timestamp: 1, directive: "seq", exit_code: 0, started_at: 1, finished_at: 1 });
  events.push({ event: "job_finished", timestamp: 2, result: "passed" });
  for (const e of events) log.append(e);
  return events;
}

const logRequests = (jobId: string) => hub.requests().filter((r) => r.path.startsWith(`/api/v1/logs/${jobId}`));

describe("LogPusher", () => {
  it("sends every event once, in batches of at most 2000 lines with start_from offsets", async () => {
    const { jobId, url, token } = await assignedJob();
    const log = new JobEventLog(dir);
    const events = fill(log, 4500);
    const pusher = new LogPusher({ log, url, token, client, timings: FAST });
    pusher.start();
    const outcome = await pusher.close();
    expect(outcome).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.events(jobId)).toEqual(events);
    const paths = logRequests(jobId).map((r) => r.path);
    expect(paths).toEqual([0, 2000, 4000].map((n) => `/api/v1/logs/${jobId}?start_from=${n}`));
    expect(hub.violations()).toEqual([]);
  });

  it("re-sends the same batch after 500, a dropped connection and a lost response, without loss or duplicates", async () => {
    const { jobId, url, token } = await assignedJob();
    hub.injectFault({ target: "logs", mode: "500", count: 1 });
    hub.injectFault({ target: "logs", mode: "drop", count: 1 });
    hub.injectFault({ target: "logs", mode: "drop-after-store", count: 1 });
    const log = new JobEventLog(dir);
    const events = fill(log, 2500);
    const notices: PusherNotice[] = [];
    const pusher = new LogPusher({ log, url, token, client, timings: FAST, onNotice: (n) => notices.push(n) });
    pusher.start();
    expect(await pusher.close()).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.events(jobId)).toEqual(events);
    expect(notices.filter((n) => n.kind === "push-failed")).toHaveLength(3);
    expect(hub.violations()).toEqual([]);
  });

  it("refreshes the token on 401 and re-sends with the new one", async () => {
    const { jobId, url, token } = await assignedJob();
    hub.expireLogToken(jobId);
    const log = new JobEventLog(dir);
    const events = fill(log, 10);
    const notices: PusherNotice[] = [];
    const pusher = new LogPusher({ log, url, token, client, timings: FAST, onNotice: (n) => notices.push(n) });
    pusher.start();
    expect(await pusher.close()).toEqual({ trimmed: false, unsent: 0 });
    expect(hub.events(jobId)).toEqual(events);
    expect(notices.map((n) => n.kind)).toContain("token-refreshed");
    expect(hub.job(jobId)?.refresh_count).toBe(1);
  });

  it("stops for good on 422 and reports the log as trimmed", async () => {
    await hub.close();
    hub = await startHub({ nextSyncAfter: 100, logMaxEvents: 100 });
    const { jobId, url, token } = await assignedJob();
    const log = new JobEventLog(dir);
    fill(log, 3000);
    const pusher = new LogPusher({ log, url, token, client, timings: FAST });
    pusher.start();
    const outcome = await pusher.close();
    expect(outcome.trimmed).toBe(true);
    expect(outcome.unsent).toBeGreaterThan(0);
    expect(hub.job(jobId)?.trimmed).toBe(true);
    const after422 = logRequests(jobId).findIndex((r) => r.status === 422);
    expect(after422).toBeGreaterThanOrEqual(0);
    expect(logRequests(jobId).slice(after422 + 1)).toEqual([]);
  });

  it("drains a backlog back-to-back instead of one batch per tick", async () => {
    // A tick of 1 s: at the spec's cadence 5 batches would take ~5 s; with backlog draining they
    // go out one after another (the 3.5 s wait below would miss 4 ticks).
    const slow: AgentTimings = { ...FAST, logPushMinMs: 1000, logPushMaxMs: 1001, logFlushMinMs: 1000, logFlushMaxMs: 1001 };
    const { jobId, url, token } = await assignedJob(slow);
    const log = new JobEventLog(dir);
    const events = fill(log, 9000);
    const pusher = new LogPusher({ log, url, token, client, timings: slow });
    pusher.start();
    await hub.waitForEvents(jobId, (e) => e.length >= 8000, 3500);
    expect(logRequests(jobId)).toHaveLength(4);
    await pusher.close();
    expect(logRequests(jobId)).toHaveLength(5);
    expect(hub.events(jobId)).toEqual(events);
  });

  it("gives up after the flush window when the server never answers", async () => {
    const { url, token } = await assignedJob();
    hub.injectFault({ target: "logs", mode: "500", count: 1000 });
    const timings: AgentTimings = { ...FAST, logFlushChecks: 5, logFlushCheckMs: 100 };
    const log = new JobEventLog(dir);
    fill(log, 5);
    const pusher = new LogPusher({ log, url, token, client, timings });
    pusher.start();
    const outcome = await pusher.close();
    expect(outcome).toEqual({ trimmed: false, unsent: 9 });
  });
});
