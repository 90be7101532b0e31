// Whose is each process on a GPU: a job's (its pid is in the process tree of that job's shell, or
// of the bwrap that holds its sandbox) or the owner's (anything else). Read from /proc at the
// moment of the reading; a process that is gone by then is the owner's, never a guess for a job.
import { readdirSync, readFileSync } from "node:fs";
import type { GpuProcess } from "./nvidia-smi.js";

/** pid -> parent pid, for every process readable in /proc now. */
export function parentsNow(proc = "/proc"): Map<number, number> {
  const parents = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync(proc);
  } catch {
    return parents;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`${proc}/${name}/stat`, "latin1");
      const close = stat.lastIndexOf(")");
      parents.set(Number(name), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  return parents;
}

/** The parent of `pid` now (null: gone, or unreadable). */
export function parentOf(pid: number, proc = "/proc"): number | null {
  try {
    const stat = readFileSync(`${proc}/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** Parents read on demand, each once: walking a few GPU processes' ancestry reads a few files, not all of /proc. */
export function lazyParents(proc = "/proc"): Pick<ReadonlyMap<number, number>, "get"> {
  const known = new Map<number, number | null>();
  return {
    get(pid: number): number | undefined {
      if (!known.has(pid)) known.set(pid, parentOf(pid, proc));
      return known.get(pid) ?? undefined;
    },
  };
}

/** The job whose root (shell or bwrap pid) `pid` descends from, or null. */
export function jobOfPid(pid: number, roots: ReadonlyMap<number, string>, parents: Pick<ReadonlyMap<number, number>, "get">): string | null {
  for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 0 && hops < 128; hops++) {
    const job = roots.get(p);
    if (job !== undefined) return job;
    p = parents.get(p);
  }
  return null;
}

export interface AttributedProcess extends GpuProcess {
  /** The job that owns it, or null: the owner's own. */
  jobId: string | null;
}

/** Each GPU process with the job it belongs to (roots: the running jobs' shell or bwrap pids). */
export function attribute(processes: readonly GpuProcess[], roots: ReadonlyMap<number, string>, parents: Pick<ReadonlyMap<number, number>, "get"> = lazyParents()): AttributedProcess[] {
  // No job runs: every process is the owner's, nothing to read.
  if (roots.size === 0) return processes.map((p) => ({ ...p, jobId: null }));
  return processes.map((p) => ({ ...p, jobId: jobOfPid(p.pid, roots, parents) }));
}
