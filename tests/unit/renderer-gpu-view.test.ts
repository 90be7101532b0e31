// The GPUs in the renderer (renderer/gpu-view.ts), the several-agents wording (view-model.ts,
// lending-view.ts) and the Settings draft's GPU fields (settings-draft.ts). Pure: no DOM.
import { describe, expect, it } from "vitest";
import { GPU_HISTORY_MS, idleAgentSnapshot, type AgentSnapshot, type GpuSnapshot, type GpuTick, type GpuView, type JobSummary } from "../../agent-core/host/contract.js";
import {
  appendTick,
  emptySeries,
  formatCelsius,
  formatCpuTime,
  formatEnergy,
  formatMemoryOf,
  formatMiB,
  formatPercent,
  formatRss,
  formatWatts,
  gpuLabel,
  historyAgents,
  jobGpus,
  latestReading,
  lentWords,
  machineWords,
  splitProcesses,
  trimSeries,
  trimSnapshot,
  usageLine,
} from "../../renderer/gpu-view.js";
import { allAgentsControls, lendingControls, lendingLead } from "../../renderer/lending-view.js";
import { agentsSummary, agentStatus } from "../../renderer/view-model.js";
import { assignGroup, draftFrom, groupAssignment, groupsFromAssignment, sameDraft, toSettingsInput } from "../../renderer/views/settings-draft.js";
import { settingsView } from "../helpers/settings-view.js";
import { gpuSnapshot, gpuUuid, gpuView, jobSummary } from "../helpers/fixtures.js";

const UUID = gpuUuid;
const gpu = gpuView;
const snapshot = gpuSnapshot;

const sample = (uuid: string, value: number) => ({ uuid, utilization: value, memoryUsedMiB: value * 100, temperatureC: 40 + value, powerW: value * 2 });

const tick = (at: number, gpus: GpuTick["gpus"], machine: GpuTick["machine"] = null): GpuTick => ({ at, gpus, machine });

const agent = (patch: Partial<AgentSnapshot> = {}): AgentSnapshot => idleAgentSnapshot(patch);

const job = jobSummary;

describe("a GPU's series", () => {
  it("appends each tick's sample to its GPU, column-wise, and the machine's reading", () => {
    let s = snapshot([gpu(0), gpu(1)]);
    s = appendTick(s, tick(1_000, [sample(UUID(0), 10), sample(UUID(1), 20)], { at: 1_000, cpuPercent: 12, memoryUsedBytes: 1, memoryTotalBytes: 2 }));
    s = appendTick(s, tick(2_000, [sample(UUID(0), 11), { uuid: UUID(1), utilization: null, memoryUsedMiB: null, temperatureC: 41, powerW: null }]));
    expect(s.gpus[0]!.series).toEqual({ at: [1_000, 2_000], utilization: [10, 11], memoryUsedMiB: [1_000, 1_100], temperatureC: [50, 51], powerW: [20, 22] });
    expect(s.gpus[1]!.series).toEqual({ at: [1_000, 2_000], utilization: [20, null], memoryUsedMiB: [2_000, null], temperatureC: [60, 41], powerW: [40, null] });
    // A tick without the machine's reading keeps the last one.
    expect(s.machine?.cpuPercent).toBe(12);
  });

  it("skips a sample no newer than the last one (already in a snapshot read meanwhile), and GPUs it does not know", () => {
    const before = appendTick(snapshot([gpu(0), gpu(1)]), tick(5_000, [sample(UUID(0), 1), sample(UUID(1), 1)]));
    const after = appendTick(before, tick(5_000, [sample(UUID(0), 2), sample("GPU-unknown-0001", 3)]));
    expect(after.gpus[0]).toBe(before.gpus[0]);
    expect(after.gpus.map((g) => g.uuid)).toEqual([UUID(0), UUID(1)]);
    // A GPU the tick does not name is left as it was.
    const partial = appendTick(before, tick(6_000, [sample(UUID(0), 2)]));
    expect(partial.gpus[1]).toBe(before.gpus[1]);
    expect(partial.gpus[0]!.series.at).toEqual([5_000, 6_000]);
  });

  it("keeps the last 10 minutes", () => {
    let s = snapshot([gpu(0)]);
    for (let t = 0; t <= GPU_HISTORY_MS + 5_000; t += 1_000) s = appendTick(s, tick(t, [sample(UUID(0), t / 1000)]));
    const series = s.gpus[0]!.series;
    expect(series.at[0]).toBe(5_000);
    expect(series.at.at(-1)).toBe(GPU_HISTORY_MS + 5_000);
    expect(series.at).toHaveLength(601);
    expect(series.utilization).toHaveLength(601);
    expect(series.utilization[0]).toBe(5);
  });

  it("trims a series (the same object when nothing is old) and a snapshot from the host, by its newest sample", () => {
    const series = { at: [0, 100, 200], utilization: [1, 2, 3], memoryUsedMiB: [4, 5, 6], temperatureC: [7, 8, 9], powerW: [null, 11, 12] };
    expect(trimSeries(series, 250, 200)).toEqual({ at: [100, 200], utilization: [2, 3], memoryUsedMiB: [5, 6], temperatureC: [8, 9], powerW: [11, 12] });
    expect(trimSeries(series, 200, 200)).toBe(series);
    const host = snapshot([gpu(0, { series: { at: [0, GPU_HISTORY_MS + 1], utilization: [1, 2], memoryUsedMiB: [1, 2], temperatureC: [1, 2], powerW: [1, 2] } }), gpu(1)]);
    expect(trimSnapshot(host).gpus[0]!.series.at).toEqual([GPU_HISTORY_MS + 1]);
    expect(trimSnapshot(snapshot([gpu(0)])).gpus[0]!.series.at).toEqual([]);
  });

  it("reads the newest sample", () => {
    expect(latestReading(gpu(0))).toEqual({ at: null, utilization: null, memoryUsedMiB: null, temperatureC: null, powerW: null });
    const s = appendTick(appendTick(snapshot([gpu(0)]), tick(1, [sample(UUID(0), 5)])), tick(2, [sample(UUID(0), 7)]));
    expect(latestReading(s.gpus[0]!)).toEqual({ at: 2, utilization: 7, memoryUsedMiB: 700, temperatureC: 47, powerW: 14 });
  });
});

