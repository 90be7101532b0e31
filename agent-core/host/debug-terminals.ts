// The debug terminals: real shells in PTYs (node-pty), in a job's environment (debug-shell.ts), each
// owned by the window or browser tab that opened it. Only the owner may type into, resize, ack or
// close a terminal, and only the owner gets its output. When the owner goes away, or the app
// quits, its shells are killed with everything they started (the job shell's whole-tree kill, with
// a marker variable of its own) — no orphan shells.
//
// Output is flow-controlled end to end: the PTY is paused once TERMINAL_HIGH_WATER characters are
// sent but not acknowledged by the UI (which acks what xterm has parsed), and resumed below
// TERMINAL_LOW_WATER; `yes` then blocks in the kernel, not in our memory or the page's.
//
// Terminal input and output never go to a log: this module has no logger, and the events carry
// them to the owner only.
import { randomBytes } from "node:crypto";
import { closeSync, constants, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDisposable, IPty } from "node-pty";
import { isProcessRunning, killProcessTree, processStartTime } from "../shell/kill.js";
import { nodePty } from "../shell/pty-module.js";
import {
  HostError,
  MAX_TERMINALS_PER_CLIENT,
  TERMINAL_BATCH_CHARS,
  TERMINAL_BATCH_MS,
  TERMINAL_HIGH_WATER,
  TERMINAL_LOW_WATER,
  type DebugEnvSource,
  type HostEvent,
  type TerminalInfo,
} from "./contract.js";
import { planDebugShell } from "./debug-shell.js";
import type { SandboxView } from "../sandbox/bwrap.js";

/** Whoever opened a terminal: one window or browser tab. */
export interface TerminalOwner {
  send(event: HostEvent): void;
}

export interface OpenTerminalRequest {
  jobId: string;
  cols: number;
  rows: number;
  source: DebugEnvSource;
  envFiles: string[];
  home: string;
  loginShell: string;
  /** The job's environment (the agent's, minus what jobs never get). */
  env: Record<string, string>;
  banner: string;
  /**
   * A strict job's sandbox: the terminal opens in the same view (same binds, home, hidden paths),
   * with its init folder shown read-only inside the view's /tmp. `ownTmp`: the view's private /tmp
   * was made for this terminal (a kept job's) and goes with it.
   */
  sandbox?: { view: SandboxView; wrapFor: (view: SandboxView) => { file: string; args: string[] }; ownTmp: boolean } | null;
}

export interface DebugTerminalsOptions {
  /** Where init folders are made (default: the OS temp dir). */
  tmpRoot?: string;
  /** Limits; tests lower them. */
  highWater?: number;
  lowWater?: number;
}

/** How often a paused terminal checks whether its shell has exited. */
const EXIT_WATCH_MS = 20;

/** The marker variable each debug shell's processes inherit, for the whole-tree kill. */
export const DEBUG_MARKER_VAR = "SEMAPHORE_AGENT_DEBUG_MARKER";

class DebugTerminal {
  readonly id = randomBytes(16).toString("hex");
  readonly info: TerminalInfo;
  private readonly startTime: string | undefined;
  private readonly dataSubscription: IDisposable;
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Characters read from the PTY and not yet acknowledged by the owner. */
  private unacked = 0;
  private paused = false;
  /** While paused: watches for the shell's exit (see onData). */
  private exitWatch: NodeJS.Timeout | null = null;
  /** The shell has exited: what is left in the PTY is read without pausing again. */
  private shellGone = false;
  /** Our own descriptor of the PTY's slave side (see holdSlave). */
  private slaveFd: number | null;
  private killing: Promise<void> | null = null;
  private ended = false;
  readonly exited: Promise<void>;

  constructor(
    readonly owner: TerminalOwner,
    private readonly pty: IPty,
    private readonly marker: string,
    /** Removes the init folder (and a sandbox's mount point or private /tmp of this terminal). */
    private readonly cleanup: () => void,
    info: Omit<TerminalInfo, "terminalId" | "pid">,
    private readonly limits: { highWater: number; lowWater: number },
    onEnded: (terminal: DebugTerminal) => void,
  ) {
    this.info = { terminalId: this.id, pid: pty.pid, ...info };
    this.startTime = processStartTime(pty.pid);
    this.slaveFd = holdSlave(pty);
    (pty as unknown as { on(event: "error", listener: (err: unknown) => void): void }).on("error", () => {});
    let resolveExited: () => void = () => {};
    this.exited = new Promise((resolve) => {
      resolveExited = resolve;
    });
    this.dataSubscription = pty.onData((data) => this.onData(data));
    const exitSubscription = pty.onExit(({ exitCode, signal }) => {
      exitSubscription.dispose();
      this.flush();
      this.end();
      this.owner.send({ type: "terminal-exit", terminalId: this.id, exitCode, signal: signal ?? null });
      onEnded(this);
      resolveExited();
    });
  }

