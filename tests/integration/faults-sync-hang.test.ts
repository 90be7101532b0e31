// Sync hanging (the agent's request timeout, shrunk from 30 s to 1 s) while a job runs, and a
// run-job answer lost after the hub processed it (spec §1.4, §3.3).
import { afterEach, describe, expect, it } from "vitest";
import { job, stopAll, summarize, type HubProcess } from "../helpers/processes.js";
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

describe("sync hang and lost answers", () => {
  it("sync hang x2 while a job runs (1 s timeout): the job completes with complete, unduplicated events", async () => {
    const { hub, agent } = await startPair([], { env: DEBUG, timings: { httpTimeoutMs: 1000 } });
    const id = await hub.api.schedule(job({ commands: [LOOP] }));
    await hub.api.waitForJob(id, "running", 15_000);
    await hub.api.fault({ target: "sync", mode: "hang", count: 2 });

    const view = await hub.api.waitForJob(id, "finished", 30_000);
    expect(view.result).toBe("passed");
    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual(passingJob([`started(${LOOP})`, `out(${JSON.stringify(TICK_OUTPUT)})`, `finished(${LOOP}, 0)`]));
    expect(countByType(events)).toMatchObject({ job_started: 1, cmd_started: 4, cmd_finished: 4, job_finished: 1 });
    expect(events).toEqual(agentLoggedEvents(agent, id));
    expect(await pendingFaults(hub)).toEqual([]);
    const hung = (await requestsTo(hub, `${BASE}/sync`)).filter((r) => r.fault === "hang");
    expect(hung).toHaveLength(2);
    expect(hung.every((r) => r.status === null)).toBe(true);
    expect(Date.parse(hung[0]!.time)).toBeLessThan(Date.parse(view.finished_at!));
    expect(agent.stderr).toMatch(/no answer within 1 s/);
    await hub.api.waitForAgent((agents) => agents[0]?.state === "waiting-for-jobs" && agents[0].job_id === "", 10_000);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("a lost run-job answer (drop-after-store) is answered again and the job runs once", async () => {
    const { hub, agent } = await startPair([], { env: DEBUG, timings: { httpTimeoutMs: 1000 } });
    // Park the agent's next sync on a hung request so that the run-job answer is deterministically
    // the one whose response is lost.
    await hub.api.fault({ target: "sync", mode: "hang", count: 1 });
    await waitForFaultConsumed(hub);
    const id = await hub.api.schedule(job({ commands: ["echo once"] }));
    await hub.api.fault({ target: "sync", mode: "drop-after-store", count: 1 });

    const view = await hub.api.waitForJob(id, "finished", 20_000);
    expect(view.result).toBe("passed");
    expect(view.fetch_count).toBe(1);
    expect(summarize(await hub.api.events(id))).toEqual(passingJob(["started(echo once)", 'out("once\\n")', "finished(echo once, 0)"]));
    const lost = (await requestsTo(hub, `${BASE}/sync`)).filter((r) => r.fault === "drop-after-store");
    expect(lost).toHaveLength(1);
    expect(Date.parse(lost[0]!.time)).toBeLessThan(Date.parse(view.finished_at!));
    const [a] = await hub.api.agents();
    expect(a!.jobs).toEqual([id]);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});

async function waitForFaultConsumed(hub: HubProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await pendingFaults(hub)).length > 0) {
    if (Date.now() > deadline) throw new Error("fault never consumed");
    await new Promise((r) => setTimeout(r, 10));
  }
}
