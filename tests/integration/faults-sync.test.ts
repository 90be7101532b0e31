// Sync failures while a job runs (spec §1.4, §3.4): the job must complete, its events must reach
// the hub complete and exactly once, and the agent must go back to waiting for jobs.
import { afterEach, describe, expect, it } from "vitest";
import { job, stopAll, summarize } from "../helpers/processes.js";
import {
  BASE,
  agentLoggedEvents,
  countByType,
  expectNoTokenLeak,
  expectNoViolations,
  passingJob,
  pendingFaults,
  requestsTo,
  startPair,
  DEBUG_LOG as DEBUG,
  TICK_LOOP as LOOP,
  TICK_OUTPUT,
} from "../helpers/protocol.js";


afterEach(stopAll);

describe("sync faults while a job runs", () => {
  it.each([
    { mode: "500", count: 4 },
    { mode: "garbage", count: 4 },
    { mode: "drop", count: 4 },
    { mode: "drop-after-store", count: 4 },
  ] as const)("sync $mode x$count: the job completes with complete, unduplicated events", async ({ mode, count }) => {
    // The agent's 30 s HTTP timeout, shrunk so a hung sync costs 1 s.
    const { hub, agent } = await startPair([], { env: DEBUG, timings: { httpTimeoutMs: 1000 } });
    const id = await hub.api.schedule(job({ commands: [LOOP] }));
    await hub.api.waitForJob(id, "running", 15_000);
    await hub.api.fault({ target: "sync", mode, count });

    const view = await hub.api.waitForJob(id, "finished", 30_000);
    expect(view.result).toBe("passed");
    expect(view.abandoned).toBe(false);

    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual(passingJob([`started(${LOOP})`, `out(${JSON.stringify(TICK_OUTPUT)})`, `finished(${LOOP}, 0)`]));
    expect(countByType(events)).toMatchObject({ job_started: 1, cmd_started: 4, cmd_finished: 4, job_finished: 1 });
    // Event for event what the agent logged locally: nothing lost, nothing added, nothing twice.
    expect(events).toEqual(agentLoggedEvents(agent, id));

    // Every injected fault was consumed, the first one while the job was still running.
    expect(await pendingFaults(hub)).toEqual([]);
    const faulted = (await requestsTo(hub, `${BASE}/sync`)).filter((r) => r.fault === mode);
    expect(faulted).toHaveLength(count);
    expect(Date.parse(faulted[0]!.time)).toBeLessThan(Date.parse(view.finished_at!));

    // The agent acknowledges wait-for-jobs and is idle again; it fetched the job exactly once.
    const [a] = await hub.api.waitForAgent((agents) => agents[0]?.state === "waiting-for-jobs" && agents[0].job_id === "", 10_000);
    expect(a!.jobs).toEqual([id]);
    expect(view.fetch_count).toBe(1);
    expect(agent.stderr).toMatch(/error \(sync\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
