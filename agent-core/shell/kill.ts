// Whole-tree kill of a job shell (spec §5.9, "kill the whole process tree/session" deviation).
// Closing the PTY only SIGHUPs the foreground process group, so background jobs and processes
// that ignore SIGHUP/SIGTERM would survive; we SIGKILL every process of bash's session and every
// descendant, and repeat until none is left (a process may fork while we are killing it).
//
// A process that daemonizes (double fork + setsid, e.g. `(setsid cmd &)`, `setsid -f cmd`) leaves
// both the tree and the session. As Jenkins' ProcessTreeKiller does, the job shell is started with
// a per-session random marker variable in its environment, which every process of the job inherits;
// on Linux, every process of our uid whose /proc/<pid>/environ holds that exact `NAME=value` entry
// is killed too. Limits: a process that clears or rewrites its environment (`env -i`, `unset` before
// exec) escapes, as does one that runs as another user (sudo) or is not dumpable (unreadable
// environ). On other platforms (no /proc) only the tree and the session are killed.

import { execFile } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";

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
  /**
   * Environment entry (`NAME=value`, value random per job) that every process of the job inherited.
   * Linux only: every process of our uid whose environment contains it is killed as well, wherever
   * it is in the process tree (daemonized processes). Ignored elsewhere.
   */
  envMarker?: string;
  rounds?: number;
  intervalMs?: number;
}

/**
 * SIGKILLs `rootPid`, every process whose session id is `rootPid` and every descendant (also those
 * that left the session with setsid), on Linux also every process carrying `envMarker` and its
 * descendants, then waits until they are gone (bounded: `rounds` × `intervalMs`, default
 * 50 × 20 ms). Never rejects.
 */
