// One job on the shell executor: the steps of spec §5.1 with the result rules of §5.8 and the stop
// semantics of §5.9, mirroring the Go agent's control flow (its quirks included, where the spec
// keeps them) so that the event log is the one Semaphore expects.
//
// Stop and shell-failure decisions beyond the Go agent:
// * stop() before the shell exists (before run(), or while bash is starting): `job_started` is
//   logged, the shell is not started (or killed as soon as it is up), the env/files steps and all
//   commands are skipped, a configured post-job hook is logged with exit code 1 (no shell), and
//   `job_finished` is `stopped`. No user command ever runs.
// * A shell that fails to start: same events with result `failed`.
// * A dead shell (killed by `exit`, `set -e`, a stop): every later command, silent `source`
//   included, is still logged as Go does and ends with exit code 1 at once.
import { unlink } from "node:fs/promises";
import { basename, join } from "node:path";
import type { JobCommand } from "../protocol/types.js";
import { startShellSession } from "../shell/session.js";
import type { CommandResult, ShellSession, ShellSessionOptions } from "../shell/types.js";
import { unixSeconds, type JobLogEvent, type JobResult } from "./events.js";
import {
  buildJobEnvironment,
  quoteEnvValue,
  renderEnvFile,
  sortEnvNames,
  writeEnvFileContent,
  type EnvVars,
  type JobEnvironment,
} from "./envfile.js";
import { injectFiles } from "./files.js";
import { CHECK_RESULT_DIRECTIVE, ENV_STEP_DIRECTIVE, FILES_STEP_DIRECTIVE, POST_JOB_HOOK_ALIAS, PRE_JOB_HOOK_ALIAS } from "./plan.js";
import type { JobEnvFiles, JobRunnerOptions } from "./types.js";

// The agent's own steps' directives live in plan.ts (pure: the UI names these steps too).
export { CHECK_RESULT_DIRECTIVE, ENV_STEP_DIRECTIVE, FILES_STEP_DIRECTIVE, POST_JOB_HOOK_ALIAS, PRE_JOB_HOOK_ALIAS };
const PRE_JOB_HOOK_WARNING_FAIL = "The agent is configured to fail the job if the pre-job hook fails.";
const PRE_JOB_HOOK_WARNING_PROCEED = "The agent is configured to proceed with the job even if the pre-job hook fails.";

export type StartShell = (opts: ShellSessionOptions) => Promise<ShellSession>;

export class JobRunner {
  private readonly opts: JobRunnerOptions;
  private readonly startShell: StartShell;
  private session: ShellSession | null = null;
  private running: Promise<JobResult> | null = null;
  private closing: Promise<void> | null = null;
  /** Go's `job.Stopped` for a stop-job; the exit-code-130 path has its own flag. */
  private stopRequested = false;
  private stoppedByExitCode130 = false;
  /** Env files as {host path, path in the job's shell}: they differ in a sandbox, whose /tmp is private. */
  private readonly liveEnvFiles: { host: string; shell: string }[] = [];
  private readonly allEnvFiles: string[] = [];
  private readonly cleanups = new Set<Promise<void>>();
  private shellError: string | null = null;

  /** `startShell` exists so a test can make bash fail to start or start slowly; the agent omits it. */
  constructor(opts: JobRunnerOptions, startShell: StartShell = startShellSession) {
    this.opts = opts;
    this.startShell = startShell;
  }

  /** True once stop() was called. */
  get stopped(): boolean {
    return this.stopRequested;
  }

  /** Why the shell did not start, for the agent's own log; null when it started (or was not tried). */
  get shellStartError(): string | null {
    return this.shellError;
  }

  /** `.env-*` files of this job that still exist, as the job's shell sees them, in creation order (the order to source them in). */
  get envFiles(): string[] {
    return this.liveEnvFiles.map((f) => f.shell);
  }

  /** Every `.env-*` file this job created (host paths), in creation order, kept after they are deleted. */
  get recordedEnvFiles(): string[] {
    return [...this.allEnvFiles];
  }

  /** The existing env files in the shape the debug terminal consumes. */
  get jobEnvFiles(): JobEnvFiles {
    return { jobId: this.opts.request.job_id, paths: this.envFiles };
  }

  /** Runs the job once (later calls return the same promise); resolves after `job_finished`. */
  run(): Promise<JobResult> {
    this.running ??= this.execute();
    return this.running;
  }

  /**
   * stop-job (spec §5.9): effective at once, also while a command runs. The command in progress
   * ends with exit code 1; what follows is decided by the step that observes the flag.
   */
  stop(): void {
    this.stopRequested = true;
    this.track(this.killShell());
    this.track(this.removeEnvFiles());
  }

