// The agent: register -> sync loop -> jobs (spec §2, §3). One sequential sync loop; jobs run
// asynchronously beside it; every step is published on the event stream.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentConfig } from "../config/types.js";
import { resolveAgentName } from "../config/name.js";
import { unixSeconds, type JobResult } from "../job/events.js";
import { jobIdentityOf } from "../job/identity.js";
import { jobPlanOf } from "../job/plan.js";
import { isShellVariableName } from "../job/envfile.js";
import { decodeBase64Strict, decodeJobRequest } from "../job/request.js";
import { JobRunner } from "../job/runner.js";
import type { JobEnvFiles } from "../job/types.js";
import { shouldUpload, uploadJobLog } from "../logs/artifact.js";
import type { PusherNotice } from "../logs/log-pusher.js";
import { LogWorker, type JobLogSink } from "../logs/log-sink.js";
import { ApiClient, ApiError, proxySettingsFromEnv } from "../protocol/client.js";
import type { AgentState, JobRequest, SyncRequest, SyncResponse } from "../protocol/types.js";
import { DEFAULT_TIMINGS, randomBetween, type AgentTimings } from "../timings.js";
import { AGENT_VERSION } from "../version.js";
import { WakeableSleep } from "../util/sleep.js";
import {
  shutdownReasonFromServer,
  type AgentEvent,
  type AgentEventListener,
  type AgentPhase,
  type CallProblem,
  type ErrorScope,
  type ShutdownReason,
} from "./events.js";
import { archName, hostName, osName } from "./host-info.js";
import { checkDisk, type DiskGuardSettings, type DiskVerdict } from "../disk/disk-guard.js";
import { cleanUpCrashedRuns, defaultJournalDir, RunJournal, type CrashCleanup } from "../sandbox/crash-journal.js";
import type { JobPlacement, JobSpace } from "../sandbox/placement.js";
import { JOB_MARKER_VAR, newJobMarker } from "../shell/session.js";
import { jobEnvironment } from "./job-env.js";

export interface AgentOptions {
  config: AgentConfig;
  timings?: AgentTimings;
  /** The agent process's environment: inherited by jobs (minus secrets) and the shutdown hook. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** TMPDIR of spec §6: where the `.env-*` debug files go. */
  tmpDir?: string;
  home?: string;
  /**
   * Each `.env-*` file of a job (spec §6) as it is written, with its content: for the desktop app's
   * debug terminal, which keeps a private copy. Not an AgentEvent on purpose: the content is secret.
   */
  onJobEnvFile?: (jobId: string, path: string, content: Buffer) => void;
  /**
   * How long to wait after the `failures`-th failed registration before the next one, or null to
   * give up (UNABLE_TO_REGISTER). Default: the spec's 30 attempts, registerDelayMs apart. The
   * desktop app never gives up while the owner has the agent switched on.
   */
  registerBackoff?: (failures: number) => number | null;
  /**
   * Where jobs run: the job home, the sandbox level, the per-job private /tmp (sandbox/placement.ts).
   * Without one, jobs run as the official agent's do: in HOME, with the agent's TMPDIR.
   */
  placement?: JobPlacement;
  /**
   * The crash journal's folder (sandbox/crash-journal.ts): what an earlier run that crashed left is
   * removed at start, and this run is recorded. Default: defaultJournalDir(env); null: none.
   */
  journalDir?: string | null;
  /** The disk guard's limits; null or absent: no guard. */
  diskGuard?: DiskGuardSettings | null;
  /**
   * The owner's terms (the headless agent's lending policy): asked before each sync that could
   * bring a job; a reason drains the agent (it leaves Semaphore; `exit.drained` carries it).
   */
  lendingCheck?: () => Promise<string | null>;
}

export interface AgentExit {
  reason: ShutdownReason;
  exitCode: number;
  /** The agent interrupted itself because the disk guard said no more jobs: why, in words. */
  drained?: string;
}

export interface AgentStatus {
  phase: AgentPhase;
  name: string;
  state: AgentState;
  jobId: string;
  jobResult: SyncRequest["job_result"];
  interruptedAt: number;
  lastSyncAt: number | null;
  nextSyncAt: number | null;
}

