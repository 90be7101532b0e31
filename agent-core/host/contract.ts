// The one contract between the app's backend (the host) and its UI. Electron IPC and the web
// console's WebSocket both carry exactly this: requests {id, method, params} validated here, answers
// {id, ok, result | error}, and HostEvents. The renderer imports only this module (zod + types), so it
// cannot tell which bridge it has.
import { z } from "zod";
import type { AgentPhase, ErrorScope, ShutdownReason } from "../agent/events.js";
import type { JobLogEvent, JobResult } from "../job/events.js";
import type { JobIdentity } from "../job/identity.js";
import type { JobPlan } from "../job/plan.js";
import { characterLimitProblem, tooLongMessage } from "../config/text.js";

export type { AgentPhase, ErrorScope, ShutdownReason, JobLogEvent, JobResult, JobIdentity, JobPlan };
// The agent's own steps as its log names them, and how a planned directive matches a logged one.
export {
  CHECK_RESULT_DIRECTIVE,
  ENV_STEP_DIRECTIVE,
  FILES_STEP_DIRECTIVE,
  POST_JOB_HOOK_ALIAS,
  PRE_JOB_HOOK_ALIAS,
  sameDirective,
} from "../job/plan.js";
// Pure helpers the UI shares with the host: how a job's identity reads, its Semaphore link.
export { commitText, IDENTITY_VARIABLES, jobOrigin, jobTitle, semaphoreJobUrl } from "../job/identity.js";

/** IPC channel names (Electron). The only two; nothing else crosses the process boundary. */
export const IPC_CALL_CHANNEL = "semaphore-agent:call";
export const IPC_EVENT_CHANNEL = "semaphore-agent:event";
/** Path of the web console's single WebSocket. */
export const CONSOLE_WS_PATH = "/ws";

/** Live output is flushed to the UI at most this often, or earlier once a batch holds this many bytes. */
export const LIVE_BATCH_INTERVAL_MS = 16;
export const LIVE_BATCH_MAX_BYTES = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Views: what the host tells the UI. Plain JSON, never a secret.

/** Which server the agent talks to: the user's Semaphore organisation, or the embedded local hub. */
export type AgentMode = "semaphore" | "demo";

/** The agent as the UI shows it. `phase: "idle"` = not started (or stopped and exited). */
export interface AgentSnapshot {
  /** Which of the host's agents: "main" (one agent for the machine), or "gpu<index>"/"gpu<i>-<j>" (one per GPU or group). */
  id: string;
  /** The GPUs this agent lends (its jobs get CUDA_VISIBLE_DEVICES=these UUIDs); empty: no GPU assigned. */
  gpus: AgentGpu[];
  phase: AgentPhase | "idle";
  mode: AgentMode;
  /** The name the agent registered with ("" before registration). */
  name: string;
  /** e.g. "https://acme.semaphoreci.com" or "http://127.0.0.1:41234". "" when never configured. */
  endpoint: string;
  /** When the current run of the agent started (epoch ms), for the uptime; null when idle. */
  startedAt: number | null;
  lastSyncAt: number | null;
  nextSyncAt: number | null;
  /** The job being run, or null. */
  jobId: string | null;
  /** Whose job it is (project, branch, commit, author), once its request is known; null otherwise. */
  jobIdentity: JobIdentity | null;
  /** "Stop after current job" was asked and is pending. */
  stopAfterJob: boolean;
  /** A stop was asked (now, or after the job once that job ended); the agent is winding down. */
  stopping: boolean;
  /** The latest error (server's message included), cleared by the next successful sync. */
  error: { scope: ErrorScope; message: string; at: number; retryAt: number | null } | null;
  /** How the last run of the agent ended, or null when it never ran or still runs. */
  lastExit: { reason: ShutdownReason; exitCode: number; at: number; message: string } | null;
  /** Jobs finished in the agent's current (or last) run, by result: since the owner's Start, or the demo's. */
  counts: { passed: number; failed: number; stopped: number };
  /** Where and how the running agent's jobs run; null when no agent runs. */
  sandbox: SandboxStatus | null;
  /** The disk guard, when it is not happy (low: no new jobs; critical: a running job is stopped); null otherwise. */
  disk: DiskView | null;
  /**
   * The agent is paused by the app (the disk guard drained it) and starts again by itself once the
   * reason is gone. `phase` is "idle" meanwhile; Stop cancels it.
   */
  hold: { kind: PauseKind; reason: string; since: number; next: string | null; until: number | null } | null;
  /** The owner's terms: what holds the agent or may soon, in one line, and the owner's own controls. */
  lending: LendingState;
}

/** What this machine has given, from the jobs in the history (Semaphore jobs; the demo's are left out). */
/** A GPU an agent lends. */
export interface AgentGpu {
  uuid: string;
  index: number;
  name: string | null;
}

export interface GivenSummary {
  /** GPU time the jobs held (Σ over jobs of wall time × GPUs they used). */
  gpuHours: number;
  /** Energy the GPUs drew for the jobs, Wh (integrated power.draw). */
  energyWh: number;
  jobs: number;
  /** Hours of job time (finished jobs' durations). */
  hours: number;
  /** Oldest job counted (epoch ms), null with none: the history keeps only so many jobs. */
  since: number | null;
  /** Most hours first; jobs without a project name are under "(no project)". */
  byProject: { project: string; jobs: number; hours: number }[];
}

