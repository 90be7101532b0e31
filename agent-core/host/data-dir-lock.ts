// One host per data dir: the desktop app and a web console on the same dir would run two agents
// over one history and one settings file. A pid file taken with O_EXCL; a stale one (its process
// gone) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { HostError } from "./contract.js";

export class DataDirLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly path: string) {
    process.once("exit", this.onExit);
  }

  /** Takes `<dataDir>/host.lock`, or throws an invalid-state HostError naming the pid that holds it. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, "host.lock");
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new DataDirLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = lockHolder(path);
        if (holder !== null && holder !== process.pid && isAlive(holder)) {
          throw new HostError(
            "invalid-state",
            `Another Semaphore Agent Desktop (pid ${holder}) is already using ${dataDir}: close it first, or give this one another data dir.`,
          );
        }
        unlinkSync(path); // stale: its process is gone
      }
    }
    throw new HostError("invalid-state", `Could not take the lock ${path}.`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener("exit", this.onExit);
    try {
      if (lockHolder(this.path) === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

function lockHolder(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
