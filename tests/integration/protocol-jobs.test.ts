// Fetching the job (spec §3.5) and stop-job before the job object exists (§3.3, P-7): failures end
// the job `failed` without log events, a stop during starting-job ends it `stopped`, and in every
// case the agent survives and takes the next job.
import { afterEach, describe, expect, it } from "vitest";
import { job, stopAll, summarize, type HubProcess } from "../helpers/processes.js";
import {
  BASE,
  expectNoTokenLeak,
  expectNoViolations,
  logPath,
  passingJob,
  pendingFaults,
  requestsTo,
  startPair,
} from "../helpers/protocol.js";

afterEach(stopAll);

async function expectNextJobPasses(hub: HubProcess): Promise<void> {
  const next = await hub.api.schedule(job({ commands: ["echo next"] }));
  const view = await hub.api.waitForJob(next, "finished", 20_000);
  expect(view.result).toBe("passed");
  expect(summarize(await hub.api.events(next))).toEqual(passingJob(["started(echo next)", 'out("next\\n")', "finished(echo next, 0)"]));
}

describe("getting the job", () => {
  it("GET /jobs failing getJobAttempts times: finished-job failed without any log event, then the next job runs", async () => {
    const { hub, agent } = await startPair([], { timings: { getJobAttempts: 3, getJobDelayMs: 100 } });
    await hub.api.fault({ target: "job", mode: "500", count: 3 });
    const id = await hub.api.schedule(job({ commands: ["echo never"] }));
    const view = await hub.api.waitForJob(id, "finished", 15_000);
    expect(view.result).toBe("failed");
    expect(view.event_count).toBe(0);
    expect(view.fetch_count).toBe(0);
    expect((await requestsTo(hub, `${BASE}/jobs/${id}`)).map((r) => r.status)).toEqual([500, 500, 500]);
    expect(await requestsTo(hub, logPath(id))).toEqual([]);
    expect(agent.stderr).toMatch(/attempt 3\/3/);
    expect(agent.stderr).toMatch(new RegExp(`job ${id} failed`));

    await expectNextJobPasses(hub);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("GET /jobs failing fewer times (drop, garbage) than the attempts: the job runs normally", async () => {
    const { hub, agent } = await startPair([], { timings: { getJobAttempts: 3, getJobDelayMs: 100 } });
    await hub.api.fault({ target: "job", mode: "drop", count: 1 });
    await hub.api.fault({ target: "job", mode: "garbage", count: 1 });
    const id = await hub.api.schedule(job({ commands: ["echo fetched"] }));
    const view = await hub.api.waitForJob(id, "finished", 15_000);
    expect(view.result).toBe("passed");
    expect(view.fetch_count).toBe(1);
    expect(await pendingFaults(hub)).toEqual([]);
    expect(summarize(await hub.api.events(id))).toEqual(passingJob(["started(echo fetched)", 'out("fetched\\n")', "finished(echo fetched, 0)"]));
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("a job that cannot be built (unknown executor) is reported failed without log events", async () => {
    const { hub, agent } = await startPair();
    const id = await hub.api.schedule(job({ commands: ["echo never"], executor: "kubernetes" }));
    const view = await hub.api.waitForJob(id, "finished", 15_000);
    expect(view.result).toBe("failed");
    expect(view.fetch_count).toBe(1);
    expect(view.event_count).toBe(0);
    expect(await requestsTo(hub, logPath(id))).toEqual([]);
    await expectNextJobPasses(hub);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});

describe("stop-job before the job object exists", () => {
  it.each<{ mode: "500" | "hang"; timings: Record<string, number>; when: string }>([
    { mode: "500", timings: { getJobDelayMs: 1500 }, when: "waiting to retry GET /jobs" },
    { mode: "hang", timings: { httpTimeoutMs: 1500, getJobDelayMs: 100 }, when: "GET /jobs hangs" },
  ])("a stop delivered while $when: no crash, the job ends stopped without running a command", async ({ mode, timings }) => {
    const { hub, agent } = await startPair([], { timings });
    await hub.api.fault({ target: "job", mode, count: 1 });
    const id = await hub.api.schedule(job({ commands: ["echo must-not-run", "sleep 30"] }));
    await hub.api.waitForJob(id, "starting", 10_000);
    await hub.api.stop(id);

    const view = await hub.api.waitForJob(id, "finished", 15_000);
    expect(view.result).toBe("stopped");
    expect(view.stop_requested).toBe(true);
    // The stop reached the agent before the job could be fetched (starting-job -> stopping-job).
    expect(agent.stderr).toMatch(new RegExp(`stopping job ${id}`));
    expect(agent.stderr).not.toMatch(new RegExp(`running job ${id}`));
    const jobGets = await requestsTo(hub, `${BASE}/jobs/${id}`);
    expect(jobGets[0]!.fault).toBe(mode);
    expect(view.fetch_count).toBe(1);
    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual(["job_started", "job_finished(stopped)"]);

    expect(agent.child.exitCode).toBeNull();
    await expectNextJobPasses(hub);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("a stop while GET /jobs keeps failing: the job ends stopped without events and the agent takes the next job", async () => {
    // Retries 1.5 s apart: the stop (delivered on the next 200 ms sync) lands while they go on.
    const { hub, agent } = await startPair([], { timings: { getJobAttempts: 3, getJobDelayMs: 1500 } });
    await hub.api.fault({ target: "job", mode: "500", count: 3 });
    const id = await hub.api.schedule(job({ commands: ["echo must-not-run"] }));
    await hub.api.waitForJob(id, "starting", 10_000);
    await hub.api.stop(id);

    const view = await hub.api.waitForJob(id, "finished", 15_000);
    expect(view.result).toBe("stopped");
    expect(view.event_count).toBe(0);
    expect(agent.child.exitCode).toBeNull();
    await expectNextJobPasses(hub);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