describe("a GPU's processes and a job's GPUs", () => {
  const processes = [
    { pid: 10, name: "python train.py", usedMemoryMiB: 50_000, jobId: "job-a" },
    { pid: 11, name: "firefox", usedMemoryMiB: 300, jobId: null },
    { pid: 12, name: "python eval.py", usedMemoryMiB: 1_000, jobId: "job-b" },
    { pid: 13, name: "python worker.py", usedMemoryMiB: null, jobId: "job-a" },
  ];

  it("splits them into each job's (named as the history names it) and yours", () => {
    const history = [job("job-a", { identity: { projectName: "ml-models", jobName: "Train" } as JobSummary["identity"] })];
    const split = splitProcesses({ processes }, history);
    expect(split.jobs.map((j) => [j.jobId, j.label, j.processes.map((p) => p.pid)])).toEqual([
      ["job-a", "Job ml-models · Train", [10, 13]],
      ["job-b", "Job job-b", [12]],
    ]);
    expect(split.yours.map((p) => p.pid)).toEqual([11]);
    expect(splitProcesses({ processes: [] }, [])).toEqual({ jobs: [], yours: [] });
  });

  it("a job holds the GPUs its processes are on, else its agent's", () => {
    const s = snapshot([gpu(0, { processes: processes.slice(0, 2) }), gpu(1), gpu(2, { processes: [processes[2]!] })]);
    const agents = [agent({ id: "gpu0", jobId: "job-a", gpus: [{ uuid: UUID(0), index: 0, name: null }] }), agent({ id: "gpu1-2", jobId: "job-c", gpus: [1, 2].map((i) => ({ uuid: UUID(i), index: i, name: null })) })];
    expect(jobGpus("job-a", s, agents).map((g) => g.index)).toEqual([0]);
    expect(jobGpus("job-b", s, agents).map((g) => g.index)).toEqual([2]);
    // No process yet: the GPUs of the agent that runs it, or of the agent the history names.
    expect(jobGpus("job-c", s, agents).map((g) => g.index)).toEqual([1, 2]);
    expect(jobGpus("job-d", s, agents, "gpu0").map((g) => g.index)).toEqual([0]);
    expect(jobGpus("job-d", s, agents)).toEqual([]);
    expect(jobGpus("job-a", null, agents)).toEqual([]);
  });
});