  get alive(): boolean {
    return !this.ended;
  }

  write(data: string): void {
    if (!this.ended) this.pty.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.ended) return;
    this.pty.resize(cols, rows);
    this.info.cols = cols;
    this.info.rows = rows;
  }

  ack(chars: number): void {
    this.unacked = Math.max(0, this.unacked - chars);
    if (this.paused && this.unacked <= this.limits.lowWater) this.resumeReading();
  }

  private resumeReading(): void {
    if (this.exitWatch) clearInterval(this.exitWatch);
    this.exitWatch = null;
    if (!this.paused || this.ended) return;
    this.paused = false;
    this.pty.resume();
  }

  hangUp(): void {
    try {
      if (!this.ended) this.pty.kill("SIGHUP");
    } catch {
      // Already gone.
    }
  }

  /** Kills the shell and every process it started; resolves once the PTY has reported its exit. */
  kill(): Promise<void> {
    this.killing ??= (async () => {
      if (!this.ended) {
        await killProcessTree(this.info.pid, {
          rootStartTime: this.startTime,
          envMarker: `${DEBUG_MARKER_VAR}=${this.marker}`,
          beforeKill: () => this.hangUp(),
        });
      }
      // node-pty reports the exit once it has reaped the child; do not wait forever for it.
      await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      this.end();
    })();
    return this.killing;
  }

  private onData(data: string): void {
    this.pending.push(data);
    this.pendingChars += data.length;
    this.unacked += data.length;
    if (!this.paused && !this.shellGone && this.unacked >= this.limits.highWater) {
      this.paused = true;
      this.pty.pause();
      // node-pty gives a paused PTY 200 ms after the shell exits, then destroys it with what it
      // still holds: the end of the output (`yes | head; echo done; exit`) would be lost whenever
      // the page acks later than that. Once the shell is gone what is left is bounded (the
      // kernel's PTY buffer), so reading resumes then, acked or not.
      this.exitWatch ??= setInterval(() => {
        if (isProcessRunning(this.info.pid)) return;
        this.shellGone = true;
        this.resumeReading();
      }, EXIT_WATCH_MS);
      this.exitWatch.unref();
    }
    if (this.pendingChars >= TERMINAL_BATCH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), TERMINAL_BATCH_MS);
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pendingChars === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.owner.send({ type: "terminal-output", terminalId: this.id, data });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.exitWatch) clearInterval(this.exitWatch);
    this.exitWatch = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // The exit listener stays until it has fired (it resolves `exited` and tells the owner).
    this.dataSubscription.dispose();
    if (this.slaveFd !== null) closeSync(this.slaveFd);
    this.slaveFd = null;
    try {
      this.cleanup();
    } catch {
      // Best effort: a folder in a temp dir.
    }
  }
}

export class DebugTerminals {
  private readonly terminals = new Map<string, DebugTerminal>();
  private readonly tmpRoot: string;
  private readonly limits: { highWater: number; lowWater: number };
  private closed = false;

  constructor(options: DebugTerminalsOptions = {}) {
    this.tmpRoot = options.tmpRoot ?? tmpdir();
    this.limits = { highWater: options.highWater ?? TERMINAL_HIGH_WATER, lowWater: options.lowWater ?? TERMINAL_LOW_WATER };
  }

  get size(): number {
    return this.terminals.size;
  }

  /** The open terminals' process ids (for the app's own checks). */
  pids(): number[] {
    return [...this.terminals.values()].map((t) => t.info.pid);
  }