interface ActiveJob {
  id: string;
  runner: JobRunner | null;
  stopRequested: boolean;
  /** Set when the agent shuts down mid-job: the job's own completion must not be reported. */
  aborted: boolean;
  /** The job's log: local file and pusher, kept in the log worker thread. */
  log: JobLogSink | null;
}

export class Agent {
  private readonly timings: AgentTimings;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cwd: string;
  private readonly tmpDir: string;
  private readonly home: string;
  /** What jobs, hooks and the artifact CLI inherit: the agent's environment minus secrets (P-25). */
  private readonly childEnv: Record<string, string>;
  private readonly client: ApiClient;
  private readonly listeners = new Set<AgentEventListener>();
  private readonly syncSleep = new WakeableSleep();
  private readonly retrySleep = new WakeableSleep();

  private name = "";
  private phase: AgentPhase = "registering";
  private state: AgentState = "waiting-for-jobs";
  private jobId = "";
  private jobResult: SyncRequest["job_result"] = "";
  private interruptedAt = 0;
  private forceSyncPending = false;
  private shuttingDown = false;
  /** abort() was called: end without waiting for the server. */
  private aborting = false;
  private lastSuccessfulSync = 0;
  /** The last sync failed: the next one is an error back-off that retryNow() may cut short. */
  private syncFailing = false;
  private lastSyncAt: number | null = null;
  private nextSyncAt: number | null = null;
  private job: ActiveJob | null = null;
  private workDir: string | null = null;
  /** Started with the first job, reused by later ones, ended with the agent. */
  private logWorker: LogWorker | null = null;
  private started: Promise<AgentExit> | null = null;
  /** Logger tokens of the last jobs (for `secrets`), oldest first. */
  private readonly loggerTokens: string[] = [];
  private journal: RunJournal | null = null;
  /** The disk guard's last verdict, and why the agent drained (null: it did not). */
  private disk: DiskVerdict | null = null;
  private drainReason: string | null = null;
  private diskTimer: NodeJS.Timeout | null = null;
  private space: JobSpace | null = null;
  /** What the start-up clean-up removed after an earlier crashed run. */
  crashCleanup: CrashCleanup | null = null;

  constructor(private readonly options: AgentOptions) {
    this.timings = options.timings ?? { ...DEFAULT_TIMINGS };
    this.env = options.env ?? process.env;
    this.cwd = options.cwd ?? process.cwd();
    this.tmpDir = options.tmpDir ?? tmpdir();
    this.home = options.home ?? this.env.HOME ?? homedir();
    this.childEnv = jobEnvironment(this.env);
    this.client = new ApiClient({
      endpoint: options.config.endpoint,
      noHttps: options.config.noHttps,
      registrationToken: options.config.token,
      timeoutMs: this.timings.httpTimeoutMs,
      proxy: proxySettingsFromEnv(this.env),
    });
  }

