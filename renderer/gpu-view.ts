// The GPUs in the renderer's words: the 10-minute series kept from the host's ticks, whose processes
// are a job's and whose the owner's, which GPUs a job holds, and the figures' units. Pure (tested
// without a DOM).
import {
  GPU_HISTORY_MS,
  jobTitle,
  type AgentSnapshot,
  type GpuProcessView,
  type GpuSeries,
  type GpuSnapshot,
  type GpuTick,
  type GpuView,
  type JobSummary,
  type JobUsage,
} from "../agent-core/host/contract.js";

export type GpuMetric = "utilization" | "memoryUsedMiB" | "temperatureC" | "powerW";
export const GPU_METRICS: readonly GpuMetric[] = ["utilization", "memoryUsedMiB", "temperatureC", "powerW"];

export function emptySeries(): GpuSeries {
  return { at: [], utilization: [], memoryUsedMiB: [], temperatureC: [], powerW: [] };
}

/** The series without the samples older than `historyMs` before `now`. The same object when nothing is dropped. */
export function trimSeries(series: GpuSeries, now: number, historyMs = GPU_HISTORY_MS): GpuSeries {
  const cutoff = now - historyMs;
  let drop = 0;
  while (drop < series.at.length && series.at[drop]! < cutoff) drop++;
  if (drop === 0) return series;
  return {
    at: series.at.slice(drop),
    utilization: series.utilization.slice(drop),
    memoryUsedMiB: series.memoryUsedMiB.slice(drop),
    temperatureC: series.temperatureC.slice(drop),
    powerW: series.powerW.slice(drop),
  };
}

/**
 * The snapshot with one tick's samples appended to each GPU's series, trimmed to `historyMs`. A sample
 * no newer than the series' last one (already in a snapshot read meanwhile) is skipped, and so is a
 * GPU the tick does not name; a GPU the snapshot does not know waits for the next "gpus" event.
 */
export function appendTick(snapshot: GpuSnapshot, tick: GpuTick, historyMs = GPU_HISTORY_MS): GpuSnapshot {
  const samples = new Map(tick.gpus.map((g) => [g.uuid, g]));
  const gpus = snapshot.gpus.map((gpu) => {
    const sample = samples.get(gpu.uuid);
    const s = gpu.series;
    const last = s.at.length > 0 ? s.at[s.at.length - 1]! : -Infinity;
    if (sample === undefined || tick.at <= last) return gpu;
    const series = trimSeries(
      {
        at: [...s.at, tick.at],
        utilization: [...s.utilization, sample.utilization],
        memoryUsedMiB: [...s.memoryUsedMiB, sample.memoryUsedMiB],
        temperatureC: [...s.temperatureC, sample.temperatureC],
        powerW: [...s.powerW, sample.powerW],
      },
      tick.at,
      historyMs,
    );
    return { ...gpu, series };
  });
  return { ...snapshot, gpus, machine: tick.machine ?? snapshot.machine };
}

/** A snapshot from the host with every series trimmed to the window (the host may keep more). */
export function trimSnapshot(snapshot: GpuSnapshot, historyMs = GPU_HISTORY_MS): GpuSnapshot {
  const newest = Math.max(-Infinity, ...snapshot.gpus.map((g) => g.series.at[g.series.at.length - 1] ?? -Infinity));
  if (!Number.isFinite(newest)) return snapshot;
  return { ...snapshot, gpus: snapshot.gpus.map((g) => ({ ...g, series: trimSeries(g.series, newest, historyMs) })) };
}

export interface GpuReading {
  at: number | null;
  utilization: number | null;
  memoryUsedMiB: number | null;
  temperatureC: number | null;
  powerW: number | null;
}

/** The newest sample of a GPU (each figure its newest reported value in that sample). */
export function latestReading(gpu: GpuView): GpuReading {
  const s = gpu.series;
  const i = s.at.length - 1;
  if (i < 0) return { at: null, utilization: null, memoryUsedMiB: null, temperatureC: null, powerW: null };
  return { at: s.at[i]!, utilization: s.utilization[i] ?? null, memoryUsedMiB: s.memoryUsedMiB[i] ?? null, temperatureC: s.temperatureC[i] ?? null, powerW: s.powerW[i] ?? null };
}

