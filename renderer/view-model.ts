// What the views say about the host's state, in words. Pure, so the wording is tested without a DOM.
import { isAgentIdle, type AgentSnapshot, type HistoryResult, type JobResult } from "../agent-core/host/contract.js";
import type { ConnectionState } from "./bridge/types.js";
import { formatClock, formatDateTime } from "../agent-core/util/date-format.js";
import { formatSeconds } from "./job-format.js";

export type Tone = "idle" | "ok" | "running" | "busy" | "warn" | "error";

export interface AgentStatus {
  /** "Stopped", "Paused (disk guard)", "Connecting…", "Waiting for jobs", "Running job <id>", "Stopping…", "Disconnected", "Error". */
  words: string;
  tone: Tone;
  /** Whether the agent runs (Stop is offered) or not (Start is offered). */
  running: boolean;
}

/** Not started, or stopped and exited (null: nothing known yet). */
export function agentIdle(agent: AgentSnapshot | null): boolean {
  return agent === null || isAgentIdle(agent);
}

/** The state word while the owner's terms hold the agent; the lending line says why and until when. */
const HOLD_WORDS: Record<Exclude<NonNullable<AgentSnapshot["hold"]>["kind"], "disk">, string> = {
  paused: "Paused",
  snoozed: "Snoozed",
  schedule: "Outside your schedule",
  battery: "Paused (on battery)",
  idle: "Paused (computer in use)",
  load: "Paused (your own load)",
  gpu: "Paused (GPU guard)",
  breaker: "Paused (jobs keep failing)",
};

export function agentStatus(agent: AgentSnapshot | null): AgentStatus {
  if (agent === null) return { words: "Stopped", tone: "idle", running: false };
  // Drained by the disk guard or the owner's terms: phase is "idle" meanwhile, it resumes by itself
  // (or on Resume), and Stop cancels it.
  if (agent.hold != null) {
    if (agent.hold.kind === "disk") return { words: "Paused (disk guard)", tone: "warn", running: true };
    return { words: HOLD_WORDS[agent.hold.kind], tone: agent.hold.kind === "breaker" ? "error" : "warn", running: true };
  }
  const idle = agentIdle(agent);
  if (!idle && (agent.stopping || agent.phase === "shutting-down")) return { words: "Stopping…", tone: "busy", running: true };
  if (idle) {
    const failed = agent.lastExit !== null && agent.lastExit.exitCode !== 0;
    return { words: failed ? "Error" : "Stopped", tone: failed ? "error" : "idle", running: false };
  }
  // Before the first successful registration it is connecting, whatever failed: never "Disconnected".
  if (agent.phase === "registering") return { words: "Connecting…", tone: agent.error !== null ? "warn" : "busy", running: true };
  if (agent.error !== null && agent.error.scope === "sync") {
    return { words: "Disconnected", tone: "error", running: true };
  }
  const job = agent.jobId !== null ? ` ${agent.jobId}` : "";
  // The job is over; the agent is telling the server its result (spec §3.2's finished-job).
  if (agent.phase === "finished-job" && agent.jobId !== null) return { words: `Finishing job${job}`, tone: "running", running: true };
  if (agent.phase === "stopping-job") return { words: `Stopping job${job}`, tone: "busy", running: true };
  const jobPhase = agent.phase === "starting-job" || agent.phase === "running-job";
  if (agent.jobId !== null || jobPhase) {
    return { words: agent.jobId !== null ? `Running job ${agent.jobId}` : "Running job", tone: "running", running: true };
  }
  return { words: "Waiting for jobs", tone: "ok", running: true };
}

/** How many of the agents do what, for the Agent view's header and the sidebar: "2 of 4 agents running jobs". */
export function agentsSummary(agents: readonly AgentSnapshot[]): { words: string; short: string; tone: Tone } {
  const n = agents.length;
  if (n === 0) return { words: "Stopped", short: "Stopped", tone: "idle" };
  if (n === 1) {
    const one = agentStatus(agents[0]!);
    return { words: one.words, short: one.words, tone: one.tone };
  }
  const statuses = agents.map((a) => ({ agent: a, status: agentStatus(a) }));
  const running = statuses.filter(({ agent, status }) => status.tone === "running" || (agent.jobId !== null && agent.hold == null)).length;
  const errors = statuses.filter(({ status }) => status.tone === "error").length;
  const up = statuses.filter(({ status }) => status.running).length;
  const held = agents.filter((a) => a.hold != null).length;
  const parts: string[] = [];
  if (running > 0) parts.push(`${running} of ${n} agents running jobs`);
  else if (up === 0) parts.push(`${n} agents stopped`);
  else if (held === n) parts.push(`${n} agents paused`);
  else parts.push(`${up} of ${n} agents up`);
  if (errors > 0) parts.push(`${errors} with an error`);
  if (held > 0 && held < n) parts.push(`${held} paused`);
  const tone: Tone = running > 0 ? "running" : errors > 0 ? "error" : up === 0 ? "idle" : held > 0 ? "warn" : "ok";
  return { words: parts.join(" · "), short: parts[0]!, tone };
}

