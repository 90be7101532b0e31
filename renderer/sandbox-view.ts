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

/** The Settings sentence under the disk guard's limits (the numbers as typed; 0 turns a limit off, all 0 the guard). */
export function diskGuardSentence(minFreeGb: string | number, minFreePercent: string | number, hardFloorGb: string | number): string {
  const show = (v: string | number) => (typeof v === "number" ? String(v) : v.trim() === "" ? "…" : v.trim());
  const gb = show(minFreeGb);
  const percent = show(minFreePercent);
  const floor = show(hardFloorGb);
  const zero = (v: string) => /^0+$/.test(v);
  if (zero(gb) && zero(percent) && zero(floor)) return "The disk guard is off: jobs are taken and run whatever the free space.";
  const take = zero(gb) && zero(percent)
    ? "Takes jobs whatever the free space"
    : zero(gb)
      ? `Stops taking jobs when free space is below ${percent} %`
      : zero(percent)
        ? `Stops taking jobs when free space is below ${gb} GB`
        : `Stops taking jobs when free space is below the smaller of ${gb} GB and ${percent} %`;
  const stop = zero(floor) ? "never stops a running job for space" : `stops a running job below ${floor} GB`;
  return `${take}; ${stop}.`;
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
  if (agent.hold != null && agent.hold.kind === "disk") {
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

/** What each sandbox level protects, in one line (the Settings choice). */
export const SANDBOX_LEVEL_WORDS: Readonly<Record<SandboxStatus["level"], { title: string; protects: string }>> = {
  strict: {
    title: "Strict (bubblewrap)",
    protects:
      "The job cannot see your home, the app’s data or other jobs’ secrets; its /tmp is private, the system is read-only, and Stop ends every process it started.",
  },
  none: {
    title: "None",
    protects: "Jobs run as you with a private home, but they can read and change your files and see other processes.",
  },
};

/** "strict sandbox" / "no sandbox": the level as a debug terminal's header says it. */
export function sandboxLevelWords(level: SandboxStatus["level"]): string {
  return level === "strict" ? "strict sandbox" : "no sandbox";
}

/** The debug panel's header: "Debug · <job> · strict sandbox". */
export function debugPanelTitle(job: string, level: SandboxStatus["level"]): string {
  return `Debug · ${job} · ${sandboxLevelWords(level)}`;
}

/** The sandbox the Agent view shows: the running agent's, else the one the saved settings give. */
export function shownSandbox(agent: Pick<AgentSnapshot, "sandbox"> | null, saved: SandboxStatus | null): SandboxStatus | null {
  return agent?.sandbox ?? saved;
}