  /** Step 12: kills bash if still alive and removes the env files. Idempotent; waits for run(). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.killShell();
      // A run still in progress only meets dead-shell exit codes now; wait so it cannot create an
      // env file after close() resolved.
      if (this.running) await this.running.catch(() => undefined);
      await this.removeEnvFiles();
      await Promise.all([...this.cleanups]);
    })();
    return this.closing;
  }

  private async execute(): Promise<JobResult> {
    this.emit({ event: "job_started", timestamp: unixSeconds() });

    let result: JobResult = "failed";
    let epiloguesExecuted = false;
    if (await this.openShell()) {
      result = await this.runRegularPhase();
      if (!this.stopRequested && !this.stoppedByExitCode130) {
        await this.runEpilogues(result);
        epiloguesExecuted = true;
      }
    } else if (this.stopRequested) {
      result = "stopped";
    }

    await this.runPostJobHook();

    // Go only turns a stop into `stopped` here when the epilogue phase was entered; a stop that
    // broke the env export or a failing pre-job hook keeps `failed` (the quirks of §5.9).
    if (epiloguesExecuted && this.stopRequested) result = "stopped";

    this.emit({ event: "job_finished", timestamp: unixSeconds(), result });
    return result;
  }

  private async openShell(): Promise<boolean> {
    if (this.stopRequested || this.closing) return false;
    let session: ShellSession;
    try {
      session = await this.startShell({
        env: this.opts.shellEnv,
        cwd: this.opts.cwd,
        workDir: this.opts.workDir,
        wrap: this.opts.wrap ?? null,
        commandFile: this.opts.commandFile,
        marker: this.opts.marker,
      });
    } catch (err) {
      this.shellError = err instanceof Error ? err.message : String(err);
      return false;
    }
    this.session = session;
    try {
      this.opts.onShellStarted?.(session.pid);
    } catch {
      // Bookkeeping only.
    }
    // stop()/close() found no shell to kill while bash was starting.
    if (this.stopRequested || this.closing) {
      await session.kill().catch(() => undefined);
      return false;
    }
    return true;
  }

  private async runRegularPhase(): Promise<JobResult> {
    const environment = buildJobEnvironment(this.opts.request.env_vars, this.opts.config.envVars);
    if ((await this.exportEnvStep(environment)) !== 0) return "failed";
    if ((await this.injectFilesStep()) !== 0) return "failed";
    if (!(await this.runPreJobHook())) return "failed";

    const commands = this.opts.request.commands;
    const exitCode = commands.length === 0 ? 0 : await this.runUntilFirstFailure(commands);

    if (this.stopRequested) return "stopped";
    if (exitCode === 130) {
      this.stoppedByExitCode130 = true;
      return this.checkJobResult();
    }
    return exitCode === 0 ? "passed" : "failed";
  }

  private async runEpilogues(result: JobResult): Promise<void> {
    await this.exportEnvStep({ ok: true, env: new Map([["SEMAPHORE_JOB_RESULT", result]]) });
    const request = this.opts.request;
    if (!this.stopRequested) await this.runUntilFirstFailure(request.epilogue_always_commands);
    if (!this.stopRequested) {
      await this.runUntilFirstFailure(
        result === "passed" ? request.epilogue_on_pass_commands : request.epilogue_on_fail_commands,
      );
    }
  }

  /** Go's RunCommandsUntilFirstFailure: 1 for an empty list or a stop seen before a command. */
  private async runUntilFirstFailure(commands: readonly JobCommand[]): Promise<number> {
    let exitCode = 1;
    for (const command of commands) {
      if (this.stopRequested) return 1;
      exitCode = await this.runLogged(command.directive, command.alias);
      if (exitCode !== 0) break;
    }
    return exitCode;
  }

  /**
   * Step "Exporting environment variables". An environment that could not be built (a value not
   * valid base64, a name that is not a shell identifier) fails it with 1: one output line with the
   * reason (not in the Go agent, which says nothing), no `Exporting` lines, no env file, no shell.
   */
  private async exportEnvStep(environment: JobEnvironment): Promise<number> {
    const startedAt = unixSeconds();
    this.emitStarted(ENV_STEP_DIRECTIVE);
    let exitCode = 1;
    if (!environment.ok) {
      this.emitOutput(`${environment.reason}\n`);
    } else {
      const env: EnvVars = environment.env;
      for (const name of sortEnvNames(env.keys())) this.emitOutput(`Exporting ${name}\n`);
      const path = await this.createEnvFile(env);
      if (path !== null) {
        // Quoting leaves ordinary paths as they are and keeps a TMPDIR with spaces working.
        exitCode = (await this.runSilent(`source ${quoteEnvValue(path.shell)}`)).exitCode;
      }
    }
    this.emitFinished(ENV_STEP_DIRECTIVE, exitCode, startedAt, unixSeconds());
    return exitCode;
  }

  private async createEnvFile(env: EnvVars): Promise<{ host: string; shell: string } | null> {
    let path: string;
    let content: Buffer;
    try {
      content = renderEnvFile(env);
      path = await writeEnvFileContent(this.opts.tmpDir, content);
    } catch {
      return null;
    }
    const shellDir = this.opts.shellTmpDir ?? this.opts.tmpDir;
    const entry = { host: path, shell: shellDir === this.opts.tmpDir ? path : join(shellDir, basename(path)) };
    this.allEnvFiles.push(path);
    try {
      this.opts.onEnvFile?.(path, content, entry.shell);
    } catch {
      // The debug copy is a convenience: it never fails the job.
    }
    if (this.stopRequested || this.closing) {
      // The stop's clean-up has already run; this file must not outlive it. Awaited, so that it is
      // gone before the step (and so the job) ends, not at some later point.
      await unlink(path).catch(() => undefined);
    } else {
      this.liveEnvFiles.push(entry);
    }
    return entry;
  }

