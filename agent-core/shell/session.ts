// The job shell: one long-lived `bash --login` in a PTY (spec §5.2), commands run with the
// start/end-marker protocol (§5.3), output chunked per §5.4, stop = whole-tree kill (§5.9).

import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { performance } from "node:perf_hooks";
import type { IDisposable, IPty } from "node-pty";

import { killProcessTree, processStartTime } from "./kill.js";
import { MarkerScanner, PROMPT_COMMAND_LINE, PROMPT_MARKER, commandLine, commandMarkers } from "./markers.js";
import { OutputChunker } from "./output.js";
import { nodePty } from "./pty-module.js";
import { TOOLBOX_BASH_LINE } from "../toolbox/shell-snippet.js";
import { writeCommandFile } from "../sandbox/placement.js";
import type { CommandResult, ShellSession, ShellSessionOptions } from "./types.js";

const BOOT_MARKER = "87d140552e404df69f6472729d2b2c3";
// The spec's bootstrap (§5.2) plus two lines of ours: the Semaphore toolbox when `~/.toolbox` has
// one (sourced silently: the official install does it from ~/.bash_profile, which we never edit;
// see toolbox/shell-snippet.ts), and the prompt marker (see PROMPT_MARKER), so a command line that
// bash abandons after a SIGINT ends the command instead of hanging the job.
const BOOT_LINES =
  "export PS1=''\n" +
  "stty -echo\n" +
  "echo stty `stty -g` > /tmp/restore-tty\n" +
  "cd ~\n" +
  `${TOOLBOX_BASH_LINE}\n` +
  `${PROMPT_COMMAND_LINE}\n` +
  `echo '${BOOT_MARKER}'\n`;
const BOOT_ECHO = new Set(BOOT_LINES.split("\n"));
const BOOT_TIMEOUT_MS = 30_000;
const COMMAND_FILE = "current-agent-cmd";
/**
 * Put into bash's environment with a random value per session, so every process of the job carries
 * it; kill() also finds by it the processes that daemonized out of the tree and the session
 * (Linux only, see kill.ts).
 */
export const JOB_MARKER_VAR = "SEMAPHORE_AGENT_JOB_MARKER";

/** A fresh marker value: 128 random bits, so no other process of the machine carries it by chance. */
export function newJobMarker(): string {
  return randomBytes(16).toString("hex");
}

// P-29 deviation: the Go agent leaves the window at 0×0, which node-pty cannot do (0 means its
// 80×24 default). A wide window keeps tools that format to the terminal width (and readline, if
// a command turns echo back on) from wrapping lines at 80 columns.
const COLS = 200;
const ROWS = 50;

/** Spec §9.4: at most 60 s for the final drain of one command. */
const DRAIN_TIMEOUT_MS = 60_000;
/** Flusher poll while data is buffered; first poll after the buffer emptied (spec §5.4). */
const POLL_MS = 10;
/** Cap of the flusher's exponential back-off base while the buffer stays empty (spec §5.4). */
const MAX_BACKOFF_MS = 1000;
// Back-pressure: stop reading the PTY while this much output is undelivered, so a flood cannot
// exhaust memory; the writer then blocks in the kernel.
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

const unixNow = (): number => Math.floor(Date.now() / 1000);

