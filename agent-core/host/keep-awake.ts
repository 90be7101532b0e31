// Keep the machine awake while a job runs, and never on battery (as Folding@home's keep_awake): a
// laptop lid closed mid-job would otherwise lose the job. The desktop app uses Electron's
// powerSaveBlocker ('prevent-app-suspension'); the console holds a `systemd-inhibit` lock where
// systemd is there (a process that holds a "sleep" inhibitor until it is killed).
import { execFile, spawn, type ChildProcess } from "node:child_process";

export interface KeepAwake {
  /** What holds the machine awake ("systemd-inhibit", "Electron powerSaveBlocker"), or null where nothing can. */
  readonly method: string | null;
  start(): void;
  stop(): void;
  readonly active: boolean;
}

/** No way to keep the machine awake here: says so. */
export const NO_KEEP_AWAKE: KeepAwake = { method: null, start() {}, stop() {}, active: false };

/**
 * `systemd-inhibit --what=sleep:idle … sleep infinity` while a job runs (Linux with systemd). Whether
 * it can work here (installed, and logind answering on the system bus: not so in containers) is
 * asked once, in the background, so that nothing waits for it at start-up; until it answers yes,
 * start() does nothing.
 */
export class SystemdInhibit implements KeepAwake {
  private child: ChildProcess | null = null;
  private usable = false;

  constructor() {
    execFile("systemd-inhibit", ["--list", "--no-pager"], { timeout: 2000 }, (error) => {
      this.usable = error === null;
    });
  }

  get method(): string | null {
    return this.usable ? "systemd-inhibit" : null;
  }

  get active(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.child !== null || !this.usable) return;
    const child = spawn(
      "systemd-inhibit",
      ["--what=sleep:idle", "--who=Semaphore Agent", "--why=A CI job is running on this machine", "--mode=block", "sleep", "infinity"],
      // Its own process group: stop() ends systemd-inhibit and the `sleep` it runs together.
      { stdio: "ignore", detached: true },
    );
    child.on("error", () => {
      if (this.child === child) this.child = null;
    });
    child.on("exit", () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
  }

  stop(): void {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      child.kill("SIGTERM");
    }
  }
}
