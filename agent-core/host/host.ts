// The app's backend: owns the agent (one at a time), the settings, the job history and the local
// demo, and turns the agent's event stream into the HostEvents of the contract. Electron IPC and the
// web console both sit on top of this one object.
//
// The agent's event loop is the job's: listeners here do bookkeeping only. Job output goes to a
// write stream (history) and an array (live batcher); nothing waits for the UI.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Agent, type AgentExit } from "../agent/agent.js";
import type { AgentEvent } from "../agent/events.js";
import { jobEnvironment } from "../agent/job-env.js";
import { defaultAgentConfig } from "../config/keys.js";
import type { AgentConfig } from "../config/types.js";
import type { JobResult } from "../job/events.js";
import { jobOrigin, jobTitle, type JobIdentity } from "../job/identity.js";
import { explainCallProblem } from "../protocol/explain.js";
import { installToolbox, toolboxStatus, type ToolboxInstallProgress, type ToolboxStatus } from "../toolbox/index.js";
import { redactSecrets } from "../util/redact.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../timings.js";
import { AGENT_VERSION } from "../version.js";
import {
  HostError,
  idleAgentSnapshot,
  type AgentMode,
  type AgentSnapshot,
  type DebugInfo,
  type DemoSnapshot,
  type HostApi,
  type HostClient,
  type HostEvent,
  type HostEventListener,
  type HostParams,
  type HostSnapshot,
  type JobDetail,
  type JobLogPage,
  type JobSummary,
  type KeptEnvSummary,
  type SaveSettingsResult,
  type SettingsView,
  type ShutdownReason,
  type TerminalInfo,
  type TerminalMethod,
  type ToolboxView,
  type SandboxStatus,
} from "./contract.js";
import { ConnectivityWatch } from "./connectivity.js";
import { agentUser, debugShellName, loginShellOf, manualEquivalent } from "./debug-shell.js";
import { DebugTerminals, type OpenTerminalRequest, type TerminalOwner } from "./debug-terminals.js";
import { EnvKeeper } from "./env-keeper.js";
import { DataDirLock } from "./data-dir-lock.js";
import { defaultExamplesDir, LocalDemo } from "./demo.js";
import { HistoryStore, type HistoryRetention } from "./history.js";
import { LiveBatcher } from "./live-batcher.js";
import type { SecretCodec } from "./secret-store.js";
import { SettingsStore, type StoredSettings } from "./settings.js";
import { JobSandbox, statusOf } from "./job-sandbox.js";
import { cleanUpCrashedRuns } from "../sandbox/crash-journal.js";
import type { JobPlacement, JobSpace } from "../sandbox/placement.js";
import type { SandboxView } from "../sandbox/bwrap.js";
import { checkDisk, type DiskVerdict } from "../disk/disk-guard.js";
import { CHECK_RESULT_DIRECTIVE, ENV_STEP_DIRECTIVE, FILES_STEP_DIRECTIVE, POST_JOB_HOOK_ALIAS, PRE_JOB_HOOK_ALIAS } from "../job/runner.js";
import type { PolicyVerdict } from "../policy/engine.js";
import { defaultSignalSource, type LendingSignalSource } from "../policy/signals.js";
import type { GivenSummary, PauseKind } from "./contract.js";
import { givenFrom, LendingControl } from "./lending.js";
import { NO_KEEP_AWAKE, SystemdInhibit, type KeepAwake } from "./keep-awake.js";

export interface HostOptions {
  /** Where settings, the token and the history live (created 0700 if missing). */
  dataDir: string;
  secretCodec: SecretCodec;
  /** The environment the agent runs with (jobs inherit it minus secrets). Default process.env. */
  env?: NodeJS.ProcessEnv;
  timings?: AgentTimings;
  /** The example jobs of the local demo. Default: the repository's examples/. */
  examplesDir?: string;
  /** Watch for wake-ups and network changes to retry at once (default true; tests of other things turn it off). */
  watchConnectivity?: boolean;
  /** What the lending policy reads (idle time, battery, the owner's CPU load). Default: the console's (policy/signals.ts). */
  signals?: LendingSignalSource;
  /** The lending policy's clock (the schedule, snoozes). Default Date.now. */
  now?: () => number;
  /** Holds the machine awake while a job runs (never on battery). Default: systemd-inhibit where it exists. */
  keepAwake?: KeepAwake;
}

export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
/** After abort(), how long the agent gets to stop its job and run its shutdown hook. */
const ABORT_WAIT_MS = 10_000;
/** The local hub answers at once; a demo agent that does not stop in this time is aborted. */
const DEMO_STOP_TIMEOUT_MS = 15_000;
/** `agent` events are coalesced to at most one per this interval (the last state always goes out). */
const AGENT_EVENT_INTERVAL_MS = 50;
const SNAPSHOT_HISTORY = 200;
const MAX_EARLY_ACTIVITY = 100;
const MIB = 1024 * 1024;
/** Toolbox download progress goes to the UI at most this often. */
const TOOLBOX_PROGRESS_MS = 100;

/** One run of the agent, from start() to its exit. */
interface AgentRun {
  agent: Agent;
  mode: AgentMode;
  config: AgentConfig;
  endpointUrl: string;
  /** abort() was used: the server never confirmed the stop. */
  aborted: boolean;
  lastRegisterError: string | null;
  lastSyncError: string | null;
  /** The owner asked it to stop: an exit is not a reason to connect again. */
  stopAsked: boolean;
  /** Resolves (never rejects) once the agent has exited and the host has recorded it. */
  exited: Promise<void>;
  /** Where its jobs run (job home, sandbox). */
  placement: JobPlacement;
}

/** An agent the disk guard or the lending policy drained: started again once allowed (or forgotten by Stop). */
interface HeldRun {
  kind: PauseKind;
  config: AgentConfig;
  mode: AgentMode;
  endpointUrl: string;
  placement: JobPlacement;
  timer: NodeJS.Timeout | null;
}

/** The job the agent is running, as far as the host has seen it. */
interface CurrentJob {
  id: string;
  assignedAt: number;
  /** In the history and announced with job-started (at the job request, or at its first event). */
  started: boolean;
  /** The result its own `job_finished` event gave, for a job the agent shuts down under. */
  loggedResult: JobResult | null;
  /** Number of the job's next log event: where a preview of output goes. */
  nextIndex: number;
  identity: JobIdentity | null;
  /** Why the agent would not run it (job-rejected), for the history. */
  problem: string | null;
  /** Why the agent itself stopped it (the disk guard), for the history. */
  stoppedBy: string | null;
  /** cmd_finished events of the job's own commands (not the agent's steps or hooks): the circuit breaker's test. */
  ownCommandsFinished: number;
}

/** The agent's own steps and hooks: a job that failed before any other command finished failed early. */
const AGENT_STEPS = new Set([ENV_STEP_DIRECTIVE, FILES_STEP_DIRECTIVE, CHECK_RESULT_DIRECTIVE, PRE_JOB_HOOK_ALIAS, POST_JOB_HOOK_ALIAS]);

