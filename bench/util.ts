// Small helpers shared by the benchmarks.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Linear-interpolated quantile of an ascending array (NaN when empty). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** Polls `fn` until it gives a truthy value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  pollMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/**
 * The PTY floor of a command's output: seconds it takes to run with its output read through a PTY
 * and discarded, nothing else in the way (`script -qc CMD /dev/null > /dev/null`).
 */
export function ptyFloorSeconds(command: string): number {
  const start = process.hrtime.bigint();
  const floor = spawnSync("script", ["-qc", command, "/dev/null"], { stdio: ["ignore", "ignore", "inherit"] });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (floor.status !== 0) throw new Error(`script exited with ${floor.status}`);
  return seconds;
}

/** A process's resident set size in MB, from /proc/PID/status (NaN once it is gone). */
export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** A process's CPU time (user + system) in clock ticks, from /proc/PID/stat (NaN once it is gone). */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN;
  }
}

/** Clock ticks per second of /proc's CPU times. */
export function ticksPerSecond(): number {
  return Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
}

/** The live descendants of `root` whose command line contains `name`. */
export function descendantsNamed(root: number, name: string): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter((pid) => {
    if (!isDescendant(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(name);
    } catch {
      return false;
    }
  });
}