  private async injectFilesStep(): Promise<number> {
    const startedAt = unixSeconds();
    this.emitStarted(FILES_STEP_DIRECTIVE);
    const exitCode = await injectFiles(this.opts.request.files, this.opts.home, (text) => this.emitOutput(text), this.opts.placeFile);
    this.emitFinished(FILES_STEP_DIRECTIVE, exitCode, startedAt, unixSeconds());
    return exitCode;
  }

  /** False when the job must fail: the hook failed and fail-on-pre-job-hook-error is set. */
  private async runPreJobHook(): Promise<boolean> {
    const { preJobHookPath, sourcePreJobHook, failOnPreJobHookError } = this.opts.config;
    if (preJobHookPath === "") return true;
    const command = `${sourcePreJobHook ? "source" : "bash"} ${preJobHookPath}`;
    const warning = failOnPreJobHookError ? PRE_JOB_HOOK_WARNING_FAIL : PRE_JOB_HOOK_WARNING_PROCEED;
    const exitCode = await this.runLogged(command, PRE_JOB_HOOK_ALIAS, warning);
    return exitCode === 0 || !failOnPreJobHookError;
  }

  private async runPostJobHook(): Promise<void> {
    const { postJobHookPath } = this.opts.config;
    if (postJobHookPath === "") return;
    await this.runLogged(`bash ${postJobHookPath}`, POST_JOB_HOOK_ALIAS);
  }

  /** §5.8.3: a command exited 130, SEMAPHORE_JOB_RESULT decides the result. */
  private async checkJobResult(): Promise<JobResult> {
    this.emitStarted(CHECK_RESULT_DIRECTIVE);
    const { output } = await this.runSilent("echo $SEMAPHORE_JOB_RESULT");
    const status = output.replace(/^\n+|\n+$/g, "");
    let result: JobResult;
    let text: string;
    if (status === "passed" || status === "failed") {
      result = status;
      text = `SEMAPHORE_JOB_RESULT=${status} - stopping job and marking it as ${status}`;
    } else {
      result = "stopped";
      text = `SEMAPHORE_JOB_RESULT is set to '${status}' - stopping job and marking it as stopped`;
    }
    this.emitOutput(text);
    const now = unixSeconds();
    this.emitFinished(CHECK_RESULT_DIRECTIVE, 0, now, now);
    return result;
  }

  /** A logged command (§5.7 for an alias): started, `Running:` and warning lines, output, finished. */
  private async runLogged(command: string, alias: string, warning?: string): Promise<number> {
    const directive = alias !== "" ? alias : command;
    this.emitStarted(directive);
    if (alias !== "") this.emitOutput(`Running: ${command}\n`);
    if (warning !== undefined) this.emitOutput(`Warning: ${warning}\n`);
    let result: CommandResult;
    if (this.session) {
      result = await this.session.run(command, (text) => this.emitOutput(text), this.opts.preview);
    } else {
      // Only the post-job hook gets here: the shell never started or a stop came first.
      const now = unixSeconds();
      result = { exitCode: 1, startedAt: now, finishedAt: now };
    }
    this.emitFinished(directive, result.exitCode, result.startedAt, result.finishedAt);
    return result.exitCode;
  }

  private async runSilent(command: string): Promise<CommandResult & { output: string }> {
    if (this.session) return this.session.runSilent(command);
    const now = unixSeconds();
    return { exitCode: 1, startedAt: now, finishedAt: now, output: "" };
  }

  private async killShell(): Promise<void> {
    if (this.session) await this.session.kill().catch(() => undefined);
  }

  private async removeEnvFiles(): Promise<void> {
    const paths = this.liveEnvFiles.splice(0);
    await Promise.all(paths.map((p) => unlink(p.host).catch(() => undefined)));
  }

  /** Remembers fire-and-forget clean-up of stop() so that close() can wait for it. */
  private track(work: Promise<void>): void {
    const settled = work.catch(() => undefined);
    this.cleanups.add(settled);
    void settled.then(() => this.cleanups.delete(settled));
  }

  private emit(event: JobLogEvent): void {
    this.opts.emit(event);
  }

  private emitStarted(directive: string): void {
    this.emit({ event: "cmd_started", timestamp: unixSeconds(), directive });
  }

  private emitOutput(output: string): void {
    this.emit({ event: "cmd_output", timestamp: unixSeconds(), output });
  }

  private emitFinished(directive: string, exitCode: number, startedAt: number, finishedAt: number): void {
    this.emit({
      event: "cmd_finished",
      timestamp: unixSeconds(),
      directive,
      exit_code: exitCode,
      started_at: startedAt,
      finished_at: finishedAt,
    });
  }
}