/** Why the agent does not take jobs (the lending policy's conditions, in the order they are checked). */
export type PauseKind = "paused" | "snoozed" | "schedule" | "battery" | "idle" | "load" | "gpu" | "disk" | "breaker";

export interface LendingState {
  /** "Lending this machine", "Paused — you are using the computer (resumes after 5 min idle)", … */
  line: string;
  /** The condition that holds the agent now (null: lending), even while a running job finishes first. */
  kind: PauseKind | null;
  /** Paused by hand (Pause, or a finished "Finish current job, then pause"). */
  pausedByHand: boolean;
  /** "Finish current job, then pause" is waiting for the job to end (Resume cancels it). */
  pauseAfterJob: boolean;
  /** Snoozed until (epoch ms). */
  snoozedUntil: number | null;
  /** A condition started while a job runs: it finishes first ("finish"), or is being stopped ("stop"). */
  pending: "finish" | "stop" | null;
  /** Said beside the line: idle detection unavailable, … */
  note: string | null;
}

/** The sandbox level in force for jobs, and why it is not the one asked for. */
export interface SandboxStatus {
  requested: "none" | "strict";
  level: "none" | "strict";
  /** Said wherever the level is shown when it differs from what was asked (bubblewrap missing: the install command). */
  notice: string | null;
  /** The command that installs bubblewrap here, when that is what is missing. */
  install: string | null;
  /** The job's HOME and starting folder. */
  jobHome: string;
  /** Whether the job home is the app's private one (then cleaned after each job per `workspace`). */
  privateHome: boolean;
  workspace: "clean" | "keep";
}

/** The disk guard's reading: each filesystem it watches, and what of ours uses space. */
export interface DiskView {
  state: "ok" | "low" | "critical";
  reason: string | null;
  checkedAt: number;
  spaces: { label: string; path: string; freeBytes: number; totalBytes: number; thresholdBytes: number }[];
  /** What here uses space (job home, history, kept env files, toolbox); null while it is being measured. */
  usage: { label: string; path: string; bytes: number }[] | null;
}

/** The agent before it ever ran: the host's starting point, and a base for tests. */
export function idleAgentSnapshot(patch: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return {
    id: "main",
    gpus: [],
    phase: "idle",
    mode: "semaphore",
    name: "",
    endpoint: "",
    startedAt: null,
    lastSyncAt: null,
    nextSyncAt: null,
    jobId: null,
    jobIdentity: null,
    stopAfterJob: false,
    stopping: false,
    error: null,
    lastExit: null,
    counts: { passed: 0, failed: 0, stopped: 0 },
    sandbox: null,
    disk: null,
    hold: null,
    lending: { line: "Lending this machine", kind: null, pausedByHand: false, pauseAfterJob: false, snoozedUntil: null, pending: null, note: null },
    ...patch,
  };
}

/** The tray icon's states (electron/). Derived, never stored. */
export type TrayState = "stopped" | "waiting" | "running" | "stopping" | "error";

/** Not running: never started, or its last run has ended. */
export function isAgentIdle(agent: AgentSnapshot): boolean {
  return agent.phase === "idle" || agent.phase === "stopped";
}

export function trayStateOf(agent: AgentSnapshot): TrayState {
  if (agent.stopping || agent.phase === "shutting-down") return "stopping";
  if (isAgentIdle(agent)) {
    return agent.lastExit !== null && agent.lastExit.exitCode !== 0 ? "error" : "stopped";
  }
  if (agent.error !== null) return "error";
  if (agent.jobId !== null || agent.phase === "starting-job" || agent.phase === "running-job" || agent.phase === "stopping-job") {
    return "running";
  }
  return "waiting";
}

/** A job's result in the history: the agent's result, "running", or "lost" (the app died mid-job). */
export type HistoryResult = JobResult | "running" | "lost";
export const HISTORY_RESULTS = ["passed", "failed", "stopped", "running", "lost"] as const;

export interface JobSummary {
  id: string;
  mode: AgentMode;
  result: HistoryResult;
  startedAt: number;
  finishedAt: number | null;
  durationMs: number | null;
  /** Number of job log events stored locally. */
  events: number;
  /** Bytes of the local log (the JSON lines of the events). */
  bytes: number;
  /** Whose job it was: project, job name, branch, commit, author; null when the job named none. */
  identity: JobIdentity | null;
  /**
   * Why the job could not run at all (the agent rejected its payload, or could not fetch it), naming
   * the field; such a job has no log events (spec §3.5). Null otherwise.
   */
  problem: string | null;
  /**
   * Who stopped the job while it ran, in words (JobStop.by): Semaphore, the owner, a lending
   * condition, the disk guard; set once the stop is asked. Null otherwise (older entries: only the agent's own stops).
   */
  stoppedBy: string | null;
  /** Which of the host's agents ran it (AgentSnapshot.id) and under what name; null in entries older than the field. */
  agentId: string | null;
  agentName: string | null;
  /** What the job used, measured while it ran; null while it runs, and for jobs that never ran. */
  usage: JobUsage | null;
}

/** What a job used: its process tree's CPU and memory, and each GPU it held. */
export interface JobUsage {
  wallMs: number;
  /** CPU time of the job's process tree (user + system), ms; null where it cannot be read (not Linux). */
  cpuMs: number | null;
  /** The most resident memory the tree held at once, bytes; null where it cannot be read. */
  peakRssBytes: number | null;
  gpus: JobGpuUsage[];
}