export class Host implements Omit<HostApi, TerminalMethod> {
  private readonly listeners = new Set<HostEventListener>();
  /** Every registration token an agent ran with: redacted from whatever text goes out. */
  private readonly secrets = new Set<string>();
  private readonly batcher: LiveBatcher;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timings: AgentTimings;
  /** Where jobs start (the agent's HOME), and so the debug shells. */
  private readonly home: string;
  /** The user the agent runs as and their login shell (the password database's; they do not change). */
  private readonly user: string;
  private readonly loginShell: string;
  private readonly terminals = new DebugTerminals();
  private run: AgentRun | null = null;
  private job: CurrentJob | null = null;
  private snapshot: AgentSnapshot;
  private agentTimer: NodeJS.Timeout | null = null;
  private lastAgentEmit = 0;
  /** startDemo/stopDemo in progress: no other start may slip in between their awaits. */
  private demoTransition = false;
  private closing: Promise<void> | null = null;
  /** Said before anyone listened (problems found while opening): told to the first subscriber. */
  private earlyActivity: Extract<HostEvent, { type: "activity" }>[] = [];
  private everSubscribed = false;
  private readonly watchConnectivity: boolean;
  private connectivity: ConnectivityWatch | null = null;
  private toolboxInstall: ToolboxView["install"] = { running: false, phase: null, receivedBytes: 0, totalBytes: null, error: null, verified: null };
  private toolboxProgressAt = 0;
  /** The toolbox table as last read from disk and PATH. */
  private toolboxStatusRead: ToolboxStatus | null = null;
  private readonly sandbox: JobSandbox;
  private held: HeldRun | null = null;
  /** Disk views are measured asynchronously: only the latest one counts. */
  private diskSeq = 0;
  private readonly lending: LendingControl;
  private readonly keepAwake: KeepAwake;
  private lendingTimer: NodeJS.Timeout | null = null;
  private lendingSeq = 0;
  private lendingVerdict: PolicyVerdict | null = null;
  /** A condition started while a job runs: the agent drains once it ends. */
  private pendingPause: PolicyVerdict | null = null;
  /** The agent was told to drain for this verdict (its exit then holds it under this kind). */
  private draining: PolicyVerdict | null = null;

  private constructor(
    options: HostOptions,
    private readonly settings: SettingsStore,
    private readonly history: HistoryStore,
    private readonly demo: LocalDemo,
    private readonly lock: DataDirLock,
    private readonly keeper: EnvKeeper,
  ) {
    this.env = options.env ?? process.env;
    this.home = this.env.HOME ?? homedir();
    this.user = agentUser(this.env);
    this.loginShell = loginShellOf(this.env);
    this.timings = options.timings ?? { ...DEFAULT_TIMINGS };
    this.watchConnectivity = options.watchConnectivity ?? true;
    this.sandbox = new JobSandbox(options.dataDir, this.env);
    this.batcher = new LiveBatcher((event) => this.deliver(event));
    this.snapshot = idleAgentSnapshot({ endpoint: endpointUrlOf(settings.current) });
    this.keepAwake = options.keepAwake ?? (process.platform === "linux" ? new SystemdInhibit() : NO_KEEP_AWAKE);
    this.lending = new LendingControl(options.signals ?? defaultSignalSource(this.env), options.now ?? Date.now, settings.current.breakerJobs);
  }

  static async open(options: HostOptions): Promise<Host> {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const lock = DataDirLock.acquire(options.dataDir);
    let host: Host;
    try {
      host = Host.openLocked(options, lock);
    } catch (error) {
      lock.release();
      throw error;
    }
    await host.cleanUpAfterCrash();
    host.scheduleLending(0);
    return host;
  }

  /** What an earlier run of the app that crashed left (job processes, env files, work folders) goes now. */
  private async cleanUpAfterCrash(): Promise<void> {
    const c = await cleanUpCrashedRuns(this.sandbox.journalDir);
    if (c.runs === 0) return;
    this.activity(
      "warn",
      `Cleaned up after an earlier run of the app that ended abruptly: stopped ${c.processes} job process${c.processes === 1 ? "" : "es"}, removed ${c.envFiles} env file${c.envFiles === 1 ? "" : "s"} and ${c.folders} work folder${c.folders === 1 ? "" : "s"}.`,
    );
  }

  private static openLocked(options: HostOptions, lock: DataDirLock): Host {
    const settings = SettingsStore.open(options.dataDir, options.secretCodec);
    let host: Host | null = null;
    const replayProblems: string[] = [];
    const historyProblem = (message: string) => (host ? host.activity("error", message) : replayProblems.push(message));
    const history = HistoryStore.open(join(options.dataDir, "history"), retentionOf(settings.current), historyProblem);
    const demo = new LocalDemo(options.examplesDir ?? defaultExamplesDir());
    const keeper = EnvKeeper.open(join(options.dataDir, "debug-env"), settings.current.debugKeepJobs, historyProblem);
    host = new Host(options, settings, history, demo, lock, keeper);
    for (const problem of settings.problems) host.activity("warn", problem);
    for (const problem of replayProblems) host.activity("warn", problem);
    return host;
  }

  subscribe(listener: HostEventListener): () => void {
    this.listeners.add(listener);
    this.everSubscribed = true;
    if (this.earlyActivity.length > 0) {
      const early = this.earlyActivity;
      this.earlyActivity = [];
      queueMicrotask(() => early.forEach((event) => this.deliver(event)));
    }
    return () => this.listeners.delete(listener);
  }

  /** The agent as the tray shows it. */
  get agentSnapshot(): AgentSnapshot {
    return structuredClone(this.snapshot);
  }

