// Whole-tree kill of a job shell (spec §5.9, "kill the whole process tree/session" deviation).
// Closing the PTY only SIGHUPs the foreground process group, so background jobs and processes
// that ignore SIGHUP/SIGTERM would survive; we SIGKILL every process of bash's session and every
// descendant, and repeat until none is left (a process may fork while we are killing it).

import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

interface ProcInfo {
  pid: number;
  ppid: number;
  sid: number;
  /** Identifies this incarnation of the pid (Linux start time), so a reused pid is not mistaken. */
  start: string;
  zombie: boolean;
}

export interface KillTreeOptions {
  /** Runs after the tree has been listed for the first time and before any signal is sent. */
  beforeKill?: () => void;
  /**
   * Start time of the root as `processStartTime` saw it when it was started. If the root has been
   * reaped and its pid reused by another process, that process and its session are left alone.
   */
  rootStartTime?: string;
  rounds?: number;
  intervalMs?: number;
}

/**
 * SIGKILLs `rootPid`, every process whose session id is `rootPid` and every descendant (also those
 * that left the session with setsid), then waits until they are gone (bounded: `rounds` ×
 * `intervalMs`, default 50 × 20 ms). Never rejects.
 */
export async function killProcessTree(rootPid: number, options: KillTreeOptions = {}): Promise<void> {
  const rounds = options.rounds ?? 50;
  const intervalMs = options.intervalMs ?? 20;
  let beforeKill = options.beforeKill;
  // Processes seen in the tree once stay targets after their parent died and they were re-parented.
  const known = new Map<number, string>();
  for (let round = 0; round < rounds; round++) {
    let targets: number[];
    try {
      targets = collectTree(await listProcesses(), rootPid, options.rootStartTime, known);
    } catch {
      // Cannot list processes at all: at least the root itself.
      targets = [rootPid];
    }
    if (beforeKill) {
      const hook = beforeKill;
      beforeKill = undefined;
      try {
        hook();
      } catch {
        // The hook (closing the PTY) must not prevent the kill.
      }
    }
    if (targets.length === 0) return;
    for (const pid of targets) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone (ESRCH) or not ours (EPERM): nothing more we can do for it.
      }
    }
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
}

function collectTree(
  procs: ProcInfo[],
  rootPid: number,
  rootStart: string | undefined,
  known: Map<number, string>,
): number[] {
  const children = new Map<number, ProcInfo[]>();
  const byPid = new Map<number, ProcInfo>();
  for (const p of procs) {
    byPid.set(p.pid, p);
    let list = children.get(p.ppid);
    if (!list) children.set(p.ppid, (list = []));
    list.push(p);
  }
  const selected = new Set<number>();
  const queue: ProcInfo[] = [];
  const add = (p: ProcInfo): void => {
    if (selected.has(p.pid) || p.pid <= 1 || p.pid === process.pid) return;
    selected.add(p.pid);
    queue.push(p);
  };
  const root = byPid.get(rootPid);
  const reused = root !== undefined && rootStart !== undefined && root.start !== rootStart;
  if (root && !reused) add(root);
  for (const p of procs) {
    if (p.sid === rootPid && !reused) add(p);
    else if (known.has(p.pid) && known.get(p.pid) === p.start) add(p);
  }
  for (let i = 0; i < queue.length; i++) {
    for (const c of children.get(queue[i]!.pid) ?? []) add(c);
  }
  const targets: number[] = [];
  for (const pid of selected) {
    const p = byPid.get(pid)!;
    known.set(pid, p.start);
    // A zombie is dead already; its parent (or init) reaps it.
    if (!p.zombie) targets.push(pid);
  }
  return targets;
}

/** Start time of `pid` (Linux: clock ticks since boot), undefined where it cannot be read. */
export function processStartTime(pid: number): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

async function listProcesses(): Promise<ProcInfo[]> {
  if (process.platform === "linux") {
    try {
      return listProc();
    } catch {
      // /proc not mounted or unreadable: fall back to ps.
    }
  }
  return listPs();
}

function listProc(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    const c = name.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp session ... starttime(22) ..."; comm may contain spaces and ')'.
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const f = stat.slice(close + 2).split(" ");
    out.push({
      pid: Number(name),
      ppid: Number(f[1]),
      sid: Number(f[3]),
      start: f[19] ?? "",
      zombie: f[0] === "Z" || f[0] === "X",
    });
  }
  return out;
}

function listPs(): Promise<ProcInfo[]> {
  return new Promise((resolve, reject) => {
    execFile("ps", ["-A", "-o", "pid=,ppid=,sess=,stat=,lstart="], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      if (err) {
        reject(err);
        return;
      }
      const out: ProcInfo[] = [];
      for (const line of stdout.split("\n")) {
        const f = line.trim().split(/\s+/);
        if (f.length < 4) continue;
        const pid = Number(f[0]);
        if (!Number.isInteger(pid)) continue;
        out.push({
          pid,
          ppid: Number(f[1]),
          sid: Number(f[2]),
          start: f.slice(4).join(" "),
          zombie: (f[3] ?? "").startsWith("Z"),
        });
      }
      resolve(out);
    });
  });
}