export interface JobGpuUsage {
  uuid: string;
  index: number | null;
  name: string | null;
  /** MiB, the most the job's processes held at once on this GPU. */
  peakMemoryMiB: number;
  /** %, the GPU's mean utilisation while the job held it; null: not reported. */
  meanUtilization: number | null;
  /** Wh drawn by the GPU while the job held it (integrated power.draw). */
  energyWh: number;
}

// ---------------------------------------------------------------------------------------------
// GPUs

/** One GPU's series for the last 10 minutes, column-wise (uPlot's data layout); null: not reported. */
export interface GpuSeries {
  /** Epoch ms of each sample. */
  at: number[];
  utilization: (number | null)[];
  memoryUsedMiB: (number | null)[];
  temperatureC: (number | null)[];
  powerW: (number | null)[];
}

export interface GpuProcessView {
  pid: number;
  name: string;
  usedMemoryMiB: number | null;
  /** The job the process belongs to; null: the owner's ("yours"). */
  jobId: string | null;
}

export interface GpuView {
  uuid: string;
  index: number;
  name: string | null;
  busId: string | null;
  vendor: "nvidia" | "amd";
  memoryTotalMiB: number | null;
  powerLimitW: number | null;
  /** The owner lends this GPU (Settings / the panel's toggle). */
  lent: boolean;
  /** The agent that lends it (AgentSnapshot.id); null: not lent, or no agent set up for it. */
  agentId: string | null;
  /** Why jobs are not accepted on it now (too hot, over the power limit, an Xid error, the owner's own use); null: fine. */
  guard: { kind: "temperature" | "power" | "xid" | "owner"; reason: string } | null;
  series: GpuSeries;
  processes: GpuProcessView[];
}

export interface MachineUsage {
  at: number;
  /** % of the whole machine; null until two readings exist. */
  cpuPercent: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
}

export interface GpuSnapshot {
  /** false: no GPU tool works here; `reason` says why, `install` what to install. */
  available: boolean;
  vendor: "nvidia" | "amd" | null;
  reason: string | null;
  install: string | null;
  gpus: GpuView[];
  machine: MachineUsage | null;
}

/** One new sample of every GPU (appended to the series by the UI, which keeps 10 minutes). */
export interface GpuTick {
  at: number;
  gpus: { uuid: string; utilization: number | null; memoryUsedMiB: number | null; temperatureC: number | null; powerW: number | null }[];
  machine: MachineUsage | null;
}

export const GPU_HISTORY_MS = 10 * 60_000;

/** Which jobs listJobs returns: by result, project name, branch, or a free-text search of the identity. */
export interface HistoryQuery {
  result?: HistoryResult;
  agentId?: string;
  project?: string;
  branch?: string;
  search?: string;
  limit?: number;
}

export interface JobDetail {
  summary: JobSummary;
  /** Names of the job's environment variables (spec §4): values are never sent to the UI. */
  envVarNames: string[];
  /**
   * What the job was asked to run: the directives of its commands and epilogues (never an env value
   * or a file). Null for a job recorded before plans were kept, one whose request was never read, or
   * one with too many commands to keep.
   */
  plan: JobPlan | null;
  /** The stop of the job while it ran (who, and where in its log); null when nobody stopped it. */
  stop: JobStop | null;
}

/** A stop of a running job: who asked for it, and how far the job's log was then. */
export interface JobStop {
  /**
   * In words, as JobSummary.stoppedBy: "Stopped by Semaphore", "Stopped by you", "Stopped by you:
   * paused", "Stopped: <a lending condition>", "Stopped by the disk guard: <why>".
   */
  by: string;
  /** Number of the job's log events logged when the stop was asked: the command running then is the one it ended. */
  atEvent: number;
}

/** One page of a job's stored log. `events[i]` is event number `from + i`. */
export interface JobLogPage {
  jobId: string;
  from: number;
  events: JobLogEvent[];
  /** Index of the event after this page. */
  next: number;
  /** True when `next` is the end of the log and the job is finished. */
  done: boolean;
}

export interface EnvVarEntry {
  name: string;
  value: string;
}