  /**
   * Graceful: interrupt the agent (spec §3.3: the server stops a running job after the grace period,
   * then shuts the agent down), wait for it to exit for at most `timeoutMs`, then abort it; stop the
   * demo hub; close the history. Later calls return the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // HostApi

  async getSnapshot(_params: HostParams<"getSnapshot"> = {}): Promise<HostSnapshot> {
    const job = this.job?.started ? this.history.get(this.job.id) : null;
    return {
      agent: this.agentSnapshot,
      settings: this.settings.view(),
      demo: this.demo.snapshot(),
      history: this.history.list({ limit: SNAPSHOT_HISTORY }),
      currentJob: job,
      version: AGENT_VERSION,
    };
  }

  async startAgent(_params: HostParams<"startAgent"> = {}): Promise<AgentSnapshot> {
    this.assertOpen();
    this.assertNoAgent();
    if (this.demo.running) throw new HostError("invalid-state", "The local demo is still running: stop it first.");
    const config = this.settings.toAgentConfig();
    const placement = await this.openPlacement();
    this.assertNoAgent(); // a second start raced this one's await
    const verdict = await this.lending.decide(this.settings.current, null);
    this.assertNoAgent();
    this.snapshot.lastExit = null;
    if (!verdict.allowed) {
      // Not now: the agent does not register until the owner's terms allow it (Semaphore would send it jobs).
      this.hold({ config, mode: "semaphore", endpointUrl: endpointUrlOf(this.settings.current), placement }, verdict.kind ?? "paused", verdict.reason, verdict.next, verdict.nextChangeAt);
      this.showLending(verdict);
      return this.agentSnapshot;
    }
    this.launch(config, "semaphore", endpointUrlOf(this.settings.current), placement);
    return this.agentSnapshot;
  }

  // ---------------------------------------------------------------------------------------------
  // The owner's terms: pause, resume, snooze, stop this job

  async pause(params: HostParams<"pause">): Promise<AgentSnapshot> {
    this.assertOpen();
    const run = this.run?.mode === "semaphore" ? this.run : null;
    if (params.when === "after-job" && run !== null && this.job !== null) {
      if (!this.lending.pauseAfterJob && !this.lending.pausedByHand) {
        this.lending.pauseAfterJob = true;
        this.activity("info", `Pausing once job ${this.job.id} has finished (Resume cancels it).`);
      }
      await this.evaluateLending();
      return this.agentSnapshot;
    }
    this.lending.pauseAfterJob = false;
    if (!this.lending.pausedByHand) {
      this.lending.pausedByHand = true;
      this.activity("info", "Paused by you: the agent takes no jobs until you resume.");
    }
    if (run !== null && this.job !== null) run.agent.stopJob("Stopped by you: paused");
    await this.evaluateLending();
    return this.agentSnapshot;
  }

  async resume(_params: HostParams<"resume"> = {}): Promise<AgentSnapshot> {
    this.assertOpen();
    const was = this.lending.pausedByHand || this.lending.pauseAfterJob || this.lending.snoozedUntil !== null || this.lending.breaker.tripped !== null;
    this.lending.pausedByHand = false;
    this.lending.pauseAfterJob = false;
    this.lending.snoozedUntil = null;
    this.lending.breaker.reset();
    if (was) this.activity("info", "Resumed: the agent takes jobs again (where your schedule and limits allow).");
    await this.evaluateLending();
    return this.agentSnapshot;
  }

  async snooze(params: HostParams<"snooze">): Promise<AgentSnapshot> {
    this.assertOpen();
    const now = this.lending.now();
    if (params.until <= now) throw new HostError("invalid-request", "until: must be in the future");
    if (params.until > now + 366 * 24 * 3_600_000) throw new HostError("invalid-request", "until: at most a year from now");
    this.lending.snoozedUntil = params.until;
    this.lending.pauseAfterJob = false;
    await this.evaluateLending();
    this.activity("info", `${this.lendingVerdict?.reason ?? "Snoozed"}${this.job !== null ? " (the running job finishes first)" : ""}.`);
    return this.agentSnapshot;
  }

  async stopJob(params: HostParams<"stopJob">): Promise<AgentSnapshot> {
    this.assertOpen();
    const run = this.run;
    if (!run || this.job === null) throw new HostError("invalid-state", "No job is running.");
    if (this.job.id !== params.jobId) throw new HostError("invalid-state", `Job ${params.jobId} is not the running job (${this.job.id} is).`);
    if (!run.agent.stopJob("Stopped by you")) throw new HostError("invalid-state", "The job is already stopping.");
    this.activity("info", `Stopping job ${params.jobId}: the agent goes on taking jobs.`);
    return this.agentSnapshot;
  }

  async getGiven(_params: HostParams<"getGiven"> = {}): Promise<GivenSummary> {
    return givenFrom(this.history.list({ limit: Number.MAX_SAFE_INTEGER }));
  }

  /** Tells the agent to stop taking jobs and leave Semaphore (a clean disconnect) for `verdict`. */
  private drainFor(run: AgentRun, verdict: PolicyVerdict): void {
    if (this.draining !== null || run.stopAsked || this.snapshot.stopping) return;
    this.draining = verdict;
    run.agent.drain(verdict.reason);
  }

  /** Reads the signals again after `ms` (and at least every lendingPollMs, or at the verdict's next change). */
  private scheduleLending(ms: number): void {
    if (this.closing) return;
    if (this.lendingTimer) clearTimeout(this.lendingTimer);
    this.lendingTimer = setTimeout(() => void this.evaluateLending(), ms);
    this.lendingTimer.unref?.();
  }

  /** The verdict now, and what follows from it for the agent. */
  private async evaluateLending(): Promise<void> {
    if (this.closing) return;
    const seq = ++this.lendingSeq;
    const diskHold = this.held?.kind === "disk" ? (this.snapshot.hold?.reason ?? "the disk is nearly full") : null;
    const verdict = await this.lending.decide(this.settings.current, diskHold);
    if (seq !== this.lendingSeq || this.closing) return;
    if (this.keepAwake.active && (await this.lending.onBattery()) === true) this.keepAwake.stop();
    this.applyLending(verdict);
    const wait = verdict.nextChangeAt === null ? this.timings.lendingPollMs : Math.max(0, Math.min(this.timings.lendingPollMs, verdict.nextChangeAt - this.lending.now()));
    this.scheduleLending(wait);
  }

  private applyLending(verdict: PolicyVerdict): void {
    this.lendingVerdict = verdict;
    const run = this.run?.mode === "semaphore" ? this.run : null;
    if (run !== null && !run.stopAsked && !this.snapshot.stopping && this.draining === null) {
      if (!verdict.allowed && verdict.kind !== "disk") {
        if (this.job === null) this.drainFor(run, verdict);
        else if (this.pendingPause === null || this.pendingPause.kind !== verdict.kind) {
          this.pendingPause = verdict;
          if (verdict.onRunningJob === "stop") {
            run.agent.stopJob(`Stopped: ${verdict.reason.replace(/\.+$/, "")}`);
            this.activity("info", `${verdict.reason}: stopping the running job, then the agent leaves Semaphore.`);
          } else {
            this.activity("info", `${verdict.reason}: the running job finishes first, then the agent leaves Semaphore.`);
          }
        }
      } else if (verdict.allowed && this.pendingPause !== null) {
        this.pendingPause = null;
        this.activity("info", "The condition ended before the job did: the agent keeps taking jobs.");
      }
    }
    const held = this.held;
    if (held !== null && held.kind !== "disk") {
      if (verdict.allowed) {
        this.releaseHold();
        this.activity("info", "Allowed again: the agent registers with Semaphore and takes jobs.");
        this.launch(held.config, held.mode, held.endpointUrl, held.placement);
        this.showLending(verdict);
        return;
      }
      held.kind = verdict.kind ?? "paused";
      this.snapshot.hold = { kind: held.kind, reason: verdict.reason, since: this.snapshot.hold?.since ?? Date.now(), next: verdict.next, until: verdict.nextChangeAt };
    }
    this.showLending(verdict);
  }

  private showLending(verdict: PolicyVerdict): void {
    const pending = this.pendingPause === null ? null : this.pendingPause.onRunningJob;
    const next = this.lending.state(verdict, this.lending.pauseAfterJob ? "finish" : pending);
    if (JSON.stringify(next) === JSON.stringify(this.snapshot.lending)) return;
    this.snapshot.lending = next;
    this.agentChanged();
  }

  async getSandbox(_params: HostParams<"getSandbox"> = {}): Promise<SandboxStatus> {
    try {
      return await this.sandbox.status(this.settings.current);
    } catch (error) {
      throw new HostError("invalid-state", `The job home cannot be prepared: ${(error as Error).message}`);
    }
  }

  /** The job home and sandbox of the saved settings, for an agent about to start. */
  /** `readWrite`: extra host folders the jobs of this run write to (the local demo's repository). */
  private async openPlacement(readWrite: readonly string[] = []): Promise<JobPlacement> {
    try {
      return await this.sandbox.placement(this.settings.current, true, readWrite);
    } catch (error) {
      throw new HostError("invalid-state", `The job home cannot be prepared: ${(error as Error).message}`);
    }
  }

  async retryNow(_params: HostParams<"retryNow"> = {}): Promise<AgentSnapshot> {
    this.assertOpen();
    const run = this.run;
    if (!run) throw new HostError("invalid-state", "The agent is not running.");
    this.retryRun(run, "Retrying now.");
    return this.agentSnapshot;
  }

