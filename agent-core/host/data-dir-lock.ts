// One host per data dir: the desktop app and a web console on the same dir would run two agents
// over one history and one settings file.
//
// Design. Node has no flock() without a native module, and the kernel-owned alternatives (Linux
// abstract sockets, Windows named pipes) are per platform, and per network namespace on Linux. So
// the lock is a file, made safe by taking it only with operations that are atomic on every local
// file system:
//
// - `<dataDir>/host.lock` holds three lines: the owner's pid, its start time ("proc:<ticks since
//   boot>" from /proc/<pid>/stat on Linux, "ps:<lstart>" from `ps` on macOS, empty where neither
//   works) and a random nonce that names this one lock forever. It is written in full to a private
//   temporary file first and then hard-linked into place: link() fails with EEXIST when the lock
//   exists, so it is taken at most once, and nobody ever reads a half-written lock. (A file system
//   without hard links gets an O_EXCL create instead; a reader waits until such a lock has content,
//   or until it is 2 s old: a crash between create and write.)
// - The lock is held while its owner runs: the pid is running and has the recorded start time. A
//   dead pid, a zombie, or a live pid with another start time (the pid was reused by an unrelated
//   process) means the lock is stale. A lock of this process (same pid) is stale too, as before:
//   a host that never closed must not block a new one in the same process.
// - A stale lock is replaced, never deleted (deleting and re-creating is what let two processes
//   both "take over" one stale lock: the second deleted the first one's fresh lock). Only the owner
//   of a takeover claim for that lock's nonce may replace it: claims are the files
//   `host.lock.takeover.<nonce>.<i>`, i = 1, 2, …, each created exclusively (link, as above) by a
//   process that listed the highest i so far. A claimer owns the takeover once every lower claim
//   for that nonce belongs to a process that is gone (or gave up, see below); then it re-reads
//   host.lock and only if it is still the lock it judged stale renames a complete new lock over it
//   (rename is atomic). Two claimers cannot both own: the later claim was created after the
//   earlier one existed, so its owner saw the earlier one, and waits while that claimer is alive.
//   Claims for a nonce are never deleted while that nonce is in host.lock, so an index cannot be
//   created twice; a claimer that gives up (time-out) rewrites its own claim as abandoned instead.
// - The holder's release() deletes host.lock only if it still carries its own nonce (nobody else
//   can replace it while the holder runs). A new holder deletes the claims of older nonces (those
//   locks can never come back) and temporary files of processes that are gone.
//
// Crash cases: a crash while holding leaves a stale lock (taken over as above); during a takeover
// before the rename, a claim of a dead process (skipped by the next claimer, deleted by the next
// holder); after the rename, a stale lock with the crashed process's pid (taken over) and old claims
// (deleted by the next holder); between writing and linking a temporary file, that file (deleted by
// the next holder). Limits: a live owner that is stopped (SIGSTOP) blocks a takeover, which then
// fails with an error after 5 s; processes on different machines sharing a network file system
// cannot see each other's pids.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isProcessRunning, processStartTime } from "../shell/kill.js";
import { HostError } from "./contract.js";

const LOCK_NAME = "host.lock";
const CLAIM_PREFIX = `${LOCK_NAME}.takeover.`;
const TMP_SUFFIX = ".tmp";
/** How long acquire() keeps retrying while a takeover or a half-written lock is in progress. */
const ACQUIRE_DEADLINE_MS = 5_000;
/** A lock or claim that is still empty after this long was left by a crash between create and write. */
const INCOMPLETE_GRACE_MS = 2_000;
const ABANDONED = "abandoned";

