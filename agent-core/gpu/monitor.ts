// The machine's GPUs over time: the sampler's rounds kept for the last 10 minutes per GPU (what the
// panel charts), the processes on each GPU with whose they are (a job's or the owner's), and what a
// job used while it ran (peak memory, mean utilisation, energy per GPU). No Electron, no UI: the host
// feeds it the running jobs' root pids and reads it.
import { attribute, type AttributedProcess } from "./attribution.js";
import { GPU_HISTORY_MS } from "../host/contract.js";
import { AmdSmiSampler, readAmdProcesses, type GpuSampler, type GpuVendor } from "./amd-smi.js";
import { energyWh, NvidiaSmiSampler, readComputeApps, type GpuProcess, type GpuSample, type SamplerEvent } from "./nvidia-smi.js";


export interface GpuStatus {
  /** false: no GPU tool here, or it failed; `reason` says which, `install` what to do. */
  available: boolean;
  reason: string | null;
  install: string | null;
}

export interface JobGpuUse {
  uuid: string;
  /** MiB, the most the job's processes held at once on this GPU. */
  peakMemory: number;
  /** %, the GPU's mean utilisation over the samples while the job held it. */
  meanUtilization: number | null;
  /** Wh drawn by the GPU while the job held it. */
  energyWh: number;
}

interface JobAccumulator {
  jobId: string;
  perGpu: Map<string, { peak: number; utilizations: number[]; power: { at: number; powerDraw: number | null }[] }>;
}

export interface MonitorOptions {
  /** "auto" (default): nvidia-smi, and amd-smi where nvidia-smi is not installed. */
  vendor?: GpuVendor | "auto";
  /** The nvidia-smi to run (default: the one on PATH). */
  command?: string;
  /** The amd-smi to run (default: the one on PATH). */
  amdCommand?: string;
  env?: NodeJS.ProcessEnv;
  intervalMs?: number;
  appsEveryMs?: number;
  now?: () => number;
  /** Each round of samples, after it is kept. */
  onSample?: (gpus: GpuSample[]) => void;
  /** The processes were read (every appsEveryMs), or the status changed. */
  onChange?: () => void;
}

export class GpuMonitor {
  private readonly history = new Map<string, GpuSample[]>();
  private sampler: GpuSampler;
  private amd: AmdSmiSampler | null = null;
  private vendorNow: GpuVendor;
  private readonly vendorWanted: GpuVendor | "auto";
  private appsTimer: NodeJS.Timeout | null = null;
  private appsInFlight = false;
  private processes: AttributedProcess[] = [];
  private roots = new Map<number, string>();
  private readonly jobs = new Map<string, JobAccumulator>();
  private statusNow: GpuStatus = { available: false, reason: "not read yet", install: null };
  private readonly o: Required<Omit<MonitorOptions, "env" | "onSample" | "onChange" | "vendor">> & { env: NodeJS.ProcessEnv };
  private stopped = false;
  private readonly onSample: (gpus: GpuSample[]) => void;
  private readonly onChange: () => void;
  private settled!: () => void;
  private readonly first = new Promise<void>((resolve) => (this.settled = resolve));

  constructor(options: MonitorOptions = {}) {
    this.o = {
      command: options.command ?? "nvidia-smi",
      amdCommand: options.amdCommand ?? "amd-smi",
      env: options.env ?? process.env,
      intervalMs: options.intervalMs ?? 1000,
      appsEveryMs: options.appsEveryMs ?? 5000,
      now: options.now ?? Date.now,
    };
    this.onSample = options.onSample ?? (() => undefined);
    this.onChange = options.onChange ?? (() => undefined);
    this.vendorWanted = options.vendor ?? "auto";
    this.vendorNow = this.vendorWanted === "amd" ? "amd" : "nvidia";
    this.sampler = this.vendorNow === "amd" ? this.amdSampler() : new NvidiaSmiSampler((e) => this.onSampler(e), { command: this.o.command, env: this.o.env, intervalMs: this.o.intervalMs, now: this.o.now });
  }

  private amdSampler(): AmdSmiSampler {
    this.amd = new AmdSmiSampler((e) => this.onSampler(e), { command: this.o.amdCommand, env: this.o.env, intervalMs: this.o.intervalMs, now: this.o.now });
    return this.amd;
  }

  /** Whose GPUs these are: NVIDIA's (nvidia-smi) or AMD's (amd-smi). */
  get vendor(): GpuVendor {
    return this.vendorNow;
  }

  start(): void {
    this.sampler.start();
    this.appsTimer = setInterval(() => void this.readApps(), this.o.appsEveryMs);
    this.appsTimer.unref?.();
  }

  /** Resolves once the first reading (or failure) is in, or after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.first, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** The latest sample of each GPU, by index. */
  latest(): GpuSample[] {
    return [...this.history.values()].map((list) => list.at(-1)).filter((s): s is GpuSample => s !== undefined).sort((a, b) => a.index - b.index);
  }

  stop(): void {
    this.stopped = true;
    this.sampler.stop();
    if (this.appsTimer) clearInterval(this.appsTimer);
    this.appsTimer = null;
  }