  async stopAgent(params: HostParams<"stopAgent">): Promise<AgentSnapshot> {
    this.assertOpen();
    if (this.held) {
      // Paused (the disk guard, the owner's terms): Stop means do not start again.
      const why = this.snapshot.hold?.reason ?? "paused";
      this.releaseHold();
      this.activity("info", `The agent stays stopped (it was not taking jobs: ${why.replace(/\.+$/, "")}).`);
      this.agentChanged();
      return this.agentSnapshot;
    }
    const run = this.run;
    if (!run) throw new HostError("invalid-state", "The agent is not running.");
    if (params.when === "after-job" && this.snapshot.stopping) return this.agentSnapshot; // already on its way
    if (params.when === "after-job" && this.job !== null) {
      if (!this.snapshot.stopAfterJob) {
        this.snapshot.stopAfterJob = true;
        this.activity("info", `The agent stops once job ${this.job.id} has finished.`);
        this.agentChanged();
      }
      return this.agentSnapshot;
    }
    this.stopNow(run);
    return this.agentSnapshot;
  }

  async getSettings(_params: HostParams<"getSettings"> = {}): Promise<SettingsView> {
    return this.settings.view();
  }

  async saveSettings(params: HostParams<"saveSettings">): Promise<SaveSettingsResult> {
    this.assertOpen();
    return this.settingsSaved(this.settings.save(params.settings));
  }

  async importConfig(params: HostParams<"importConfig">): Promise<SaveSettingsResult> {
    this.assertOpen();
    return this.settingsSaved(this.settings.importConfig(params.yaml));
  }

  async exportConfig(_params: HostParams<"exportConfig"> = {}): Promise<{ yaml: string }> {
    return { yaml: this.settings.exportConfig() };
  }

  async listJobs(params: HostParams<"listJobs"> = {}): Promise<JobSummary[]> {
    return this.history.list(params);
  }

  async getJob(params: HostParams<"getJob">): Promise<JobDetail> {
    const job = this.history.get(params.jobId);
    if (!job) throw new HostError("not-found", `No job ${JSON.stringify(params.jobId)} in the history.`);
    return job;
  }

  async readJobLog(params: HostParams<"readJobLog">): Promise<JobLogPage> {
    this.assertOpen();
    return await this.history.readLog(params.jobId, params.from, params.maxBytes);
  }

  async startDemo(_params: HostParams<"startDemo"> = {}): Promise<DemoSnapshot> {
    this.assertOpen();
    if (this.run?.mode === "demo") return this.demo.snapshot();
    this.assertNoAgent();
    this.demoTransition = true;
    try {
      const hub = await this.demo.start();
      this.assertOpen(); // close() began meanwhile: it would not know about an agent started now
      const config: AgentConfig = {
        ...defaultAgentConfig(),
        endpoint: hub.endpoint,
        noHttps: true,
        token: hub.registrationToken,
        name: `local-demo-${randomBytes(6).toString("hex")}`,
      };
      const demoGit = this.demo.gitRoot;
      const placement = await this.openPlacement(demoGit === null ? [] : [demoGit]);
      this.assertOpen();
      this.launch(config, "demo", hub.url, placement);
    } catch (error) {
      await this.demo.stop().catch(() => undefined);
      throw error;
    } finally {
      this.demoTransition = false;
    }
    const demo = this.demo.snapshot();
    this.batcher.pass({ type: "demo", demo });
    return demo;
  }

  async stopDemo(_params: HostParams<"stopDemo"> = {}): Promise<DemoSnapshot> {
    this.assertOpen();
    if (this.demoTransition) throw new HostError("invalid-state", "The local demo is starting or stopping; try again in a moment.");
    this.demoTransition = true;
    try {
      const run = this.run;
      if (run?.mode === "demo") await this.stopRun(run, DEMO_STOP_TIMEOUT_MS);
      await this.demo.stop();
    } finally {
      this.demoTransition = false;
    }
    const demo = this.demo.snapshot();
    this.batcher.pass({ type: "demo", demo });
    return demo;
  }

  async runExample(params: HostParams<"runExample">): Promise<{ jobId: string }> {
    this.assertOpen();
    return this.demo.schedule(params.exampleId);
  }

  // ---------------------------------------------------------------------------------------------
  // The toolbox (checkout, cache, artifact, test-results in the jobs of this machine)

  async getToolbox(_params: HostParams<"getToolbox"> = {}): Promise<ToolboxView> {
    const env: Record<string, string | undefined> = { ...this.env };
    for (const v of this.settings.current.envVars) env[v.name] = v.value;
    this.toolboxStatusRead = await toolboxStatus({ home: this.home, env });
    return this.toolboxView(this.toolboxStatusRead);
  }

  private toolboxView(status: ToolboxStatus): ToolboxView {
    return { ...status, features: status.features.map((f) => ({ ...f })), install: { ...this.toolboxInstall } };
  }

  async installToolbox(params: HostParams<"installToolbox">): Promise<ToolboxView> {
    this.assertOpen();
    if (this.toolboxInstall.running) throw new HostError("invalid-state", "The toolbox is being installed already.");
    this.toolboxInstall = { running: true, phase: "download", receivedBytes: 0, totalBytes: null, error: null, verified: null };
    this.activity("info", `Installing the Semaphore toolbox${params.version ? ` ${params.version}` : ""} into ${this.home}/.toolbox.`);
    void installToolbox({ home: this.home, version: params.version ?? null, onProgress: (p) => this.toolboxProgress(p) }).then(
      (result) => {
        this.toolboxInstall = { ...this.toolboxInstall, running: false, phase: null, error: null, verified: result.checksum.detail };
        this.activity("info", `Installed the Semaphore toolbox${result.version ? ` ${result.version}` : ""} (${result.checksum.detail}).`);
        void this.toolboxChanged();
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.toolboxInstall = { ...this.toolboxInstall, running: false, phase: null, error: message };
        this.activity("error", `The toolbox was not installed: ${message}`);
        void this.toolboxChanged();
      },
    );
    const view = await this.getToolbox();
    this.batcher.pass({ type: "toolbox", toolbox: view });
    return view;
  }

  private toolboxProgress(progress: ToolboxInstallProgress): void {
    Object.assign(this.toolboxInstall, { phase: progress.phase, receivedBytes: progress.receivedBytes, totalBytes: progress.totalBytes });
    const now = Date.now();
    if (now - this.toolboxProgressAt < TOOLBOX_PROGRESS_MS && progress.phase === "download") return;
    this.toolboxProgressAt = now;
    // Progress changes the install only: the table read at the start stays as it is until the end.
    if (this.toolboxStatusRead !== null) this.batcher.pass({ type: "toolbox", toolbox: this.toolboxView(this.toolboxStatusRead) });
    else void this.toolboxChanged();
  }

