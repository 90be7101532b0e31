// AMD GPUs through amd-smi (ROCm's successor to rocm-smi), read into the same GpuSample and
// GpuProcess as nvidia-smi.ts gives. amd-smi has no CSV stream to keep open, so a sample is one
//   amd-smi metric --json
// every intervalMs (one at a time), the GPUs' identities (UUID, PCI address, name, power limit)
// from `amd-smi list --json` and `amd-smi static --json`, read once and again after an error, and
//   amd-smi process --json
// for the processes. The JSON is amdsmi_cli's (ROCm/amdsmi amdsmi_cli, ROCm 6.x; ROCm/rocm-systems
// projects/amdsmi/amdsmi_cli, ROCm 6.4+/7.x): every reading {"value": N, "unit": "W"}, "N/A" for
// a value (or a whole section) the GPU lacks, each device an object with "gpu": <index>, printed as
// a top-level array, or for metric and static from ROCm 6.4 on as {"gpu_data": [...]}. Both are
// read; "N/A", missing keys, odd units and garbage become null fields or no rows, never a crash.
import { execFile, type ChildProcess } from "node:child_process";
import type { GpuProcess, GpuSample, SamplerEvent, SamplerOptions } from "./nvidia-smi.js";

export type GpuVendor = "nvidia" | "amd";

/** What the monitor needs of a sampler, whichever the vendor. */
export interface GpuSampler {
  start(): void;
  stop(): void;
}

/** A GPU as `amd-smi list` and `amd-smi static` describe it. */
export interface AmdGpuInfo {
  index: number;
  /** amd-smi's UUID (e.g. "a1ff74a1-0000-1000-8000-…"), or `AMD-GPU-<index>` where it has none. */
  uuid: string;
  busId: string | null;
  name: string | null;
  /** W, the enforced socket power cap. */
  powerLimit: number | null;
}

type Obj = Record<string, unknown>;

/** amd-smi's ways of saying "no value" (a failed library call is sometimes printed as its status). */
const NO_VALUE = /^(N\/A|NA|Not Supported|Unknown|AMDSMI_STATUS_\w+)$/i;

function obj(value: unknown): Obj | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : null;
}

/** A bare number, a number-ish string, or the {"value", "unit"} leaf; anything else is null. */
function numberOf(value: unknown): number | null {
  const leaf = obj(value);
  if (leaf) return numberOf(leaf.value);
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string" || NO_VALUE.test(value.trim())) return null;
  const m = /^-?\d+(\.\d+)?/.exec(value.trim());
  return m ? Number(m[0]) : null;
}

const TO_MIB: Record<string, number> = { b: 1 / 1048576, kb: 1 / 1024, kib: 1 / 1024, mb: 1, mib: 1, gb: 1024, gib: 1024 };

/** MiB from a memory leaf; amd-smi's "MB" is MiB (bytes // 1024 // 1024). A bare number is in `bareUnit`. */
function mibOf(value: unknown, bareUnit: "B" | "MB"): number | null {
  const n = numberOf(value);
  if (n === null) return null;
  const unit = obj(value)?.unit;
  const factor = TO_MIB[(typeof unit === "string" && unit.trim() !== "" ? unit : bareUnit).trim().toLowerCase()];
  return factor === undefined ? null : n * factor;
}

function textOf(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const s = value.trim();
  return s === "" || NO_VALUE.test(s) ? null : s;
}

/** The device rows of any amd-smi --json output: a top-level array or {"gpu_data": [...]}. */
function rows(json: unknown): Obj[] {
  const data = typeof json === "string" ? parseJson(json) : json;
  const list = Array.isArray(data) ? data : obj(data)?.gpu_data;
  return Array.isArray(list) ? list.flatMap((r) => (obj(r) ? [r as Obj] : [])) : [];
}

/** JSON.parse, tolerating a warning printed ahead of the document; null for garbage. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const start = text.search(/^\s*[[{]/m);
    if (start <= 0) return null;
    try {
      return JSON.parse(text.slice(start));
    } catch {
      return null;
    }
  }
}

function indexOf(row: Obj): number | null {
  const i = numberOf(row.gpu);
  return i !== null && Number.isInteger(i) && i >= 0 ? i : null;
}

export const syntheticUuid = (index: number): string => `AMD-GPU-${index}`;

/**
 * The GPUs from `amd-smi list --json`, with name and power limit from `amd-smi static --json`
 * when given (asic.market_name; limit.ppt0.socket_power_limit on ROCm 6.4+, limit.socket_power before).
 */
