// The app's backend: owns the agent (one at a time), the settings, the job history and the local
// demo, and turns the agent's event stream into the HostEvents of the contract. Electron IPC and the
// web console both sit on top of this one object.
//
// The agent's event loop is the job's: listeners here do bookkeeping only. Job output goes to a
// write stream (history) and an array (live batcher); nothing waits for the UI.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { homedir, hostname, tmpdir } from "node:os";
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
import { formatDateTime } from "../util/date-format.js";
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
  type GpuSnapshot,
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
import type { JobPlan } from "../job/plan.js";
import type { PolicyVerdict } from "../policy/engine.js";
import { defaultSignalSource, type LendingSignalSource } from "../policy/signals.js";
import type { GivenSummary, PauseKind } from "./contract.js";
import { givenFrom, LendingControl, LendingSignals } from "./lending.js";
import { NO_KEEP_AWAKE, SystemdInhibit, type KeepAwake } from "./keep-awake.js";
import { GpuService, UsageTracker } from "./gpu-service.js";
import { XidWatch } from "../gpu/xid.js";
import { gpuJobEnv, planAgents, type AgentPlan } from "../gpu/plan.js";
import type { PolicyReadings } from "../policy/signals.js";

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
  /** Watch the GPUs (nvidia-smi on PATH) and plan agents per GPU. Default true; false: never (one agent, no GPU). */
  gpus?: boolean;
  gpuIntervalMs?: number;
  gpuAppsEveryMs?: number;
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
/** How long opening the host waits for the first GPU reading (the agents' plan needs it). */
const GPU_DISCOVERY_MS = 3000;
/** `gpus` events (processes, guards) go out at most this often; samples go as gpu-tick. */
const GPU_EVENT_MS = 1000;
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

/**
 * One of the host's agents: "main" (the machine's one agent), or one per lent GPU or group of GPUs.
 * Each has its own run, job, state, terms (pause, snooze, breaker) and job home.
 */