/** Settings as stored and shown. The registration token is never in here: only whether one is set. */
export interface SettingsView {
  /** The organisation's host, e.g. "acme.semaphoreci.com" (config key `endpoint`). */
  endpoint: string;
  tokenSet: boolean;
  /** Where the token lives: encrypted by the OS keychain (Electron safeStorage) or a 0600 file. */
  tokenStorage: "safe-storage" | "file";
  name: string;
  noHttps: boolean;
  envVars: EnvVarEntry[];
  /** `SRC:DEST` pairs (config key `files`). */
  files: string[];
  preJobHookPath: string;
  postJobHookPath: string;
  shutdownHookPath: string;
  failOnPreJobHookError: boolean;
  sourcePreJobHook: boolean;
  uploadJobLogs: "never" | "always" | "when-trimmed";
  disconnectAfterJob: boolean;
  /** Seconds; 0 = never. */
  disconnectAfterIdleTimeout: number;
  /** Seconds. */
  interruptionGracePeriod: number;
  /** History retention. */
  historyMaxJobs: number;
  historyMaxMegabytes: number;
  /** Debug terminals: keep a private copy of the env files of this many most recent jobs (0 = none). */
  debugKeepJobs: number;
  /** Where jobs run: the sandbox asked for (the host falls back to none, saying so, where strict cannot run). */
  sandbox: "none" | "strict";
  /** The private job home after each job: cleaned (but `.toolbox` and the keep-list) or kept. */
  jobHomeCleanup: "clean" | "keep";
  /** Paths relative to the job home that cleaning keeps (caches). */
  jobHomeKeep: string[];
  /** Pass the docker socket into strict jobs (gives them root on the machine). */
  sandboxAllowDocker: boolean;
  /** Extra host paths strict jobs see, read-only and read-write (absolute). */
  sandboxReadOnlyPaths: string[];
  sandboxReadWritePaths: string[];
  /** The disk guard: no new jobs below the smaller of these (0: that limit off); running jobs stop below the floor. */
  diskMinFreeGb: number;
  diskMinFreePercent: number;
  diskHardFloorGb: number;
  /** When to lend this machine: the weekly schedule (null: any time), battery, idle, the owner's load. */
  lendSchedule: { days: number[][] } | null;
  lendOnBattery: boolean;
  /** Only after this many minutes without input (0: whether or not the computer is in use). */
  lendIdleMinutes: number;
  /** Not while the owner's own programs use more than this % of the CPU (0: off). */
  lendOwnerCpuPercent: number;
  /** What a running job does when a condition starts. */
  lendOnRunningJob: { schedule: "finish" | "stop"; battery: "finish" | "stop"; idle: "finish" | "stop"; load: "finish" | "stop" };
  /** Pause after this many jobs in a row fail before their first command finished (0: never). */
  breakerJobs: number;
  /** Desktop notifications: a job passed, failed or was stopped; the agent cannot connect; lending paused or resumed. */
  notifyJobs: boolean;
  notifyConnection: boolean;
  notifyPauses: boolean;
  /** The desktop app starts at login (macOS/Windows login item, Linux XDG autostart); the console uses --install-service. */
  startAtLogin: boolean;
  /** Agents on this machine: one for all lent GPUs (default), one per lent GPU, or one per group of GPUs. */
  gpuAgents: "one" | "per-gpu" | "groups";
  /** With "groups": the groups, each a list of GPU UUIDs (a lent GPU in no group gets an agent of its own). */
  gpuGroups: string[][];
  /** GPUs the owner keeps for themselves (UUIDs): no agent gets them, and no job sees them. */
  gpuNotLent: string[];
  /** Stop accepting jobs on a GPU at or above this temperature, °C (0: no limit); resume 5 °C below. */
  gpuMaxTemperatureC: number;
  /** Stop accepting jobs on a GPU drawing at or above this power, W (0: no limit). */
  gpuMaxPowerW: number;
  /** The owner's own compute processes on a lent GPU pause that GPU's agent. */
  gpuOwnerUsePauses: boolean;
  /** True once endpoint and token are set: the first-run setup is done. */
  configured: boolean;
}

export interface ExampleJob {
  id: string;
  title: string;
  description: string;
}

export interface DemoSnapshot {
  running: boolean;
  /** The embedded hub's URL while running. */
  hubUrl: string | null;
  examples: ExampleJob[];
}

/** One row of the toolbox table (the seed's "Supported toolbox features", for this machine). */
export interface ToolboxFeatureView {
  id: "cache" | "artifacts" | "test-results" | "checkout" | "debug" | "sem-version" | "sem-service";
  name: string;
  /** What Semaphore supports on self-hosted agents. */
  selfHosted: "yes" | "optional" | "no";
  works: boolean;
  detail: string;
  /** The exact fix for what is missing, or null. */
  fix: string | null;
}

/** Semaphore's toolbox on this machine (checkout, cache, artifact, test-results), and an install in progress. */
export interface ToolboxView {
  installed: boolean;
  version: string | null;
  /** Where the jobs find it: `~/.toolbox` of the job's HOME. */
  path: string;
  installedAt: string | null;
  features: ToolboxFeatureView[];
  install: {
    running: boolean;
    phase: "download" | "checksum" | "extract" | "install" | null;
    receivedBytes: number;
    totalBytes: number | null;
    /** The last install's error, in words naming the URL; null after a success. */
    error: string | null;
    /** What the last successful install verified, e.g. "sha256 matches checksums.txt". */
    verified: string | null;
  };
}

/** Everything the UI needs to draw itself after a (re)load. */
export interface HostSnapshot {
  /** The first of `agents` (the one agent, when the machine has one). */
  agent: AgentSnapshot;
  /** Every agent of this machine: one, or one per lent GPU or group of GPUs. */
  agents: AgentSnapshot[];
  settings: SettingsView;
  demo: DemoSnapshot;
  /** The newest jobs, newest first (at most 200). */
  history: JobSummary[];
  /** The running job, if any; its log so far is read with readJobLog. */
  currentJob: JobDetail | null;
  version: string;
}

// ---------------------------------------------------------------------------------------------
// Debug terminals (spec §6): a shell in a job's environment, on the host's machine.

/**
 * Where a debug shell gets the job's variables: "running" = the job's own `.env-*` files in TMPDIR
 * (the job is still running), "kept" = the app's private copy of them, kept after the job ended.
 */
export type DebugEnvSource = "running" | "kept";

