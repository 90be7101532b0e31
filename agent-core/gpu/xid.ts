// Xid errors (the NVIDIA driver's reports of GPU faults: fallen off the bus, double-bit ECC, …) are
// written to the kernel log only. The watcher follows it with `journalctl -k -f` (readable by the
// owner on desktops: members of systemd-journal or adm) and reports each Xid line's GPU (bus id) and
// code. Where the kernel log cannot be read it says why, once; the other guards work without it.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { parseXidLine } from "./guards.js";

export interface XidWatchOptions {
  /** The journalctl to run (default: the one on PATH). */
  command?: string;
  env?: NodeJS.ProcessEnv;
  /** Wait before following again after journalctl ended (default 60 s). */
  restartMs?: number;
}

export class XidWatch {
  private child: ChildProcess | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** Why Xid errors are not being read (null while they are). */
  problem: string | null = null;

  constructor(
    private readonly onXid: (xid: { busId: string; code: number; at: number }) => void,
    private readonly options: XidWatchOptions = {},
  ) {}

  start(): void {
    if (this.stopped || this.child !== null) return;
    const command = this.options.command ?? "journalctl";
    // -n 0: only what comes from now on; -o cat: the message alone.
    const child = spawn(command, ["-k", "-f", "-n", "0", "-o", "cat"], { env: this.options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.problem = null;
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const xid = parseXidLine(line);
      if (xid) this.onXid({ ...xid, at: Date.now() });
    });
    const ended = (why: string) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.stopped) return;
      this.problem = why;
      this.timer = setTimeout(() => this.start(), this.options.restartMs ?? 60_000);
      this.timer.unref?.();
    };
    child.on("error", (e: NodeJS.ErrnoException) => ended(e.code === "ENOENT" ? `${command} is not installed: Xid errors cannot be read` : `${command}: ${e.message}`));
    child.on("close", (code) => ended(`the kernel log cannot be read (${command} exited with ${code}${stderr.trim() ? `: ${stderr.trim().split("\n").at(-1)}` : ""}): Xid errors are not watched`));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    this.child = null;
    if (child !== null && child.exitCode === null) child.kill("SIGTERM");
  }
}