/** Starts `bash --login` in a PTY and bootstraps it (spec §5.2). Rejects if the shell does not come up. */
export async function startShellSession(opts: ShellSessionOptions): Promise<ShellSession> {
  const shell = opts.shell ?? "bash";
  // Checked up front, as Go's exec.LookPath does (hence its "executable file not found" message):
  // node-pty would fork anyway and the child would die at once, racing our bootstrap write.
  // The spawn itself still uses the bare name, so that `$0` is "bash" as with the Go agent.
  if (!(await lookPath(shell, opts.env.PATH))) {
    throw new Error(`exec: "${shell}": executable file not found in $PATH`);
  }
  if (!(await stat(opts.cwd).then((st) => st.isDirectory(), () => false))) {
    throw new Error(`cannot start shell "${shell}": working directory ${opts.cwd} does not exist`);
  }
  const markerValue = opts.marker ?? newJobMarker();
  // Under the strict sandbox bash is started by bwrap (which execs it by name: `$0` stays "bash").
  const file = opts.wrap ? opts.wrap.file : shell;
  const args = opts.wrap ? [...opts.wrap.args, shell, "--login"] : ["--login"];
  let pty: IPty;
  try {
    pty = nodePty.spawn(file, args, {
      // node-pty sets env.TERM = name: passing the inherited TERM keeps it unchanged. Without one
      // node-pty would put its own default anyway, so that default is spelled out here.
      name: opts.env.TERM ?? "xterm",
      cols: COLS,
      rows: ROWS,
      cwd: opts.cwd,
      env: { ...opts.env, [JOB_MARKER_VAR]: markerValue },
      // Raw bytes: the chunker decodes them itself (UTF-8 boundaries, one U+FFFD per bad byte).
      encoding: null,
    });
  } catch (err) {
    throw new Error(`cannot start shell "${shell}": ${err instanceof Error ? err.message : String(err)}`);
  }
  const commandFile = opts.commandFile ?? { host: join(opts.workDir, COMMAND_FILE), shell: join(opts.workDir, COMMAND_FILE) };
  const session = new PtyShellSession(pty, commandFile, `${JOB_MARKER_VAR}=${markerValue}`);
  try {
    await session.boot(shell);
  } catch (err) {
    await session.kill();
    throw err;
  }
  return session;
}

class PtyShellSession implements ShellSession {
  readonly pid: number;
  private readonly startTime: string | undefined;
  private dead = false;
  private killing: Promise<void> | null = null;
  private current: CommandRun | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private paused = false;
  private readonly subscriptions: IDisposable[] = [];
  private booting: { onData(data: Buffer): void; onExit(): void } | null = null;

  constructor(
    private readonly pty: IPty,
    /** Where the agent writes each command, and where the shell reads it (they differ in a sandbox). */
    private readonly commandFile: { host: string; shell: string },
    /** `NAME=value` entry of the job marker variable in bash's environment. */
    private readonly envMarker: string,
  ) {
    this.pid = pty.pid;
    this.startTime = processStartTime(pty.pid);
    // node-pty rethrows socket errors other than EIO unless someone else listens for them. A read
    // error ends the stream; the exit event that follows marks the shell dead.
    (pty as unknown as { on(event: "error", listener: (err: unknown) => void): void }).on("error", () => {});
    // With `encoding: null` the data events carry Buffers, whatever the typings say.
    this.subscriptions.push(
      pty.onData((data: string | Buffer) => this.onData(typeof data === "string" ? Buffer.from(data) : data)),
      pty.onExit(() => this.onExit()),
    );
  }

  get alive(): boolean {
    return !this.dead;
  }