/** Whether (and how) a debug terminal can be opened for a job, and how to do the same by hand. */
export interface DebugInfo {
  jobId: string;
  available: boolean;
  source: DebugEnvSource | null;
  /** Why no terminal can be opened (no env file written yet, not kept, forgotten); null when available. */
  reason: string | null;
  /** The files a debug shell sources, in this order (absolute paths). */
  envFiles: string[];
  /** The user the agent (and so the job and the debug shell) runs as. */
  user: string;
  /** Where the job starts (the agent's HOME): the debug shell's working directory. */
  home: string;
  /** The shell a debug terminal runs (the user's login shell, or bash when that cannot source the files). */
  shell: string;
  /** The sandbox the job ran in, and so the debug terminal opens in. */
  sandbox: "none" | "strict";
  /** The manual equivalent, one shell command per entry, for people who prefer their own terminal. */
  manual: string[];
  /** When the private copy was made (epoch ms) for source "kept"; null otherwise. */
  keptAt: number | null;
}

/** A job whose env files the app keeps for debugging. */
export interface KeptEnvSummary {
  jobId: string;
  keptAt: number;
  files: number;
}

/** A debug terminal that was opened. Its output arrives as terminal-output events to this client only. */
export interface TerminalInfo {
  terminalId: string;
  jobId: string;
  /** The shell's process id (the PTY's child). */
  pid: number;
  source: DebugEnvSource;
  shell: string;
  envFiles: string[];
  home: string;
  cols: number;
  rows: number;
  /** Whether the shell runs in the job's strict sandbox. */
  sandbox: "none" | "strict";
}

/**
 * Terminal output flow control: the host pauses reading a terminal's PTY once this many characters
 * (UTF-16 code units of the `data` strings) are sent but not acknowledged, and resumes below
 * TERMINAL_LOW_WATER. The UI acknowledges what its terminal has parsed (xterm's write callback), in
 * batches of about TERMINAL_ACK_CHARS, so a flood such as `yes` can neither freeze the page nor
 * grow memory on either side.
 */
export const TERMINAL_HIGH_WATER = 512 * 1024;
export const TERMINAL_LOW_WATER = 128 * 1024;
export const TERMINAL_ACK_CHARS = 64 * 1024;
/** Output of one terminal is sent at most this often, or earlier at this many characters. */
export const TERMINAL_BATCH_MS = 8;
export const TERMINAL_BATCH_CHARS = 64 * 1024;
/** Terminals one window or browser tab may have open at once. */
export const MAX_TERMINALS_PER_CLIENT = 8;

/** A field-level problem; `field` is a SettingsInput key, e.g. "endpoint" or "envVars[2].name". */
export interface FieldError {
  field: string;
  message: string;
}

export type SaveSettingsResult = { ok: true; settings: SettingsView } | { ok: false; errors: FieldError[] };

// ---------------------------------------------------------------------------------------------
// Requests: every command the UI can send, with its parameters' schema.

const jobId = z.string().min(1).max(200);
/**
 * Text of at most `max` characters as a person counts them (agent-core/config/text.ts: "é" or an emoji
 * is one), and its message says so. zod's own .max() counts UTF-16 code units; it stays only as a
 * bound on the size (8 per character) so that a huge string is refused before it is counted.
 * Declared free of side effects, so that the preload's bundle (which uses no schema) drops its calls.
 */
const characters = /* @__NO_SIDE_EFFECTS__ */ (max: number) =>
  z
    .string()
    .max(8 * max, tooLongMessage(max))
    .refine((text) => characterLimitProblem(text, max) === null, { error: (issue) => characterLimitProblem(String(issue.input), max) ?? tooLongMessage(max) });
const shortText = characters(4096);
const seconds = z.number().int().min(0).max(10 * 365 * 24 * 3600);

const gpuUuid = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{2,99}$/, "expected a GPU UUID like GPU-5c3f0000-1b2c-4d5e-8f90-aaaaaaaaaaa0");