describe("units", () => {
  it("memory: MiB below a GiB, GiB above; used of total", () => {
    expect(formatMiB(null)).toBe("—");
    expect(formatMiB(312.4)).toBe("312 MiB");
    expect(formatMiB(1024)).toBe("1.0 GiB");
    expect(formatMiB(52_000)).toBe("50.8 GiB");
    expect(formatMiB(143_771)).toBe("140 GiB");
    expect(formatMemoryOf(52_000, 143_771)).toBe("50.8 / 140 GiB");
    expect(formatMemoryOf(300, 512)).toBe("300 / 512 MiB");
    expect(formatMemoryOf(null, 81_920)).toBe("— / 80.0 GiB");
    expect(formatMemoryOf(2048, null)).toBe("2.0 GiB");
  });

  it("percent, watts, degrees, energy", () => {
    expect(formatPercent(83.6)).toBe("84 %");
    expect(formatPercent(null)).toBe("—");
    expect(formatWatts(4.25)).toBe("4.3 W");
    expect(formatWatts(5)).toBe("5 W");
    expect(formatWatts(312.7)).toBe("313 W");
    expect(formatWatts(null)).toBe("—");
    expect(formatCelsius(71.4)).toBe("71 °C");
    expect(formatCelsius(null)).toBe("—");
    expect(formatEnergy(0.44)).toBe("0.44 Wh");
    expect(formatEnergy(0.04)).toBe("0.04 Wh");
    expect(formatEnergy(0.004)).toBe("< 0.01 Wh");
    expect(formatEnergy(0)).toBe("0 Wh");
    expect(formatEnergy(3)).toBe("3 Wh");
    expect(formatEnergy(512.4)).toBe("512 Wh");
    expect(formatEnergy(1_250)).toBe("1.25 kWh");
    expect(formatEnergy(18_340)).toBe("18.3 kWh");
    expect(formatEnergy(312_000)).toBe("312 kWh");
    expect(formatEnergy(null)).toBe("—");
  });

  it("CPU time and resident memory", () => {
    expect(formatCpuTime(420)).toBe("420 ms");
    expect(formatCpuTime(1420)).toBe("1.4 s");
    expect(formatCpuTime(4_000)).toBe("4 s");
    expect(formatCpuTime(42_000)).toBe("42 s");
    expect(formatCpuTime(184_000)).toBe("3 min 4 s");
    expect(formatCpuTime(9_500_000)).toBe("2 h 38 min");
    expect(formatCpuTime(null)).toBe("—");
    expect(formatRss(512 * 1024)).toBe("512 KiB");
    expect(formatRss(300 * 2 ** 20)).toBe("300 MiB");
    expect(formatRss(7.5 * 2 ** 30)).toBe("7.5 GiB");
    expect(formatRss(null)).toBe("—");
  });

  it("the machine, a GPU's name, who lends it", () => {
    expect(machineWords(null)).toEqual({ cpu: "—", memory: "—" });
    expect(machineWords({ at: 1, cpuPercent: 37.4, memoryUsedBytes: 12.1 * 2 ** 30, memoryTotalBytes: 62.7 * 2 ** 30 })).toEqual({ cpu: "37 %", memory: "12.1 / 62.7 GiB" });
    expect(machineWords({ at: 1, cpuPercent: null, memoryUsedBytes: null, memoryTotalBytes: null })).toEqual({ cpu: "—", memory: "—" });
    expect(gpuLabel({ index: 1, name: "NVIDIA H200" })).toBe("GPU 1 · NVIDIA H200");
    expect(gpuLabel({ index: 1, name: "NVIDIA H200" }, false)).toBe("GPU 1");
    expect(gpuLabel({ index: null, name: null })).toBe("GPU");
    const agents = [agent({ id: "gpu0", name: "gpu-box-gpu0" }), agent({ id: "gpu1", name: "" })];
    expect(lentWords(gpu(0), agents)).toBe("Lent by agent gpu0 (gpu-box-gpu0)");
    expect(lentWords(gpu(1), agents)).toBe("Lent by agent gpu1");
    expect(lentWords(gpu(2, { agentId: null }), agents)).toBe("Lent, once an agent is set up for it");
    expect(lentWords(gpu(3, { lent: false, agentId: null }), agents)).toMatch(/^Kept for you/);
  });

  it("a history row's usage figures, when measured", () => {
    expect(usageLine(null)).toBeNull();
    expect(usageLine({ wallMs: 1, cpuMs: null, peakRssBytes: null, gpus: [] })).toBeNull();
    expect(
      usageLine({
        wallMs: 1,
        cpuMs: 184_000,
        peakRssBytes: 3.4 * 2 ** 30,
        gpus: [
          { uuid: UUID(0), index: 0, name: null, peakMemoryMiB: 1, meanUtilization: 1, energyWh: 12 },
          { uuid: UUID(1), index: 1, name: null, peakMemoryMiB: 1, meanUtilization: null, energyWh: 11.2 },
        ],
      }),
    ).toBe("CPU 3 min 4 s · peak 3.4 GiB · GPU 0 12 Wh · GPU 1 11 Wh");
  });

  it("the History's agents: today's, then those the jobs name, by name", () => {
    const agents = [agent({ id: "gpu0", name: "box-gpu0" }), agent({ id: "gpu1", name: "" })];
    const history = [job("a", { agentId: "gpu1", agentName: "box-gpu1" }), job("b", { agentId: "main", agentName: "box" }), job("c")];
    expect(historyAgents(agents, history, null)).toEqual([
      { id: "gpu0", label: "box-gpu0" },
      { id: "gpu1", label: "box-gpu1" },
      { id: "main", label: "box" },
    ]);
    expect(historyAgents([agent({ id: "main", name: "box" })], [job("c")], null)).toEqual([{ id: "main", label: "box" }]);
    expect(historyAgents([agent({ id: "main", name: "box" })], [], "gpu3")).toEqual([
      { id: "main", label: "box" },
      { id: "gpu3", label: "gpu3" },
    ]);
  });
});

