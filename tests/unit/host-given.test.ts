// "This machine has given", computed from the history: Semaphore jobs that ran (not the demo's, not
// jobs the agent could not run, not the running one), their hours, per project, most hours first.
import { describe, expect, it } from "vitest";
import type { JobSummary } from "../../agent-core/host/contract.js";
import { givenFrom } from "../../agent-core/host/lending.js";
import { jobSummary } from "../helpers/fixtures.js";

const H = 3_600_000;
const job = (id: string, patch: Partial<JobSummary>): JobSummary => jobSummary(id, { startedAt: 1_000, finishedAt: 1_000 + H, durationMs: H, events: 3, bytes: 10, ...patch });
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
      gpuHours: 0,
      energyWh: 0,
      since: 500,
      byProject: [
        { project: "api", jobs: 2, hours: 3 },
        { project: "web", jobs: 1, hours: 0.5 },
        { project: "(no project)", jobs: 1, hours: 0.25 },
      ],
    });
  });

  it("is empty without jobs", () => {
    expect(givenFrom([])).toEqual({ jobs: 0, hours: 0, gpuHours: 0, energyWh: 0, since: null, byProject: [] });
  });

  it("adds GPU-hours (the job's time on each GPU it used) and the GPUs' energy", () => {
    const gpu = (uuid: string, energyWh: number) => ({ uuid, index: 0, name: null, peakMemoryMiB: 100, meanUtilization: 50, energyWh });
    const given = givenFrom([
      job("two-gpus", { durationMs: 2 * H, usage: { wallMs: 2 * H, cpuMs: 1000, peakRssBytes: 1, gpus: [gpu("GPU-a", 300), gpu("GPU-b", 250.5)] } }),
      job("cpu-only", { durationMs: H, usage: { wallMs: H, cpuMs: 1000, peakRssBytes: 1, gpus: [] } }),
      job("demo", { mode: "demo", durationMs: H, usage: { wallMs: H, cpuMs: 1, peakRssBytes: 1, gpus: [gpu("GPU-a", 99)] } }),
    ]);
    expect(given.gpuHours).toBe(4);
    expect(given.energyWh).toBeCloseTo(550.5);
    expect(given.hours).toBe(3);
  });
});
