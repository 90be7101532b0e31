// What a job's process tree uses (CPU time, peak resident memory) and what the machine uses (CPU %,
// memory), read from Linux /proc. Cheap by design: a tree sample reads one /proc/<pid>/stat per
// process in the tree (plus the pid -> parent map, which a caller sampling several jobs shares); a
// machine sample reads /proc/stat and /proc/meminfo. No child process per sample: the clock tick
// and page size are asked of getconf once per process. Elsewhere than Linux nothing is readable, so
// the results are null. Nothing here throws on a process that vanishes mid-read: that is normal.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parentsNow } from "./attribution.js";

let sysconf: { clockTicks: number; pageSize: number } | null = null;

/** getconf CLK_TCK and PAGESIZE, once per process (100 Hz and 4 KiB where getconf fails). */
function systemConstants(): { clockTicks: number; pageSize: number } {
  const ask = (name: string, fallback: number): number => {
    try {
      const n = Number(execFileSync("getconf", [name], { encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] }).trim());
      return Number.isFinite(n) && n > 0 ? n : fallback;
    } catch {
      return fallback;
    }
  };
  sysconf ??= { clockTicks: ask("CLK_TCK", 100), pageSize: ask("PAGESIZE", 4096) };
  return sysconf;
}

/** The fields of /proc/<pid>/stat this module uses (CPU in clock ticks, RSS in pages). */
export interface ProcStat {
  ppid: number;
  state: string;
  /** utime + stime: the process's own CPU, all its threads. */
  self: number;
  /** cutime + cstime: CPU of the children it has waited for (and, recursively, theirs). */
  children: number;
  /** Clock ticks after boot; with the pid it names one process even when pids are reused. */
  starttime: number;
  rssPages: number;
}

/** One /proc/<pid>/stat line; null if it is not one. The comm may hold spaces and ')', so split after the last ')'. */
export function parseStat(line: string): ProcStat | null {
  const close = line.lastIndexOf(")");
  if (close < 0) return null;
  // f[0] is field 3 (state) of proc(5), so field n is f[n - 3].
  const f = line.slice(close + 2).split(" ");
  const n = (field: number): number => Number(f[field - 3]);
  const stat = { ppid: n(4), state: f[0] ?? "", self: n(14) + n(15), children: n(16) + n(17), starttime: n(22), rssPages: n(24) };
  return [stat.ppid, stat.self, stat.children, stat.starttime, stat.rssPages].every(Number.isFinite) ? stat : null;
}

function readStat(proc: string, pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`${proc}/${pid}/stat`, "latin1"));
  } catch {
    return null; // ENOENT / ESRCH: gone meanwhile.
  }
}

interface Seen {
  pid: number;
  /** Key of its parent when last seen, if that parent was in the tree; null for the root or an orphan. */
  parent: string | null;
  self: number;
  children: number;
}

export interface TreeUsageOptions {
  proc?: string;
  now?: () => number;
  /** Overrides of getconf's CLK_TCK and PAGESIZE (tests against a fake /proc). */
  clockTicks?: number;
  pageSize?: number;
}

export interface TreeSample {
  at: number;
  /** CPU used by the tree so far (see ProcessTreeUsage), ms. */
  cpuMs: number;
  /** Σ RSS of the tree's live processes now, bytes. */
  rssBytes: number;
  /** Processes of the tree alive now. */
  live: number;
}

export interface TreeUsage {
  cpuMs: number;
  peakRssBytes: number;
  /** Distinct processes (pid + start time) ever seen in the tree. */
  processes: number;
}

