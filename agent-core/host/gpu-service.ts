// The host's view of the GPUs: the monitor's samples and processes turned into the contract's
// GpuSnapshot and GpuTick, each GPU's guard (too hot, over power, an Xid error, the owner's own use)
// with its hysteresis, the machine's CPU and memory, and what a job used (its process tree and its
// GPUs). The host decides what the agents do about it.
import { gpuGuard, type GpuGuard } from "../gpu/guards.js";
import { GpuMonitor } from "../gpu/monitor.js";
import type { GpuSample } from "../gpu/nvidia-smi.js";
import { nvidiaMinorOf } from "../gpu/plan.js";
import { parentsNow, type AttributedProcess } from "../gpu/attribution.js";
import { MachineUsage, ProcessTreeUsage } from "../gpu/usage.js";
import type { AgentGpu, GpuProcessView, GpuSnapshot, GpuTick, GpuView, JobGpuUsage, JobUsage, MachineUsage as MachineUsageView } from "./contract.js";
import type { StoredSettings } from "./settings.js";

export interface GpuServiceOptions {
  env: NodeJS.ProcessEnv;
  /** Sampling interval (nvidia-smi -lms); default 1000. */
  intervalMs?: number;
  appsEveryMs?: number;
  /** A new sample of every GPU (the host sends it to the windows). */
  onTick: (tick: GpuTick) => void;
  /** The view changed otherwise: GPUs found or lost, processes, guards. */
  onChange: () => void;
  /** The machine's CPU and memory now (the UsageTracker's). */
  machine: () => MachineUsageView | null;
}

/** How often a running job's process tree (and the machine) is read. */
export const USAGE_SAMPLE_MS = 1000;

/**
 * What each job's process tree uses (CPU time, peak RSS), sampled every USAGE_SAMPLE_MS while jobs
 * run, and the machine's CPU and memory; at a job's end, with what it used on the GPUs.
 */
export class UsageTracker {
  private readonly machineReader = new MachineUsage();
  private machineNow: MachineUsageView | null = null;
  private readonly trees = new Map<string, ProcessTreeUsage | null>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly gpu: GpuService | null,
    private readonly onMachine: (machine: MachineUsageView) => void,
    private readonly everyMs = USAGE_SAMPLE_MS,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref?.();
    this.sample();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get machine(): MachineUsageView | null {
    return this.machineNow;
  }

  /** A job's shell started: its tree is measured from now on, and its GPU processes are its own. */
  jobStarted(jobId: string, rootPid: number): void {
    if (this.trees.get(jobId)) return;
    this.trees.set(jobId, process.platform === "linux" ? new ProcessTreeUsage(rootPid) : null);
    this.gpu?.jobStarted(jobId, rootPid);
    this.trees.get(jobId)?.sample();
  }

  /** A job ended: what it used (null when it never got a shell: it ran nothing). */
  jobFinished(jobId: string, wallMs: number): JobUsage | null {
    const known = this.trees.has(jobId);
    const tree = this.trees.get(jobId) ?? null;
    this.trees.delete(jobId);
    const gpus = this.gpu?.jobFinished(jobId) ?? [];
    if (!known) return null;
    tree?.sample();
    const used = tree?.result() ?? null;
    return { wallMs, cpuMs: used?.cpuMs ?? null, peakRssBytes: used?.peakRssBytes ?? null, gpus };
  }

  private sample(): void {
    const m = this.machineReader.sample();
    this.machineNow = { at: m.at, cpuPercent: m.cpuPercent, memoryUsedBytes: m.memoryUsedBytes, memoryTotalBytes: m.memoryTotalBytes };
    if (this.trees.size > 0) {
      // One read of /proc's parents for every job.
      const parents = parentsNow();
      for (const tree of this.trees.values()) tree?.sample(parents);
    }
    this.onMachine(this.machineNow);
  }
}

export class GpuService {
  private readonly monitor: GpuMonitor;
  private readonly guards = new Map<string, GpuGuard | null>();
  private readonly lastXid = new Map<string, { at: number; code: number }>();
  private settings: StoredSettings | null = null;
  private agentOf: (uuid: string) => string | null = () => null;

  constructor(private readonly options: GpuServiceOptions) {
    this.monitor = new GpuMonitor({
      env: options.env,
      intervalMs: options.intervalMs ?? 1000,
      appsEveryMs: options.appsEveryMs ?? 5000,
      onSample: (gpus) => this.onSample(gpus),
      onChange: () => {
        this.updateGuards();
        this.options.onChange();
      },
    });
  }

  start(): void {
    this.monitor.start();
  }

  stop(): void {
    this.monitor.stop();
  }

  /** The first reading is in (or `timeoutMs` passed): whether GPUs exist is known. */
  ready(timeoutMs: number): Promise<void> {
    return this.monitor.ready(timeoutMs);
  }

  /** The settings (limits, lent GPUs) and who lends which GPU, as the host has them now. */
  configure(settings: StoredSettings, agentOf: (uuid: string) => string | null): void {
    this.settings = settings;
    this.agentOf = agentOf;
    this.updateGuards();
  }

  /** The GPUs found, by index; null while none is known (no GPU tool, or not read yet). */
  get gpus(): AgentGpu[] | null {
    const latest = this.monitor.latest();
    if (latest.length === 0) return null;
    return latest.map((s) => ({ uuid: s.uuid, index: s.index, name: s.name }));
  }

