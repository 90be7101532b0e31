// The disk guard: a donor's disk never fills because of CI. Free space is read (statfs) on the
// filesystems of the job home and of the agent's TMPDIR. Below the threshold (default the smaller
// of 10 GB and 10 % of the filesystem) the agent stops taking jobs; below the hard floor (default
// 1 GB) a running job is stopped. Pure judgement here; the agent and the app act on it.
import { lstat, readdir, stat, statfs } from "node:fs/promises";
import { join } from "node:path";

export interface DiskGuardSettings {
  /** Stop taking jobs below this many GB free (0: not used). */
  minFreeGb: number;
  /** ... or below this share of the filesystem (0: not used); the smaller of the two applies. */
  minFreePercent: number;
  /** Stop a running job below this many GB free (0: off). */
  hardFloorGb: number;
}

export const DEFAULT_DISK_GUARD: Readonly<DiskGuardSettings> = Object.freeze({ minFreeGb: 10, minFreePercent: 10, hardFloorGb: 1 });

const GB = 1e9;

export interface FsSpace {
  /** What this filesystem holds for us ("job home", "TMPDIR"), for the message. */
  label: string;
  path: string;
  freeBytes: number;
  totalBytes: number;
}

export type DiskState = "ok" | "low" | "critical";

export interface DiskVerdict {
  state: DiskState;
  /** One sentence: which filesystem, how much is free, what the limit is, what happens. Null when ok. */
  reason: string | null;
  spaces: FsSpace[];
  /** Bytes below which jobs are not taken, per space (same order). */
  thresholds: number[];
}

/** Free space as an unprivileged process may use it (statfs bavail). Null when it cannot be read. */
export async function readSpace(label: string, path: string): Promise<FsSpace | null> {
  try {
    const s = await statfs(path);
    return { label, path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return null;
  }
}

/** The smaller of the configured limits for this filesystem; 0 when both are off. */
export function thresholdBytes(space: FsSpace, settings: DiskGuardSettings): number {
  const limits: number[] = [];
  if (settings.minFreeGb > 0) limits.push(settings.minFreeGb * GB);
  if (settings.minFreePercent > 0) limits.push((settings.minFreePercent / 100) * space.totalBytes);
  return limits.length === 0 ? 0 : Math.min(...limits);
}

export function judge(spaces: readonly FsSpace[], settings: DiskGuardSettings): DiskVerdict {
  const thresholds = spaces.map((s) => thresholdBytes(s, settings));
  const floor = settings.hardFloorGb * GB;
  let state: DiskState = "ok";
  let reason: string | null = null;
  spaces.forEach((space, i) => {
    const where = `${space.path} (${space.label})`;
    if (floor > 0 && space.freeBytes < floor) {
      if (state !== "critical") {
        state = "critical";
        reason = `Only ${formatBytes(space.freeBytes)} free on ${where}, under the hard floor of ${formatBytes(floor)}: a running job is stopped, and no job is taken until there is more.`;
      }
    } else if (state === "ok" && space.freeBytes < (thresholds[i] ?? 0)) {
      state = "low";
      reason = `Only ${formatBytes(space.freeBytes)} free on ${where}, below ${formatBytes(thresholds[i] ?? 0)}: no new job is taken until there is more (it resumes by itself).`;
    }
  });
  return { state, reason, spaces: [...spaces], thresholds };
}

/**
 * Reads the filesystems of `paths` (label -> path), once per filesystem, and judges them.
 * A path that cannot be read is left out (a missing job home is made before the first job).
 */
export async function checkDisk(paths: readonly { label: string; path: string }[], settings: DiskGuardSettings): Promise<DiskVerdict> {
  const seen = new Map<number, FsSpace>();
  const spaces: FsSpace[] = [];
  for (const { label, path } of paths) {
    const dev = await stat(path).then((s) => s.dev, () => null);
    if (dev === null) continue;
    const known = seen.get(dev);
    if (known) {
      known.label = `${known.label}, ${label}`;
      continue;
    }
    const space = await readSpace(label, path);
    if (space === null) continue;
    seen.set(dev, space);
    spaces.push(space);
  }
  return judge(spaces, settings);
}

/** Bytes under `path` (files and links, not following links); bounded to `maxEntries` entries. */
export async function spaceUsedBy(path: string, maxEntries = 200_000): Promise<{ bytes: number; complete: boolean }> {
  let bytes = 0;
  let entries = 0;
  const stack = [path];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    const st = await lstat(dir).catch(() => null);
    if (st === null) continue;
    bytes += st.isDirectory() ? 0 : st.blocks * 512 || st.size;
    if (!st.isDirectory()) continue;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (++entries > maxEntries) return { bytes, complete: false };
      stack.push(join(dir, name));
    }
  }
  return { bytes, complete: true };
}

/** 1234567890 -> "1.2 GB" (decimal units, as disks are sold and `df -H` prints). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}