  private async toolboxChanged(): Promise<void> {
    try {
      this.batcher.pass({ type: "toolbox", toolbox: await this.getToolbox() });
    } catch (error) {
      this.activity("warn", `Could not read the toolbox's state: ${(error as Error).message}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Debug terminals

  async getDebugInfo(params: HostParams<"getDebugInfo">): Promise<DebugInfo> {
    return (await this.debugTarget(params.jobId)).info;
  }

  /**
   * Where a debug terminal of the job opens: the running job's own sandbox view and home, or for a
   * finished job the sandbox and home the settings give now, with its kept env files.
   */
  private async debugTarget(jobId: string): Promise<{ info: DebugInfo; space: JobSpace | null; placement: JobPlacement | null; kept: { files: string[]; sources: string[] } | null }> {
    const run = this.run;
    const live = run?.agent.currentJobEnvFiles;
    const space = run?.agent.currentJobSpace ?? null;
    if (live && space && live.jobId === jobId && live.paths.length > 0) {
      const info = this.debugInfo(jobId, space.home, space.level, { source: "running", envFiles: live.paths, keptAt: null });
      return { info, space, placement: run?.placement ?? null, kept: null };
    }
    let placement: JobPlacement | null = run?.placement ?? null;
    if (placement === null) placement = await this.sandbox.placement(this.settings.current, false).catch(() => null);
    const home = placement?.settings.jobHome ?? this.sandbox.jobHome;
    const level = placement?.level ?? "none";
    const kept = this.keeper.get(jobId);
    if (!kept) {
      const info: DebugInfo = {
        jobId,
        user: this.user,
        home,
        shell: debugShellName(this.loginShell),
        sandbox: level,
        available: false,
        source: null,
        reason: this.noDebugReason(jobId),
        envFiles: [],
        manual: [],
        keptAt: null,
      };
      return { info, space: null, placement, kept: null };
    }
    // Under strict the kept copies are shown in the terminal's own /tmp, as the job saw its files.
    const envFiles = level === "strict" ? kept.sources.map((p, i) => `/tmp/${basename(p || kept.files[i] || "")}`) : kept.files;
    const info = this.debugInfo(jobId, home, level, { source: "kept", envFiles, keptAt: kept.keptAt });
    return { info, space: null, placement, kept: { files: kept.files, sources: kept.sources } };
  }

  private debugInfo(
    jobId: string,
    home: string,
    sandbox: "none" | "strict",
    found: { source: DebugInfo["source"]; envFiles: string[]; keptAt: number | null },
  ): DebugInfo {
    return {
      jobId,
      user: this.user,
      home,
      shell: debugShellName(this.loginShell),
      sandbox,
      available: true,
      reason: null,
      ...found,
      manual: sandbox === "strict" ? [] : manualEquivalent(found.envFiles, home),
    };
  }

  async listKeptEnvs(_params: HostParams<"listKeptEnvs"> = {}): Promise<KeptEnvSummary[]> {
    return this.keeper.list();
  }

  async forgetJobEnv(params: HostParams<"forgetJobEnv">): Promise<{ forgotten: boolean }> {
    this.assertOpen();
    const forgotten = this.keeper.forget(params.jobId);
    if (forgotten) {
      this.activity("info", `Forgot the kept env files of job ${params.jobId}.`);
      this.keptEnvsChanged();
    }
    return { forgotten };
  }

  /**
   * A window or browser tab: the whole API, with the debug terminals it opens owned by it and their
   * output sent to `sink` only. dispose() kills them.
   */
  connect(sink: (event: HostEvent) => void): HostClient {
    const owner: TerminalOwner = {
      send(event) {
        try {
          sink(event);
        } catch {
          // A closed window or socket: its terminals are being disposed of.
        }
      },
    };
    let disposed = false;
    const alive = () => {
      if (disposed) throw new HostError("invalid-state", "This window is closed.");
    };
    return {
      getSnapshot: (p) => this.getSnapshot(p),
      startAgent: (p) => this.startAgent(p),
      retryNow: (p) => this.retryNow(p),
      stopAgent: (p) => this.stopAgent(p),
      pause: (p) => this.pause(p),
      resume: (p) => this.resume(p),
      snooze: (p) => this.snooze(p),
      stopJob: (p) => this.stopJob(p),
      getGiven: (p) => this.getGiven(p),
      getSettings: (p) => this.getSettings(p),
      saveSettings: (p) => this.saveSettings(p),
      importConfig: (p) => this.importConfig(p),
      exportConfig: (p) => this.exportConfig(p),
      listJobs: (p) => this.listJobs(p),
      getJob: (p) => this.getJob(p),
      readJobLog: (p) => this.readJobLog(p),
      startDemo: (p) => this.startDemo(p),
      stopDemo: (p) => this.stopDemo(p),
      runExample: (p) => this.runExample(p),
      getDebugInfo: (p) => this.getDebugInfo(p),
      listKeptEnvs: (p) => this.listKeptEnvs(p),
      forgetJobEnv: (p) => this.forgetJobEnv(p),
      getToolbox: (p) => this.getToolbox(p),
      getSandbox: (p) => this.getSandbox(p),
      installToolbox: (p) => this.installToolbox(p),
      openTerminal: async (p) => {
        alive();
        return this.openTerminalFor(owner, p);
      },
      terminalInput: async (p) => {
        this.terminals.input(owner, p.terminalId, p.data);
        return { ok: true };
      },
      resizeTerminal: async (p) => {
        this.terminals.resize(owner, p.terminalId, p.cols, p.rows);
        return { ok: true };
      },
      ackTerminal: async (p) => {
        this.terminals.ack(owner, p.terminalId, p.chars);
        return { ok: true };
      },
      closeTerminal: async (p) => ({ closed: await this.terminals.close(owner, p.terminalId) }),
      dispose: () => {
        disposed = true;
        void this.terminals.closeOwner(owner);
      },
    };
  }

  /** Quitting without waiting: hang up the debug shells (close() kills them thoroughly). */
  hangUpDebugShells(): void {
    this.terminals.hangUpAllNow();
  }

  /** Process ids of the open debug shells. */
  get debugShellPids(): number[] {
    return this.terminals.pids();
  }

  private async openTerminalFor(owner: TerminalOwner, params: HostParams<"openTerminal">): Promise<TerminalInfo> {
    this.assertOpen();
    const target = await this.debugTarget(params.jobId);
    const info = target.info;
    if (!info.available || info.source === null) throw new HostError("invalid-state", info.reason ?? `No environment of job ${params.jobId} to debug.`);
    const from = info.source === "running" ? "the running job's env files" : `the env files kept on ${new Date(info.keptAt ?? 0).toLocaleString()}`;
    const count = info.envFiles.length;
    let sandbox: OpenTerminalRequest["sandbox"] = null;
    const placement = target.placement;
    if (info.sandbox === "strict" && placement !== null) {
      const wrapFor = (view: SandboxView) => placement.wrapFor(view);
      if (target.space?.view) sandbox = { view: target.space.view, wrapFor, ownTmp: false };
      else if (target.kept) {
        const kept = this.sandbox.keptJobView(placement, target.kept.files, target.kept.sources);
        sandbox = { view: kept.view, wrapFor, ownTmp: true };
      }
    }
    const env = jobEnvironment(this.env);
    if (placement?.privateHome) env.HOME = info.home;
    const terminal = this.terminals.open(owner, {
      jobId: params.jobId,
      cols: params.cols,
      rows: params.rows,
      source: info.source,
      envFiles: info.envFiles,
      home: info.home,
      loginShell: this.loginShell,
      env,
      banner: `Debug shell for job ${params.jobId}: sourced ${count} env file${count === 1 ? "" : "s"} (${from}), in ${info.home}${info.sandbox === "strict" ? ", in the job's strict sandbox" : ""}. Type exit or close the panel to end it.`,
      sandbox,
    });
    this.activity("info", `Opened a debug terminal for job ${params.jobId} (shell pid ${terminal.pid}${info.sandbox === "strict" ? ", strict sandbox" : ""}).`);
    return terminal;
  }

  private noDebugReason(jobId: string): string {
    if (this.job?.id === jobId) return `Job ${jobId} has not exported its environment yet (its "Exporting environment variables" step).`;
    if (this.history.get(jobId) === null) return `No job ${jobId} in the history.`;
    const limit = this.keeper.limit;
    if (limit === 0) return `The env files of job ${jobId} were not kept: keeping them is turned off in Settings.`;
    return `The env files of job ${jobId} are not kept any more (only the last ${limit} jobs' are, and a kept copy can be forgotten).`;
  }

  /** The agent wrote one of a job's `.env-*` files: keep a private copy for debugging after the job. */
  private keepEnvFile(jobId: string, path: string, content: Buffer): void {
    try {
      this.keeper.record(jobId, path, content);
    } catch (error) {
      this.activity("warn", `Could not keep a copy of an env file of job ${jobId} for debugging: ${(error as Error).message}`);
      return;
    }
    this.keptEnvsChanged();
  }

  private keptEnvsChanged(): void {
    this.batcher.pass({ type: "kept-envs", jobs: this.keeper.list() });
  }

  // ---------------------------------------------------------------------------------------------
  // The agent

  private launch(config: AgentConfig, mode: AgentMode, endpointUrl: string, placement: JobPlacement): void {
    const home = placement.settings.jobHome;
    // Jobs start in their home folder: the app's own working directory means nothing to them.
    const agent = new Agent({
      config,
      timings: this.timings,
      env: this.env,
      cwd: home,
      home,
      tmpDir: this.env.TMPDIR || tmpdir(),
      placement,
      journalDir: this.sandbox.journalDir,
      diskGuard: this.sandbox.diskGuard(this.settings.current),
      onJobEnvFile: (jobId, path, content) => this.keepEnvFile(jobId, path, content),
      // While the owner has it switched on, the app's agent never gives up registering (the demo's hub is local).
      registerBackoff: mode === "semaphore" ? (failures) => reconnectDelay(failures, this.timings) : undefined,
    });
    const run: AgentRun = {
      agent,
      mode,
      config,
      endpointUrl,
      aborted: false,
      lastRegisterError: null,
      lastSyncError: null,
      stopAsked: false,
      exited: Promise.resolve(),
      placement,
    };
    this.run = run;
    this.job = null;
    if (config.token.length >= 6) this.secrets.add(config.token);
    // A fresh run: everything but the session's job counts starts over.
    this.snapshot = idleAgentSnapshot({
      phase: "registering",
      mode,
      endpoint: endpointUrl,
      startedAt: Date.now(),
      counts: this.snapshot.counts,
      sandbox: statusOf(placement),
    });
    if (placement.state.notice) this.activity("warn", placement.state.notice);
    agent.on((event) => this.onAgentEvent(run, event));
    run.exited = agent.start().then(
      (exit) => this.onAgentExit(run, exit, null),
      (error: unknown) => this.onAgentExit(run, null, error instanceof Error ? error : new Error(String(error))),
    );
    this.activity("info", `Starting the agent${mode === "demo" ? " for the local demo" : ""} (${endpointUrl}).`);
    if (mode === "semaphore" && this.watchConnectivity && this.connectivity === null) {
      this.connectivity = new ConnectivityWatch({
        onChange: (why) => {
          const current = this.run;
          if (current) this.retryRun(current, why === "wake" ? "The machine woke up: trying again now." : "The network changed: trying again now.", true);
        },
      });
    }
    this.agentChanged();
  }

  /** Cuts a registration or failed-sync back-off short; `onlyWhenFailing`: only when there is an error. */
  private retryRun(run: AgentRun, why: string, onlyWhenFailing = false): void {
    const failing = this.snapshot.error !== null && (this.snapshot.error.scope === "register" || this.snapshot.error.scope === "sync");
    if (onlyWhenFailing && !failing) return;
    if (failing) this.activity("info", why);
    run.agent.retryNow();
  }

  /** Interrupt (spec §3.3); abort instead when there is nobody to ask or the stop was already asked. */
  private stopNow(run: AgentRun): void {
    run.stopAsked = true;
    this.snapshot.stopAfterJob = false;
    const force = this.snapshot.stopping || this.snapshot.phase === "registering" || this.snapshot.phase === "shutting-down";
    if (force) {
      // Not registered yet (nothing to tell the server), or a second stop: the user insists.
      run.aborted = true;
      run.agent.abort();
      this.activity("warn", "Stopping the agent without waiting for the server.");
    } else {
      run.agent.interrupt();
    }
    this.snapshot.stopping = true;
    this.agentChanged();
  }

  /** Stops a run and waits for its exit: interrupt, then abort after `timeoutMs`. */
  private async stopRun(run: AgentRun, timeoutMs: number): Promise<void> {
    if (!this.snapshot.stopping) this.stopNow(run);
    if (await settlesWithin(run.exited, timeoutMs)) return;
    run.aborted = true;
    run.agent.abort();
    this.activity("warn", `The agent did not stop within ${Math.round(timeoutMs / 1000)} s; stopped it without waiting for the server.`);
    await settlesWithin(run.exited, ABORT_WAIT_MS);
  }

  private onAgentEvent(run: AgentRun, event: AgentEvent): void {
    if (this.run !== run) return;
    const s = this.snapshot;
    switch (event.type) {
      case "phase":
        s.phase = event.phase;
        if (event.phase === "waiting-for-jobs") {
          s.jobId = null;
          s.jobIdentity = null;
        }
        this.agentChanged();
        break;
      case "registered":
        s.name = event.name;
        if (s.error?.scope === "register") s.error = null;
        this.activity("info", `Registered as ${event.name || "(no name)"} with ${run.endpointUrl}.`);
        this.agentChanged();
        break;
      case "sync":
        s.nextSyncAt = event.nextSyncAt;
        if (event.error === null) {
          s.lastSyncAt = event.at;
          s.error = null;
        } else {
          run.lastSyncError = this.redact(event.error);
        }
        this.agentChanged();
        break;
      case "job-assigned":
        this.job = { id: event.jobId, assignedAt: event.at, started: false, loggedResult: null, nextIndex: 0, identity: null, problem: null, stoppedBy: null, ownCommandsFinished: 0 };
        s.jobId = event.jobId;
        this.activity("info", `Job ${event.jobId} assigned.`);
        this.agentChanged();
        break;
      case "job-request":
        if (this.job?.id === event.jobId) {
          this.job.identity = event.identity;
          s.jobIdentity = event.identity;
          if (event.identity !== null) this.activity("info", `Job ${event.jobId} is ${describeJob(event.identity, event.jobId)}.`);
          this.startJob(run, this.job, event.envVarNames);
          this.agentChanged();
        }
        break;
      case "job-rejected":
        if (this.job?.id === event.jobId) this.job.problem = this.redact(event.reason);
        break;
      case "job-log": {
        const job = this.job;
        if (job?.id !== event.jobId) break;
        if (!job.started) this.startJob(run, job, []);
        if (event.event.event === "job_finished") job.loggedResult = event.event.result;
        if (event.event.event === "cmd_finished" && !AGENT_STEPS.has(event.event.directive)) job.ownCommandsFinished++;
        this.history.append(job.id, event.event);
        this.batcher.output(job.id, event.index, event.event);
        job.nextIndex = event.index + 1;
        break;
      }
      case "job-output-preview": {
        const job = this.job;
        if (job?.id === event.jobId && job.started) this.batcher.preview(job.id, job.nextIndex, event.text);
        break;
      }
      case "job-finished":
        {
          const title = this.job?.id === event.jobId ? jobTitle(this.job.identity, event.jobId) : event.jobId;
          const problem = this.job?.id === event.jobId ? this.job.problem : null;
          const stoppedBy = this.job?.id === event.jobId ? this.job.stoppedBy : null;
          if (this.job?.id === event.jobId) {
            if (run.mode === "semaphore") this.lending.breaker.record(event.result === "failed" && this.job.ownCommandsFinished === 0);
            this.finishJob(run, this.job, event.result, event.at);
          }
          const named = title === event.jobId ? `Job ${event.jobId}` : `Job ${event.jobId} (${title})`;
          const why = problem ? `, not run: ${problem}` : stoppedBy ? `: ${stoppedBy.replace(/^Stopped/, "stopped")}` : "";
          this.activity(event.result === "failed" || stoppedBy ? "warn" : "info", `${named} ${event.result}${why.replace(/\.+$/, "")}.`);
        }
        if (s.stopAfterJob) {
          // Before the agent's forced sync goes out, so that it already carries interrupted_at.
          this.stopNow(run);
        } else if (run.mode === "semaphore") {
          // A pause that waited for this job (by hand, a condition, the breaker just tripped): drain
          // now, before the next sync can bring a job. No reading can be awaited here: the signals
          // are those of the last check.
          if (this.lending.pauseAfterJob) {
            this.lending.pauseAfterJob = false;
            this.lending.pausedByHand = true;
          }
          const verdict = this.lending.decideNow(this.settings.current, null);
          this.pendingPause = null;
          if (!verdict.allowed && verdict.kind !== "disk") this.drainFor(run, verdict);
          this.scheduleLending(0);
        }
        this.agentChanged();
        break;
      case "interrupted":
        s.stopping = true;
        this.activity("info", "Stopping: told the server; it stops a running job (after the grace period) and then shuts the agent down.");
        this.agentChanged();
        break;
      case "error": {
        const scope = event.scope;
        const explained =
          (scope === "register" || scope === "sync") && run.mode === "semaphore"
            ? explainCallProblem(event.problem, event.message, { host: run.config.endpoint, scope, settingsPlace: "Settings" })
            : event.message;
        const message = this.redact(explained);
        s.error = { scope: event.scope, message, at: event.at, retryAt: event.retryAt };
        if (event.scope === "register") run.lastRegisterError = message;
        // The agent's messages mostly name their call already ("sync: HTTP 500 …").
        this.activity("error", message.startsWith(`${event.scope}:`) ? message : `${event.scope}: ${message}`);
        this.agentChanged();
        break;
      }
      case "log":
        this.activity(event.level, this.redact(event.message));
        break;
      case "disk":
        void this.showDisk(event.verdict);
        break;
      case "job-stopped-by-agent":
        if (this.job?.id === event.jobId) this.job.stoppedBy = event.reason;
        break;
      case "shutdown":
        // The agent ends a job it shuts down under without a job-finished event of its own.
        if (this.job) this.finishJob(run, this.job, this.job.loggedResult ?? "stopped", event.at);
        break;
    }
  }

  private onAgentExit(run: AgentRun, exit: AgentExit | null, error: Error | null): void {
    if (this.run !== run) return;
    if (this.job) this.finishJob(run, this.job, this.job.loggedResult ?? "stopped", Date.now());
    const reason: ShutdownReason = exit?.reason ?? "UNKNOWN";
    const lostContact = reason === "UNABLE_TO_SYNC" || reason === "UNABLE_TO_REGISTER";
    if (run.mode === "semaphore" && lostContact && !run.stopAsked && !this.closing) {
      // The app's agent never quietly stops lending: it registers again (same settings, same name)
      // and keeps trying with its back-off until the server answers or the owner stops it.
      this.activity("warn", `The agent ${this.exitMessage(run, reason)}; connecting again.`);
      this.launch(run.config, run.mode, run.endpointUrl, run.placement);
      return;
    }
    if (exit?.drained !== undefined && !run.stopAsked && !this.closing) {
      const verdict = this.draining;
      this.draining = null;
      this.pendingPause = null;
      if (verdict !== null) this.hold(run, verdict.kind ?? "paused", verdict.reason, verdict.next, verdict.nextChangeAt);
      else this.hold(run, "disk", exit.drained, "resumes by itself once there is space", null);
      return;
    }
    this.connectivity?.stop();
    this.connectivity = null;
    const exitCode = exit?.exitCode ?? 1;
    const message = error ? `the agent could not start: ${this.redact(error.message)}` : this.exitMessage(run, reason);
    this.run = null;
    Object.assign(this.snapshot, {
      phase: "idle",
      endpoint: endpointUrlOf(this.settings.current),
      startedAt: null,
      nextSyncAt: null,
      jobId: null,
      jobIdentity: null,
      stopAfterJob: false,
      stopping: false,
      lastExit: { reason, exitCode, at: Date.now(), message },
    } satisfies Partial<AgentSnapshot>);
    this.activity(exitCode === 0 ? "info" : "error", `The agent stopped: ${message} (${reason}, exit code ${exitCode}).`);
    this.agentChanged();
    if (run.mode === "demo" && !this.demoTransition) {
      // The demo is the hub and its agent together: without the agent the hub has no use.
      void this.demo.stop().then(() => this.batcher.pass({ type: "demo", demo: this.demo.snapshot() }));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The disk guard's pause

  /** The disk guard or the lending policy drained the agent: it starts again by itself once allowed. */
  private hold(run: Pick<AgentRun, "config" | "mode" | "endpointUrl" | "placement">, kind: PauseKind, reason: string, next: string | null, until: number | null): void {
    this.run = null;
    this.held = { kind, config: run.config, mode: run.mode, endpointUrl: run.endpointUrl, placement: run.placement, timer: null };
    Object.assign(this.snapshot, {
      phase: "idle",
      startedAt: null,
      nextSyncAt: null,
      jobId: null,
      jobIdentity: null,
      stopAfterJob: false,
      stopping: false,
      hold: { kind, reason, since: Date.now(), next, until },
    } satisfies Partial<AgentSnapshot>);
    this.activity(kind === "disk" || kind === "breaker" ? "warn" : "info", `Not taking jobs: ${reason.replace(/\.+$/, "")}${next ? ` (${next})` : ""}; the agent has left Semaphore.`);
    this.agentChanged();
    if (kind === "disk") this.scheduleHoldCheck(this.timings.diskIdleCheckMs);
    else this.scheduleLending(0);
  }

  private scheduleHoldCheck(ms: number): void {
    const held = this.held;
    if (!held) return;
    if (held.timer) clearTimeout(held.timer);
    held.timer = setTimeout(() => void this.checkHold(), ms);
  }

  /** Every diskIdleCheckMs while paused, and at once when the settings change. */
  private async checkHold(): Promise<void> {
    const held = this.held;
    if (!held || this.closing) return;
    held.timer = null;
    const guard = this.sandbox.diskGuard(this.settings.current);
    const paths = [
      { label: "job home", path: held.placement.settings.jobHome },
      { label: "TMPDIR", path: this.env.TMPDIR || tmpdir() },
    ];
    const verdict: DiskVerdict | null = guard ? await checkDisk(paths, guard) : null;
    if (this.held !== held) return;
    if (verdict !== null && verdict.state !== "ok") {
      await this.showDisk(verdict);
      if (this.held === held && this.snapshot.hold) this.snapshot.hold.reason = verdict.reason ?? this.snapshot.hold.reason;
      this.agentChanged();
      this.scheduleHoldCheck(this.timings.diskIdleCheckMs);
      return;
    }
    // Space is back; the owner's terms may still hold the agent.
    held.kind = "paused";
    this.snapshot.disk = null;
    this.activity("info", "Enough free space again.");
    this.scheduleLending(0);
  }

  private releaseHold(): void {
    if (this.held?.timer) clearTimeout(this.held.timer);
    this.held = null;
    this.snapshot.hold = null;
    this.snapshot.disk = null;
  }

  /** The disk guard's verdict in the snapshot (with what uses space, when it is not ok). */
  private async showDisk(verdict: DiskVerdict): Promise<void> {
    const seq = ++this.diskSeq;
    if (verdict.state === "ok") {
      this.snapshot.disk = null;
      this.agentChanged();
      return;
    }
    const first = await this.sandbox.diskView(verdict, this.settings.current, false);
    if (seq !== this.diskSeq) return;
    this.snapshot.disk = first;
    this.agentChanged();
    const full = await this.sandbox.diskView(verdict, this.settings.current, true);
    if (seq !== this.diskSeq) return;
    this.snapshot.disk = full;
    this.agentChanged();
  }

  private exitMessage(run: AgentRun, reason: ShutdownReason): string {
    switch (reason) {
      case "UNABLE_TO_REGISTER":
        return `could not register with ${run.endpointUrl}: ${withoutAttempt(run.lastRegisterError) ?? "no answer"}`;
      case "UNABLE_TO_SYNC":
        return `lost contact with ${run.endpointUrl}: ${run.lastSyncError ?? "no successful sync"}`;
      case "INTERRUPTED":
        return run.aborted ? "stopped without waiting for the server's confirmation" : "stopped as requested";
      case "REQUESTED":
        return "the server asked the agent to shut down";
      case "IDLE":
        return `disconnected after ${run.config.disconnectAfterIdleTimeout} s without a job (disconnect-after-idle-timeout)`;
      case "JOB_FINISHED":
        return "disconnected after its job (disconnect-after-job)";
      case "UNKNOWN":
        return "the server shut the agent down";
    }
  }

  private startJob(run: AgentRun, job: CurrentJob, envVarNames: string[]): void {
    if (job.started) return;
    job.started = true;
    const summary = this.history.start(job.id, { mode: run.mode, startedAt: job.assignedAt, envVarNames, identity: job.identity });
    this.batcher.pass({ type: "job-started", job: { summary, envVarNames: [...envVarNames] } });
    // Awake while the job runs, never on battery.
    void this.lending.onBattery().then((battery) => {
      if (battery !== true && this.job === job) this.keepAwake.start();
    });
  }

  private finishJob(run: AgentRun, job: CurrentJob, result: JobResult, at: number): void {
    if (!job.started) this.startJob(run, job, []);
    this.keepAwake.stop();
    this.job = null;
    this.snapshot.jobId = null;
    this.snapshot.jobIdentity = null;
    this.snapshot.counts[result]++;
    const outcome = this.history.finish(job.id, result, at, job.problem, job.stoppedBy);
    if (!outcome) return;
    this.batcher.pass({ type: "job-finished", job: outcome.summary });
    if (outcome.removed.length > 0) this.historyChanged();
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  private settingsSaved(result: SaveSettingsResult): SaveSettingsResult {
    if (!result.ok) return result;
    const removed = this.history.setRetention(retentionOf(this.settings.current));
    this.batcher.pass({ type: "settings", settings: result.settings });
    if (removed.length > 0) this.historyChanged();
    if (this.keeper.setLimit(result.settings.debugKeepJobs, this.job?.id ?? null).length > 0) this.keptEnvsChanged();
    if (!this.run) {
      this.snapshot.endpoint = endpointUrlOf(this.settings.current);
      this.agentChanged();
    }
    // New disk limits: a paused agent looks again at once.
    if (this.held) this.scheduleHoldCheck(0);
    return result;
  }

  private historyChanged(): void {
    this.batcher.pass({ type: "history", history: this.history.list({ limit: SNAPSHOT_HISTORY }) });
  }

  /** Bursts of agent changes (a sync, a phase, an error at once) go out as one event; the last state always does. */
  private agentChanged(): void {
    if (this.agentTimer) return;
    const wait = this.lastAgentEmit + AGENT_EVENT_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.emitAgent();
      return;
    }
    this.agentTimer = setTimeout(() => {
      this.agentTimer = null;
      this.emitAgent();
    }, wait);
  }

  private emitAgent(): void {
    this.lastAgentEmit = Date.now();
    this.batcher.pass({ type: "agent", agent: this.agentSnapshot });
  }

  private activity(level: "info" | "warn" | "error", message: string): void {
    const event: HostEvent = { type: "activity", at: Date.now(), level, message: this.redact(message) };
    if (!this.everSubscribed) {
      if (this.earlyActivity.length < MAX_EARLY_ACTIVITY) this.earlyActivity.push(event);
      return;
    }
    this.batcher.pass(event);
  }

  private deliver(event: HostEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener (a closed window, a dropped socket) must not stop the others or the agent.
      }
    }
  }

  /** No token in any event or message, whatever a server or a library put into a text. */
  private redact(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  // ---------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closing) throw new HostError("invalid-state", "The app is shutting down.");
  }

  private assertNoAgent(): void {
    if (this.held) throw new HostError("invalid-state", `The agent is paused (${this.snapshot.hold?.reason ?? "not taking jobs"}) and starts again by itself once allowed; Stop it first to start it anew.`);
    if (this.demoTransition) throw new HostError("invalid-state", "The local demo is starting or stopping; try again in a moment.");
    const run = this.run;
    if (!run) return;
    if (this.snapshot.stopping) throw new HostError("invalid-state", "The agent is still stopping: wait until it has stopped, then start it again.");
    throw new HostError("invalid-state", run.mode === "demo" ? "The local demo is running: stop it first." : "The agent is already running.");
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    this.keepAwake.stop();
    if (this.lendingTimer) clearTimeout(this.lendingTimer);
    this.lendingTimer = null;
    if (this.held?.timer) clearTimeout(this.held.timer);
    this.held = null;
    this.connectivity?.stop();
    this.connectivity = null;
    // No shell outlives the app.
    await this.terminals.closeAll();
    const run = this.run;
    if (run) await this.stopRun(run, timeoutMs);
    await this.demo.stop().catch(() => undefined);
    if (this.agentTimer) {
      clearTimeout(this.agentTimer);
      this.agentTimer = null;
      this.emitAgent(); // the final state is never dropped
    }
    this.batcher.flush();
    await this.history.close();
    this.listeners.clear();
    this.lock.release();
  }
}

/** The app's registration back-off: appRetryFirstMs, doubling, capped at appRetryMaxMs, with up to 10 % jitter. */
export function reconnectDelay(failures: number, timings: AgentTimings): number {
  const base = Math.min(timings.appRetryFirstMs * 2 ** Math.min(failures - 1, 30), timings.appRetryMaxMs);
  return Math.round(base * (1 + Math.random() * 0.1));
}

/** "api-server · Unit tests (branch main @ 1a2b3c4 by Alice · workflow #42, triggered by push)". */
function describeJob(identity: JobIdentity, jobId: string): string {
  const origin = jobOrigin(identity);
  return origin === null ? jobTitle(identity, jobId) : `${jobTitle(identity, jobId)} (${origin})`;
}

function retentionOf(settings: StoredSettings): HistoryRetention {
  return { maxJobs: settings.historyMaxJobs, maxBytes: settings.historyMaxMegabytes * MIB };
}

function endpointUrlOf(settings: StoredSettings): string {
  return settings.endpoint === "" ? "" : `${settings.noHttps ? "http" : "https"}://${settings.endpoint}`;
}

/** `… (attempt 30/30)` is the agent's bookkeeping, not the reason. */
function withoutAttempt(message: string | null): string | null {
  return message === null ? null : message.replace(/ \(attempt \d+\/\d+\)$/, "");
}

/** True when `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
