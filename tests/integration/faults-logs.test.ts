// Log push failures (spec §7.2, P-10): whatever the log service does to a push — 500, no answer,
// a dropped connection, or a stored batch whose answer is lost — the agent re-sends the same batch
// (same start_from) and the hub ends up with exactly the events the agent logged, once each.
import { afterEach, describe, expect, it } from "vitest";
import { job, stopAll, summarize } from "../helpers/processes.js";
import {
  agentLoggedEvents,
  countByType,
  expectNoTokenLeak,
  expectNoViolations,
  logPath,
  passingJob,
  pendingFaults,
  requestsTo,
  startPair,
} from "../helpers/protocol.js";

const DEBUG = { SEMAPHORE_AGENT_LOG_LEVEL: "debug" };
// 2000 lines in four bursts: a few hundred cmd_output events, pushed in batches of at most 50.
export const BURSTS = `for b in 1 2 3 4; do seq $(( (b-1)*500+1 )) $(( b*500 )) | sed 's/^/line /'; sleep 0.2; done`;
export const BURST_OUTPUT = Array.from({ length: 2000 }, (_, i) => `line ${i + 1}\n`).join("");
export const BURST_JOB = passingJob([
  `started(${BURSTS})`,
  `out(${JSON.stringify(BURST_OUTPUT)})`,
  `finished(${BURSTS}, 0)`,
  "started(echo done)",
  'out("done\\n")',
  "finished(echo done, 0)",
]);
export const BATCH = 50;

const startFrom = (path: string) => Number(new URL(path, "http://x").searchParams.get("start_from"));

afterEach(stopAll);

describe("log push faults", () => {
  it.each([
    { mode: "500", count: 3 },
    { mode: "drop", count: 3 },
    { mode: "drop-after-store", count: 3 },
    { mode: "hang", count: 2 },
  ] as const)("logs $mode x$count: no event lost or duplicated", async ({ mode, count }) => {
    const { hub, agent } = await startPair([], { env: DEBUG, timings: { httpTimeoutMs: 1000, logBatchLines: BATCH } });
    const id = await hub.api.schedule(job({ commands: [BURSTS, "echo done"] }));
    // Fault the pushes after the first stored batch, so that re-sends happen mid-stream.
    await hub.api.waitForEvents(id, (events) => events.length > 0, 15_000);
    await hub.api.fault({ target: "logs", mode, count });

    const view = await hub.api.waitForJob(id, "finished", 40_000);
    expect(view.result).toBe("passed");
    expect(view.trimmed).toBe(false);

    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual(BURST_JOB);
    expect(countByType(events)).toMatchObject({ job_started: 1, cmd_started: 5, cmd_finished: 5, job_finished: 1 });
    const logged = agentLoggedEvents(agent, id);
    expect(logged.length).toBeGreaterThan(2 * BATCH);
    expect(events).toEqual(logged);
    expect(view.event_count).toBe(logged.length);

    // Several batches; every faulted push was followed by a re-send of the same batch.
    expect(await pendingFaults(hub)).toEqual([]);
    const pushes = await requestsTo(hub, logPath(id));
    expect(pushes.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(Math.ceil(logged.length / BATCH));
    const faulted = pushes.map((r, i) => ({ r, i })).filter(({ r }) => r.fault === mode);
    expect(faulted).toHaveLength(count);
    for (const { r, i } of faulted) {
      const next = pushes[i + 1];
      expect(next, `a push after the faulted ${r.path}`).toBeDefined();
      expect(startFrom(next!.path)).toBe(startFrom(r.path));
    }
    // (Gaps and overlapping batches that differ are violations at the hub: checked below.)
    expect(agent.stderr).toMatch(/error \(logs\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