/**
 * A job's process tree: its root (the job shell, or bubblewrap on the host) and every descendant.
 *
 * CPU rule. The kernel moves a child's CPU (utime+stime, plus its own cutime+cstime) into its
 * parent's cutime+cstime when the parent waits for it. So at any moment the tree's CPU is
 *   Σ over live tree processes of (utime+stime+cutime+cstime)
 * with each exited-and-reaped process counted exactly once, in whoever reaped it, however short it
 * lived: a process born and reaped between two samples, by the root or by any descendant, is in
 * that reaper's cutime. What that sum misses is CPU that left the tree: a process reparented to
 * init (double fork) or whose parent never waits (SIGCHLD ignored). For that:
 *  - a process seen once stays a member while it lives (pid + start time), even when orphaned;
 *  - when members exit, the CPU they had when last seen (own + reaped children) is expected to land
 *    in the cutime of their nearest live ancestor in the tree; what falls short of that ancestor's
 *    cutime growth, and all of it when there is no live ancestor (the root, an orphan), is kept as
 *    `departed`.
 * Each term is a lower bound of what really went, so no CPU is counted twice (bar a reap landing in
 * the microseconds between reading a parent and its dying child); the reported figure is the most
 * any sample has read (true CPU never shrinks). Left out: CPU used after the last sample by a
 * process that then leaves the tree, and processes that leave the tree unseen between samples.
 *
 * Peak RSS is the most Σ RSS of the live tree reached at a sample; pages shared between processes
 * (forked copy-on-write, shared libraries) count once per process, as `ps` would sum them.
 */
export class ProcessTreeUsage {
  private readonly proc: string;
  private readonly now: () => number;
  private readonly clockTicks: number;
  private readonly pageSize: number;
  /** Live members at the last sample, by "pid:starttime". */
  private last = new Map<string, Seen>();
  private readonly everSeen = new Set<string>();
  private rootKey: string | null = null;
  private departed = 0;
  private maxTicks = 0;
  private peakPages = 0;

  constructor(
    private readonly rootPid: number,
    options: TreeUsageOptions = {},
  ) {
    this.proc = options.proc ?? "/proc";
    this.now = options.now ?? Date.now;
    const constants = options.clockTicks && options.pageSize ? null : systemConstants();
    this.clockTicks = options.clockTicks ?? constants!.clockTicks;
    this.pageSize = options.pageSize ?? constants!.pageSize;
  }

  /** Read the tree now. `parents`: parentsNow()'s map, to share one /proc scan across jobs. */
  sample(parents: ReadonlyMap<number, number> = parentsNow(this.proc)): TreeSample {
    const kids = new Map<number, number[]>();
    for (const [pid, ppid] of parents) {
      const list = kids.get(ppid);
      if (list) list.push(pid);
      else kids.set(ppid, [pid]);
    }
    const current = new Map<string, Seen & { ppid: number }>();
    const keyOfPid = new Map<number, string>();
    let pages = 0;
    // The root's descendants first, then last sample's members not found under it (orphans).
    const queue: { pid: number; from: number | null }[] = [{ pid: this.rootPid, from: null }];
    const visit = (pid: number, from: number | null): void => {
      if (keyOfPid.has(pid)) return;
      const stat = readStat(this.proc, pid);
      if (!stat) return;
      const key = `${pid}:${stat.starttime}`;
      if (pid === this.rootPid && from === null) {
        this.rootKey ??= key;
        if (key !== this.rootKey) return; // The root has gone and its pid is someone else's.
      } else if (from === null ? !this.last.has(key) : stat.ppid !== from) {
        return; // A member's pid, or one in a stale `parents`, reused by an unrelated process.
      }
      keyOfPid.set(pid, key);
      current.set(key, { pid, ppid: stat.ppid, parent: null, self: stat.self, children: stat.children });
      this.everSeen.add(key);
      pages += stat.rssPages;
      for (const child of kids.get(pid) ?? []) queue.push({ pid: child, from: pid });
    };
    const drain = (): void => {
      for (let item = queue.shift(); item; item = queue.shift()) visit(item.pid, item.from);
    };
    drain();
    for (const seen of this.last.values()) {
      queue.push({ pid: seen.pid, from: null });
      drain();
    }
    // Parents once every member is known: an orphan's parent (init, a subreaper) is not one.
    for (const seen of current.values()) seen.parent = keyOfPid.get(seen.ppid) ?? null;
    this.settleDeparted(current);
    this.last = current;
    let ticks = this.departed;
    for (const seen of current.values()) ticks += seen.self + seen.children;
    this.maxTicks = Math.max(this.maxTicks, ticks);
    this.peakPages = Math.max(this.peakPages, pages);
    return { at: this.now(), cpuMs: this.ms(this.maxTicks), rssBytes: pages * this.pageSize, live: current.size };
  }

