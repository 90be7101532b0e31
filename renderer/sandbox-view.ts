// Where jobs run and the disk guard, in words: the sandbox line, the disk guard's callout and its
// figures. Pure (tested without a DOM).
import type { AgentSnapshot, DiskView, SandboxStatus } from "../agent-core/host/contract.js";

const DECIMAL_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"] as const;

/** Sizes in decimal units, as disks are sold and `df -H` prints them: "0 B", "950 B", "3.2 GB", "512 GB". */
export function formatDiskBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < DECIMAL_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  // 999.96 MB would read "1000.0 MB": say 1.0 GB instead.
  if (unit > 0 && unit < DECIMAL_UNITS.length - 1 && Number(value.toFixed(value >= 100 ? 0 : 1)) >= 1000) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${DECIMAL_UNITS[unit]}`;
}

/** The Settings sentence under the disk guard's limits (the numbers as typed). */
export function diskGuardSentence(minFreeGb: string | number, minFreePercent: string | number, hardFloorGb: string | number): string {
  const show = (v: string | number) => (typeof v === "number" ? String(v) : v.trim() === "" ? "…" : v.trim());
  return `Stops taking jobs when free space is below the smaller of ${show(minFreeGb)} GB and ${show(minFreePercent)} %; stops a running job below ${show(hardFloorGb)} GB.`;
}

/** Strict was asked for but is not in force (bubblewrap missing, …): always said, never silently none. */
export function sandboxDowngraded(status: SandboxStatus): boolean {
  return status.notice !== null || (status.requested === "strict" && status.level !== "strict");
}

/** "Sandbox: strict · job home /…", "Sandbox: none (private home) · job home /…", "Sandbox: none · job home /…". */
export function sandboxLine(status: SandboxStatus): string {
  const home = status.jobHome !== "" ? ` · job home ${status.jobHome}` : "";
  if (status.level === "strict") return `Sandbox: strict${home}`;
  return `Sandbox: none${status.privateHome ? " (private home)" : ""}${home}`;
}

/** What the job home policy does, in a few words. */
export function workspaceWords(status: SandboxStatus): string {
  if (!status.privateHome) return "jobs run in your own home folder";
  return status.workspace === "clean" ? "cleaned after each job" : "kept between jobs";
}

export interface DiskCallout {
  tone: "warn" | "error";
  /** "Not taking jobs: <reason>" (held by the disk guard) or "Disk almost full: <reason>". */
  title: string;
  disk: DiskView | null;
}

/** The Agent view's disk callout, or null while the disk guard is happy. */
export function diskCallout(agent: Pick<AgentSnapshot, "hold" | "disk"> | null): DiskCallout | null {
  if (agent === null) return null;
  const disk = agent.disk ?? null;
  if (agent.hold != null) {
    return { tone: "error", title: `Not taking jobs: ${agent.hold.reason}`, disk };
  }
  if (disk !== null && (disk.state === "low" || disk.state === "critical")) {
    const reason = disk.reason ?? (disk.state === "critical" ? "free space is below the hard floor" : "free space is below the limit");
    return { tone: disk.state === "critical" ? "error" : "warn", title: `Disk almost full: ${reason}`, disk };
  }
  return null;
}

/** "3.2 GB free of 500 GB (limit 10 GB)". */
export function spaceWords(space: DiskView["spaces"][number]): string {
  return `${formatDiskBytes(space.freeBytes)} free of ${formatDiskBytes(space.totalBytes)} (limit ${formatDiskBytes(space.thresholdBytes)})`;
}

/** Whether a watched filesystem is below its limit. */
export function spaceLow(space: DiskView["spaces"][number]): boolean {
  return space.freeBytes < space.thresholdBytes;
}