  boot(shell: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let partial = "";
      const tail: string[] = [];
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.booting = null;
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new Error(`shell "${shell}" did not answer the bootstrap within ${BOOT_TIMEOUT_MS / 1000} s`)),
        BOOT_TIMEOUT_MS,
      );
      this.booting = {
        onData: (data) => {
          const lines = (partial + data.toString("utf8")).split("\n");
          partial = lines.pop() ?? "";
          if (partial.length > 64 * 1024) partial = partial.slice(-1024); // a runaway profile script
          for (const line of lines) {
            if (line.includes("executable file not found")) {
              finish(new Error(`cannot start shell "${shell}": ${line.trim()}`));
              return;
            }
            // The echoed input line contains the marker too, hence the "echo" test (spec §5.2).
            if (line.includes(BOOT_MARKER) && !line.includes("echo")) {
              finish();
              return;
            }
            // Keep the last words of the shell for the error message, minus the echo of our input.
            const said = line.trim();
            if (said !== "" && !BOOT_ECHO.has(said) && !said.includes(PROMPT_MARKER)) tail.push(said);
            if (tail.length > 5) tail.shift();
          }
        },
        onExit: () => {
          const said = [...tail, partial.trim()].filter((l) => l !== "").join(" | ");
          finish(new Error(`shell "${shell}" exited during the bootstrap${said ? `: ${said}` : ""}`));
        },
      };
      if (this.dead) {
        this.booting.onExit();
        return;
      }
      this.pty.write(BOOT_LINES);
    });
  }

  run(command: string, onOutput: (text: string) => void, onPreview?: (text: string) => void): Promise<CommandResult> {
    return this.enqueue(() => this.runOne(command, onOutput, onPreview));
  }

  async runSilent(command: string): Promise<CommandResult & { output: string }> {
    const parts: string[] = [];
    const result = await this.run(command, (text) => parts.push(text));
    return { ...result, output: parts.join("") };
  }

  kill(): Promise<void> {
    this.killing ??= this.doKill();
    return this.killing;
  }

  // The job runner runs commands one after another; the queue only makes overlapping calls safe.
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runOne(command: string, onOutput: (text: string) => void, onPreview?: (text: string) => void): Promise<CommandResult> {
    if (this.dead) {
      const now = unixNow();
      return { exitCode: 1, startedAt: now, finishedAt: now };
    }
    try {
      // Created afresh for each command (0644): in a sandbox the file is in the job's own /tmp, and
      // a link the job put in its place must not make the agent write elsewhere.
      await writeCommandFile(this.commandFile.host, command);
    } catch {
      return { exitCode: 1, startedAt: 0, finishedAt: 0 };
    }
    if (this.dead) {
      const now = unixNow();
      return { exitCode: 1, startedAt: now, finishedAt: now };
    }
    const { start, end } = commandMarkers(unixNow());
    const startedAt = unixNow();
    const exitCode = await new Promise<number>((resolve) => {
      this.current = new CommandRun(new MarkerScanner(start, end, PROMPT_MARKER), onOutput, this, resolve, onPreview);
      this.pty.write(commandLine(start, end, shellWord(this.commandFile.shell)));
    });
    this.current = null;
    this.resumeIfPaused(0);
    return { exitCode, startedAt, finishedAt: unixNow() };
  }

  private onData(data: Buffer): void {
    if (this.booting) this.booting.onData(data);
    else if (this.current) this.current.feed(data);
    // Otherwise: output between commands, dropped like everything before a start marker.
  }

  private onExit(): void {
    this.dead = true;
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.booting?.onExit();
    this.current?.shellDied();
  }

  private async doKill(): Promise<void> {
    this.dead = true;
    // Resolve the running command now (exit code 1, spec §5.9), not when the exit event arrives.
    this.current?.shellDied();
    await killProcessTree(this.pid, {
      rootStartTime: this.startTime,
      envMarker: this.envMarker,
      // Spec §5.9 order: close the PTY master, then SIGKILL bash (and here: its whole tree). The
      // tree is listed before the close, while every process still has its parent.
      beforeKill: () => {
        try {
          (this.pty as unknown as { destroy(): void }).destroy();
        } catch {
          // Already closed.
        }
      },
    });
  }

  /** Called by the running command whenever its buffer grew. */
  throttle(buffered: number): void {
    if (!this.paused && buffered > HIGH_WATER && !this.dead) {
      this.paused = true;
      this.pty.pause();
    }
  }

  /** Called by the running command whenever its buffer shrank. */
  resumeIfPaused(buffered: number): void {
    if (this.paused && buffered < LOW_WATER) {
      this.paused = false;
      if (!this.dead) this.pty.resume();
    }
  }
}

