// The contract between the job runner (agent-core/job) and the shell executor (agent-core/shell).

export interface CommandResult {
  /** 0–255 from the end marker; 1 when the shell died before it (spec §5.3). */
  exitCode: number;
  /** Unix seconds just before the command line was written to the PTY (0 if the command file could not be written). */
  startedAt: number;
  /** Unix seconds after the output buffer was drained (0 if the command file could not be written). */
  finishedAt: number;
}

export interface ShellSessionOptions {
  /** The complete environment of `bash --login` (already stripped of agent/Electron secrets). */
  env: Record<string, string>;
  /** Working directory at spawn (the agent's cwd). The bootstrap then does `cd ~`. */
  cwd: string;
  /** Private per-agent directory (mode 0700) that holds `current-agent-cmd` (spec P-26 deviation). */
  workDir: string;
  /** Shell binary, default "bash". A non-existent one makes start fail. */
  shell?: string;
  /** Program and arguments that start bash (the strict sandbox's `bwrap ... --`); none: bash itself. */
  wrap?: { file: string; args: string[] } | null;
  /** The command file on the host and as the shell sees it; default `<workDir>/current-agent-cmd` for both. */
  commandFile?: { host: string; shell: string };
  /** Value of the job marker variable (default: fresh random); journaled before the spawn for crash clean-up. */
  marker?: string;
}

export interface ShellSession {
  /** PID of bash, the session leader of the job's process tree. */
  readonly pid: number;
  /** False once bash has exited or the session was killed. */
  readonly alive: boolean;
  /**
   * Runs one command with the start/end-marker protocol of spec §5.3. Output goes to `onOutput` as
   * ready-to-log `cmd_output` texts (chunked, UTF-8 safe, CRLF normalised, spec §5.4), all of them
   * before the promise resolves. Never rejects: a dead shell gives exit code 1. `onPreview`, if
   * given, gets the same text as soon as it is read, ahead of the chunking's hold (see
   * OutputChunker.preview): the `onOutput` texts that follow repeat it.
   */
  run(command: string, onOutput: (text: string) => void, onPreview?: (text: string) => void): Promise<CommandResult>;
  /** Same protocol, but output is collected and returned instead of logged (silent commands). */
  runSilent(command: string): Promise<CommandResult & { output: string }>;
  /**
   * Stops the job (spec §5.9, whole-tree deviation): close the PTY, SIGKILL bash and every process
   * of its session and process tree (including background children and those ignoring
   * SIGHUP/SIGTERM), and wait until they are gone. Idempotent. A run() in progress then resolves
   * with exit code 1; later run() calls resolve with exit code 1 at once.
   */
  kill(): Promise<void>;
}