  get status(): GpuStatus {
    return { ...this.statusNow };
  }

  /** The last 10 minutes of each GPU, oldest first. */
  samples(): Map<string, GpuSample[]> {
    return new Map([...this.history].map(([uuid, list]) => [uuid, [...list]]));
  }

  /** The processes on the GPUs at the last reading, each with its job (or null: the owner's). */
  gpuProcesses(): AttributedProcess[] {
    return this.processes.map((p) => ({ ...p }));
  }

  /** A job started: its shell's (or sandbox's) pid is the root its GPU processes descend from. */
  jobStarted(jobId: string, rootPid: number): void {
    this.roots.set(rootPid, jobId);
    this.jobs.set(jobId, { jobId, perGpu: new Map() });
  }

  /** A job ended: what it used on each GPU it held. */
  jobFinished(jobId: string): JobGpuUse[] {
    for (const [pid, id] of this.roots) if (id === jobId) this.roots.delete(pid);
    const acc = this.jobs.get(jobId);
    this.jobs.delete(jobId);
    if (!acc) return [];
    return [...acc.perGpu.entries()].map(([uuid, g]) => ({
      uuid,
      peakMemory: g.peak,
      meanUtilization: g.utilizations.length === 0 ? null : g.utilizations.reduce((a, b) => a + b, 0) / g.utilizations.length,
      energyWh: energyWh(g.power, Math.max(10_000, this.o.intervalMs * 5)),
    }));
  }

  /** Reads the processes now (also every appsEveryMs) and credits the jobs' memory. */
  async readApps(): Promise<void> {
    // One reading at a time: a slow nvidia-smi (a busy machine) must not pile up processes.
    if (this.appsInFlight) return;
    this.appsInFlight = true;
    let apps: GpuProcess[] | null;
    try {
      apps = this.vendorNow === "amd" ? await readAmdProcesses(this.o.amdCommand, this.o.env, this.amd?.list ?? undefined) : await readComputeApps(this.o.command, this.o.env);
    } finally {
      this.appsInFlight = false;
    }
    if (apps === null) return;
    this.processes = attribute(apps, this.roots);
    for (const p of this.processes) {
      if (p.jobId === null) continue;
      const acc = this.jobs.get(p.jobId);
      if (!acc) continue;
      const g = this.gpuOf(acc, p.gpuUuid);
      g.peak = Math.max(g.peak, p.usedMemory ?? 0);
    }
    this.onChange();
  }

  private gpuOf(acc: JobAccumulator, uuid: string) {
    let g = acc.perGpu.get(uuid);
    if (!g) {
      g = { peak: 0, utilizations: [], power: [] };
      acc.perGpu.set(uuid, g);
    }
    return g;
  }

  private onSampler(event: SamplerEvent): void {
    if (event.type === "error" && /not installed/.test(event.message) && this.vendorWanted === "auto" && this.vendorNow === "nvidia" && !this.stopped) {
      // No nvidia-smi: an AMD machine, perhaps. amd-smi answers from now on (or says it is missing too).
      this.sampler.stop();
      this.vendorNow = "amd";
      this.sampler = this.amdSampler();
      this.sampler.start();
      return;
    }
    this.settled();
    if (event.type === "error") {
      const missing = /not installed/.test(event.message);
      const was = this.statusNow.reason;
      this.statusNow = {
        available: false,
        reason: missing && this.vendorWanted === "auto" ? "No GPU tool found: neither nvidia-smi nor amd-smi is installed" : event.message,
        install: missing ? "Install the NVIDIA driver, which brings nvidia-smi (Ubuntu: sudo ubuntu-drivers install; Debian: sudo apt-get install nvidia-driver); for AMD GPUs install ROCm, which brings amd-smi (sudo apt-get install amd-smi-lib)." : null,
      };
      if (was !== event.message) this.onChange();
      return;
    }
    const wasAvailable = this.statusNow.available;
    this.statusNow = { available: true, reason: null, install: null };
    if (!wasAvailable) {
      this.onChange();
      void this.readApps();
    }
    const cutoff = this.o.now() - GPU_HISTORY_MS;
    // Which GPUs each running job holds: where its processes were at the last reading.
    const held = new Map<string, Set<string>>();
    for (const p of this.processes) if (p.jobId !== null) held.set(p.jobId, (held.get(p.jobId) ?? new Set()).add(p.gpuUuid));
    for (const gpu of event.gpus) {
      const list = this.history.get(gpu.uuid) ?? [];
      list.push(gpu);
      while (list.length > 0 && (list[0] as GpuSample).at < cutoff) list.shift();
      this.history.set(gpu.uuid, list);
      for (const [jobId, uuids] of held) {
        if (!uuids.has(gpu.uuid)) continue;
        const acc = this.jobs.get(jobId);
        if (!acc) continue;
        const g = this.gpuOf(acc, gpu.uuid);
        if (gpu.utilization !== null) g.utilizations.push(gpu.utilization);
        g.power.push({ at: gpu.at, powerDraw: gpu.powerDraw });
      }
    }
    this.onSample(event.gpus);
  }
}