  get vendor(): "nvidia" | "amd" | null {
    return this.monitor.latest().length > 0 ? this.monitor.vendor : null;
  }

  /** The /dev/nvidia<minor> numbers of these GPUs (what a sandbox passes in); null: every GPU node (not NVIDIA's). */
  minorsOf(uuids: readonly string[]): number[] | null {
    if (this.monitor.vendor !== "nvidia") return null;
    return this.monitor
      .latest()
      .filter((s) => uuids.includes(s.uuid))
      .map((s) => nvidiaMinorOf(s));
  }

  /** Why jobs are not accepted on any of these GPUs now (the first guard), or null. */
  guardOf(uuids: readonly string[]): string | null {
    for (const uuid of uuids) {
      const guard = this.guards.get(uuid);
      if (guard) return guard.reason;
    }
    return null;
  }

  /** An Xid error of the kernel log, on the GPU at `busId`. */
  xid(busId: string, code: number, at = Date.now()): void {
    const gpu = this.monitor.latest().find((s) => s.busId?.toUpperCase() === busId.toUpperCase());
    if (!gpu) return;
    this.lastXid.set(gpu.uuid, { at, code });
    if (this.updateGuards()) this.options.onChange();
  }

  snapshot(): GpuSnapshot {
    const status = this.monitor.status;
    const history = this.monitor.samples();
    const processes = this.monitor.gpuProcesses();
    const notLent = new Set(this.settings?.gpuNotLent ?? []);
    const gpus: GpuView[] = this.monitor.latest().map((last) => {
      const list = history.get(last.uuid) ?? [];
      return {
        uuid: last.uuid,
        index: last.index,
        name: last.name,
        busId: last.busId,
        vendor: this.monitor.vendor,
        memoryTotalMiB: last.memoryTotal,
        powerLimitW: last.powerLimit,
        lent: !notLent.has(last.uuid),
        agentId: notLent.has(last.uuid) ? null : this.agentOf(last.uuid),
        guard: this.guards.get(last.uuid) ?? null,
        series: {
          at: list.map((s) => s.at),
          utilization: list.map((s) => s.utilization),
          memoryUsedMiB: list.map((s) => s.memoryUsed),
          temperatureC: list.map((s) => s.temperature),
          powerW: list.map((s) => s.powerDraw),
        },
        processes: processesOn(processes, last.uuid),
      };
    });
    return {
      available: status.available,
      vendor: status.available ? this.monitor.vendor : null,
      reason: status.available ? null : status.reason,
      install: status.available ? null : status.install,
      gpus,
      machine: this.options.machine(),
    };
  }

  /** A job's shell started: its GPU processes descend from `rootPid`. */
  jobStarted(jobId: string, rootPid: number): void {
    this.monitor.jobStarted(jobId, rootPid);
  }

  /** A job ended: what it used on each GPU it ran a process on. */
  jobFinished(jobId: string): JobGpuUsage[] {
    const byUuid = new Map(this.monitor.latest().map((s) => [s.uuid, s]));
    return this.monitor.jobFinished(jobId).map((g) => ({
      uuid: g.uuid,
      index: byUuid.get(g.uuid)?.index ?? null,
      name: byUuid.get(g.uuid)?.name ?? null,
      peakMemoryMiB: g.peakMemory,
      meanUtilization: g.meanUtilization === null ? null : Math.round(g.meanUtilization * 10) / 10,
      energyWh: Math.round(g.energyWh * 1000) / 1000,
    }));
  }

  private onSample(gpus: GpuSample[]): void {
    const changed = this.updateGuards();
    this.options.onTick({
      at: gpus[0]?.at ?? Date.now(),
      gpus: gpus.map((g) => ({ uuid: g.uuid, utilization: g.utilization, memoryUsedMiB: g.memoryUsed, temperatureC: g.temperature, powerW: g.powerDraw })),
      machine: this.options.machine(),
    });
    if (changed) this.options.onChange();
  }

  /** Evaluates every GPU's guard; true when one changed. */
  private updateGuards(): boolean {
    const settings = this.settings;
    if (settings === null) return false;
    const limits = { maxTemperatureC: settings.gpuMaxTemperatureC, maxPowerW: settings.gpuMaxPowerW, ownerUsePauses: settings.gpuOwnerUsePauses };
    const processes = this.monitor.gpuProcesses();
    const now = Date.now();
    let changed = false;
    for (const last of this.monitor.latest()) {
      const previous = this.guards.get(last.uuid) ?? null;
      const input = {
        index: last.index,
        temperatureC: last.temperature,
        powerW: last.powerDraw,
        processes: processesOn(processes, last.uuid),
        lastXid: this.lastXid.get(last.uuid) ?? null,
      };
      const next = gpuGuard(input, limits, previous, now);
      if (JSON.stringify(next) !== JSON.stringify(previous)) changed = true;
      this.guards.set(last.uuid, next);
    }
    return changed;
  }
}


/** The processes on one GPU, as the contract shows them. */
function processesOn(processes: readonly AttributedProcess[], uuid: string): GpuProcessView[] {
  return processes.filter((p) => p.gpuUuid === uuid).map((p) => ({ pid: p.pid, name: p.name, usedMemoryMiB: p.usedMemory, jobId: p.jobId }));
}
