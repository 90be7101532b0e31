// LogPusher.abort() and ApiClient.close() with a push in flight to a server that never answers:
// what the agent's shutdown relies on to exit promptly (spec §3.8) instead of waiting out the 60 s
// flush window or the 30 s request timeout. No timed assertions: a hang fails by test timeout.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startHub, type Hub } from "../../hub/hub.js";
import { JobEventLog } from "../../agent-core/logs/event-log.js";
import { LogPusher } from "../../agent-core/logs/log-pusher.js";
import { ApiClient } from "../../agent-core/protocol/client.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { registerClient, runningJob } from "../helpers/api-job.js";

// Request timeout and flush window far beyond the test timeout: only abort()/close() can end them.
const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, logPushMinMs: 10, logPushMaxMs: 20, logFlushMinMs: 10, logFlushMaxMs: 20, httpTimeoutMs: 600_000 };

let hub: Hub;
let dir: string;

beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  dir = mkdtempSync(join(tmpdir(), "sa-pusher-abort-"));
});
afterEach(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startedJob(client: ApiClient) {
  await registerClient(client, "abort-test-agent");
  return await runningJob(hub, client);
}

it("abort() ends a pusher whose push hangs, and close() of the client does not wait for that push", { timeout: 10_000 }, async () => {
  const client = new ApiClient({ endpoint: hub.endpoint, noHttps: true, registrationToken: hub.registrationToken, timeoutMs: TIMINGS.httpTimeoutMs });
  const { jobId, url, token } = await startedJob(client);
  hub.injectFault({ target: "logs", mode: "hang", count: 1000 });
  const log = new JobEventLog(dir);
  log.append({ event: "job_started", timestamp: 1 });
  log.append({ event: "cmd_started", timestamp: 1, directive: "x" });
  const pusher = new LogPusher({ log, url, token, client, timings: TIMINGS });
  pusher.start();
  await hub.waitFor(() => hub.requests().some((r) => r.path.startsWith(`/api/v1/logs/${jobId}`) && r.fault === "hang"));

  // close() would flush for logFlushChecks x logFlushCheckMs (60 s); abort() returns at once.
  expect(pusher.abort()).toEqual({ trimmed: false, unsent: 2 });
  // The hung push is aborted by destroying the client rather than awaited.
  await client.close();
  // The pusher's loop has ended: a later close() resolves without flushing.
  expect(await pusher.close()).toEqual({ trimmed: false, unsent: 2 });
  log.dispose();
  expect(hub.events(jobId)).toEqual([]);
});