describe("several agents in words", () => {
  const lending = agent().lending;
  const running = agent({ id: "gpu0", phase: "running-job", jobId: "j1", startedAt: 1 });
  const waiting = agent({ id: "gpu1", phase: "waiting-for-jobs", startedAt: 1 });
  const broken = agent({ id: "gpu2", phase: "waiting-for-jobs", startedAt: 1, error: { scope: "sync", message: "503", at: 1, retryAt: null } });
  const hot = agent({
    id: "gpu3",
    hold: { kind: "gpu", reason: "GPU 3 is too hot", since: 1, next: null, until: null },
    lending: { ...lending, kind: "gpu", line: "Paused — GPU 3 is too hot" },
  });

  it("one agent: its own state; several: how many run jobs, with errors and pauses", () => {
    expect(agentsSummary([running])).toEqual({ words: "Running job j1", short: "Running job j1", tone: "running" });
    expect(agentsSummary([])).toMatchObject({ words: "Stopped", tone: "idle" });
    expect(agentsSummary([running, waiting, broken, hot])).toEqual({ words: "1 of 4 agents running jobs · 1 with an error · 1 paused", short: "1 of 4 agents running jobs", tone: "running" });
    expect(agentsSummary([waiting, waiting])).toMatchObject({ words: "2 of 2 agents up", tone: "ok" });
    expect(agentsSummary([agent(), agent({ id: "gpu1" })])).toMatchObject({ words: "2 agents stopped", tone: "idle" });
    expect(agentsSummary([hot, { ...hot, id: "gpu4" }])).toMatchObject({ words: "2 agents paused", tone: "warn" });
    expect(agentsSummary([waiting, broken])).toMatchObject({ words: "2 of 2 agents up · 1 with an error", tone: "error" });
    expect(agentStatus(hot).words).toBe("Paused (GPU guard)");
  });

  it("the controls for all agents offer what any agent offers; the lending line is one not held by its own GPU", () => {
    expect(allAgentsControls([running])).toEqual(lendingControls(running));
    const paused = agent({ id: "gpu1", lending: { ...lending, pausedByHand: true, kind: "paused" } });
    const both = allAgentsControls([running, paused]);
    expect(both).toEqual({ jobRunning: true, canPause: true, canPauseAfterJob: true, canSnooze: true, canResume: true });
    expect(allAgentsControls([])).toEqual(lendingControls(null));
    expect(lendingLead([hot, waiting])).toBe(waiting);
    expect(lendingLead([hot])).toBe(hot);
    expect(lendingLead([])).toBeNull();
  });
});