  on(listener: AgentEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get status(): AgentStatus {
    return {
      phase: this.phase,
      name: this.name,
      state: this.state,
      jobId: this.jobId,
      jobResult: this.jobResult,
      interruptedAt: this.interruptedAt,
      lastSyncAt: this.lastSyncAt,
      nextSyncAt: this.nextSyncAt,
    };
  }

  /**
   * Every secret this agent sends that a server could echo back into an error message: the
   * registration token, the access token, and the logger tokens of recent jobs (as the job requests
   * gave them). For redacting what is printed or logged (util/redact.ts).
   */
  get secrets(): string[] {
    return [this.options.config.token, this.client.connection.accessToken, ...this.loggerTokens].filter((s) => s !== "");
  }

  /** The running job's space (home, sandbox view), for a debug terminal in the same sandbox. */
  get currentJobSpace(): JobSpace | null {
    return this.job ? this.space : null;
  }

  /** The disk guard's last verdict (null: no guard, or not checked yet). */
  get diskVerdict(): DiskVerdict | null {
    return this.disk;
  }

  /** The `.env-*` files of the running job, for the debug terminal (spec §6). */
  get currentJobEnvFiles(): JobEnvFiles | null {
    const runner = this.job?.runner;
    return runner && this.job ? { jobId: this.job.id, paths: [...runner.envFiles] } : null;
  }

  /** Registers, then syncs until a shutdown; resolves with the exit code of spec §3.8. */
  start(): Promise<AgentExit> {
    this.started ??= this.main();
    return this.started;
  }

  /** First SIGINT/SIGTERM (spec §3.3): remember when, and sync now. Later calls are swallowed. */
  interrupt(): void {
    if (this.interruptedAt !== 0 || this.shuttingDown) return;
    this.interruptedAt = unixSeconds();
    this.emit({ type: "interrupted", at: Date.now(), interruptedAt: this.interruptedAt });
    this.forceSync();
  }

  /**
   * Stop taking jobs for `reason` (the owner's lending policy): the agent tells the server it is
   * interrupted, the server shuts it down (a clean disconnect), and the exit carries `drained`, so
   * the host can register it again later under the same name. Call it with no job running (a
   * running job ends first: let it finish, or stopJob()); later calls are ignored.
   */
  drain(reason: string): void {
    if (this.interruptedAt !== 0 || this.shuttingDown || this.drainReason !== null) return;
    this.drainReason = reason;
    this.log("info", `not taking jobs: ${reason}`);
    this.interrupt();
  }

  /**
   * Stops the running job here, as a stop from Semaphore would (the same events, `stopped`
   * reported), saying why; the agent goes on taking jobs. False when no job runs.
   */
  stopJob(reason: string): boolean {
    const job = this.job;
    if (!job || job.stopRequested) return false;
    this.emit({ type: "job-stopped-by-agent", at: Date.now(), jobId: job.id, reason });
    this.log("warn", `job ${job.id}: ${reason}`);
    job.stopRequested = true;
    // What Semaphore is told stays within its state machine (spec §3.3): `stopping-job` follows only
    // its own stop-job, so a stop of ours goes on reporting `running-job` until `finished-job`.
    this.setPhase("stopping-job");
    job.runner?.stop();
    return true;
  }

  /**
   * The network is back or the machine woke up: a registration waiting for its next attempt, or a
   * sync waiting after a failure, goes now. Does nothing while the agent is connected and well.
   */
  retryNow(): void {
    if (this.aborting || this.shuttingDown) return;
    if (this.phase === "registering") this.retrySleep.wake();
    else if (this.syncFailing) this.syncSleep.wake();
  }

  /**
   * Ends the agent without waiting for the server, for when interrupt() cannot finish: the server
   * is unreachable or hangs (the desktop app is quitting), or the agent is not even registered yet.
   * In-flight calls are dropped, a running job is stopped, no disconnect is sent (the server learns
   * from the missing syncs), the shutdown hook still runs. Exit: INTERRUPTED, code 0 (it was asked for).
   */
  abort(): void {
    if (this.aborting || this.phase === "stopped") return;
    this.aborting = true;
    this.retrySleep.wake();
    this.syncSleep.wake();
    void this.client.close();
  }

  private async main(): Promise<AgentExit> {
    const journalDir = this.options.journalDir === undefined ? defaultJournalDir(this.env) : this.options.journalDir;
    if (journalDir !== null) {
      this.crashCleanup = await cleanUpCrashedRuns(journalDir);
      const c = this.crashCleanup;
      if (c.runs > 0) {
        this.log(
          "warn",
          `cleaned up after ${c.runs} earlier run${c.runs === 1 ? "" : "s"} that crashed: ${c.processes} job process${c.processes === 1 ? "" : "es"} stopped, ${c.envFiles} env file${c.envFiles === 1 ? "" : "s"} and ${c.folders} work folder${c.folders === 1 ? "" : "s"} removed`,
        );
      }
    }
    this.workDir = mkdtempSync(join(this.tmpDir, "semaphore-agent-"));
    if (journalDir !== null) this.journal = RunJournal.begin(journalDir, this.workDir);
    try {
      const resolved = resolveAgentName(this.options.config, this.env);
      this.name = resolved.name;
      this.setPhase("registering");
      if (!(await this.register())) {
        this.setPhase("stopped");
        const exit: AgentExit = this.aborting ? { reason: "INTERRUPTED", exitCode: 0 } : { reason: "UNABLE_TO_REGISTER", exitCode: 1 };
        this.emit({ type: "shutdown", at: Date.now(), ...exit });
        return exit;
      }
      return await this.syncLoop();
    } finally {
      this.stopDiskWatch();
      await this.logWorker?.terminate();
      await this.client.close();
      if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
      this.journal?.end();
    }
  }

  private async register(): Promise<boolean> {
    const { config } = this.options;
    const body = {
      name: this.name,
      version: AGENT_VERSION,
      pid: process.pid,
      os: osName(),
      arch: archName(),
      hostname: hostName(),
      single_job: config.disconnectAfterJob,
      idle_timeout: config.disconnectAfterIdleTimeout,
      interruption_grace_period: config.interruptionGracePeriod,
      job_id: config.jobId,
    };
    const attempts = this.timings.registerAttempts;
    const backoff =
      this.options.registerBackoff ?? ((failures: number) => (failures < attempts ? this.timings.registerDelayMs : null));
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.client.register(body);
        this.name = response.name; // replaced unconditionally, even by "" (P-4)
        this.emit({ type: "registered", at: Date.now(), name: this.name, url: this.client.baseUrl });
        return true;
      } catch (error) {
        if (this.aborting) return false;
        const delay = backoff(attempt);
        const retryAt = delay === null ? null : Date.now() + delay;
        const counted = this.options.registerBackoff ? "" : ` (attempt ${attempt}/${attempts})`;
        this.error("register", `${(error as Error).message}${counted}`, retryAt, callProblemOf(error));
        if (delay === null) return false;
        await this.retrySleep.sleep(delay);
        if (this.aborting) return false;
      }
    }
  }

  private async syncLoop(): Promise<AgentExit> {
    this.lastSuccessfulSync = Date.now();
    this.setPhase("waiting-for-jobs");
    for (;;) {
      if (this.aborting) return await this.shutdown("INTERRUPTED", 0);
      // A sync without a job may bring one: not when the disk is (nearly) full.
      if (!this.job && !this.shuttingDown) await this.guardDisk();
      if (!this.job && !this.shuttingDown && this.options.lendingCheck && this.drainReason === null && this.interruptedAt === 0) {
        const reason = await this.options.lendingCheck().catch(() => null);
        if (reason !== null && !this.job) this.drain(reason);
      }
      const request: SyncRequest = {
        state: this.state,
        job_id: this.jobId,
        job_result: this.state === "finished-job" ? this.jobResult : "",
        interrupted_at: this.interruptedAt,
      };
      this.forceSyncPending = false;
      let waitMs: number;
      try {
        const response = await this.client.sync(request);
        this.lastSuccessfulSync = Date.now();
        this.lastSyncAt = this.lastSuccessfulSync;
        this.syncFailing = false;
        waitMs =
          response.next_sync_after > 0
            ? response.next_sync_after
            : randomBetween(this.timings.syncIntervalMinMs, this.timings.syncIntervalMaxMs);
        this.nextSyncAt = Date.now() + waitMs;
        this.emit({ type: "sync", at: Date.now(), request, response, error: null, nextSyncAt: this.nextSyncAt });
        const exit = await this.handleAction(response);
        if (exit) return exit;
      } catch (error) {
        if (this.aborting) continue; // the dropped call is no sync failure
        this.syncFailing = true;
        waitMs = randomBetween(this.timings.syncIntervalMinMs, this.timings.syncIntervalMaxMs);
        this.nextSyncAt = Date.now() + waitMs;
        const message = (error as Error).message;
        this.emit({ type: "sync", at: Date.now(), request, response: null, error: message, nextSyncAt: this.nextSyncAt });
        // Only a failed sync checks the window, and only "more than" counts (spec §3.8, P-9).
        if (Date.now() - this.lastSuccessfulSync > this.timings.unableToSyncMs) {
          this.error("sync", `${message}; no successful sync for ${Math.round(this.timings.unableToSyncMs / 1000)} s, shutting down`, null, callProblemOf(error));
          return await this.shutdown("UNABLE_TO_SYNC", 1);
        }
        this.error("sync", message, this.nextSyncAt, callProblemOf(error));
      }
      if (this.forceSyncPending) continue; // the state changed while the request was in flight
      await this.syncSleep.sleep(waitMs);
    }
  }

  private forceSync(): void {
    this.forceSyncPending = true;
    this.syncSleep.wake();
  }

  private async handleAction(response: SyncResponse): Promise<AgentExit | null> {
    switch (response.action) {
      case "run-job":
        this.onRunJob(response.job_id);
        return null;
      case "stop-job":
        this.onStopJob(response.job_id);
        return null;
      case "wait-for-jobs":
        if (this.job) {
          this.log("warn", `server said wait-for-jobs while job ${this.job.id} is still active; ignored`);
          return null;
        }
        this.state = "waiting-for-jobs";
        this.jobId = "";
        this.jobResult = "";
        this.setPhase("waiting-for-jobs");
        return null;
      case "shutdown": {
        const exit = await this.shutdown(shutdownReasonFromServer(response.shutdown_reason), 0);
        return this.drainReason !== null ? { ...exit, drained: this.drainReason } : exit;
      }
      default:
        return null; // "continue" and unknown actions (spec §3.2)
    }
  }

  private onRunJob(jobId: string): void {
    if (this.job) {
      if (this.job.id !== jobId) this.log("warn", `server asked to run job ${jobId} while job ${this.job.id} is active; ignored`);
      return;
    }
    if (!jobId) {
      this.log("warn", "server sent run-job without a job_id; ignored");
      return;
    }
    const job: ActiveJob = { id: jobId, runner: null, stopRequested: false, aborted: false, log: null };
    this.job = job;
    this.state = "starting-job";
    this.jobId = jobId;
    this.jobResult = "";
    this.setPhase("starting-job");
    this.emit({ type: "job-assigned", at: Date.now(), jobId });
    void this.runJob(job);
  }

  private onStopJob(jobId: string): void {
    if (this.state === "finished-job") return; // the job already ended (spec §3.3)
    const job = this.job;
    if (!job) {
      this.log("warn", `server asked to stop job ${jobId || "(none)"} but no job is active; ignored`);
      return;
    }
    if (jobId && jobId !== job.id) this.log("warn", `stop-job names ${jobId} but the active job is ${job.id}; stopping the active job`);
    if (job.stopRequested) return;
    this.emit({ type: "job-stopped-by-server", at: Date.now(), jobId: job.id });
    job.stopRequested = true;
    this.state = "stopping-job";
    this.setPhase("stopping-job");
    // Before the job object exists the stop is remembered and applied when it does (deviation OK).
    job.runner?.stop();
  }

  private async runJob(job: ActiveJob): Promise<void> {
    let result: JobResult = "failed";
    let trimmed = false;
    let unsent = 0;
    try {
      const fetched = await this.fetchJob(job);
      // A job that could not be fetched or built is reported without log events (spec §3.5):
      // `failed`, or `stopped` when the server already asked to stop it. Semaphore's log says
      // nothing, so the reason goes on the agent's own stream (job-rejected).
      if (!fetched.ok) {
        const result = job.stopRequested ? "stopped" : "failed";
        return this.finishJob(job, result, false, 0, fetched.reason ?? undefined);
      }
      const request = fetched.request;
      if (request.job_id && request.job_id !== job.id) {
        this.log("warn", `job request carries job_id ${request.job_id}, the server assigned ${job.id}`);
      }
      const space = await this.openJobSpace();
      const marker = newJobMarker();
      this.journal?.addMarker(`${JOB_MARKER_VAR}=${marker}`);
      const log = this.openJobLog(job, request);
      job.log = log;
      log.subscribe((event, index) => this.emit({ type: "job-log", at: Date.now(), jobId: job.id, index, event }));
      const runner = new JobRunner({
        request,
        config: this.options.config,
        shellEnv: this.options.placement?.privateHome ? { ...this.childEnv, HOME: space.home } : this.childEnv,
        // A job home of ours is also where bash starts; the official way starts in the agent's cwd (then `cd ~`).
        cwd: this.options.placement?.privateHome ? space.home : this.cwd,
        workDir: this.requireWorkDir(),
        tmpDir: space.tmpHost,
        shellTmpDir: space.tmpShell,
        home: space.home,
        wrap: space.wrap,
        commandFile:
          space.wrap === null
            ? undefined
            : { host: join(space.tmpHost, "current-agent-cmd"), shell: join(space.tmpShell, "current-agent-cmd") },
        marker,
        placeFile: space.placeFile,
        onShellStarted: (pid) => {
          this.journal?.addSession(pid);
          this.emit({ type: "job-shell", at: Date.now(), jobId: job.id, pid });
        },
        emit: (event) => log.append(event),
        preview: (text) => this.emit({ type: "job-output-preview", at: Date.now(), jobId: job.id, text }),
        onEnvFile: (path, content, shellPath) => {
          this.journal?.addEnvFile(path);
          this.options.onJobEnvFile?.(job.id, shellPath, content);
        },
      });
      job.runner = runner;
      this.startDiskWatch(job);
      if (job.stopRequested) runner.stop();
      else {
        this.state = "running-job";
        this.setPhase("running-job");
      }
      result = await runner.run();
      if (job.aborted) return;
      const outcome = await log.close();
      if (job.aborted) return; // the agent shut down meanwhile; shutdown() cleans up
      trimmed = outcome.trimmed;
      unsent = outcome.unsent;
      if (outcome.unsent > 0 && !outcome.trimmed) {
        this.error("logs", `${outcome.unsent} log events could not be delivered within the flush window`, null);
      }
      if (shouldUpload(this.options.config.uploadJobLogs, trimmed)) {
        const failure = await uploadJobLog({
          eventLines: log.readAll(),
          jobId: job.id,
          jobEnv: decodedJobEnv(request),
          agentEnv: this.childEnv,
          dir: this.requireWorkDir(),
        });
        if (failure) this.error("artifact", `job log upload skipped: ${failure}`, null);
      }
      log.dispose();
      await runner.close();
      await this.closeJobSpace();
    } catch (error) {
      this.error("job", `job ${job.id}: ${(error as Error).message}`, null);
      result = "failed";
      await this.cleanupJob(job);
    }
    if (!job.aborted) this.finishJob(job, result, trimmed, unsent);
  }

  /** The decoded job request, or why there is none (null: the agent is shutting down). */
  private async fetchJob(job: ActiveJob): Promise<{ ok: true; request: JobRequest } | { ok: false; reason: string | null }> {
    const attempts = this.timings.getJobAttempts;
    let lastError = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (job.aborted) return { ok: false, reason: null };
      try {
        const raw = await this.client.getJob(job.id);
        const decoded = decodeJobRequest(raw);
        if (!decoded.ok) {
          // A job that cannot be built is reported failed without log events (spec §3.5).
          this.error("job", `job ${job.id} cannot run: ${decoded.error}`, null);
          return { ok: false, reason: decoded.error };
        }
        this.emit({
          type: "job-request",
          at: Date.now(),
          jobId: job.id,
          envVarNames: decoded.request.env_vars.map((v) => v.name),
          identity: jobIdentityOf(decodedJobEnv(decoded.request)),
          plan: jobPlanOf(decoded.request),
        });
        this.rememberLoggerToken(decoded.request.logger.token);
        return { ok: true, request: decoded.request };
      } catch (error) {
        if (job.aborted || this.aborting) return { ok: false, reason: null };
        lastError = (error as Error).message;
        const last = attempt === attempts;
        const retryAt = last ? null : Date.now() + this.timings.getJobDelayMs;
        this.error("job", `fetching job ${job.id}: ${(error as Error).message} (attempt ${attempt}/${attempts})`, retryAt);
        if (!last) await this.retrySleep.sleep(this.timings.getJobDelayMs);
      }
    }
    if (job.aborted || this.aborting) return { ok: false, reason: null };
    return { ok: false, reason: `could not fetch the job: ${lastError}` };
  }

  private rememberLoggerToken(token: string): void {
    if (token === "" || this.loggerTokens.includes(token)) return;
    this.loggerTokens.push(token);
    if (this.loggerTokens.length > 8) this.loggerTokens.shift();
  }

  /** `rejected`: why the job never ran (spec §3.5), emitted as job-rejected just before job-finished. */
  private finishJob(job: ActiveJob, result: JobResult, trimmed: boolean, unsentEvents: number, rejected?: string): void {
    if (this.job !== job || this.shuttingDown) return;
    if (rejected !== undefined) this.emit({ type: "job-rejected", at: Date.now(), jobId: job.id, reason: rejected });
    this.job = null;
    this.state = "finished-job";
    this.jobResult = result;
    this.setPhase("finished-job");
    this.emit({ type: "job-finished", at: Date.now(), jobId: job.id, result, trimmed, unsentEvents });
    this.forceSync();
  }

  /** The job's local event file and pusher, in the log worker (started on the first job). */
  private openJobLog(job: ActiveJob, request: JobRequest): JobLogSink {
    this.logWorker ??= new LogWorker({
      client: this.client,
      onError: (message) => this.error("logs", message, null),
    });
    return this.logWorker.openJob({
      dir: this.requireWorkDir(),
      url: request.logger.url,
      token: request.logger.token,
      timings: this.timings,
      onNotice: (notice) => this.onPusherNotice(job, notice),
      onError: (message) => this.error("logs", `job ${job.id}: ${message}`, null),
    });
  }

  private onPusherNotice(job: ActiveJob, notice: PusherNotice): void {
    switch (notice.kind) {
      case "push-failed":
        this.error("logs", `job ${job.id}: ${notice.message} (events from #${notice.startFrom} will be re-sent)`, null);
        break;
      case "refresh-failed":
        this.error("logs", `job ${job.id}: refreshing the log token failed: ${notice.message}`, null);
        break;
      case "token-refreshed":
        this.log("info", `job ${job.id}: log token refreshed`);
        break;
      case "trimmed":
        this.log("warn", `job ${job.id}: the log service is full (422); later events of this job are not sent`);
        break;
    }
  }

  private async cleanupJob(job: ActiveJob): Promise<void> {
    await job.log?.close().catch(() => undefined);
    job.log?.dispose();
    await job.runner?.close().catch(() => undefined);
    await this.closeJobSpace();
  }

  /** The job's home and /tmp; without a placement, the official agent's HOME and TMPDIR. */
  private async openJobSpace(): Promise<JobSpace> {
    const placement = this.options.placement;
    const space: JobSpace = placement
      ? await placement.prepareJob(this.requireWorkDir(), this.tmpDir)
      : {
          level: "none",
          home: this.home,
          tmpHost: this.tmpDir,
          tmpShell: this.tmpDir,
          wrap: null,
          view: null,
          placeFile: (dest) => ({ host: dest, roots: null }),
          finish: async () => {},
        };
    this.space = space;
    return space;
  }

  /** After the job's processes are gone: its private /tmp goes, the job home is cleaned (policy). */
  private async closeJobSpace(): Promise<void> {
    this.stopDiskWatch();
    const space = this.space;
    this.space = null;
    this.journal?.jobDone();
    if (!space) return;
    try {
      await space.finish();
    } catch (error) {
      this.error("job", `cleaning the job home ${space.home}: ${(error as Error).message}`, null);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The disk guard

  private diskPaths(): { label: string; path: string }[] {
    const home = this.options.placement?.settings.jobHome ?? this.home;
    return [
      { label: "job home", path: home },
      { label: "TMPDIR", path: this.tmpDir },
    ];
  }

  /** Reads free space; tells of a change; below the threshold the agent drains (interrupts itself). */
  private async guardDisk(): Promise<DiskVerdict | null> {
    const settings = this.options.diskGuard;
    if (!settings) return null;
    const verdict = await checkDisk(this.diskPaths(), settings);
    // The first verdict is news only when it is bad.
    const changed = this.disk === null ? verdict.state !== "ok" : this.disk.state !== verdict.state;
    this.disk = verdict;
    if (changed) this.emit({ type: "disk", at: Date.now(), verdict });
    if (verdict.state !== "ok" && !this.job && this.drainReason === null && this.interruptedAt === 0) {
      this.drainReason = verdict.reason ?? "the disk is nearly full";
      this.log("warn", `not taking jobs: ${this.drainReason}`);
      this.interrupt();
    }
    return verdict;
  }

  /** While a job runs: under the hard floor, the job is stopped (and the agent drains after it). */
  private startDiskWatch(job: ActiveJob): void {
    if (!this.options.diskGuard || this.options.diskGuard.hardFloorGb <= 0) return;
    this.stopDiskWatch();
    const tick = async () => {
      this.diskTimer = null;
      const verdict = await this.guardDisk().catch(() => null);
      if (this.job !== job) return;
      if (verdict?.state === "critical" && !job.stopRequested) {
        this.stopJob(`Stopped by the disk guard: ${verdict.reason ?? "the disk is nearly full"}`);
        return;
      }
      this.diskTimer = setTimeout(() => void tick(), this.timings.diskPollMs);
    };
    this.diskTimer = setTimeout(() => void tick(), this.timings.diskPollMs);
  }

  private stopDiskWatch(): void {
    if (this.diskTimer) clearTimeout(this.diskTimer);
    this.diskTimer = null;
  }

  /**
   * A job still active at shutdown: stop it, let its last events reach the local log, and drop
   * the pusher without the 60 s flush (spec §3.8: the Go agent simply exits; the control plane may
   * be unreachable, which is the UNABLE_TO_SYNC case).
   */
  private async abortJob(job: ActiveJob): Promise<void> {
    job.runner?.stop();
    await job.runner?.close().catch(() => undefined);
    job.log?.abort();
    job.log?.dispose();
    await this.closeJobSpace();
  }

  /** Shutdown procedure of spec §3.8: disconnect, shutdown hook, exit code. */
  private async shutdown(reason: ShutdownReason, exitCode: number): Promise<AgentExit> {
    this.shuttingDown = true;
    this.setPhase("shutting-down");
    this.retrySleep.wake();
    const job = this.job;
    if (job) {
      // The Go agent just exits and the PTY dies with it; as a library we must end the job ourselves.
      job.aborted = true;
      this.job = null;
      await this.abortJob(job);
    }
    if (!this.aborting) await this.disconnect();
    await this.runShutdownHook(reason);
    this.setPhase("stopped");
    this.emit({ type: "shutdown", at: Date.now(), reason, exitCode });
    return { reason, exitCode };
  }

  private async disconnect(): Promise<void> {
    const attempts = this.timings.disconnectAttempts;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.client.disconnect();
        return;
      } catch (error) {
        if (this.aborting) return;
        const last = attempt === attempts;
        this.error("disconnect", `${(error as Error).message} (attempt ${attempt}/${attempts})`, last ? null : Date.now() + this.timings.disconnectDelayMs);
        if (!last) await this.retrySleep.sleep(this.timings.disconnectDelayMs); // abort() cuts it short
      }
    }
  }

  private async runShutdownHook(reason: ShutdownReason): Promise<void> {
    const path = this.options.config.shutdownHookPath;
    if (!path) return;
    this.log("info", `running shutdown hook ${path} (SEMAPHORE_AGENT_SHUTDOWN_REASON=${reason})`);
    await new Promise<void>((resolve) => {
      const child = spawn("bash", [path], {
        cwd: this.cwd,
        env: { ...this.childEnv, SEMAPHORE_AGENT_SHUTDOWN_REASON: reason },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      child.on("error", (error) => {
        this.error("hook", `shutdown hook: ${error.message}`, null);
        resolve();
      });
      child.on("close", (code) => {
        this.log("info", `shutdown hook exited with ${code}${output.trim() ? `: ${output.trim()}` : ""}`);
        resolve();
      });
    });
  }

  private requireWorkDir(): string {
    if (!this.workDir) throw new Error("agent work directory missing");
    return this.workDir;
  }

  private setPhase(phase: AgentPhase): void {
    this.phase = phase;
    this.emit({ type: "phase", at: Date.now(), phase, jobId: this.jobId });
  }

  private log(level: "info" | "warn", message: string): void {
    this.emit({ type: "log", at: Date.now(), level, message });
  }

  private error(scope: ErrorScope, message: string, retryAt: number | null, problem?: CallProblem): void {
    this.emit(problem ? { type: "error", at: Date.now(), scope, message, retryAt, problem } : { type: "error", at: Date.now(), scope, message, retryAt });
  }

  private emit(event: AgentEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must never disturb the agent.
      }
    }
  }
}

function callProblemOf(error: unknown): CallProblem | undefined {
  return error instanceof ApiError ? { kind: error.kind, status: error.status, code: error.code } : undefined;
}

function decodedJobEnv(request: JobRequest): Map<string, string> {
  const env = new Map<string, string>();
  for (const variable of request.env_vars) {
    // A name that is not a shell identifier failed the job's env step; it goes nowhere else either.
    if (!isShellVariableName(variable.name)) continue;
    const value = decodeBase64Strict(variable.value);
    if (value) env.set(variable.name, value.toString("utf8"));
  }
  return env;
}