export const SettingsInputSchema = z.strictObject({
  endpoint: shortText,
  /** New registration token; omit (or "") to keep the stored one. */
  token: z.optional(characters(4096)),
  name: shortText,
  noHttps: z.boolean(),
  envVars: z.array(z.strictObject({ name: shortText, value: characters(65536) })).max(1000),
  files: z.array(shortText).max(1000),
  preJobHookPath: shortText,
  postJobHookPath: shortText,
  shutdownHookPath: shortText,
  failOnPreJobHookError: z.boolean(),
  sourcePreJobHook: z.boolean(),
  uploadJobLogs: z.enum(["never", "always", "when-trimmed"]),
  disconnectAfterJob: z.boolean(),
  disconnectAfterIdleTimeout: seconds,
  interruptionGracePeriod: seconds,
  historyMaxJobs: z.number().int().min(1).max(100_000),
  historyMaxMegabytes: z.number().int().min(1).max(1_000_000),
  /** Omit to keep the stored value. */
  debugKeepJobs: z.number().int().min(0).max(1000).optional(),
  // Where jobs run and the disk guard (each: omit to keep the stored value).
  sandbox: z.enum(["none", "strict"]).optional(),
  jobHomeCleanup: z.enum(["clean", "keep"]).optional(),
  jobHomeKeep: z.array(shortText).max(100).optional(),
  sandboxAllowDocker: z.boolean().optional(),
  sandboxReadOnlyPaths: z.array(shortText).max(100).optional(),
  sandboxReadWritePaths: z.array(shortText).max(100).optional(),
  diskMinFreeGb: z.number().int().min(0).max(1_000_000_000).optional(),
  diskMinFreePercent: z.number().int().min(0).max(100).optional(),
  diskHardFloorGb: z.number().int().min(0).max(1_000_000_000).optional(),
  // When to lend this machine (each: omit to keep the stored value).
  lendSchedule: z
    .strictObject({ days: z.array(z.array(z.number().int().min(0).max(23)).max(24)).length(7) })
    .nullable()
    .optional(),
  lendOnBattery: z.boolean().optional(),
  lendIdleMinutes: z.number().int().min(0).max(24 * 60).optional(),
  lendOwnerCpuPercent: z.number().int().min(0).max(100).optional(),
  lendOnRunningJob: z
    .strictObject({ schedule: z.enum(["finish", "stop"]), battery: z.enum(["finish", "stop"]), idle: z.enum(["finish", "stop"]), load: z.enum(["finish", "stop"]) })
    .optional(),
  breakerJobs: z.number().int().min(0).max(1000).optional(),
  notifyJobs: z.boolean().optional(),
  notifyConnection: z.boolean().optional(),
  notifyPauses: z.boolean().optional(),
  startAtLogin: z.boolean().optional(),
  gpuAgents: z.enum(["one", "per-gpu", "groups"]).optional(),
  gpuGroups: z.array(z.array(gpuUuid).min(1).max(64)).max(64).optional(),
  gpuNotLent: z.array(gpuUuid).max(64).optional(),
  gpuMaxTemperatureC: z.number().int().min(0).max(150).optional(),
  gpuMaxPowerW: z.number().int().min(0).max(10_000).optional(),
  gpuOwnerUsePauses: z.boolean().optional(),
});
export type SettingsInput = z.infer<typeof SettingsInputSchema>;

const noParams = z.strictObject({});
// Built from z in one chain (not `agentId.optional()`): the preload's bundle drops what it does not use only then.
const agentId = z
  .string()
  .regex(/^(main|gpu\d+(-\d+)*)$/, 'expected an agent id ("main", "gpu0", "gpu0-1")')
  .optional();
const terminalId = z.string().regex(/^[0-9a-f]{32}$/, "expected a terminal id (32 hex digits)");
const terminalCols = z.number().int().min(2).max(1000);
const terminalRows = z.number().int().min(1).max(500);

/** Parameters of each HostApi method. The keys are the method names. */
export const HostRequestParams = {
  getSnapshot: noParams,
  /** Start the agents with the saved settings (mode "semaphore"): all of them, or the one named. */
  startAgent: z.strictObject({ agentId }),
  /** The agent cannot reach the server: try again now instead of at the next retry time. */
  retryNow: z.strictObject({ agentId }),
  /** "now": interrupt (spec §3.3: the server stops a running job after the grace period). "after-job": once the running job ends. All agents, or the one named. */
  stopAgent: z.strictObject({ when: z.enum(["now", "after-job"]), agentId }),
  /** Stop taking jobs until Resume. "now": a running job is stopped; "after-job": it finishes first (Resume undoes it meanwhile). All agents, or the one named. */
  pause: z.strictObject({ when: z.enum(["now", "after-job"]), agentId }),
  /** Ends a pause by hand, a snooze, a pending "after-job" pause and a tripped circuit breaker (all agents, or the one named). */
  resume: z.strictObject({ agentId }),
  /** No jobs until this time (epoch ms, within a year). A running job finishes first. All agents, or the one named. */
  snooze: z.strictObject({ until: z.number().int().min(0), agentId }),
  /** Stops the running job here, as a stop from Semaphore would; its agent goes on taking jobs. */
  stopJob: z.strictObject({ jobId }),
  /** "This machine has given": jobs run, hours of job time, GPU-hours and energy, per project, from the history (demo jobs left out). */
  getGiven: noParams,
  /** The GPUs: discovery, the last 10 minutes of samples, their processes, lent or not, their guards. */
  getGpus: noParams,
  /** Lend this GPU, or keep it (saved in Settings as gpuNotLent); the agents are set up again between jobs. */
  setGpuLent: z.strictObject({ uuid: gpuUuid, lent: z.boolean() }),
  getSettings: noParams,
  saveSettings: z.strictObject({ settings: SettingsInputSchema }),
  /** Replace the settings with an official config.yaml's (validated, then saved). */
  importConfig: z.strictObject({ yaml: z.string().max(1024 * 1024) }),
  /** The settings as an official config.yaml; the token is left out. */
  exportConfig: noParams,
  listJobs: z.strictObject({
    result: z.enum(HISTORY_RESULTS).optional(),
    /** Run by this agent (AgentSnapshot.id). */
    agentId,
    /** Exactly this SEMAPHORE_PROJECT_NAME. */
    project: z.string().min(1).max(200).optional(),
    /** Exactly this SEMAPHORE_GIT_BRANCH. */
    branch: z.string().min(1).max(200).optional(),
    /** Any identity value (project, job, branch, tag, PR, commit, people) or the job id containing this text. */
    search: z.string().max(200).optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  }),
  getJob: z.strictObject({ jobId }),
  readJobLog: z.strictObject({
    jobId,
    from: z.number().int().min(0),
    /** Stop adding events to the page once it holds this many bytes of output (default 1 MiB). */
    maxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).optional(),
  }),
  /** Start the embedded local hub and an agent connected to it (the "Local demo"). */
  startDemo: noParams,
  stopDemo: noParams,
  /** Schedule one of the shipped example jobs at the embedded hub; returns its job id. */
  runExample: z.strictObject({ exampleId: z.string().min(1).max(100) }),
  /** Whether a debug terminal can be opened for the job, and the manual equivalent. */
  getDebugInfo: z.strictObject({ jobId }),
  /** The jobs whose env files are kept for debugging, newest first. */
  listKeptEnvs: noParams,
  /** Deletes the kept copy of a job's env files (its open terminals keep running). */
  forgetJobEnv: z.strictObject({ jobId }),
  /** The toolbox table for this machine (reads the disk and PATH anew). */
  getToolbox: noParams,
  /** The sandbox the saved settings give (bubblewrap checked anew), whether or not the agent runs. */
  getSandbox: noParams,
  /** Install or update the toolbox (latest, or `version`); progress arrives as toolbox events. */
  installToolbox: z.strictObject({ version: z.string().regex(/^v\d+\.\d+\.\d+$/, "expected a version like v1.20.5").optional() }),
  /** Opens a debug shell in the job's environment, owned by this window or tab. */
  openTerminal: z.strictObject({ jobId, cols: terminalCols, rows: terminalRows }),
  /** Keystrokes or pasted text. */
  terminalInput: z.strictObject({ terminalId, data: z.string().min(1).max(64 * 1024) }),
  resizeTerminal: z.strictObject({ terminalId, cols: terminalCols, rows: terminalRows }),
  /** `chars` more characters of output were parsed by the UI (see TERMINAL_HIGH_WATER). */
  ackTerminal: z.strictObject({ terminalId, chars: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }),
  /** Kills the shell and everything it started. */
  closeTerminal: z.strictObject({ terminalId }),
} as const;

