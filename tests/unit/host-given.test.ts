// "This machine has given", computed from the history: Semaphore jobs that ran (not the demo's, not
// jobs the agent could not run, not the running one), their hours, per project, most hours first.
import { describe, expect, it } from "vitest";
import type { JobSummary } from "../../agent-core/host/contract.js";
import { givenFrom } from "../../agent-core/host/lending.js";

const H = 3_600_000;
const job = (id: string, patch: Partial<JobSummary>): JobSummary => ({
  id,
  mode: "semaphore",
  result: "passed",
  startedAt: 1_000,
  finishedAt: 1_000 + H,
  durationMs: H,
  events: 3,
  bytes: 10,
  identity: null,
  problem: null,
  stoppedBy: null,
  ...patch,
});
const project = (projectName: string) => ({ projectName }) as unknown as JobSummary["identity"];

describe("givenFrom", () => {
  it("counts the jobs and hours this machine gave, per project", () => {
    const given = givenFrom([
      job("a", { identity: project("api"), durationMs: 2 * H, startedAt: 5_000 }),
      job("b", { identity: project("web"), durationMs: H / 2, result: "failed" }),
      job("c", { identity: project("api"), durationMs: H, result: "stopped", startedAt: 500 }),
      job("d", { durationMs: H / 4 }),
      job("demo", { mode: "demo", durationMs: 10 * H }),
      job("rejected", { problem: "executor: unknown executor 'k8s'", durationMs: 0 }),
      job("running", { result: "running", durationMs: null, finishedAt: null }),
    ]);
    expect(given).toEqual({
      jobs: 4,
      hours: 3.75,
      since: 500,
      byProject: [
        { project: "api", jobs: 2, hours: 3 },
        { project: "web", jobs: 1, hours: 0.5 },
        { project: "(no project)", jobs: 1, hours: 0.25 },
      ],
    });
  });

  it("is empty without jobs", () => {
    expect(givenFrom([])).toEqual({ jobs: 0, hours: 0, since: null, byProject: [] });
  });
});