export class DataDirLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(
    readonly path: string,
    private readonly nonce: string,
  ) {
    process.once("exit", this.onExit);
  }

  /** Takes `<dataDir>/host.lock`, or throws an invalid-state HostError naming the pid that holds it. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, LOCK_NAME);
    const nonce = randomBytes(16).toString("hex");
    const content = `${process.pid}\n${ownStartTime()}\n${nonce}\n`;
    const deadline = Date.now() + ACQUIRE_DEADLINE_MS;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        if (Date.now() > deadline) {
          throw new HostError("invalid-state", `Could not take the lock ${path}: another process kept taking it over; try again.`);
        }
        pause(1 + Math.random() * Math.min(20, attempt));
      }
      if (createExclusive(path, content, nonce)) return DataDirLock.taken(path, nonce);
      const holder = readOwner(path);
      if (holder === null) continue; // released meanwhile
      if (holder.kind === "incomplete" && holder.ageMs < INCOMPLETE_GRACE_MS) continue; // being written
      if (holder.kind === "owner" && holder.pid !== process.pid && isOwnerAlive(holder)) {
        throw new HostError(
          "invalid-state",
          `Another Semaphore Agent Desktop (pid ${holder.pid}) is already using ${dataDir}: close it first, or give this one another data dir.`,
        );
      }
      const outcome = takeOver(path, holder.id, content, nonce, deadline);
      if (outcome === "taken") return DataDirLock.taken(path, nonce);
    }
  }

  private static taken(path: string, nonce: string): DataDirLock {
    const lock = new DataDirLock(path, nonce);
    removeLeftovers(path, nonce);
    return lock;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener("exit", this.onExit);
    try {
      // Nobody replaces the lock while we run, so it is still ours unless it was deleted by hand.
      const current = readOwner(this.path);
      if (current?.kind === "owner" && current.id === this.nonce) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Takeover of a stale lock

type TakeoverOutcome = "taken" | "changed" | "busy";

/** Replaces the stale lock `staleId` with `content` if this process wins the claim for it. */
function takeOver(path: string, staleId: string, content: string, nonce: string, deadline: number): TakeoverOutcome {
  const dir = dirname(path);
  const base = `${CLAIM_PREFIX}${staleId}.`;
  const claimsOf = (): Map<number, string> => {
    const claims = new Map<number, string>();
    for (const name of listDir(dir)) {
      if (!name.startsWith(base)) continue;
      const index = Number(name.slice(base.length));
      if (Number.isSafeInteger(index) && index > 0) claims.set(index, join(dir, name));
    }
    return claims;
  };
  const mine = Math.max(0, ...claimsOf().keys()) + 1;
  const claimPath = join(dir, `${base}${mine}`);
  if (!createExclusive(claimPath, content, nonce)) return "busy"; // someone else got index `mine` first

  let outcome: TakeoverOutcome = "busy";
  try {
    for (let round = 0; ; round++) {
      const current = readOwner(path);
      if (current === null || current.id !== staleId) return (outcome = "changed");
      const earlierAlive = [...claimsOf()].some(([index, claim]) => index < mine && isClaimAlive(claim));
      if (!earlierAlive) break;
      if (Date.now() > deadline) return (outcome = "busy");
      pause(1 + Math.min(10, round));
    }
    // This process owns the takeover of `staleId`: nobody else may replace that lock now. Re-read
    // under the claim, then swap in a complete new lock in one rename.
    const current = readOwner(path);
    if (current === null || current.id !== staleId) return (outcome = "changed");
    const tmp = tmpPath(path, nonce);
    writeNew(tmp, content);
    renameSync(tmp, path);
    return (outcome = "taken");
  } finally {
    if (outcome === "taken") {
      // `staleId` is gone from host.lock for good, so all its claims can go.
      for (const claim of claimsOf().values()) removeQuietly(claim);
    } else if (outcome === "changed") {
      removeQuietly(claimPath);
    } else {
      // The stale lock may still be there: keep the index taken, but let later claimers pass.
      try {
        const tmp = tmpPath(claimPath, nonce);
        writeNew(tmp, `${ABANDONED}\n`);
        renameSync(tmp, claimPath);
      } catch {
        // If even that fails, the claim dies with this process.
      }
    }
  }
}

function isClaimAlive(claim: string): boolean {
  const owner = readOwner(claim);
  if (owner === null) return false;
  if (owner.kind === "incomplete") return owner.ageMs < INCOMPLETE_GRACE_MS;
  if (owner.kind === "abandoned") return false;
  return isOwnerAlive(owner);
}