describe("the Settings draft's GPU fields", () => {
  it("groups: numbered in order, round-trip, a GPU moved or taken out, empty numbers left out", () => {
    const groups = [[UUID(0), UUID(1)], [UUID(2)]];
    const of = groupAssignment(groups);
    expect(of).toEqual({ [UUID(0)]: 1, [UUID(1)]: 1, [UUID(2)]: 2 });
    expect(groupsFromAssignment(of)).toEqual(groups);
    expect(groupsFromAssignment(assignGroup(of, UUID(1), 3))).toEqual([[UUID(0)], [UUID(2)], [UUID(1)]]);
    expect(groupsFromAssignment(assignGroup(of, UUID(2), 0))).toEqual([[UUID(0), UUID(1)]]);
    // Within a group, the GPUs keep the order they were saved in.
    expect(groupsFromAssignment(assignGroup(assignGroup(of, UUID(0), 2), UUID(1), 2))).toEqual([[UUID(0), UUID(1), UUID(2)]]);
    // A UUID listed twice belongs to its first group.
    expect(groupAssignment([[UUID(0)], [UUID(0), UUID(1)]])).toEqual({ [UUID(0)]: 1, [UUID(1)]: 2 });
  });

  it("round-trip: the agents' mode, groups, the GPUs kept, the limits and the owner's use", () => {
    const view = settingsView({ gpuAgents: "groups", gpuGroups: [[UUID(0), UUID(1)]], gpuNotLent: [UUID(3)], gpuMaxTemperatureC: 80, gpuMaxPowerW: 450, gpuOwnerUsePauses: false });
    const draft = draftFrom(view);
    expect(draft).toMatchObject({ gpuAgents: "groups", gpuGroupOf: { [UUID(0)]: 1, [UUID(1)]: 1 }, gpuNotLent: [UUID(3)], gpuMaxTemperatureC: "80", gpuMaxPowerW: "450", gpuOwnerUsePauses: false });
    expect(sameDraft(draft, draftFrom(view))).toBe(true);
    expect(sameDraft({ ...draft, gpuGroupOf: assignGroup(draft.gpuGroupOf, UUID(2), 1) }, draft)).toBe(false);
    const { input, errors } = toSettingsInput({ ...draft, gpuGroupOf: assignGroup(draft.gpuGroupOf, UUID(2), 2) });
    expect(errors).toEqual([]);
    expect(input).toMatchObject({ gpuAgents: "groups", gpuGroups: [[UUID(0), UUID(1)], [UUID(2)]], gpuNotLent: [UUID(3)], gpuMaxTemperatureC: 80, gpuMaxPowerW: 450, gpuOwnerUsePauses: false });
  });

  it("the limits are whole numbers in range, checked before asking the host", () => {
    const draft = draftFrom(settingsView());
    const c = toSettingsInput({ ...draft, gpuMaxTemperatureC: "151", gpuMaxPowerW: "12.5" });
    expect(c.input).toBeNull();
    expect(c.errors).toEqual([
      { field: "gpuMaxTemperatureC", message: "Enter 150 or less" },
      { field: "gpuMaxPowerW", message: "Enter a whole number" },
    ]);
    expect(toSettingsInput({ ...draft, gpuMaxTemperatureC: "0", gpuMaxPowerW: " 10000 " }).input).toMatchObject({ gpuMaxTemperatureC: 0, gpuMaxPowerW: 10_000 });
  });

  it("a host without the GPU settings: the defaults", () => {
    const { gpuAgents: _a, gpuGroups: _g, gpuNotLent: _n, gpuMaxTemperatureC: _t, gpuMaxPowerW: _p, gpuOwnerUsePauses: _o, ...older } = settingsView();
    expect(toSettingsInput(draftFrom(older as never)).input).toMatchObject({ gpuAgents: "one", gpuGroups: [], gpuNotLent: [], gpuMaxTemperatureC: 85, gpuMaxPowerW: 0, gpuOwnerUsePauses: true });
  });
});