export function parseAmdList(list: string | unknown, staticInfo?: string | unknown): AmdGpuInfo[] {
  const listed = new Map<number, Obj>();
  for (const r of rows(list)) {
    const i = indexOf(r);
    if (i !== null && !listed.has(i)) listed.set(i, r);
  }
  const statics = new Map<number, Obj>();
  for (const r of rows(staticInfo)) {
    const i = indexOf(r);
    if (i !== null && !statics.has(i)) statics.set(i, r);
  }
  const indexes = [...new Set([...listed.keys(), ...statics.keys()])].sort((a, b) => a - b);
  return indexes.map((index) => {
    const l = listed.get(index) ?? {};
    const s = statics.get(index) ?? {};
    const limit = obj(s.limit);
    // Older amd-smi prints a failed UUID read as the error's text ("AMDSMI_STATUS_… - …").
    const uuid = textOf(l.uuid);
    return {
      index,
      uuid: uuid !== null && !/\s/.test(uuid) ? uuid : syntheticUuid(index),
      busId: textOf(l.bdf) ?? textOf(obj(s.bus)?.bdf),
      name: textOf(obj(s.asic)?.market_name),
      powerLimit: numberOf(obj(limit?.ppt0)?.socket_power_limit) ?? numberOf(limit?.socket_power),
    };
  });
}

const uuidFor = (index: number, list: readonly AmdGpuInfo[] | undefined) => list?.find((g) => g.index === index)?.uuid ?? syntheticUuid(index);

/** `amd-smi metric --json`: one sample per GPU, in index order. */
export function parseAmdMetrics(json: string | unknown, at: number, list?: readonly AmdGpuInfo[]): GpuSample[] {
  const out: GpuSample[] = [];
  for (const r of rows(json)) {
    const index = indexOf(r);
    if (index === null || out.some((g) => g.index === index)) continue;
    const info = list?.find((g) => g.index === index);
    const mem = obj(r.mem_usage);
    const temp = obj(r.temperature);
    out.push({
      at,
      index,
      uuid: info?.uuid ?? syntheticUuid(index),
      busId: info?.busId ?? null,
      name: info?.name ?? null,
      utilization: numberOf(obj(r.usage)?.gfx_activity),
      memoryUsed: mibOf(mem?.used_vram, "MB"),
      memoryTotal: mibOf(mem?.total_vram, "MB"),
      // Edge is "N/A" on boards without that sensor (MI300): the hotspot (junction) is what there is.
      temperature: numberOf(temp?.edge) ?? numberOf(temp?.hotspot),
      powerDraw: numberOf(obj(r.power)?.socket_power),
      powerLimit: info?.powerLimit ?? null,
    });
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * `amd-smi process --json`: the processes on each GPU, memory being the VRAM they hold (MiB; the
 * total across VRAM, GTT and CPU when VRAM is not given). A GPU's "No running processes detected"
 * and anything that is not a process are skipped; garbage is [].
 */
export function parseAmdProcesses(json: string | unknown, list?: readonly AmdGpuInfo[]): GpuProcess[] {
  const out: GpuProcess[] = [];
  for (const r of rows(json)) {
    const index = indexOf(r);
    if (index === null || !Array.isArray(r.process_list)) continue;
    for (const entry of r.process_list) {
      // {"process_info": {...}}; tolerate the bare object too.
      const p = obj(obj(entry)?.process_info) ?? (obj(entry)?.pid !== undefined ? obj(entry) : null);
      if (!p) continue;
      const pid = numberOf(p.pid);
      if (pid === null || !Number.isInteger(pid) || pid <= 0) continue;
      out.push({
        pid,
        name: textOf(p.name) ?? "",
        usedMemory: mibOf(obj(p.memory_usage)?.vram_mem, "B") ?? mibOf(p.mem_usage ?? p.mem, "B"),
        gpuUuid: uuidFor(index, list),
      });
    }
  }
  return out;
}

interface Ran {
  stdout: string;
  /** Why the command failed; null when it exited 0. */
  failure: string | null;
}

/** One amd-smi call; never rejects. */
function runAmdSmi(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, onChild?: (c: ChildProcess) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const out = String(stdout);
      if (!error) return resolve({ stdout: out, failure: null });
      const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
      const what = `${command} ${args[0]}`;
      const last = String(stderr).trim().split("\n").at(-1)?.trim();
      let failure: string;
      if (e.code === "ENOENT") failure = `${command} is not installed (not found on PATH)`;
      else if (e.killed && e.signal === "SIGTERM") failure = `${what} timed out after ${timeoutMs} ms`;
      else if (typeof e.code === "number" || e.signal) failure = `${what} exited (${e.signal ?? `code ${e.code}`})${last ? `: ${last}` : ""}`;
      else failure = `${command}: ${e.message}`;
      resolve({ stdout: out, failure });
    });
    onChild?.(child);
  });
}