/** After taking the lock: claims of other (older) locks, and temporary files of dead processes. */
function removeLeftovers(path: string, nonce: string): void {
  const dir = dirname(path);
  for (const name of listDir(dir)) {
    if (!name.startsWith(`${LOCK_NAME}.`)) continue;
    if (name.endsWith(TMP_SUFFIX)) {
      // Another process's file on its way to becoming a lock or claim: only if that process is gone.
      const owner = readOwner(join(dir, name));
      if (owner?.kind === "abandoned" || (owner?.kind === "owner" && !isOwnerAlive(owner))) removeQuietly(join(dir, name));
    } else if (name.startsWith(CLAIM_PREFIX) && !name.startsWith(`${CLAIM_PREFIX}${nonce}.`)) {
      removeQuietly(join(dir, name));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * Creates `path` with `content` unless it exists (then false): the content is complete before the
 * file appears (written to a temporary file, then hard-linked). Falls back to O_EXCL + write where
 * the file system has no hard links.
 */
function createExclusive(path: string, content: string, nonce: string): boolean {
  const tmp = tmpPath(path, nonce);
  writeNew(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
  } finally {
    removeQuietly(tmp);
  }
  try {
    writeNew(path, content);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function tmpPath(path: string, nonce: string): string {
  return join(dirname(path), `${basename(path)}.${nonce}${TMP_SUFFIX}`);
}

function writeNew(path: string, content: string): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

type LockFile =
  | {
      kind: "owner";
      /** The nonce, or for a lock without one (older versions) the file's identity on disk. */
      id: string;
      pid: number;
      /** "proc:…", "ps:…" or "" (unknown: then the pid alone decides). */
      start: string;
    }
  | { kind: "incomplete"; id: string; ageMs: number }
  | { kind: "abandoned"; id: string };

const NONCE = /^[0-9a-f]{32}$/;

/** The lock (or claim) at `path`, null when there is none. */
function readOwner(path: string): LockFile | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  let text: string;
  let stat;
  try {
    stat = fstatSync(fd, { bigint: true });
    text = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  const lines = text.split("\n");
  const nonce = lines[2] ?? "";
  // Without a nonce, this inode with this modification time is that one lock file.
  const id = NONCE.test(nonce) ? nonce : `f${stat.ino}-${stat.mtimeNs}-${stat.size}`;
  if ((lines[0] ?? "") === ABANDONED) return { kind: "abandoned", id };
  const pid = Number.parseInt(lines[0] ?? "", 10);
  const complete = text.endsWith("\n") && Number.isSafeInteger(pid) && pid > 0;
  if (!complete) {
    // An O_EXCL lock being written, or garbage; a lock of an older version ("<pid>\n") is complete.
    const ageMs = Math.max(0, Date.now() - Number(stat.mtimeMs));
    return { kind: "incomplete", id, ageMs };
  }
  return { kind: "owner", id, pid, start: lines[1] ?? "" };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Whether the lock's owner still runs: its pid is running and, where recorded, has its start time. */
function isOwnerAlive(owner: { pid: number; start: string }): boolean {
  try {
    process.kill(owner.pid, 0);
    if (!isProcessRunning(owner.pid)) return false; // a zombie has exited
  } catch (error) {
    // EPERM: it exists but is another user's process.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (owner.start === "") return true;
  const colon = owner.start.indexOf(":");
  const now = startTimeBy(owner.start.slice(0, colon), owner.pid);
  // Unknown now (no /proc, no ps): the pid is all there is to go by.
  return now === undefined || now === owner.start;
}

let ownStart: string | undefined;

function ownStartTime(): string {
  ownStart ??= (process.platform === "linux" ? startTimeBy("proc", process.pid) : undefined) ??
    (process.platform === "win32" ? undefined : startTimeBy("ps", process.pid)) ??
    "";
  return ownStart;
}

/** `pid`'s start time measured as `method` says ("proc" or "ps"), tagged with it; undefined if unknown. */
function startTimeBy(method: string, pid: number): string | undefined {
  if (method === "proc") {
    const ticks = processStartTime(pid);
    return ticks === undefined ? undefined : `proc:${ticks}`;
  }
  if (method === "ps") {
    try {
      // LC_ALL=C: every process must spell the date the same way.
      const text = execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], {
        encoding: "utf8",
        env: { ...process.env, LC_ALL: "C" },
        stdio: ["ignore", "pipe", "ignore"],
        timeout: 2_000,
      }).trim();
      return text === "" ? undefined : `ps:${text.replace(/\s+/g, " ")}`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Sleeps this thread (acquire is synchronous and holds nothing meanwhile). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