  open(owner: TerminalOwner, request: OpenTerminalRequest): TerminalInfo {
    if (this.closed) throw new HostError("invalid-state", "The app is shutting down.");
    const owned = [...this.terminals.values()].filter((t) => t.owner === owner).length;
    if (owned >= MAX_TERMINALS_PER_CLIENT) {
      throw new HostError("invalid-state", `At most ${MAX_TERMINALS_PER_CLIENT} debug terminals per window: close one first.`);
    }
    if (!isDirectory(request.home)) {
      throw new HostError("invalid-state", `The job's start folder ${request.home} does not exist.`);
    }
    const initDir = mkdtempSync(join(this.tmpRoot, "semaphore-agent-debug-"));
    let pty: IPty;
    const marker = randomBytes(16).toString("hex");
    let shell: string;
    const sandbox = request.sandbox ?? null;
    // Inside a sandbox the init folder is seen at a path in the sandbox's own /tmp.
    const initInside = sandbox ? `/tmp/.semaphore-agent-debug-${marker.slice(0, 12)}` : initDir;
    const cleanups = [() => rmSync(initDir, { recursive: true, force: true })];
    if (sandbox) {
      // bwrap made the mount point in the (host side of the) view's /tmp; the kept job's /tmp is ours.
      const mountPoint = join(sandbox.view.privateTmp, initInside.slice("/tmp/".length));
      cleanups.push(() => rmSync(sandbox.ownTmp ? sandbox.view.privateTmp : mountPoint, { recursive: true, force: true }));
    }
    const cleanup = () => cleanups.forEach((c) => c());
    try {
      const plan = planDebugShell({
        loginShell: request.loginShell,
        envFiles: request.envFiles,
        home: request.home,
        banner: request.banner,
        initDir: initInside,
        zdotdir: request.env.ZDOTDIR,
      });
      shell = plan.shell;
      for (const file of plan.files) writeFileSync(join(initDir, file.name), file.content, { mode: 0o600 });
      const env: Record<string, string> = { ...request.env, ...plan.env, [DEBUG_MARKER_VAR]: marker, COLORTERM: "truecolor" };
      if (plan.env.ZDOTDIR === undefined) delete env.ZDOTDIR;
      let file = plan.file;
      let args = plan.args;
      if (sandbox) {
        const wrap = sandbox.wrapFor({ ...sandbox.view, extraReadOnly: [{ host: initDir, inside: initInside }] });
        file = wrap.file;
        args = [...wrap.args, plan.file, ...plan.args];
      }
      pty = nodePty.spawn(file, args, {
        name: "xterm-256color",
        cols: request.cols,
        rows: request.rows,
        cwd: request.home,
        env,
      });
    } catch (error) {
      cleanup();
      throw new HostError("internal", `Could not start the debug shell: ${error instanceof Error ? error.message : String(error)}`);
    }
    const terminal = new DebugTerminal(
      owner,
      pty,
      marker,
      cleanup,
      {
        jobId: request.jobId,
        source: request.source,
        shell,
        envFiles: [...request.envFiles],
        home: request.home,
        cols: request.cols,
        rows: request.rows,
        sandbox: sandbox ? "strict" : "none",
      },
      this.limits,
      (ended) => this.terminals.delete(ended.id),
    );
    this.terminals.set(terminal.id, terminal);
    return { ...terminal.info };
  }

  input(owner: TerminalOwner, terminalId: string, data: string): void {
    this.owned(owner, terminalId).write(data);
  }

  resize(owner: TerminalOwner, terminalId: string, cols: number, rows: number): void {
    this.owned(owner, terminalId).resize(cols, rows);
  }

  ack(owner: TerminalOwner, terminalId: string, chars: number): void {
    // An ack may race the shell's exit: that is not an error worth telling the UI about.
    const terminal = this.terminals.get(terminalId);
    if (terminal?.owner === owner) terminal.ack(chars);
  }

  /** Kills one terminal; false when it had already ended. */
  async close(owner: TerminalOwner, terminalId: string): Promise<boolean> {
    const terminal = this.terminals.get(terminalId);
    if (terminal === undefined || terminal.owner !== owner) return false;
    await terminal.kill();
    this.terminals.delete(terminalId);
    return true;
  }

  /** Kills every terminal of one owner (its window closed, its socket dropped). */
  async closeOwner(owner: TerminalOwner): Promise<void> {
    const mine = [...this.terminals.values()].filter((t) => t.owner === owner);
    await Promise.all(mine.map((t) => t.kill()));
    for (const t of mine) this.terminals.delete(t.id);
  }

  /**
   * For an app that exits right now and cannot wait: hang up every shell, as closing a terminal
   * window does (bash passes the SIGHUP on to its jobs). closeAll() is the thorough way.
   */
  hangUpAllNow(): void {
    this.closed = true;
    for (const terminal of this.terminals.values()) terminal.hangUp();
  }

  /** Kills every terminal; no new one opens afterwards. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.terminals.values()];
    await Promise.all(all.map((t) => t.kill()));
    this.terminals.clear();
  }

  private owned(owner: TerminalOwner, terminalId: string): DebugTerminal {
    const terminal = this.terminals.get(terminalId);
    // Another client's terminal is reported as missing, not as someone else's.
    if (terminal === undefined || terminal.owner !== owner || !terminal.alive) {
      throw new HostError("not-found", `No open debug terminal ${terminalId}.`);
    }
    return terminal;
  }
}

/**
 * Opens the PTY's slave side and keeps it open until the terminal ends. On Linux, once the last
 * descriptor of the slave closes (the shell exited), reading the master fails with EIO even while
 * output is still buffered in the kernel, and node-pty then drops it: the last lines a shell printed
 * before `exit` were sometimes lost. Held open, the master stays readable until node-pty, told of
 * the exit, has read what is left. Best effort: without it the terminal still works.
 */
function holdSlave(pty: IPty): number | null {
  const name = (pty as unknown as { ptsName?: unknown }).ptsName;
  if (typeof name !== "string" || !name.startsWith("/dev/")) return null;
  try {
    return openSync(name, constants.O_RDWR | constants.O_NOCTTY);
  } catch {
    return null;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