export interface AmdSamplerOptions extends SamplerOptions {
  /** Longest one amd-smi call may take (it is a Python program: a second or two is normal). */
  timeoutMs?: number;
}

/**
 * Runs `amd-smi metric --json` every intervalMs (the next read starts intervalMs after the last
 * began, or when it ends if it took longer: never two at once) and emits each reading. A failed
 * read (not installed, an exit code without a usable document, no GPU in it) is an error event
 * and a retry after the backoff, which doubles up to maxBackoffMs and is reset by a good read.
 */
export class AmdSmiSampler implements GpuSampler {
  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private child: ChildProcess | null = null;
  private gpus: AmdGpuInfo[] | null = null;
  private backoff: number;
  private readonly o: Required<Omit<AmdSamplerOptions, "env">> & { env: NodeJS.ProcessEnv };

  constructor(
    private readonly onEvent: (event: SamplerEvent) => void,
    options: AmdSamplerOptions = {},
  ) {
    this.o = {
      command: options.command ?? "amd-smi",
      intervalMs: options.intervalMs ?? 1000,
      backoffMs: options.backoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 15_000,
      env: options.env ?? process.env,
      now: options.now ?? Date.now,
    };
    this.backoff = this.o.backoffMs;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    void this.read();
  }

  /** The GPUs as `amd-smi list` named them (for reading the processes with the same UUIDs); null before the first read. */
  get list(): readonly AmdGpuInfo[] | null {
    return this.gpus;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    this.child = null;
    if (child !== null && child.exitCode === null) child.kill("SIGTERM");
  }

  private async run(args: string[]): Promise<Ran> {
    const ran = await runAmdSmi(this.o.command, args, this.o.env, this.o.timeoutMs, (c) => (this.child = c));
    this.child = null;
    return ran;
  }

  private async read(): Promise<void> {
    const began = Date.now();
    let failure: string;
    try {
      if (this.gpus === null) {
        const list = await this.run(["list", "--json"]);
        if (this.stopped) return;
        if (list.failure !== null && rows(list.stdout).length === 0) throw new Error(list.failure);
        // Names and power limits only: a static that fails leaves them null.
        const info = await this.run(["static", "--json"]);
        if (this.stopped) return;
        this.gpus = parseAmdList(list.stdout, info.stdout);
      }
      const metric = await this.run(["metric", "--json"]);
      if (this.stopped) return;
      // A non-zero exit with a full document is a partial failure (one sensor) amd-smi still answered.
      const gpus = parseAmdMetrics(metric.stdout, this.o.now(), this.gpus);
      if (gpus.length === 0) throw new Error(metric.failure ?? `${this.o.command} metric gave no GPU readings`);
      this.backoff = this.o.backoffMs;
      this.onEvent({ type: "sample", gpus });
      this.schedule(Math.max(0, this.o.intervalMs - (Date.now() - began)));
      return;
    } catch (error) {
      failure = (error as Error).message;
    }
    if (this.stopped) return;
    // The GPUs may have changed (a driver reload renumbers them): list them again on the retry.
    this.gpus = null;
    const restartInMs = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs);
    this.onEvent({ type: "error", message: failure, restartInMs });
    this.schedule(restartInMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.read();
    }, ms);
  }
}

/** One `amd-smi process --json` reading (GPUs named by `list`, read first unless given); null when amd-smi cannot be run or fails. */
export async function readAmdProcesses(command = "amd-smi", env: NodeJS.ProcessEnv = process.env, list?: readonly AmdGpuInfo[], timeoutMs = 15_000): Promise<GpuProcess[] | null> {
  let gpus = list;
  if (gpus === undefined) {
    const listed = await runAmdSmi(command, ["list", "--json"], env, timeoutMs);
    if (listed.failure !== null && rows(listed.stdout).length === 0) return null;
    gpus = parseAmdList(listed.stdout);
  }
  const ran = await runAmdSmi(command, ["process", "--json"], env, timeoutMs);
  if (ran.failure !== null && rows(ran.stdout).length === 0) return null;
  return parseAmdProcesses(ran.stdout, gpus);
}