/** The processes of one job on a GPU, under the job's name. */
export interface JobProcesses {
  jobId: string;
  /** "Job api-server · Unit tests", or "Job <id>" when the job names nothing (or is not in the history shown). */
  label: string;
  processes: GpuProcessView[];
}

/** A GPU's processes: each job's (in the order first seen), and the owner's own ("Yours"). */
export function splitProcesses(gpu: Pick<GpuView, "processes">, jobs: readonly Pick<JobSummary, "id" | "identity">[]): { jobs: JobProcesses[]; yours: GpuProcessView[] } {
  const byJob = new Map<string, JobProcesses>();
  const yours: GpuProcessView[] = [];
  for (const p of gpu.processes) {
    if (p.jobId === null) {
      yours.push(p);
      continue;
    }
    let entry = byJob.get(p.jobId);
    if (entry === undefined) {
      const job = jobs.find((j) => j.id === p.jobId);
      entry = { jobId: p.jobId, label: `Job ${jobTitle(job?.identity ?? null, p.jobId)}`, processes: [] };
      byJob.set(p.jobId, entry);
    }
    entry.processes.push(p);
  }
  return { jobs: [...byJob.values()], yours };
}

/**
 * The GPUs a job holds: those where its processes are, else the GPUs of the agent that runs it (the
 * agent whose jobId it is, or the one the history names).
 */
export function jobGpus(jobId: string, snapshot: GpuSnapshot | null, agents: readonly Pick<AgentSnapshot, "id" | "jobId" | "gpus">[], agentId: string | null = null): GpuView[] {
  if (snapshot === null) return [];
  const withProcesses = snapshot.gpus.filter((g) => g.processes.some((p) => p.jobId === jobId));
  if (withProcesses.length > 0) return withProcesses;
  const agent = agents.find((a) => a.jobId === jobId) ?? (agentId !== null ? agents.find((a) => a.id === agentId) : undefined);
  if (agent === undefined) return [];
  const uuids = new Set(agent.gpus.map((g) => g.uuid));
  return snapshot.gpus.filter((g) => uuids.has(g.uuid));
}

/** "GPU 0", "GPU 0 · NVIDIA H200". */
export function gpuLabel(gpu: { index: number | null; name: string | null }, withName = true): string {
  const head = gpu.index !== null ? `GPU ${gpu.index}` : "GPU";
  return withName && gpu.name ? `${head} · ${gpu.name}` : head;
}

// ---------------------------------------------------------------------------------------------
// Units

const DASH = "—";

function fixed(value: number, digits: number): string {
  return value.toFixed(digits).replace(/\.0+$/, "");
}

/** MiB below 1 GiB ("512 MiB"), GiB above ("23.5 GiB", "141 GiB"). */
export function formatMiB(mib: number | null): string {
  if (mib === null || !Number.isFinite(mib)) return DASH;
  if (mib < 1024) return `${Math.round(mib)} MiB`;
  const gib = mib / 1024;
  return `${gib < 100 ? gib.toFixed(1) : Math.round(gib)} GiB`;
}

/** "used / total": "12.3 / 80.0 GiB" (the unit of the total), or just the used memory. */
export function formatMemoryOf(used: number | null, total: number | null): string {
  if (total === null) return formatMiB(used);
  if (used === null) return `${DASH} / ${formatMiB(total)}`;
  if (total < 1024) return `${Math.round(used)} / ${formatMiB(total)}`;
  return `${(used / 1024).toFixed(1)} / ${formatMiB(total)}`;
}

export function formatPercent(value: number | null): string {
  return value === null || !Number.isFinite(value) ? DASH : `${Math.round(value)} %`;
}

export function formatWatts(watts: number | null): string {
  if (watts === null || !Number.isFinite(watts)) return DASH;
  return `${watts < 10 ? fixed(watts, 1) : Math.round(watts)} W`;
}

