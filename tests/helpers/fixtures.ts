// Contract values for unit tests: a finished job's summary, a GPU's view, a GPU snapshot. Each test
// states only what it is about (the patch); everything else is a plain, valid value.
import type { GpuSnapshot, GpuView, JobSummary } from "../../agent-core/host/contract.js";

/** A Semaphore job that passed, 1 ms long, with nothing else to say. */
export function jobSummary(id: string, patch: Partial<JobSummary> = {}): JobSummary {
  return {
    id,
    mode: "semaphore",
    result: "passed",
    startedAt: 1,
    finishedAt: 2,
    durationMs: 1,
    events: 1,
    bytes: 1,
    identity: null,
    problem: null,
    stoppedBy: null,
    agentId: null,
    agentName: null,
    usage: null,
    ...patch,
  };
}

export const gpuUuid = (i: number) => `GPU-5c3f0000-1b2c-4d5e-8f90-aaaaaaaaaaa${i}`;

/** An H200 lent by its own agent (gpu<index>), with no samples and no processes. */
export function gpuView(index: number, patch: Partial<GpuView> = {}): GpuView {
  return {
    uuid: gpuUuid(index),
    index,
    name: "NVIDIA H200",
    busId: `00000000:0${index + 1}:00.0`,
    vendor: "nvidia",
    memoryTotalMiB: 143_771,
    powerLimitW: 700,
    lent: true,
    agentId: `gpu${index}`,
    guard: null,
    series: { at: [], utilization: [], memoryUsedMiB: [], temperatureC: [], powerW: [] },
    processes: [],
    ...patch,
  };
}

export function gpuSnapshot(gpus: GpuView[], patch: Partial<GpuSnapshot> = {}): GpuSnapshot {
  return { available: true, vendor: "nvidia", reason: null, install: null, gpus, machine: null, ...patch };
}
