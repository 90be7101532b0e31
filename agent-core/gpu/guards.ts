// The GPU guards no anchor has: a lent GPU stops taking jobs while it is too hot, draws more than the
// owner's power limit, has just reported an Xid error, or the owner is computing on it themselves;
// it takes jobs again once it cooled (to 5 °C under the limit), the power fell (to 10 % under), the Xid is
// COOL_OFF_MS old, or the owner's processes ended. The host feeds the agent's GPUs' reason into the
// donor-controls engine as its `gpu` signal.
import type { GpuProcessView, GpuView } from "../host/contract.js";

export const TEMPERATURE_HYSTERESIS_C = 5;
export const POWER_HYSTERESIS = 0.1;
/** How long a GPU rests after an Xid error. */
export const XID_COOL_OFF_MS = 10 * 60_000;

export interface GuardLimits {
  /** °C, 0: none. */
  maxTemperatureC: number;
  /** W, 0: none. */
  maxPowerW: number;
  ownerUsePauses: boolean;
}

export type GpuGuard = NonNullable<GpuView["guard"]>;

export interface GuardInput {
  index: number;
  temperatureC: number | null;
  powerW: number | null;
  /** The processes on the GPU now, with their job (null: the owner's). */
  processes: readonly GpuProcessView[];
  /** The last Xid error on this GPU: when, and its code. */
  lastXid: { at: number; code: number } | null;
}

/** The guard on one GPU now, given the one it had (for the hysteresis). */
export function gpuGuard(input: GuardInput, limits: GuardLimits, previous: GpuGuard | null, now: number): GpuGuard | null {
  const name = `GPU ${input.index}`;
  if (input.lastXid !== null && now - input.lastXid.at < XID_COOL_OFF_MS) {
    return { kind: "xid", reason: `${name} reported Xid error ${input.lastXid.code}: resting it for ${Math.round(XID_COOL_OFF_MS / 60_000)} min` };
  }
  const t = input.temperatureC;
  if (limits.maxTemperatureC > 0 && t !== null) {
    const hot = previous?.kind === "temperature" ? t > limits.maxTemperatureC - TEMPERATURE_HYSTERESIS_C : t >= limits.maxTemperatureC;
    if (hot) return { kind: "temperature", reason: `${name} is too hot (${Math.round(t)} °C, your limit ${limits.maxTemperatureC} °C)` };
  }
  const p = input.powerW;
  if (limits.maxPowerW > 0 && p !== null) {
    const over = previous?.kind === "power" ? p > limits.maxPowerW * (1 - POWER_HYSTERESIS) : p >= limits.maxPowerW;
    if (over) return { kind: "power", reason: `${name} draws ${Math.round(p)} W (your limit ${limits.maxPowerW} W)` };
  }
  if (limits.ownerUsePauses) {
    const yours = input.processes.filter((proc) => proc.jobId === null);
    if (yours.length > 0) {
      const first = yours[0] as GpuProcessView;
      const more = yours.length > 1 ? ` and ${yours.length - 1} more` : "";
      const memory = first.usedMemoryMiB === null ? "" : `, ${first.usedMemoryMiB} MiB`;
      return { kind: "owner", reason: `You are using ${name} (${first.name} pid ${first.pid}${memory}${more})` };
    }
  }
  return null;
}

/**
 * An Xid line of the kernel log, as the NVIDIA driver writes it:
 * `NVRM: Xid (PCI:0000:17:00): 79, pid=1234, GPU has fallen off the bus.` Returns the bus id as
 * nvidia-smi spells it (00000000:17:00.0) and the code; null for any other line.
 */
export function parseXidLine(line: string): { busId: string; code: number } | null {
  const m = /NVRM: Xid \(PCI:([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})(?:\.(\d))?\): (\d+)/.exec(line);
  if (!m) return null;
  const [, domain, bus, device, fn, code] = m as unknown as [string, string, string, string, string | undefined, string];
  return { busId: `0000${domain}:${bus}:${device}.${fn ?? "0"}`.toUpperCase(), code: Number(code) };
}