export type HostMethod = keyof typeof HostRequestParams;
export const HOST_METHODS = Object.keys(HostRequestParams) as HostMethod[];
export type HostParams<M extends HostMethod> = z.infer<(typeof HostRequestParams)[M]>;

export interface HostResults {
  getSnapshot: HostSnapshot;
  startAgent: AgentSnapshot;
  retryNow: AgentSnapshot;
  stopAgent: AgentSnapshot;
  pause: AgentSnapshot;
  resume: AgentSnapshot;
  snooze: AgentSnapshot;
  stopJob: AgentSnapshot;
  getGiven: GivenSummary;
  getGpus: GpuSnapshot;
  setGpuLent: GpuSnapshot;
  getSettings: SettingsView;
  saveSettings: SaveSettingsResult;
  importConfig: SaveSettingsResult;
  exportConfig: { yaml: string };
  listJobs: JobSummary[];
  getJob: JobDetail;
  readJobLog: JobLogPage;
  startDemo: DemoSnapshot;
  stopDemo: DemoSnapshot;
  runExample: { jobId: string };
  getDebugInfo: DebugInfo;
  listKeptEnvs: KeptEnvSummary[];
  forgetJobEnv: { forgotten: boolean };
  getToolbox: ToolboxView;
  getSandbox: SandboxStatus;
  installToolbox: ToolboxView;
  openTerminal: TerminalInfo;
  terminalInput: { ok: true };
  resizeTerminal: { ok: true };
  ackTerminal: { ok: true };
  closeTerminal: { closed: boolean };
}

/** The host's commands. Implemented by agent-core/host; called by the renderer through a bridge. */
export type HostApi = { [M in HostMethod]: (params: HostParams<M>) => Promise<HostResults[M]> };

/** The commands that act on a debug terminal: they belong to the window or tab that opened it. */
export const TERMINAL_METHODS = ["openTerminal", "terminalInput", "resizeTerminal", "ackTerminal", "closeTerminal"] as const satisfies readonly HostMethod[];
export type TerminalMethod = (typeof TERMINAL_METHODS)[number];

/**
 * One window (Electron webContents) or browser tab (console WebSocket) as the host sees it: the
 * whole HostApi, with the terminals it opens owned by it. Its terminal events go to the `sink` it
 * was connected with; everything else is broadcast through subscribe(). dispose() (the window
 * closed, the socket dropped, the page reloaded) kills its terminals.
 */
export interface HostClient extends HostApi {
  dispose(): void;
}

/** What a bridge needs of the host. */
export interface HostHub {
  subscribe(listener: HostEventListener): () => void;
  connect(sink: (event: HostEvent) => void): HostClient;
}

// ---------------------------------------------------------------------------------------------
// Events: what the host pushes. Job output arrives batched (LIVE_BATCH_*).