export async function killProcessTree(rootPid: number, options: KillTreeOptions = {}): Promise<void> {
  const rounds = options.rounds ?? 50;
  const intervalMs = options.intervalMs ?? 20;
  let beforeKill = options.beforeKill;
  // Processes seen in the tree once stay targets after their parent died and they were re-parented.
  const known = new Map<number, string>();
  const marker = process.platform === "linux" && options.envMarker ? new EnvMarkerScanner(options.envMarker) : null;
  for (let round = 0; round < rounds; round++) {
    let targets: number[];
    try {
      targets = collectTree(await listProcesses(), rootPid, options.rootStartTime, known, marker);
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
  marker: EnvMarkerScanner | null,
): number[] {
  const children = new Map<number, ProcInfo[]>();
  const byPid = new Map<number, ProcInfo>();
  for (const p of procs) {
    byPid.set(p.pid, p);
    let list = children.get(p.ppid);
    if (!list) children.set(p.ppid, (list = []));
    list.push(p);
  }
  // Never the agent itself nor its ancestors (whatever their environment says).
  const exempt = new Set<number>();
  for (let pid: number | undefined = process.pid; pid !== undefined && pid > 1 && !exempt.has(pid); ) {
    exempt.add(pid);
    pid = byPid.get(pid)?.ppid;
  }
  exempt.add(process.ppid);
  const selected = new Set<number>();
  const queue: ProcInfo[] = [];
  const add = (p: ProcInfo): void => {
    if (selected.has(p.pid) || p.pid <= 1 || exempt.has(p.pid)) return;
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
  if (marker) {
    // The marker is its own proof of identity (a reused pid would not carry it), so no start-time
    // check is needed here; `known` then keeps the process a target by its start time.
    for (const p of procs) {
      if (!p.zombie && !selected.has(p.pid) && !exempt.has(p.pid) && p.pid > 1 && marker.matches(p.pid)) add(p);
    }
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

/** Largest environment read per process: ARG_MAX's usual share for the environment (8 MiB stack / 4). */
const ENVIRON_CAP = 2 * 1024 * 1024;

/**
 * Finds the processes of our uid whose environment (/proc/<pid>/environ) holds one given
 * `NAME=value` entry exactly. Cheap: other users' processes are skipped after a stat, kernel threads
 * have an empty environ, and at most ENVIRON_CAP bytes are read per process. Never throws.
 */
class EnvMarkerScanner {
  private readonly entry: Buffer;
  private readonly uid = process.geteuid?.();
  private buf: Buffer | undefined;

  constructor(entry: string) {
    this.entry = Buffer.from(entry, "utf8");
  }

  matches(pid: number): boolean {
    let fd: number | undefined;
    try {
      if (this.uid !== undefined && statSync(`/proc/${pid}`).uid !== this.uid) return false;
      fd = openSync(`/proc/${pid}/environ`, "r");
      const buf = (this.buf ??= Buffer.allocUnsafe(ENVIRON_CAP));
      let len = 0;
      while (len < buf.length) {
        const n = readSync(fd, buf, len, buf.length - len, null);
        if (n <= 0) break;
        len += n;
      }
      return containsEntry(buf.subarray(0, len), this.entry, len < buf.length);
    } catch {
      return false; // exited meanwhile, not ours, not dumpable, …
    } finally {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // nothing to do
        }
      }
    }
  }
}

/** Whether the NUL-separated `environ` holds `entry` as one whole entry (`complete`: not cut at the cap). */
function containsEntry(environ: Buffer, entry: Buffer, complete: boolean): boolean {
  for (let at = environ.indexOf(entry); at >= 0; at = environ.indexOf(entry, at + 1)) {
    const end = at + entry.length;
    if ((at === 0 || environ[at - 1] === 0) && (end < environ.length ? environ[end] === 0 : complete)) return true;
  }
  return false;
}

/**
 * The fields of a `/proc/<pid>/stat` line after the command name, from the state on:
 * "pid (comm) state ppid pgrp session ... starttime(22) ..."; comm may contain spaces and ')'.
 */
function statFields(stat: string): string[] | null {
  const close = stat.lastIndexOf(")");
  return close < 0 ? null : stat.slice(close + 2).split(" ");
}

function readStatFields(pid: number | string): string[] | null {
  try {
    return statFields(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return null; // exited, or no /proc
  }
}

const isZombieState = (state: string | undefined): boolean => state === "Z" || state === "X";

/** Start time of `pid` (Linux: clock ticks since boot), undefined where it cannot be read. */
export function processStartTime(pid: number): string | undefined {
  if (process.platform !== "linux") return undefined;
  return readStatFields(pid)?.[19];
}

/** Alive and not a zombie (a zombie has exited, only not yet been reaped). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== "linux") return true; // signal 0 answered; no /proc to tell a zombie
  const fields = readStatFields(pid);
  return fields !== null && !isZombieState(fields[0]);
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
    const f = readStatFields(name);
    if (f === null) continue; // exited meanwhile
    out.push({
      pid: Number(name),
      ppid: Number(f[1]),
      sid: Number(f[3]),
      start: f[19] ?? "",
      zombie: isZombieState(f[0]),
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

/**
 * Clean-up after a crashed agent (sandbox/crash-journal.ts): SIGKILLs every process of our uid
 * that carries one of the `markers` (`NAME=value` entries, Linux only), every process whose session
 * is one of `sessions`, and their descendants, until none is left (bounded). Returns how many
 * distinct processes were killed. Never throws.
 */
export async function killMarkedProcesses(markers: readonly string[], sessions: readonly number[], rounds = 50, intervalMs = 20): Promise<number> {
  if (markers.length === 0 && sessions.length === 0) return 0;
  const scanners = process.platform === "linux" ? markers.map((m) => new EnvMarkerScanner(m)) : [];
  const wanted = new Set(sessions);
  const killed = new Set<string>();
  for (let round = 0; round < rounds; round++) {
    let procs: ProcInfo[];
    try {
      procs = await listProcesses();
    } catch {
      return killed.size;
    }
    const exempt = new Set<number>([process.pid, process.ppid, 1]);
    const children = new Map<number, ProcInfo[]>();
    for (const p of procs) {
      let list = children.get(p.ppid);
      if (!list) children.set(p.ppid, (list = []));
      list.push(p);
    }
    const selected = new Map<number, ProcInfo>();
    for (const p of procs) {
      if (p.zombie || exempt.has(p.pid)) continue;
      if (wanted.has(p.sid) || scanners.some((s) => s.matches(p.pid))) selected.set(p.pid, p);
    }
    const queue = [...selected.values()];
    for (let i = 0; i < queue.length; i++) {
      for (const c of children.get(queue[i]!.pid) ?? []) {
        if (!selected.has(c.pid) && !exempt.has(c.pid) && !c.zombie) {
          selected.set(c.pid, c);
          queue.push(c);
        }
      }
    }
    if (selected.size === 0) return killed.size;
    for (const p of selected.values()) {
      killed.add(`${p.pid}:${p.start}`);
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // Gone, or not ours.
      }
    }
    await new Promise<void>((resolve) => setTimeout(resolve, intervalMs));
  }
  return killed.size;
}