/** One command in flight: marker scanning, output buffer and its flusher. */
class CommandRun {
  private readonly chunker = new OutputChunker();
  private timer: NodeJS.Timeout | undefined;
  private nextTickAt = 0;
  private backoff = POLL_MS;
  private ended = false;
  private exitCode = 1;
  private drainDeadline = 0;
  private settled = false;

  constructor(
    private readonly scanner: MarkerScanner,
    private readonly emit: (text: string) => void,
    private readonly session: PtyShellSession,
    private readonly resolve: (exitCode: number) => void,
    private readonly preview?: (text: string) => void,
  ) {
    this.schedule(POLL_MS);
  }

  private readonly toBuffer = (bytes: Buffer): void => {
    this.chunker.push(bytes, performance.now());
  };

  feed(data: Buffer): void {
    if (this.ended) return; // after the end marker: discarded (spec §5.3 step 5)
    const found = this.scanner.feed(data, this.toBuffer);
    const buffered = this.chunker.size;
    if (found) {
      this.end(this.scanner.exitCode ?? 1);
      return;
    }
    this.session.throttle(buffered);
    if (this.preview && buffered > 0) {
      const text = this.chunker.preview();
      if (text !== "") this.preview(text);
    }
    // Data after a quiet spell is looked at within one poll, not after the rest of the back-off
    // (up to 1.5 s), so a flood starts draining at once.
    if (buffered > 0 && this.nextTickAt - performance.now() > POLL_MS) this.schedule(POLL_MS);
  }

  /** bash exited or was killed before the end marker: exit code 1 (spec §5.3, P-18). */
  shellDied(): void {
    if (this.ended) return;
    this.scanner.flushPending(this.toBuffer);
    this.end(1);
  }

  private end(exitCode: number): void {
    this.ended = true;
    this.exitCode = exitCode;
    this.drainDeadline = performance.now() + DRAIN_TIMEOUT_MS;
    this.tick();
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.nextTickAt = performance.now() + delay;
    this.timer = setTimeout(this.tick, delay);
  }

  private readonly tick = (): void => {
    if (this.settled) return;
    const now = performance.now();
    try {
      this.chunker.flush(now, this.ended, this.emit);
    } catch {
      // A throwing consumer must not wedge the command; the remaining output is dropped below.
      this.chunker.clear();
    }
    const buffered = this.chunker.size;
    this.session.resumeIfPaused(buffered);
    if (this.ended) {
      if (buffered === 0 || now >= this.drainDeadline) {
        this.settled = true;
        clearTimeout(this.timer);
        this.chunker.clear();
        this.resolve(this.exitCode);
      } else {
        this.schedule(POLL_MS);
      }
      return;
    }
    if (buffered > 0) {
      this.backoff = POLL_MS;
      this.schedule(POLL_MS);
    } else {
      // Spec §5.4: empty buffer ⇒ ×1.5 back-off, ±50 % jitter, base capped at 1 s.
      this.backoff = Math.min(this.backoff * 1.5, MAX_BACKOFF_MS);
      this.schedule(this.backoff * (0.5 + Math.random()));
    }
  };
}

/**
 * The command file path as it appears in the wrapper line. The spec writes the path bare; ours is
 * under a configurable directory, so it is single-quoted only when it contains characters the
 * shell would split or expand (e.g. a home directory with a space).
 */
async function lookPath(file: string, pathVar: string | undefined): Promise<string | undefined> {
  const isExecutable = (candidate: string): Promise<boolean> =>
    stat(candidate).then(
      (st) => st.isFile() && access(candidate, constants.X_OK).then(() => true, () => false),
      () => false,
    );
  if (file.includes("/")) return (await isExecutable(file)) ? file : undefined;
  for (const dir of (pathVar ?? "").split(delimiter)) {
    const candidate = join(dir === "" ? "." : dir, file);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function shellWord(path: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(path)) return path;
  return `'${path.replaceAll("'", `'"'"'`)}'`;
}