export function formatCelsius(celsius: number | null): string {
  return celsius === null || !Number.isFinite(celsius) ? DASH : `${Math.round(celsius)} °C`;
}

/** Energy: "0.4 Wh", "12 Wh", "1.25 kWh", "312 kWh". */
export function formatEnergy(wh: number | null): string {
  if (wh === null || !Number.isFinite(wh) || wh < 0) return DASH;
  // A short job draws a fraction of a Wh: shown as such, never as "0 Wh".
  if (wh > 0 && wh < 0.01) return "< 0.01 Wh";
  if (wh < 1) return `${fixed(wh, 2)} Wh`;
  if (wh < 10) return `${fixed(wh, 1)} Wh`;
  if (wh < 1000) return `${Math.round(wh)} Wh`;
  const kwh = wh / 1000;
  return `${kwh < 10 ? kwh.toFixed(2) : kwh < 100 ? kwh.toFixed(1) : Math.round(kwh)} kWh`;
}

/** CPU time of a job's processes: "40 ms", "1.4 s", "42 s", "3 min 4 s", "2 h 5 min". */
export function formatCpuTime(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${fixed(ms / 1000, 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Resident memory: "812 MiB", "3.4 GiB" (binary units, as the GPU figures). */
export function formatRss(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return DASH;
  if (bytes < 1024 * 1024) return `${Math.max(0, Math.round(bytes / 1024))} KiB`;
  return formatMiB(bytes / (1024 * 1024));
}

/** The machine's CPU and memory: "CPU 37 %", "Memory 12.1 / 62.7 GiB". */
export function machineWords(machine: GpuSnapshot["machine"]): { cpu: string; memory: string } {
  if (machine === null) return { cpu: DASH, memory: DASH };
  const mib = (b: number | null) => (b === null ? null : b / (1024 * 1024));
  return { cpu: formatPercent(machine.cpuPercent), memory: formatMemoryOf(mib(machine.memoryUsedBytes), mib(machine.memoryTotalBytes)) };
}

/** What stands in a GPU card's header about who lends it. */
export function lentWords(gpu: Pick<GpuView, "lent" | "agentId">, agents: readonly Pick<AgentSnapshot, "id" | "name">[]): string {
  if (!gpu.lent) return "Kept for you: no agent gets it, and no job sees it";
  if (gpu.agentId === null) return "Lent, once an agent is set up for it";
  const agent = agents.find((a) => a.id === gpu.agentId);
  const name = agent?.name ? ` (${agent.name})` : "";
  return `Lent by agent ${gpu.agentId}${name}`;
}

/** A history row's figures: "CPU 3 min 4 s · peak 3.4 GiB · GPU 0 12 Wh · GPU 1 11 Wh"; null when nothing was measured. */
export function usageLine(usage: JobUsage | null): string | null {
  if (usage === null) return null;
  const parts: string[] = [];
  if (usage.cpuMs !== null) parts.push(`CPU ${formatCpuTime(usage.cpuMs)}`);
  if (usage.peakRssBytes !== null) parts.push(`peak ${formatRss(usage.peakRssBytes)}`);
  for (const g of usage.gpus) parts.push(`${gpuLabel(g, false)} ${formatEnergy(g.energyWh)}`);
  return parts.length > 0 ? parts.join(" · ") : null;
}

/** The agents the History can be filtered by: today's agents, then others the jobs name (and the one picked), labelled by name. */
export function historyAgents(
  agents: readonly Pick<AgentSnapshot, "id" | "name">[],
  history: readonly Pick<JobSummary, "agentId" | "agentName">[],
  keep: string | null,
): { id: string; label: string }[] {
  const labels = new Map<string, string>();
  for (const a of agents) labels.set(a.id, a.name || a.id);
  for (const j of history) {
    if (j.agentId === null || j.agentId === undefined) continue;
    if (!labels.has(j.agentId) || labels.get(j.agentId) === j.agentId) labels.set(j.agentId, j.agentName || j.agentId);
  }
  if (keep !== null && !labels.has(keep)) labels.set(keep, keep);
  return [...labels.entries()].map(([id, label]) => ({ id, label }));
}