  /** So far; null when no process of the tree was ever read (not Linux, or the root was gone). */
  result(): TreeUsage | null {
    if (this.everSeen.size === 0) return null;
    return { cpuMs: this.ms(this.maxTicks), peakRssBytes: this.peakPages * this.pageSize, processes: this.everSeen.size };
  }

  /** Members gone since the last sample: keep what did not land in a live ancestor's cutime. */
  private settleDeparted(current: ReadonlyMap<string, Seen>): void {
    const expected = new Map<string, number>();
    for (const [key, seen] of this.last) {
      if (current.has(key)) continue;
      let up = seen.parent;
      while (up !== null && !current.has(up)) up = this.last.get(up)?.parent ?? null;
      if (up === null) this.departed += seen.self + seen.children;
      else expected.set(up, (expected.get(up) ?? 0) + seen.self + seen.children);
    }
    for (const [key, ticks] of expected) {
      const grew = current.get(key)!.children - this.last.get(key)!.children;
      this.departed += Math.max(0, ticks - grew);
    }
  }

  private ms(ticks: number): number {
    return Math.round((ticks * 1000) / this.clockTicks);
  }
}

export interface MachineSample {
  at: number;
  /** % of all CPUs busy since the previous sample (0–100); null on the first. */
  cpuPercent: number | null;
  /** MemTotal − MemAvailable, bytes. */
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
}

/** The machine's CPU and memory. */
export class MachineUsage {
  private readonly proc: string;
  private readonly now: () => number;
  private previous: { busy: number; total: number } | null = null;

  constructor(options: { proc?: string; now?: () => number } = {}) {
    this.proc = options.proc ?? "/proc";
    this.now = options.now ?? Date.now;
  }

  sample(): MachineSample {
    const cpu = this.cpuTimes();
    let cpuPercent: number | null = null;
    if (cpu && this.previous && cpu.total > this.previous.total) {
      const busy = cpu.busy - this.previous.busy;
      cpuPercent = Math.min(100, Math.max(0, (busy / (cpu.total - this.previous.total)) * 100));
    }
    this.previous = cpu;
    const memory = this.memory();
    return { at: this.now(), cpuPercent, memoryUsedBytes: memory?.used ?? null, memoryTotalBytes: memory?.total ?? null };
  }

  /** The aggregate "cpu" line: user nice system idle iowait irq softirq steal (guest is inside user). */
  private cpuTimes(): { busy: number; total: number } | null {
    try {
      const text = readFileSync(`${this.proc}/stat`, "latin1");
      const line = /^cpu\s+(.*)$/m.exec(text)?.[1];
      if (!line) return null;
      const t = line.trim().split(/\s+/).slice(0, 8).map(Number);
      if (t.length < 4 || !t.every(Number.isFinite)) return null;
      const total = t.reduce((a, b) => a + b, 0);
      return { busy: total - (t[3] ?? 0) - (t[4] ?? 0), total };
    } catch {
      return null;
    }
  }

  private memory(): { used: number | null; total: number } | null {
    try {
      const text = readFileSync(`${this.proc}/meminfo`, "latin1");
      const kib = (name: string): number | null => {
        const m = new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text);
        return m ? Number(m[1]) * 1024 : null;
      };
      const total = kib("MemTotal");
      if (total === null) return null;
      const available = kib("MemAvailable");
      return { used: available === null ? null : total - available, total };
    } catch {
      return null;
    }
  }
}