export type HostEvent =
  | { type: "agent"; agent: AgentSnapshot }
  | { type: "settings"; settings: SettingsView }
  | { type: "demo"; demo: DemoSnapshot }
  | { type: "job-started"; job: JobDetail }
  /** Events number `from` .. `from + events.length - 1` of the job's log. A gap means some were not sent live: read them with readJobLog. */
  | {
      type: "job-output";
      jobId: string;
      from: number;
      events: JobLogEvent[];
      /**
       * Output that follows these events, read from the PTY but not yet in an event: spec §5.4 holds
       * short output up to 100 ms (a trickle up to 1 s) before it becomes a cmd_output. Show it at
       * once; the cmd_output events that come next repeat it, and the UI skips what it showed.
       */
      preview?: string;
    }
  /** A stop of the running job was asked (by Semaphore, the owner, a lending condition, the disk guard): its detail now carries `stop`. */
  | { type: "job-stopping"; job: JobDetail }
  | { type: "job-finished"; job: JobSummary }
  /** The history index changed otherwise (retention removed jobs). */
  | { type: "history"; history: JobSummary[] }
  /** The set of agents changed (Settings "Agents on this machine", a GPU lent or taken back): the whole list. */
  | { type: "agents"; agents: AgentSnapshot[] }
  /** The GPUs changed otherwise than by a sample (found, lost, lent, a guard, their processes): the whole view. */
  | { type: "gpus"; gpus: GpuSnapshot }
  /** A sample of every GPU, about once a second while any window listens. */
  | { type: "gpu-tick"; tick: GpuTick }
  /** A line for the activity feed (agent log lines and errors). Never contains a token. */
  | { type: "activity"; at: number; level: "info" | "warn" | "error"; message: string }
  /** The set of jobs with kept env files changed (a job ended, retention, forget). */
  | { type: "kept-envs"; jobs: KeptEnvSummary[] }
  /** The toolbox changed, or an install made progress. */
  | { type: "toolbox"; toolbox: ToolboxView }
  /** Output of a debug terminal: only to the window or tab that opened it; acknowledge with ackTerminal. */
  | { type: "terminal-output"; terminalId: string; data: string }
  /** The debug shell ended (exit, closeTerminal, its owner went away, the app quits). */
  | { type: "terminal-exit"; terminalId: string; exitCode: number | null; signal: number | null };

export type HostEventListener = (event: HostEvent) => void;

/** The global the Electron preload defines in the page (contextBridge.exposeInMainWorld). */
export const PRELOAD_GLOBAL = "semaphoreAgent";

/** Exactly what the preload exposes: one call channel and one event channel. */
export interface PreloadApi {
  call(request: RequestMessage): Promise<ResponseMessage>;
  onEvent(listener: (event: HostEvent) => void): () => void;
}

/** What a bridge gives the renderer: the API plus a subscription to events. */
export interface Bridge {
  api: HostApi;
  subscribe(listener: HostEventListener): () => void;
  /** "electron" or "console"; informational only. */
  kind: "electron" | "console";
}

// ---------------------------------------------------------------------------------------------
// Wire messages (both bridges). Requests are validated on the host's side of every bridge.

export const RequestMessageSchema = z.strictObject({
  id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  method: z.enum(HOST_METHODS as [HostMethod, ...HostMethod[]]),
  params: z.unknown().optional(),
});

export type RequestMessage = { id: number; method: HostMethod; params: unknown };

export interface HostErrorBody {
  /** "invalid-request" (schema), "invalid-state" (e.g. start while running), "not-found", "internal". */
  code: "invalid-request" | "invalid-state" | "not-found" | "internal";
  message: string;
}

/** An answer to request `id`; `id` is null only for an error about a message that had no usable id. */
export type ResponseMessage =
  | { kind: "response"; id: number; ok: true; result: unknown }
  | { kind: "response"; id: number | null; ok: false; error: HostErrorBody };

export type ServerMessage = ResponseMessage | { kind: "event"; event: HostEvent };

/** An error the host throws on purpose; its code and message go to the UI as they are. */
export class HostError extends Error {
  override readonly name = "HostError";
  constructor(
    readonly code: HostErrorBody["code"],
    message: string,
  ) {
    super(message);
  }
}

export type ParsedRequest =
  | { ok: true; id: number; method: HostMethod; params: HostParams<HostMethod> }
  | { ok: false; id: number | null; error: HostErrorBody };

/**
 * Validates one request from the UI: the envelope, the method name and that method's parameters.
 * The error message names the offending field, e.g. `params.from: Too small: expected number to be >=0`.
 */
export function parseRequest(raw: unknown): ParsedRequest {
  const envelope = RequestMessageSchema.safeParse(raw);
  if (!envelope.success) {
    const id = typeof raw === "object" && raw !== null && Number.isSafeInteger((raw as { id?: unknown }).id) ? ((raw as { id: number }).id) : null;
    return { ok: false, id: id !== null && id >= 0 ? id : null, error: { code: "invalid-request", message: describeIssues(envelope.error, "") } };
  }
  const { id, method, params } = envelope.data;
  const parsed = HostRequestParams[method].safeParse(params ?? {});
  if (!parsed.success) {
    return { ok: false, id, error: { code: "invalid-request", message: `${method}: ${describeIssues(parsed.error, "params")}` } };
  }
  return { ok: true, id, method, params: parsed.data as HostParams<HostMethod> };
}

/** Dispatches a parsed request to a HostApi, turning any failure into a HostErrorBody. */
export async function dispatchRequest(api: HostApi, request: Extract<ParsedRequest, { ok: true }>): Promise<ResponseMessage> {
  try {
    const call = api[request.method] as (params: unknown) => Promise<unknown>;
    const result = await call.call(api, request.params);
    return { kind: "response", id: request.id, ok: true, result };
  } catch (error) {
    const body: HostErrorBody =
      error instanceof HostError
        ? { code: error.code, message: error.message }
        : { code: "internal", message: error instanceof Error ? error.message : String(error) };
    return { kind: "response", id: request.id, ok: false, error: body };
  }
}

function describeIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)))]
        .filter((p) => p !== "")
        .join(".")
        .replace(/\.\[/g, "[");
      return `${path || "(message)"}: ${issue.message}`;
    })
    .join("; ");
}
