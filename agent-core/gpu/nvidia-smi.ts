// NVIDIA GPUs through nvidia-smi's CSV query interface, the way monitoring agents read it (Netdata's
// nvidia_smi collector, dcgm-exporter's fallbacks): one long-lived
//   nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits -lms 1000
// process whose stdout is a stream of one line per GPU per sample, and a periodic
//   nvidia-smi --query-compute-apps=pid,process_name,used_memory,gpu_uuid --format=csv,noheader,nounits
// for the processes on each GPU. `[N/A]`, `[Not Supported]`, a missing or extra column and garbage
// become null fields or a skipped line, never a crash; a dying nvidia-smi is restarted with a backoff.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** The columns asked for, in order (the CSV has no header with `noheader`). */
export const GPU_QUERY_FIELDS = [
  "index",
  "uuid",
  "pci.bus_id",
  "name",
  "utilization.gpu",
  "memory.used",
  "memory.total",
  "temperature.gpu",
  "power.draw",
  "power.limit",
] as const;

export interface GpuSample {
  /** When the line was read (epoch ms). */
  at: number;
  index: number;
  uuid: string;
  busId: string | null;
  name: string | null;
  /** % */
  utilization: number | null;
  /** MiB */
  memoryUsed: number | null;
  memoryTotal: number | null;
  /** °C */
  temperature: number | null;
  /** W */
  powerDraw: number | null;
  powerLimit: number | null;
}

export interface GpuProcess {
  pid: number;
  name: string;
  /** MiB; null where the driver does not say (e.g. under some virtualisation). */
  usedMemory: number | null;
  gpuUuid: string;
}

/** nvidia-smi's ways of saying "no value". */
const NO_VALUE = /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU is lost|Requested functionality has been deprecated)\]?$/i;

function cells(line: string): string[] {
  return line.split(",").map((c) => c.trim());
}

function numberOf(cell: string | undefined): number | null {
  if (cell === undefined || cell === "" || NO_VALUE.test(cell)) return null;
  // `nounits` drops the units; some drivers still append one ("52.36 W"): take the leading number.
  const m = /^-?\d+(\.\d+)?/.exec(cell);
  if (!m) return null;
  const value = Number(m[0]);
  return Number.isFinite(value) ? value : null;
}

function textOf(cell: string | undefined): string | null {
  if (cell === undefined || cell === "" || NO_VALUE.test(cell)) return null;
  return cell;
}

/**
 * One `--query-gpu` line, in GPU_QUERY_FIELDS order. Null when it is not a GPU line at all (no
 * index or UUID: a warning, a blank line, a truncated write); any other field it lacks is null. A
 * name with a comma in it (it happens) is kept whole: the fields after it are counted from the end.
 */
export function parseGpuLine(line: string, at: number): GpuSample | null {
  let c = cells(line);
  if (c.length > GPU_QUERY_FIELDS.length) {
    const extra = c.length - GPU_QUERY_FIELDS.length;
    c = [...c.slice(0, 3), c.slice(3, 4 + extra).join(", "), ...c.slice(4 + extra)];
  }
  const index = numberOf(c[0]);
  const uuid = textOf(c[1]);
  if (index === null || !Number.isInteger(index) || index < 0 || uuid === null || !/^(GPU|MIG)-/.test(uuid)) return null;
  return {
    at,
    index,
    uuid,
    busId: textOf(c[2]),
    name: textOf(c[3]),
    utilization: numberOf(c[4]),
    memoryUsed: numberOf(c[5]),
    memoryTotal: numberOf(c[6]),
    temperature: numberOf(c[7]),
    powerDraw: numberOf(c[8]),
    powerLimit: numberOf(c[9]),
  };
}

/** `--query-compute-apps=pid,process_name,used_memory,gpu_uuid` output; lines that are not processes are skipped. */
export function parseComputeApps(text: string): GpuProcess[] {
  const out: GpuProcess[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const c = cells(line);
    if (c.length < 4) continue;
    // A process name may hold commas: pid first, memory and UUID last.
    const pid = numberOf(c[0]);
    const gpuUuid = c[c.length - 1] as string;
    if (pid === null || !Number.isInteger(pid) || pid <= 0 || !/^(GPU|MIG)-/.test(gpuUuid)) continue;
    out.push({ pid, name: c.slice(1, -2).join(", "), usedMemory: numberOf(c[c.length - 2]), gpuUuid });
  }
  return out;
}