/**
 * What every state indicator says while the page has lost the agent host (the web console only): the
 * last snapshot is no longer the truth, so no indicator goes on saying "Waiting for jobs". Null while
 * connected (or still connecting for the first time, when nothing is shown yet).
 */
export function connectionLost(connection: ConnectionState): { words: string; short: string; detail: string; tone: Tone } | null {
  if (connection.status === "reconnecting") {
    return {
      words: "Connection lost",
      short: "Connection lost",
      detail: "This page lost its connection to the agent host: what the agent does now is not known here. The page reconnects by itself.",
      tone: "warn",
    };
  }
  if (connection.status === "unauthorised") {
    return {
      words: "Not authorised",
      short: "Not authorised",
      detail: "The console refused this page: it was restarted (every run has a new token), or the token is wrong. Open the URL it printed.",
      tone: "error",
    };
  }
  return null;
}

/**
 * Whether the agent's snapshot still speaks of the local demo: only while the demo's agent runs. After
 * the demo stopped, its name, hub and job counts are the demo's, not this machine's agent's: the Agent
 * view does not show them as the agent's (nor "Local demo").
 */
export function demoRunning(agent: AgentSnapshot | null): boolean {
  return agent !== null && agent.mode === "demo" && !agentIdle(agent);
}

/** The agent is stopped and its last run was the local demo: what it says is the demo's, not the agent's. */
export function demoLeftover(agent: AgentSnapshot | null): boolean {
  return agent !== null && agent.mode === "demo" && agentIdle(agent);
}

/**
 * Variables the agent itself adds to a job's shell (spec: none of the job's own): markers that let the
 * agent find its processes. Never listed as the job's. JOB_MARKER_VAR of agent-core/shell/session.ts,
 * DEBUG_MARKER_VAR of agent-core/host/debug-terminals.ts (tests/unit/renderer-view-model.test.ts checks).
 */
export const INTERNAL_ENV_NAMES: readonly string[] = ["SEMAPHORE_AGENT_JOB_MARKER", "SEMAPHORE_AGENT_DEBUG_MARKER"];

/** A job's environment variable names as the Job view lists them: the agent's own markers left out. */
export function shownEnvNames(names: readonly string[]): string[] {
  return names.filter((n) => !INTERNAL_ENV_NAMES.includes(n));
}

/** The error the Agent view shows: the server's message and when the agent tries again. */
export function agentErrorText(agent: AgentSnapshot | null, now: number): string | null {
  if (agent === null) return null;
  if (agent.error !== null) {
    const { message, retryAt } = agent.error;
    return retryAt === null ? message : `${message} — ${retryText(retryAt, now)}`;
  }
  if (agentIdle(agent) && agent.lastExit !== null && agent.lastExit.exitCode !== 0) return agent.lastExit.message;
  return null;
}

export function retryText(retryAt: number, now: number): string {
  const seconds = Math.ceil((retryAt - now) / 1000);
  if (seconds <= 0) return "retrying now";
  if (seconds < 60) return `retrying in ${seconds} s`;
  return `next try at ${formatClock(retryAt)} (in ${formatSeconds(seconds)})`;
}

export function countsText(counts: AgentSnapshot["counts"]): string {
  return `${counts.passed} passed · ${counts.failed} failed · ${counts.stopped} stopped`;
}

const RESULT_WORDS: Record<HistoryResult, string> = {
  running: "Running",
  passed: "Passed",
  failed: "Failed",
  stopped: "Stopped",
  lost: "Lost",
};

export function resultWords(result: HistoryResult): string {
  return RESULT_WORDS[result];
}

/** The log's own job_finished is known before the history's summary says so. */
export function effectiveResult(summary: HistoryResult | null, fromLog: JobResult | null): HistoryResult | null {
  if (fromLog !== null && (summary === null || summary === "running")) return fromLog;
  return summary;
}

/** "0.6 s", "42 s", "3 min 4 s", "2 h 5 min", "3 d 2 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return ms < 100 ? "0 s" : `${(ms / 1000).toFixed(1)} s`;
  const hours = Math.floor(ms / 3_600_000);
  if (hours >= 48) return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  return formatSeconds(ms / 1000);
}

/** "just now", "12 s ago", "5 min ago", or a date for old times. */
export function formatAgo(at: number | null, now: number): string {
  if (at === null) return "never";
  const s = Math.floor((now - at) / 1000);
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ago`;
  return formatDateTime(at);
}

// Moments are written by date-format.ts, the same in every view.
export { formatDateTime, formatStarted, formatTime } from "../agent-core/util/date-format.js";

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GB`;
}

/** A link from job output opens only when it is https. */
export function safeExternalUrl(uri: string): string | null {
  try {
    const url = new URL(uri);
    return url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