interface AgentSlot {
  plan: AgentPlan;
  run: AgentRun | null;
  job: CurrentJob | null;
  snapshot: AgentSnapshot;
  held: HeldRun | null;
  lending: LendingControl;
  lendingVerdict: PolicyVerdict | null;
  /** A condition started while a job runs: the agent drains once it ends. */
  pendingPause: PolicyVerdict | null;
  /** The agent was told to drain for this verdict (its exit then holds it under this kind). */
  draining: PolicyVerdict | null;
  /** Disk views are measured asynchronously: only the latest one counts. */
  diskSeq: number;
  /** Its GPUs changed while it ran: it stops (after its job) and starts again with the new ones. */
  relaunch: boolean;
  /** No longer in the plan: dropped once its agent has stopped. */
  retired: boolean;
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
  /** Who stopped it while it ran (Semaphore, the owner, a lending condition, the disk guard), for the history. */
  stoppedBy: string | null;
  /** What its request asked to run (directives only), from the job-request event. */
  plan: JobPlan | null;
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
  /** The agents, in plan order (slots[0] is the one HostSnapshot.agent shows). Never empty. */
  private slots: AgentSlot[];
  /** Agents changed since the last `agent` events went out. */
  private readonly dirty = new Set<AgentSlot>();
  private agentTimer: NodeJS.Timeout | null = null;
  private lastAgentEmit = 0;
  private readonly gpu: GpuService | null;
  private xid: XidWatch | null = null;
  /** What each job's process tree uses, and the machine's CPU and memory. */
  private readonly usage: UsageTracker;
  private gpuEventsAt = 0;
  private gpuEventTimer: NodeJS.Timeout | null = null;
  private readonly dataDir: string;
  private readonly now: () => number;
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
  private readonly signals: LendingSignals;
  private readonly keepAwake: KeepAwake;
  private lendingTimer: NodeJS.Timeout | null = null;
  private lendingSeq = 0;

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
    this.dataDir = options.dataDir;
    this.now = options.now ?? Date.now;
    this.keepAwake = options.keepAwake ?? (process.platform === "linux" ? new SystemdInhibit() : NO_KEEP_AWAKE);
    this.signals = new LendingSignals(options.signals ?? defaultSignalSource(this.env));
    this.gpu =
      options.gpus === false
        ? null
        : new GpuService({
            env: this.env,
            intervalMs: options.gpuIntervalMs,
            appsEveryMs: options.gpuAppsEveryMs,
            onTick: (tick) => this.batcher.pass({ type: "gpu-tick", tick }),
            onChange: () => this.gpusChanged(),
            machine: () => this.usage.machine,
          });
    this.usage = new UsageTracker(this.gpu, (machine) => {
      // Without a GPU the machine's own figures still tick (with one, they ride on the GPU samples).
      if (this.gpu === null || this.gpu.gpus === null) this.batcher.pass({ type: "gpu-tick", tick: { at: machine.at, gpus: [], machine } });
    });
    this.slots = [this.newSlot({ id: "main", gpus: [], name: null })];
  }

  private newSlot(plan: AgentPlan, counts?: AgentSnapshot["counts"]): AgentSlot {
    return {
      plan,
      run: null,
      job: null,
      snapshot: idleAgentSnapshot({ id: plan.id, gpus: plan.gpus.map((g) => ({ ...g })), endpoint: endpointUrlOf(this.settings.current), ...(counts ? { counts } : {}) }),
      held: null,
      lending: new LendingControl(this.now, this.settings.current.breakerJobs),
      lendingVerdict: null,
      pendingPause: null,
      draining: null,
      diskSeq: 0,
      relaunch: false,
      retired: false,
    };
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
    await host.startGpus();
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

  /** The first agent as the tray shows it. */
  get agentSnapshot(): AgentSnapshot {
    return structuredClone((this.slots[0] as AgentSlot).snapshot);
  }

  /** Every agent, in plan order. */
  get agentSnapshots(): AgentSnapshot[] {
    return this.slots.map((slot) => structuredClone(slot.snapshot));
  }

  /**
   * Graceful: interrupt the agents (spec §3.3: the server stops a running job after the grace period,
   * then shuts the agent down), wait for them to exit for at most `timeoutMs`, then abort them; stop
   * the demo hub; close the history. Later calls return the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // HostApi

  async getSnapshot(_params: HostParams<"getSnapshot"> = {}): Promise<HostSnapshot> {
    const running = this.slots.find((slot) => slot.job?.started);
    const job = running?.job ? this.history.get(running.job.id) : null;
    const agents = this.agentSnapshots;
    return {
      agent: agents[0] as AgentSnapshot,
      agents,
      settings: this.settings.view(),
      demo: this.demo.snapshot(),
      history: this.history.list({ limit: SNAPSHOT_HISTORY }),
      currentJob: job,
      version: AGENT_VERSION,
    };
  }

  /** The agents a command names: the one with `agentId`, or all of them. */
  private slotsFor(agentId: string | undefined): AgentSlot[] {
    if (agentId === undefined) return this.slots.filter((slot) => !slot.retired);
    const slot = this.slots.find((s) => s.plan.id === agentId && !s.retired);
    if (!slot) throw new HostError("not-found", `No agent ${JSON.stringify(agentId)} on this machine (agents: ${this.slots.map((s) => s.plan.id).join(", ")}).`);
    return [slot];
  }

  /** The answer of a command on `slots`: the agent it named, or the first. */
  private answer(slots: readonly AgentSlot[]): AgentSnapshot {
    return structuredClone((slots.length === 1 ? (slots[0] as AgentSlot) : (this.slots[0] as AgentSlot)).snapshot);
  }

  async startAgent(params: HostParams<"startAgent"> = {}): Promise<AgentSnapshot> {
    this.assertOpen();
    if (this.demo.running || this.slots.some((slot) => slot.run?.mode === "demo")) throw new HostError("invalid-state", "The local demo is still running: stop it first.");
    const all = params.agentId === undefined;
    const slots = this.slotsFor(params.agentId);
    // All of them: those not running start; an error only when none could.
    const startable = all ? slots.filter((slot) => this.startProblem(slot) === null) : slots;
    if (startable.length === 0 || !all) {
      const problem = this.startProblem(startable[0] ?? (slots[0] as AgentSlot));
      if (problem !== null) throw problem;
    }
    const readings = await this.signals.read(this.settings.current);
    for (const slot of startable) {
      if (this.startProblem(slot) !== null) continue; // a second start raced this one's await
      slot.snapshot.counts = newRunCounts(); // the owner's Start begins a run: its jobs count from 0
      await this.startSlot(slot, readings);
    }
    return this.answer(slots);
  }

  /** Starts one agent with the saved settings, or holds it when the owner's terms do not allow work now. */
  private async startSlot(slot: AgentSlot, readings: PolicyReadings): Promise<void> {
    const config = this.configFor(slot);
    const placement = await this.openPlacement(slot);
    const problem = this.startProblem(slot);
    if (problem !== null) throw problem;
    const verdict = slot.lending.decideNow(this.settings.current, readings, null, this.gpuGuardOf(slot));
    slot.snapshot.lastExit = null;
    if (!verdict.allowed) {
      // Not now: the agent does not register until the owner's terms allow it (Semaphore would send it jobs).
      this.hold(slot, { config, mode: "semaphore", endpointUrl: endpointUrlOf(this.settings.current), placement }, verdict.kind ?? "paused", verdict.reason, verdict.next, verdict.nextChangeAt);
      this.showLending(slot, verdict);
      return;
    }
    this.launch(slot, config, "semaphore", endpointUrlOf(this.settings.current), placement);
  }

  /** The settings' agent config, with this agent's name. */
  private configFor(slot: AgentSlot): AgentConfig {
    const config = this.settings.toAgentConfig();
    if (slot.plan.name !== null) config.name = slot.plan.name;
    return config;
  }

  // ---------------------------------------------------------------------------------------------
  // The owner's terms: pause, resume, snooze, stop this job (all agents, or the one named)

  async pause(params: HostParams<"pause">): Promise<AgentSnapshot> {
    this.assertOpen();
    const slots = this.slotsFor(params.agentId);
    const who = this.whoWords(slots, params.agentId);
    let newlyPaused = false;
    for (const slot of slots) {
      const run = slot.run?.mode === "semaphore" ? slot.run : null;
      if (params.when === "after-job" && run !== null && slot.job !== null) {
        if (!slot.lending.pauseAfterJob && !slot.lending.pausedByHand) {
          slot.lending.pauseAfterJob = true;
          this.activity("info", `${this.slots.length === 1 ? "Pausing" : `${who}: pausing`} once job ${slot.job.id} has finished (Resume cancels it).`);
        }
        continue;
      }
      slot.lending.pauseAfterJob = false;
      if (!slot.lending.pausedByHand) {
        slot.lending.pausedByHand = true;
        newlyPaused = true;
      }
      if (run !== null && slot.job !== null) run.agent.stopJob("Stopped by you: paused");
    }
    if (newlyPaused) this.activity("info", `Paused by you: ${who === "The agent" || who === "Every agent" ? who.toLowerCase() : who} takes no jobs until you resume.`);
    await this.evaluateLending();
    return this.answer(slots);
  }

  async resume(params: HostParams<"resume"> = {}): Promise<AgentSnapshot> {
    this.assertOpen();
    const slots = this.slotsFor(params.agentId);
    const was = slots.some((slot) => slot.lending.holdsSet);
    for (const slot of slots) slot.lending.clear();
    const who = this.whoWords(slots, params.agentId);
    if (was) this.activity("info", `Resumed: ${who === "The agent" || who === "Every agent" ? who.toLowerCase() : who} takes jobs again (where your schedule and limits allow).`);
    await this.evaluateLending();
    return this.answer(slots);
  }

  async snooze(params: HostParams<"snooze">): Promise<AgentSnapshot> {
    this.assertOpen();
    const now = this.now();
    if (params.until <= now) throw new HostError("invalid-request", "until: must be in the future");
    if (params.until > now + 366 * 24 * 3_600_000) throw new HostError("invalid-request", "until: at most a year from now");
    const slots = this.slotsFor(params.agentId);
    for (const slot of slots) {
      slot.lending.snoozedUntil = params.until;
      slot.lending.pauseAfterJob = false;
    }
    await this.evaluateLending();
    const first = slots[0] as AgentSlot;
    const running = slots.some((slot) => slot.job !== null);
    this.activity("info", `${first.lendingVerdict?.reason ?? "Snoozed"}${params.agentId === undefined ? "" : ` (${this.whoWords(slots, params.agentId)})`}${running ? " (the running job finishes first)" : ""}.`);
    return this.answer(slots);
  }

  async stopJob(params: HostParams<"stopJob">): Promise<AgentSnapshot> {
    this.assertOpen();
    const slot = this.slots.find((s) => s.run !== null && s.job?.id === params.jobId);
    if (!slot || slot.run === null) {
      const running = this.slots.map((s) => s.job?.id).filter((id): id is string => id !== undefined);
      if (running.length === 0) throw new HostError("invalid-state", "No job is running.");
      throw new HostError("invalid-state", `Job ${params.jobId} is not the running job (${running.join(", ")} ${running.length === 1 ? "is" : "are"}).`);
    }
    if (!slot.run.agent.stopJob("Stopped by you")) throw new HostError("invalid-state", "The job is already stopping.");
    this.activity("info", `Stopping job ${params.jobId}: ${this.agentWords(slot)} goes on taking jobs.`);
    return structuredClone(slot.snapshot);
  }

  async getGiven(_params: HostParams<"getGiven"> = {}): Promise<GivenSummary> {
    return givenFrom(this.history.list({ limit: Number.MAX_SAFE_INTEGER }));
  }

  /** "The agent" for one agent or all; "Agent box-gpu1" for one of several. */
  private whoWords(slots: readonly AgentSlot[], agentId: string | undefined): string {
    if (agentId === undefined || this.slots.length === 1) return this.slots.length === 1 ? "The agent" : "Every agent";
    return this.agentWords(slots[0] as AgentSlot, true);
  }

  /** How activity lines name an agent: "the agent" when it is the only one, else "agent box-gpu1". */
  private agentWords(slot: AgentSlot, capital = false): string {
    const words = this.slots.length === 1 ? "the agent" : `agent ${slot.plan.name ?? (slot.snapshot.name || slot.plan.id)}`;
    return capital ? `${words[0]!.toUpperCase()}${words.slice(1)}` : words;
  }

  /** Tells the agent to stop taking jobs and leave Semaphore (a clean disconnect) for `verdict`. */
  private drainFor(slot: AgentSlot, run: AgentRun, verdict: PolicyVerdict): void {
    if (slot.draining !== null || run.stopAsked || slot.snapshot.stopping) return;
    slot.draining = verdict;
    run.agent.drain(verdict.reason);
  }

  /** Reads the signals again after `ms` (and at least every lendingPollMs, or at the verdict's next change). */
  private scheduleLending(ms: number): void {
    if (this.closing) return;
    if (this.lendingTimer) clearTimeout(this.lendingTimer);
    this.lendingTimer = setTimeout(() => void this.evaluateLending(), ms);
    this.lendingTimer.unref?.();
  }

  /** The verdicts now (the signals read once for every agent), and what follows from them. */
  private async evaluateLending(): Promise<void> {
    if (this.closing) return;
    const seq = ++this.lendingSeq;
    const readings = await this.signals.read(this.settings.current);
    if (seq !== this.lendingSeq || this.closing) return;
    if (this.keepAwake.active && (await this.signals.onBattery()) === true) this.keepAwake.stop();
    let wait = this.timings.lendingPollMs;
    for (const slot of [...this.slots]) {
      const diskHold = slot.held?.kind === "disk" ? (slot.snapshot.hold?.reason ?? "the disk is nearly full") : null;
      const verdict = slot.lending.decideNow(this.settings.current, readings, diskHold, this.gpuGuardOf(slot));
      this.applyLending(slot, verdict);
      if (verdict.nextChangeAt !== null) wait = Math.max(0, Math.min(wait, verdict.nextChangeAt - this.now()));
    }
    this.scheduleLending(wait);
  }

  /** The guard of this agent's GPUs (too hot, over power, Xid, the owner's own use), or null. */
  private gpuGuardOf(slot: AgentSlot): string | null {
    if (this.gpu === null || slot.plan.gpus.length === 0) return null;
    return this.gpu.guardOf(slot.plan.gpus.map((g) => g.uuid));
  }

  private applyLending(slot: AgentSlot, verdict: PolicyVerdict): void {
    slot.lendingVerdict = verdict;
    const run = slot.run?.mode === "semaphore" ? slot.run : null;
    if (run !== null && !run.stopAsked && !slot.snapshot.stopping && slot.draining === null) {
      if (!verdict.allowed && verdict.kind !== "disk") {
        if (slot.job === null) this.drainFor(slot, run, verdict);
        else if (slot.pendingPause === null || slot.pendingPause.kind !== verdict.kind) {
          slot.pendingPause = verdict;
          if (verdict.onRunningJob === "stop") {
            run.agent.stopJob(`Stopped: ${verdict.reason.replace(/\.+$/, "")}`);
            this.activity("info", `${verdict.reason}: stopping the running job, then the agent leaves Semaphore.`);
          } else {
            this.activity("info", `${verdict.reason}: the running job finishes first, then the agent leaves Semaphore.`);
          }
        }
      } else if (verdict.allowed && slot.pendingPause !== null) {
        slot.pendingPause = null;
        this.activity("info", "The condition ended before the job did: the agent keeps taking jobs.");
      }
    }
    const held = slot.held;
    if (held !== null && held.kind !== "disk") {
      if (verdict.allowed) {
        this.releaseHold(slot);
        this.activity("info", `Allowed again: ${this.agentWords(slot)} registers with Semaphore and takes jobs.`);
        this.launch(slot, held.config, held.mode, held.endpointUrl, held.placement);
        this.showLending(slot, verdict);
        return;
      }
      held.kind = verdict.kind ?? "paused";
      const hold = { kind: held.kind, reason: verdict.reason, since: slot.snapshot.hold?.since ?? Date.now(), next: verdict.next, until: verdict.nextChangeAt };
      if (JSON.stringify(hold) !== JSON.stringify(slot.snapshot.hold)) {
        slot.snapshot.hold = hold;
        this.agentChanged(slot);
      }
    }
    this.showLending(slot, verdict);
  }

  private showLending(slot: AgentSlot, verdict: PolicyVerdict): void {
    const pending = slot.pendingPause === null ? null : slot.pendingPause.onRunningJob;
    const next = slot.lending.state(verdict, slot.lending.pauseAfterJob ? "finish" : pending);
    if (JSON.stringify(next) === JSON.stringify(slot.snapshot.lending)) return;
    slot.snapshot.lending = next;
    this.agentChanged(slot);
  }

  async getSandbox(_params: HostParams<"getSandbox"> = {}): Promise<SandboxStatus> {
    try {
      return await this.sandbox.status(this.settings.current);
    } catch (error) {
      throw new HostError("invalid-state", `The job home cannot be prepared: ${(error as Error).message}`);
    }
  }

  /**
   * The job home and sandbox of the saved settings, for an agent about to start: the main agent's in
   * the data folder's job-home, another's in agents/<id>/, with only its GPUs' device nodes.
   * `readWrite`: extra host folders the jobs of this run write to (the local demo's repository).
   */
  private async openPlacement(slot: AgentSlot, readWrite: readonly string[] = []): Promise<JobPlacement> {
    try {
      const own = slot.plan.id === "main" ? {} : { jobHome: this.sandbox.agentDirs(slot.plan.id).jobHome };
      const gpuMinors = this.gpu !== null && this.gpu.gpus !== null ? this.gpu.minorsOf(slot.plan.gpus.map((g) => g.uuid)) : null;
      return await this.sandbox.placement(this.settings.current, true, readWrite, { ...own, gpuMinors });
    } catch (error) {
      throw new HostError("invalid-state", `The job home cannot be prepared: ${(error as Error).message}`);
    }
  }

  async retryNow(params: HostParams<"retryNow"> = {}): Promise<AgentSnapshot> {
    this.assertOpen();
    const slots = this.slotsFor(params.agentId).filter((slot) => slot.run !== null);
    if (slots.length === 0) throw new HostError("invalid-state", "The agent is not running.");
    for (const slot of slots) if (slot.run) this.retryRun(slot, slot.run, "Retrying now.");
    return this.answer(slots);
  }

  async stopAgent(params: HostParams<"stopAgent">): Promise<AgentSnapshot> {
    this.assertOpen();
    const slots = this.slotsFor(params.agentId);
    const acting = slots.filter((slot) => slot.held !== null || slot.run !== null);
    if (acting.length === 0) throw new HostError("invalid-state", "The agent is not running.");
    for (const slot of acting) this.stopSlot(slot, params.when);
    return this.answer(slots.length === 1 ? slots : acting);
  }

  private stopSlot(slot: AgentSlot, when: "now" | "after-job"): void {
    const who = this.agentWords(slot, true);
    if (slot.held) {
      // Paused (the disk guard, the owner's terms): Stop means do not start again.
      const why = slot.snapshot.hold?.reason ?? "paused";
      this.releaseHold(slot);
      this.activity("info", `${who} stays stopped (it was not taking jobs: ${why.replace(/\.+$/, "")}).`);
      this.agentChanged(slot);
      return;
    }
    const run = slot.run;
    if (!run) return;
    if (when === "after-job" && slot.snapshot.stopping) return; // already on its way
    if (when === "after-job" && slot.job !== null) {
      if (!slot.snapshot.stopAfterJob) {
        slot.snapshot.stopAfterJob = true;
        this.activity("info", `${who} stops once job ${slot.job.id} has finished.`);
        this.agentChanged(slot);
      }
      return;
    }
    this.stopNow(slot, run);
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
    const slot = this.slots[0] as AgentSlot;
    if (slot.run?.mode === "demo") return this.demo.snapshot();
    // The demo's agent is the first agent; every other one must be stopped too.
    for (const other of this.slots) {
      const problem = this.startProblem(other);
      if (problem !== null) throw problem;
    }
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
      const placement = await this.openPlacement(slot, demoGit === null ? [] : [demoGit]);
      this.assertOpen();
      slot.snapshot.counts = newRunCounts(); // the demo's run counts its own jobs, never the real agent's
      this.launch(slot, config, "demo", hub.url, placement);
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
      const slot = this.slots[0] as AgentSlot;
      const run = slot.run;
      if (run?.mode === "demo") await this.stopRun(slot, run, DEMO_STOP_TIMEOUT_MS);
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
    for (const slot of this.slots) {
      const run = slot.run;
      const live = run?.agent.currentJobEnvFiles;
      const space = run?.agent.currentJobSpace ?? null;
      if (run && live && space && live.jobId === jobId && live.paths.length > 0) {
        const info = this.debugInfo(jobId, space.home, space.level, { source: "running", envFiles: live.paths, keptAt: null });
        return { info, space, placement: run.placement, kept: null };
      }
    }
    // A finished job: the sandbox of the agent that ran it, as the settings give it now.
    const ranBy = this.history.get(jobId)?.summary.agentId ?? "main";
    const slot = this.slots.find((s) => s.plan.id === ranBy) ?? (this.slots[0] as AgentSlot);
    let placement: JobPlacement | null = slot.run?.placement ?? null;
    if (placement === null) {
      const own = slot.plan.id === "main" ? {} : { jobHome: this.sandbox.agentDirs(slot.plan.id).jobHome };
      placement = await this.sandbox.placement(this.settings.current, false, [], own).catch(() => null);
    }
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
      getGpus: (p) => this.getGpus(p),
      setGpuLent: (p) => this.setGpuLent(p),
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
    const from = info.source === "running" ? "the running job's env files" : `the env files kept on ${formatDateTime(info.keptAt ?? 0)}`;
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
    if (this.slots.some((slot) => slot.job?.id === jobId)) return `Job ${jobId} has not exported its environment yet (its "Exporting environment variables" step).`;
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

  private launch(slot: AgentSlot, config: AgentConfig, mode: AgentMode, endpointUrl: string, placement: JobPlacement): void {
    const home = placement.settings.jobHome;
    // One of several agents: its own TMPDIR, and its jobs see only its GPUs.
    const own = slot.plan.id === "main" ? null : this.sandbox.agentDirs(slot.plan.id);
    const tmpDir = own?.tmpDir ?? (this.env.TMPDIR || tmpdir());
    const env: NodeJS.ProcessEnv = { ...this.env, ...(own ? { TMPDIR: own.tmpDir } : {}), ...this.gpuEnvOf(slot) };
    // Jobs start in their home folder: the app's own working directory means nothing to them.
    const agent = new Agent({
      config,
      timings: this.timings,
      env,
      cwd: home,
      home,
      tmpDir,
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
    slot.run = run;
    slot.job = null;
    slot.relaunch = false;
    if (config.token.length >= 6) this.secrets.add(config.token);
    // A fresh launch: everything but the run's job counts starts over (a relaunch after lost contact
    // or a hold is the same run; the owner's Start and the demo reset the counts).
    slot.snapshot = idleAgentSnapshot({
      id: slot.plan.id,
      gpus: slot.plan.gpus.map((g) => ({ ...g })),
      phase: "registering",
      mode,
      endpoint: endpointUrl,
      startedAt: Date.now(),
      counts: slot.snapshot.counts,
      sandbox: statusOf(placement),
      lending: slot.snapshot.lending,
    });
    if (placement.state.notice && slot === this.slots[0]) this.activity("warn", placement.state.notice);
    agent.on((event) => this.onAgentEvent(slot, run, event));
    run.exited = agent.start().then(
      (exit) => this.onAgentExit(slot, run, exit, null),
      (error: unknown) => this.onAgentExit(slot, run, null, error instanceof Error ? error : new Error(String(error))),
    );
    const gpus = slot.plan.gpus.length > 0 ? ` with GPU ${slot.plan.gpus.map((g) => g.index).join(", ")}` : "";
    this.activity("info", `Starting ${this.agentWords(slot)}${mode === "demo" ? " for the local demo" : ""}${gpus} (${endpointUrl}).`);
    if (mode === "semaphore" && this.watchConnectivity && this.connectivity === null) {
      this.connectivity = new ConnectivityWatch({
        onChange: (why) => {
          for (const s of this.slots) {
            if (s.run) this.retryRun(s, s.run, why === "wake" ? "The machine woke up: trying again now." : "The network changed: trying again now.", true);
          }
        },
      });
    }
    this.agentChanged(slot);
  }

  /** CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES of this agent's jobs (nothing on a machine without GPUs). */
  private gpuEnvOf(slot: AgentSlot): Record<string, string> {
    if (this.gpu === null) return {};
    return gpuJobEnv(slot.plan.gpus, this.gpu.gpus !== null && this.gpu.gpus.length > 0, this.gpu.vendor);
  }

  /** Cuts a registration or failed-sync back-off short; `onlyWhenFailing`: only when there is an error. */
  private retryRun(slot: AgentSlot, run: AgentRun, why: string, onlyWhenFailing = false): void {
    const error = slot.snapshot.error;
    const failing = error !== null && (error.scope === "register" || error.scope === "sync");
    if (onlyWhenFailing && !failing) return;
    if (failing) this.activity("info", why);
    run.agent.retryNow();
  }

  /** Interrupt (spec §3.3); abort instead when there is nobody to ask or the stop was already asked. */
  private stopNow(slot: AgentSlot, run: AgentRun): void {
    const s = slot.snapshot;
    run.stopAsked = true;
    s.stopAfterJob = false;
    const force = s.stopping || s.phase === "registering" || s.phase === "shutting-down";
    if (force) {
      // Not registered yet (nothing to tell the server), or a second stop: the user insists.
      run.aborted = true;
      run.agent.abort();
      this.activity("warn", `Stopping ${this.agentWords(slot)} without waiting for the server.`);
    } else {
      run.agent.interrupt();
    }
    s.stopping = true;
    this.agentChanged(slot);
  }

  /** Stops a run and waits for its exit: interrupt, then abort after `timeoutMs`. */
  private async stopRun(slot: AgentSlot, run: AgentRun, timeoutMs: number): Promise<void> {
    if (!slot.snapshot.stopping) this.stopNow(slot, run);
    if (await settlesWithin(run.exited, timeoutMs)) return;
    run.aborted = true;
    run.agent.abort();
    this.activity("warn", `The agent did not stop within ${Math.round(timeoutMs / 1000)} s; stopped it without waiting for the server.`);
    await settlesWithin(run.exited, ABORT_WAIT_MS);
  }

  private onAgentEvent(slot: AgentSlot, run: AgentRun, event: AgentEvent): void {
    if (slot.run !== run) return;
    const s = slot.snapshot;
    switch (event.type) {
      case "phase":
        s.phase = event.phase;
        if (event.phase === "waiting-for-jobs") {
          s.jobId = null;
          s.jobIdentity = null;
        }
        this.agentChanged(slot);
        break;
      case "registered":
        s.name = event.name;
        if (s.error?.scope === "register") s.error = null;
        this.activity("info", `Registered as ${event.name || "(no name)"} with ${run.endpointUrl}.`);
        this.agentChanged(slot);
        break;
      case "sync":
        s.nextSyncAt = event.nextSyncAt;
        if (event.error === null) {
          s.lastSyncAt = event.at;
          s.error = null;
        } else {
          run.lastSyncError = this.redact(event.error);
        }
        this.agentChanged(slot);
        break;
      case "job-assigned":
        slot.job = { id: event.jobId, assignedAt: event.at, started: false, loggedResult: null, nextIndex: 0, identity: null, problem: null, stoppedBy: null, plan: null, ownCommandsFinished: 0 };
        s.jobId = event.jobId;
        this.activity("info", `Job ${event.jobId} assigned${this.slots.length > 1 ? ` to ${s.name || slot.plan.id}` : ""}.`);
        this.agentChanged(slot);
        break;
      case "job-request":
        if (slot.job?.id === event.jobId) {
          slot.job.identity = event.identity;
          s.jobIdentity = event.identity;
          if (event.identity !== null) this.activity("info", `Job ${event.jobId} is ${describeJob(event.identity, event.jobId)}.`);
          slot.job.plan = event.plan;
          this.startJob(slot, run, slot.job, event.envVarNames);
          this.agentChanged(slot);
        }
        break;
      case "job-rejected":
        if (slot.job?.id === event.jobId) slot.job.problem = this.redact(event.reason);
        break;
      case "job-shell":
        if (slot.job?.id === event.jobId) this.usage.jobStarted(event.jobId, event.pid);
        break;
      case "job-log": {
        const job = slot.job;
        if (job?.id !== event.jobId) break;
        if (!job.started) this.startJob(slot, run, job, []);
        if (event.event.event === "job_finished") job.loggedResult = event.event.result;
        if (event.event.event === "cmd_finished" && !AGENT_STEPS.has(event.event.directive)) job.ownCommandsFinished++;
        this.history.append(job.id, event.event);
        this.batcher.output(job.id, event.index, event.event);
        job.nextIndex = event.index + 1;
        break;
      }
      case "job-output-preview": {
        const job = slot.job;
        if (job?.id === event.jobId && job.started) this.batcher.preview(job.id, job.nextIndex, event.text);
        break;
      }
      case "job-finished":
        {
          const job = slot.job?.id === event.jobId ? slot.job : null;
          const title = job ? jobTitle(job.identity, event.jobId) : event.jobId;
          const problem = job ? job.problem : null;
          const stoppedBy = job ? job.stoppedBy : null;
          if (job) {
            if (run.mode === "semaphore") slot.lending.breaker.record(event.result === "failed" && job.ownCommandsFinished === 0);
            this.finishJob(slot, run, job, event.result, event.at);
          }
          const named = title === event.jobId ? `Job ${event.jobId}` : `Job ${event.jobId} (${title})`;
          const why = problem ? `, not run: ${problem}` : stoppedBy ? `: ${stoppedBy.replace(/^Stopped/, "stopped")}` : "";
          this.activity(event.result === "failed" || stoppedBy ? "warn" : "info", `${named} ${event.result}${why.replace(/\.+$/, "")}.`);
        }
        if (s.stopAfterJob || slot.relaunch || slot.retired) {
          // Before the agent's forced sync goes out, so that it already carries interrupted_at.
          this.stopNow(slot, run);
        } else if (run.mode === "semaphore") {
          // A pause that waited for this job (by hand, a condition, the breaker just tripped): drain
          // now, before the next sync can bring a job. No reading can be awaited here: the signals
          // are those of the last check.
          if (slot.lending.pauseAfterJob) {
            slot.lending.pauseAfterJob = false;
            slot.lending.pausedByHand = true;
          }
          const verdict = slot.lending.decideNow(this.settings.current, this.signals.readings, null, this.gpuGuardOf(slot));
          slot.pendingPause = null;
          if (!verdict.allowed && verdict.kind !== "disk") this.drainFor(slot, run, verdict);
          this.scheduleLending(0);
        }
        this.agentChanged(slot);
        break;
      case "interrupted":
        s.stopping = true;
        this.activity("info", "Stopping: told the server; it stops a running job (after the grace period) and then shuts the agent down.");
        this.agentChanged(slot);
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
        this.agentChanged(slot);
        break;
      }
      case "log":
        this.activity(event.level, this.redact(event.message));
        break;
      case "disk":
        void this.showDisk(slot, event.verdict);
        break;
      case "job-stopped-by-agent":
        if (slot.job?.id === event.jobId) this.jobStopped(slot.job, event.reason);
        break;
      case "job-stopped-by-server":
        if (slot.job?.id === event.jobId) this.jobStopped(slot.job, this.serverStopWords(slot, run));
        break;
      case "shutdown":
        // The agent ends a job it shuts down under without a job-finished event of its own.
        if (slot.job) this.finishJob(slot, run, slot.job, slot.job.loggedResult ?? "stopped", event.at);
        break;
    }
  }

  private onAgentExit(slot: AgentSlot, run: AgentRun, exit: AgentExit | null, error: Error | null): void {
    if (slot.run !== run) return;
    if (slot.job) this.finishJob(slot, run, slot.job, slot.job.loggedResult ?? "stopped", Date.now());
    const reason: ShutdownReason = exit?.reason ?? "UNKNOWN";
    const lostContact = reason === "UNABLE_TO_SYNC" || reason === "UNABLE_TO_REGISTER";
    if (run.mode === "semaphore" && lostContact && !run.stopAsked && !this.closing && !slot.retired) {
      // The app's agent never quietly stops lending: it registers again (same settings, same name)
      // and keeps trying with its back-off until the server answers or the owner stops it.
      this.activity("warn", `The agent ${this.exitMessage(run, reason)}; connecting again.`);
      this.launch(slot, run.config, run.mode, run.endpointUrl, run.placement);
      return;
    }
    if (exit?.drained !== undefined && !run.stopAsked && !this.closing && !slot.retired) {
      const verdict = slot.draining;
      slot.draining = null;
      slot.pendingPause = null;
      if (verdict !== null) this.hold(slot, run, verdict.kind ?? "paused", verdict.reason, verdict.next, verdict.nextChangeAt);
      else this.hold(slot, run, "disk", exit.drained, "resumes by itself once there is space", null);
      return;
    }
    const exitCode = exit?.exitCode ?? 1;
    const message = error ? `the agent could not start: ${this.redact(error.message)}` : this.exitMessage(run, reason);
    slot.run = null;
    slot.draining = null;
    slot.pendingPause = null;
    if (!this.slots.some((s) => s.run?.mode === "semaphore")) {
      this.connectivity?.stop();
      this.connectivity = null;
    }
    Object.assign(slot.snapshot, {
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
    const who = this.agentWords(slot, true);
    this.activity(exitCode === 0 ? "info" : "error", `${who} stopped: ${message} (${reason}, exit code ${exitCode}).`);
    this.agentChanged(slot);
    if (slot.retired) {
      this.dropSlot(slot);
      return;
    }
    if (slot.relaunch && !this.closing && run.mode === "semaphore") {
      // Its GPUs changed: the same agent again, with the new ones.
      slot.relaunch = false;
      this.activity("info", `${who} starts again with its new GPUs.`);
      void this.restart(slot);
      return;
    }
    if (run.mode === "demo" && !this.demoTransition) {
      // The demo is the hub and its agent together: without the agent the hub has no use.
      void this.demo.stop().then(() => this.batcher.pass({ type: "demo", demo: this.demo.snapshot() }));
    }
  }

  /** Starts an agent whose plan changed (under the owner's terms, as startAgent does). */
  private async restart(slot: AgentSlot): Promise<void> {
    try {
      await this.startSlot(slot, this.signals.readings);
    } catch (error) {
      this.activity("error", `Could not start ${slot.plan.name ?? slot.plan.id} again: ${(error as Error).message}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The disk guard's pause

  /** The disk guard or the lending policy drained the agent: it starts again by itself once allowed. */
  private hold(slot: AgentSlot, run: Pick<AgentRun, "config" | "mode" | "endpointUrl" | "placement">, kind: PauseKind, reason: string, next: string | null, until: number | null): void {
    slot.run = null;
    slot.held = { kind, config: run.config, mode: run.mode, endpointUrl: run.endpointUrl, placement: run.placement, timer: null };
    Object.assign(slot.snapshot, {
      phase: "idle",
      startedAt: null,
      nextSyncAt: null,
      jobId: null,
      jobIdentity: null,
      stopAfterJob: false,
      stopping: false,
      hold: { kind, reason, since: Date.now(), next, until },
    } satisfies Partial<AgentSnapshot>);
    const who = this.slots.length > 1 ? `${slot.plan.name ?? slot.plan.id}: not` : "Not";
    this.activity(kind === "disk" || kind === "breaker" ? "warn" : "info", `${who} taking jobs: ${reason.replace(/\.+$/, "")}${next ? ` (${next})` : ""}; the agent has left Semaphore.`);
    this.agentChanged(slot);
    if (kind === "disk") this.scheduleHoldCheck(slot, this.timings.diskIdleCheckMs);
    else this.scheduleLending(0);
  }

  private scheduleHoldCheck(slot: AgentSlot, ms: number): void {
    const held = slot.held;
    if (!held) return;
    if (held.timer) clearTimeout(held.timer);
    held.timer = setTimeout(() => void this.checkHold(slot), ms);
  }

  /** Every diskIdleCheckMs while paused, and at once when the settings change. */
  private async checkHold(slot: AgentSlot): Promise<void> {
    const held = slot.held;
    if (!held || this.closing) return;
    held.timer = null;
    const guard = this.sandbox.diskGuard(this.settings.current);
    const paths = [
      { label: "job home", path: held.placement.settings.jobHome },
      { label: "TMPDIR", path: this.env.TMPDIR || tmpdir() },
    ];
    const verdict: DiskVerdict | null = guard ? await checkDisk(paths, guard) : null;
    if (slot.held !== held) return;
    if (verdict !== null && verdict.state !== "ok") {
      await this.showDisk(slot, verdict);
      if (slot.held === held && slot.snapshot.hold) slot.snapshot.hold.reason = verdict.reason ?? slot.snapshot.hold.reason;
      this.agentChanged(slot);
      this.scheduleHoldCheck(slot, this.timings.diskIdleCheckMs);
      return;
    }
    // Space is back; the owner's terms may still hold the agent.
    held.kind = "paused";
    slot.snapshot.disk = null;
    this.activity("info", "Enough free space again.");
    this.scheduleLending(0);
  }

  private releaseHold(slot: AgentSlot): void {
    if (slot.held?.timer) clearTimeout(slot.held.timer);
    slot.held = null;
    slot.snapshot.hold = null;
    slot.snapshot.disk = null;
  }

  /** The disk guard's verdict in the snapshot (with what uses space, when it is not ok). */
  private async showDisk(slot: AgentSlot, verdict: DiskVerdict): Promise<void> {
    const seq = ++slot.diskSeq;
    if (verdict.state === "ok") {
      slot.snapshot.disk = null;
      this.agentChanged(slot);
      return;
    }
    const first = await this.sandbox.diskView(verdict, this.settings.current, false);
    if (seq !== slot.diskSeq) return;
    slot.snapshot.disk = first;
    this.agentChanged(slot);
    const full = await this.sandbox.diskView(verdict, this.settings.current, true);
    if (seq !== slot.diskSeq) return;
    slot.snapshot.disk = full;
    this.agentChanged(slot);
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

  /**
   * Who stopped the running job, kept for the history and told to the UI at once: the command
   * running now is the one the stop ends (its log says exit 1, the UI says who). The first stop counts.
   */
  private jobStopped(job: CurrentJob, by: string): void {
    if (job.stoppedBy !== null) return;
    job.stoppedBy = by;
    if (!job.started) return; // its request was not read yet: the history gets it with the finish
    const detail = this.history.markStopped(job.id, { by, atEvent: job.nextIndex });
    if (detail !== null) this.batcher.pass({ type: "job-stopping", job: detail });
  }

  /** A stop-job from the server: Semaphore's (its UI, its API, a newer pipeline), or the one it sends after the owner interrupted the agent. */
  private serverStopWords(slot: AgentSlot, run: AgentRun): string {
    const server = run.mode === "demo" ? "the local demo's hub" : "Semaphore";
    return run.stopAsked || slot.snapshot.stopping ? `Stopped by ${server}: you stopped the agent` : `Stopped by ${server}`;
  }

  private startJob(slot: AgentSlot, run: AgentRun, job: CurrentJob, envVarNames: string[]): void {
    if (job.started) return;
    job.started = true;
    const agentName = slot.snapshot.name || run.config.name || null;
    const summary = this.history.start(job.id, { mode: run.mode, startedAt: job.assignedAt, envVarNames, identity: job.identity, agentId: slot.plan.id, agentName, plan: job.plan });
    // A stop that came before the request was read ends the job before its first command.
    const stopped = job.stoppedBy !== null ? this.history.markStopped(job.id, { by: job.stoppedBy, atEvent: 0 }) : null;
    this.batcher.pass({ type: "job-started", job: stopped ?? { summary, envVarNames: [...envVarNames], plan: job.plan === null ? null : structuredClone(job.plan), stop: null } });
    // Awake while a job runs, never on battery.
    void this.signals.onBattery().then((battery) => {
      if (battery !== true && slot.job === job) this.keepAwake.start();
    });
  }

  private finishJob(slot: AgentSlot, run: AgentRun, job: CurrentJob, result: JobResult, at: number): void {
    if (!job.started) this.startJob(slot, run, job, []);
    slot.job = null;
    if (!this.slots.some((s) => s.job !== null)) this.keepAwake.stop();
    slot.snapshot.jobId = null;
    slot.snapshot.jobIdentity = null;
    slot.snapshot.counts[result]++;
    const usage = this.usage.jobFinished(job.id, Math.max(0, at - job.assignedAt));
    const outcome = this.history.finish(job.id, result, at, job.problem, job.stoppedBy, usage);
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
    const running = this.slots.find((slot) => slot.job !== null)?.job?.id ?? null;
    if (this.keeper.setLimit(result.settings.debugKeepJobs, running).length > 0) this.keptEnvsChanged();
    for (const slot of this.slots) {
      if (slot.run) continue;
      slot.snapshot.endpoint = endpointUrlOf(this.settings.current);
      this.agentChanged(slot);
      // New disk limits: a paused agent looks again at once.
      if (slot.held) this.scheduleHoldCheck(slot, 0);
    }
    // "Agents on this machine", the lent GPUs, the limits: the guards and the plan again.
    this.gpu?.configure(this.settings.current, (uuid) => this.agentOfGpu(uuid));
    this.gpusChanged();
    return result;
  }

  private historyChanged(): void {
    this.batcher.pass({ type: "history", history: this.history.list({ limit: SNAPSHOT_HISTORY }) });
  }

  // ---------------------------------------------------------------------------------------------
  // The GPUs, and one agent per GPU

  async getGpus(_params: HostParams<"getGpus"> = {}): Promise<GpuSnapshot> {
    return this.gpuSnapshot();
  }

  async setGpuLent(params: HostParams<"setGpuLent">): Promise<GpuSnapshot> {
    this.assertOpen();
    const known = this.gpu?.gpus ?? [];
    const gpu = known.find((g) => g.uuid === params.uuid);
    if (!gpu) throw new HostError("not-found", `No GPU ${params.uuid} on this machine${known.length > 0 ? ` (it has ${known.map((g) => g.uuid).join(", ")})` : ""}.`);
    const stored = this.settings.current;
    const notLent = params.lent ? stored.gpuNotLent.filter((u) => u !== params.uuid) : [...new Set([...stored.gpuNotLent, params.uuid])];
    const saved = this.settings.setOwn("gpuNotLent", notLent);
    if (!saved.ok) throw new HostError("invalid-request", saved.errors.map((e) => `${e.field}: ${e.message}`).join("; "));
    this.activity("info", params.lent ? `GPU ${gpu.index} is lent again.` : `GPU ${gpu.index} is yours: no job gets it${this.slots.some((s) => s.job !== null && s.plan.gpus.some((g) => g.uuid === params.uuid)) ? " once its running job has finished" : ""}.`);
    this.settingsSaved(saved);
    return this.gpuSnapshot();
  }

  private gpuSnapshot(): GpuSnapshot {
    if (this.gpu === null) return { available: false, vendor: null, reason: "GPU monitoring is off in this app.", install: null, gpus: [], machine: null };
    return this.gpu.snapshot();
  }

  /** Starts the GPU monitor and waits (briefly) for its first reading: the agents' plan needs to know the GPUs. */
  private async startGpus(): Promise<void> {
    this.usage.start();
    if (this.gpu === null) return;
    this.gpu.configure(this.settings.current, (uuid) => this.agentOfGpu(uuid));
    this.gpu.start();
    await this.gpu.ready(GPU_DISCOVERY_MS);
    this.replan();
    if (this.gpu.vendor === "nvidia") this.watchXid();
  }

  /** Xid errors from the kernel log rest their GPU (the guard); where the log cannot be read, the owner hears it once. */
  private watchXid(): void {
    if (this.xid !== null) return;
    let told = false;
    this.xid = new XidWatch(
      (x) => {
        this.activity("warn", `The NVIDIA driver reported Xid error ${x.code} on the GPU at ${x.busId}: it takes no jobs for a while.`);
        this.gpu?.xid(x.busId, x.code, x.at);
      },
      { env: this.env },
    );
    this.xid.start();
    const check = setTimeout(() => {
      if (!told && this.xid?.problem) {
        told = true;
        this.activity("info", `GPU guard: ${this.xid.problem}; the temperature, power and your-own-use guards still work.`);
      }
    }, 2000);
    check.unref?.();
  }

  private agentOfGpu(uuid: string): string | null {
    return this.slots.find((slot) => !slot.retired && slot.plan.gpus.some((g) => g.uuid === uuid))?.plan.id ?? null;
  }

  /** The GPUs changed (found, lost, processes, guards), or their settings did: the windows hear of it, the agents' terms are looked at again. */
  private gpusChanged(): void {
    if (this.gpu === null || this.closing) return;
    // GPUs found after the agents were planned without them (or gone, or lent otherwise): plan again (a no-op when nothing changed).
    this.replan();
    // At most every GPU_EVENT_MS: processes are read every few seconds, guards change on samples.
    if (this.gpuEventTimer) return;
    const wait = Math.max(0, this.gpuEventsAt + GPU_EVENT_MS - Date.now());
    this.gpuEventTimer = setTimeout(() => {
      this.gpuEventTimer = null;
      this.gpuEventsAt = Date.now();
      if (this.closing) return;
      this.batcher.pass({ type: "gpus", gpus: this.gpuSnapshot() });
      this.scheduleLending(0);
    }, wait);
    this.gpuEventTimer.unref?.();
  }

  /**
   * The agents the settings and the GPUs ask for. An agent that stays keeps running; one that goes
   * stops (after its job) and is dropped; a new one starts if the machine is lending (another agent
   * runs or waits for its terms); one whose GPUs changed starts again between jobs.
   */
  private replan(): void {
    if (this.closing) return;
    const gpus = this.gpu?.gpus ?? null;
    const base = this.settings.current.name || hostname();
    const plans = planAgents(this.settings.current, gpus, base);
    const same = plans.length === this.slots.filter((s) => !s.retired).length && plans.every((p, i) => JSON.stringify(p) === JSON.stringify(this.slots.filter((s) => !s.retired)[i]?.plan));
    if (same) return;
    const lending = this.slots.some((slot) => (slot.run?.mode === "semaphore" && !slot.run.stopAsked) || slot.held !== null);
    const next: AgentSlot[] = [];
    const fresh: AgentSlot[] = [];
    for (const plan of plans) {
      const slot = this.slots.find((s) => s.plan.id === plan.id && !s.retired);
      if (!slot) {
        const added = this.newSlot(plan);
        next.push(added);
        fresh.push(added);
        continue;
      }
      const gpusChanged = JSON.stringify(slot.plan.gpus) !== JSON.stringify(plan.gpus) || slot.plan.name !== plan.name;
      slot.plan = plan;
      slot.snapshot.gpus = plan.gpus.map((g) => ({ ...g }));
      if (gpusChanged && slot.run?.mode === "semaphore") {
        slot.relaunch = true;
        if (slot.job === null) this.stopNow(slot, slot.run);
      } else if (gpusChanged && slot.held !== null) {
        // Held: it registers with the new GPUs when it is allowed again.
        slot.held.config = this.configFor(slot);
      }
      next.push(slot);
    }
    for (const slot of this.slots) {
      if (next.includes(slot) || slot.retired) continue;
      slot.retired = true;
      if (slot.held) this.releaseHold(slot);
      if (slot.run && slot.run.mode === "semaphore") {
        if (slot.job === null) this.stopNow(slot, slot.run);
        else this.activity("info", `${slot.plan.name ?? slot.plan.id} stops once its job ${slot.job.id} has finished (its GPU is no longer lent to it).`);
      }
      // Still running (its job, its stop): kept in the list until it has stopped.
      if (slot.run) next.push(slot);
    }
    this.slots = next;
    this.agentsChanged();
    if (lending) for (const slot of fresh) void this.restart(slot);
  }

  /** An agent that left the plan has stopped: it leaves the list. */
  private dropSlot(slot: AgentSlot): void {
    this.slots = this.slots.filter((s) => s !== slot);
    if (this.slots.length === 0) this.slots = [this.newSlot({ id: "main", gpus: [], name: null })];
    this.dirty.delete(slot);
    this.agentsChanged();
  }

  private agentsChanged(): void {
    this.batcher.pass({ type: "agents", agents: this.agentSnapshots });
  }

  /** Bursts of agent changes (a sync, a phase, an error at once) go out as one event per agent; the last state always does. */
  private agentChanged(slot: AgentSlot): void {
    this.dirty.add(slot);
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
    const slots = [...this.dirty];
    this.dirty.clear();
    for (const slot of slots) if (this.slots.includes(slot)) this.batcher.pass({ type: "agent", agent: structuredClone(slot.snapshot) });
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

  /** Why this agent cannot be started now, or null. */
  private startProblem(slot: AgentSlot): HostError | null {
    if (slot.held) return new HostError("invalid-state", `The agent is paused (${slot.snapshot.hold?.reason ?? "not taking jobs"}) and starts again by itself once allowed; Stop it first to start it anew.`);
    if (this.demoTransition) return new HostError("invalid-state", "The local demo is starting or stopping; try again in a moment.");
    const run = slot.run;
    if (!run) return null;
    if (slot.snapshot.stopping) return new HostError("invalid-state", "The agent is still stopping: wait until it has stopped, then start it again.");
    return new HostError("invalid-state", run.mode === "demo" ? "The local demo is running: stop it first." : "The agent is already running.");
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    this.keepAwake.stop();
    if (this.lendingTimer) clearTimeout(this.lendingTimer);
    this.lendingTimer = null;
    if (this.gpuEventTimer) clearTimeout(this.gpuEventTimer);
    this.gpuEventTimer = null;
    for (const slot of this.slots) {
      if (slot.held?.timer) clearTimeout(slot.held.timer);
      slot.held = null;
    }
    this.connectivity?.stop();
    this.connectivity = null;
    // No shell outlives the app.
    await this.terminals.closeAll();
    // Every agent at once, each the spec's way (interrupt, then abort after the timeout).
    await Promise.all(this.slots.map((slot) => (slot.run ? this.stopRun(slot, slot.run, timeoutMs) : Promise.resolve())));
    this.gpu?.stop();
    this.xid?.stop();
    this.usage.stop();
    await this.demo.stop().catch(() => undefined);
    if (this.agentTimer) {
      clearTimeout(this.agentTimer);
      this.agentTimer = null;
    }
    this.emitAgent(); // the final states are never dropped
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
/** The job counts of a run that begins. */
function newRunCounts(): AgentSnapshot["counts"] {
  return { passed: 0, failed: 0, stopped: 0 };
}

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