/** Energy in Wh from power samples (W at epoch ms), by the trapezoid rule; gaps over `maxGapMs` are not bridged. */
export function energyWh(samples: readonly { at: number; powerDraw: number | null }[], maxGapMs = 10_000): number {
  let joules = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (a.powerDraw === null || b.powerDraw === null) continue;
    const dt = b.at - a.at;
    if (dt <= 0 || dt > maxGapMs) continue;
    joules += ((a.powerDraw + b.powerDraw) / 2) * (dt / 1000);
  }
  return joules / 3600;
}

export interface SamplerOptions {
  /** The nvidia-smi to run (default: the one on PATH). */
  command?: string;
  intervalMs?: number;
  /** First restart delay after nvidia-smi died; doubles up to maxBackoffMs, reset by a good line. */
  backoffMs?: number;
  maxBackoffMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export type SamplerEvent =
  | { type: "sample"; gpus: GpuSample[] }
  | { type: "error"; message: string; restartInMs: number | null };

/**
 * The long-lived `nvidia-smi -lms` reader. A sample is the lines of one round (one per GPU, indexes
 * rising; a repeated or lower index starts the next round). It is emitted when the next round
 * begins, or after `intervalMs` of quiet, whichever is first.
 */
export class NvidiaSmiSampler {
  private child: ChildProcess | null = null;
  private stopped = false;
  private round: GpuSample[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private backoff: number;
  private readonly options: Required<Omit<SamplerOptions, "env">> & { env: NodeJS.ProcessEnv };

  constructor(
    private readonly onEvent: (event: SamplerEvent) => void,
    options: SamplerOptions = {},
  ) {
    this.options = {
      command: options.command ?? "nvidia-smi",
      intervalMs: options.intervalMs ?? 1000,
      backoffMs: options.backoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      env: options.env ?? process.env,
      now: options.now ?? Date.now,
    };
    this.backoff = this.options.backoffMs;
  }

  start(): void {
    if (this.child !== null || this.stopped) return;
    const o = this.options;
    const child = spawn(o.command, [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits", "-lms", String(o.intervalMs)], {
      env: o.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout! }).on("line", (line) => this.onLine(line));
    const ended = (why: string) => {
      if (this.child !== child) return;
      this.child = null;
      this.flush();
      if (this.stopped) return;
      const restartInMs = this.backoff;
      this.backoff = Math.min(this.backoff * 2, o.maxBackoffMs);
      this.onEvent({ type: "error", message: why, restartInMs });
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.start();
      }, restartInMs);
    };
    child.on("error", (error: NodeJS.ErrnoException) => ended(error.code === "ENOENT" ? `${o.command} is not installed (not found on PATH)` : `${o.command}: ${error.message}`));
    // "close", not "exit": every line it wrote has been read by then.
    child.on("close", (code, signal) => ended(`${o.command} exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split("\n").at(-1)}` : ""}`));
  }

  stop(): void {
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = null;
    if (child !== null && child.exitCode === null) child.kill("SIGTERM");
  }

  private onLine(line: string): void {
    const sample = parseGpuLine(line, this.options.now());
    if (sample === null) return;
    this.backoff = this.options.backoffMs;
    const last = this.round.at(-1);
    if (last !== undefined && sample.index <= last.index) this.flush();
    this.round.push(sample);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flush(), this.options.intervalMs);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.round.length === 0) return;
    const gpus = this.round;
    this.round = [];
    this.onEvent({ type: "sample", gpus });
  }
}

/** One `--query-compute-apps` reading; null when nvidia-smi cannot be run or fails. */
export function readComputeApps(command = "nvidia-smi", env: NodeJS.ProcessEnv = process.env): Promise<GpuProcess[] | null> {
  return new Promise((resolve) => {
    execFile(command, ["--query-compute-apps=pid,process_name,used_memory,gpu_uuid", "--format=csv,noheader,nounits"], { env, timeout: 10_000 }, (error, stdout) => {
      resolve(error ? null : parseComputeApps(String(stdout)));
    });
  });
}
