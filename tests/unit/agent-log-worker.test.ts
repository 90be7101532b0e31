// The Agent with its job log worker, from the TypeScript sources against the real local hub: one
// worker serves consecutive jobs, and a worker that dies mid-job costs an error event, not the job
// or any of its log events.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startHub, type Hub } from "../../hub/hub.js";
import { Agent } from "../../agent-core/agent/agent.js";
import type { AgentEvent } from "../../agent-core/agent/events.js";
import { defaultAgentConfig } from "../../agent-core/config/keys.js";
import type { LogWorker } from "../../agent-core/logs/log-sink.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";

const TIMINGS: AgentTimings = {
  ...DEFAULT_TIMINGS,
  logPushMinMs: 50,
  logPushMaxMs: 100,
  logFlushMinMs: 20,
  logFlushMaxMs: 40,
  syncIntervalMinMs: 100,
  syncIntervalMaxMs: 200,
  httpTimeoutMs: 5000,
  disconnectDelayMs: 50,
};

let hub: Hub;
let dir: string;
let agent: Agent;
let events: AgentEvent[];
let exit: Promise<unknown>;

beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  dir = mkdtempSync(join(tmpdir(), "sa-agent-logw-"));
  const config = { ...defaultAgentConfig(), endpoint: hub.endpoint, token: hub.registrationToken, noHttps: true, name: "agent-log-worker-test" };
  const env = { PATH: process.env.PATH, HOME: dir, TMPDIR: dir, LANG: "C.UTF-8" };
  agent = new Agent({ config, timings: TIMINGS, env, cwd: dir, tmpDir: dir, home: dir });
  events = [];
  agent.on((event) => events.push(event));
  exit = agent.start();
  await hub.waitForAgent();
});
afterEach(async () => {
  hub.requestShutdown();
  await exit;
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

const logWorkerOf = (a: Agent) => (a as unknown as { logWorker: LogWorker | null }).logWorker;
const outputOf = (jobId: string) => hub.events(jobId).flatMap((e) => (e.event === "cmd_output" ? [e.output] : [])).join("");

it("shares one log worker between jobs and ends it with the agent", { timeout: 30_000 }, async () => {
  const a = hub.scheduleJob({ commands: [{ directive: "echo one" }] });
  await hub.waitForJobStatus(a.job_id, "finished", 15_000);
  const thread = logWorkerOf(agent)?.threadId;
  expect(thread).toEqual(expect.any(Number));
  const b = hub.scheduleJob({ commands: [{ directive: "echo two" }] });
  await hub.waitForJobStatus(b.job_id, "finished", 15_000);
  expect(logWorkerOf(agent)?.threadId).toBe(thread);
  expect(outputOf(a.job_id)).toContain("one\n");
  expect(outputOf(b.job_id)).toContain("two\n");
  expect(hub.job(b.job_id)?.result).toBe("passed");
  // The job_log files are gone; the job-log events reached the agent's listeners in order.
  const workDirs = readdirSync(dir).filter((n) => n.startsWith("semaphore-agent-"));
  for (const w of workDirs) expect(readdirSync(join(dir, w)).filter((n) => n.startsWith("job_log_"))).toEqual([]);
  const indexes = events.flatMap((e) => (e.type === "job-log" && e.jobId === b.job_id ? [e.index] : []));
  expect(indexes).toEqual(indexes.map((_, i) => i));
  expect(indexes.length).toBe(hub.events(b.job_id).length);

  hub.requestShutdown();
  await exit;
  expect(logWorkerOf(agent)?.threadId).toBeNull();
});

it("finishes a job whose log worker dies, with every event delivered and an error reported", { timeout: 30_000 }, async () => {
  // Output before and after the crash; the crash happens while the job sleeps between them.
  const { job_id } = hub.scheduleJob({
    commands: [{ directive: "seq 1 3000" }, { directive: "sleep 1.5" }, { directive: "seq 3001 6000" }],
  });
  await hub.waitFor(() => hub.events(job_id).some((e) => e.event === "cmd_started" && e.directive === "sleep 1.5"), 15_000);
  logWorkerOf(agent)!.crashForTesting();
  await hub.waitForJobStatus(job_id, "finished", 20_000);

  expect(hub.job(job_id)?.result).toBe("passed");
  const expected = Array.from({ length: 6000 }, (_, i) => `${i + 1}\n`).join("");
  expect(outputOf(job_id).replace(/^(?!\d).*\n/gm, "")).toBe(expected);
  expect(hub.events(job_id).at(-1)).toMatchObject({ event: "job_finished", result: "passed" });
  expect(hub.violations()).toEqual([]);
  const logErrors = events.flatMap((e) => (e.type === "error" && e.scope === "logs" ? [e.message] : []));
  expect(logErrors).toHaveLength(1);
  expect(logErrors[0]).toMatch(new RegExp(`^job ${job_id}: the log worker stopped unexpectedly: .*continues in the agent's main thread`));
  const finished = events.find((e) => e.type === "job-finished");
  expect(finished).toMatchObject({ jobId: job_id, result: "passed", trimmed: false, unsentEvents: 0 });
});
