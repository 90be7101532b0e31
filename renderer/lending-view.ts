// The owner's terms in the renderer's words: the snooze countdown and its presets, which controls the
// Agent view offers, the pending notice, and "This machine has given". Pure (tested without a DOM).
import { jobTitle, type AgentSnapshot, type GivenSummary, type LendingState } from "../agent-core/host/contract.js";
import { formatClock, formatDateTime, formatDay, formatWeekday } from "../agent-core/util/date-format.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** The host refuses a snooze further away than this (a year, leap years included). */
export const MAX_SNOOZE_MS = 366 * DAY;

/** Time left, to the second below an hour: "42 s", "12 min 5 s", "2 h 59 min", "3 d 4 h". Never negative. */
export function formatRemaining(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "0 s";
  if (ms <= HOUR - 1000) {
    // Seconds round up: "1 s left" until it is over, never "0 s left" while some remains.
    const seconds = Math.ceil(ms / 1000);
    if (seconds < 60) return `${seconds} s`;
    return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  }
  // Whole minutes left, rounded down: a 3 h snooze reads "2 h 59 min" once it has begun.
  const minutes = Math.max(60, Math.floor(ms / MINUTE));
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  const hours = Math.floor(minutes / 60);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function startOfDay(at: number): number {
  const d = new Date(at);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole local days from `now`'s day to `at`'s (0: the same day, 1: tomorrow). DST-proof. */
function daysApart(at: number, now: number): number {
  return Math.round((startOfDay(at) - startOfDay(now)) / DAY);
}

/** A clock time as the countdown says it: "18:00" today, "Sat 08:00" within the week (as the host's lending line says it), else with its date. */
export function clockWords(at: number, now: number): string {
  const days = daysApart(at, now);
  if (days === 0) return formatClock(at);
  if (days > 0 && days < 7) return `${formatWeekday(at)} ${formatClock(at)}`;
  return formatDateTime(at);
}

/** "Snoozed until 18:00 · 2 h 59 min left". */
export function snoozeCountdown(until: number, now: number): string {
  return `Snoozed until ${clockWords(until, now)} · ${formatRemaining(until - now)} left`;
}

/** The next day at 08:00 local time (whatever the clock change in between). */
export function tomorrowMorning(now: number): number {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(8, 0, 0, 0);
  return d.getTime();
}

export type SnoozePreset = "1h" | "3h" | "tomorrow";

/** When a preset of the Snooze menu ends. */
export function snoozePresetUntil(preset: SnoozePreset, now: number): number {
  switch (preset) {
    case "1h":
      return now + HOUR;
    case "3h":
      return now + 3 * HOUR;
    case "tomorrow":
      return tomorrowMorning(now);
  }
}

/** A local time as an `<input type="datetime-local">` value: "2025-03-14T18:00". */
export function localInputValue(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The custom snooze field's starting value: the next full hour after an hour from now. */
export function defaultCustomSnooze(now: number): string {
  const d = new Date(now + HOUR);
  if (d.getMinutes() !== 0 || d.getSeconds() !== 0 || d.getMilliseconds() !== 0) d.setHours(d.getHours() + 1, 0, 0, 0);
  return localInputValue(d.getTime());
}

/** The custom snooze field read as local time, checked as the host checks it (future, within a year). */
export function parseCustomSnooze(value: string, now: number): { ok: true; until: number } | { ok: false; error: string } {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (match === null) return { ok: false, error: "Enter a date and a time" };
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, Number.isNaN(s) ? 0 : s, 0);
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return { ok: false, error: "Enter a date and a time" };
  const until = date.getTime();
  if (until <= now) return { ok: false, error: "Choose a time in the future" };
  if (until > now + MAX_SNOOZE_MS) return { ok: false, error: "At most a year from now" };
  return { ok: true, until };
}

/** What the Agent view's lending controls offer now. */
export interface LendingControls {
  /** A job of Semaphore's runs: Pause asks whether to stop it or let it finish. */
  jobRunning: boolean;
  canPause: boolean;
  /** "Finish current job, then pause" can still be asked. */
  canPauseAfterJob: boolean;
  canSnooze: boolean;
  /** Paused by hand, snoozed, a pause after the job pending, or the circuit breaker tripped. */
  canResume: boolean;
}

export function lendingControls(agent: Pick<AgentSnapshot, "jobId" | "mode" | "phase" | "lending"> | null): LendingControls {
  const lending = agent?.lending ?? null;
  const jobRunning = agent !== null && agent.mode === "semaphore" && agent.jobId !== null;
  const paused = lending?.pausedByHand === true;
  const canResume = lending !== null && (paused || lending.snoozedUntil !== null || lending.pauseAfterJob || lending.kind === "breaker");
  return {
    jobRunning,
    canPause: lending !== null && !paused,
    canPauseAfterJob: jobRunning && lending !== null && !paused && !lending.pauseAfterJob,
    canSnooze: lending !== null && !paused,
    canResume,
  };
}

/** What the controls that act on every agent offer: each control where any agent offers it (one agent: its own). */
export function allAgentsControls(agents: readonly Pick<AgentSnapshot, "jobId" | "mode" | "phase" | "lending">[]): LendingControls {
  if (agents.length <= 1) return lendingControls(agents[0] ?? null);
  const each = agents.map((a) => lendingControls(a));
  const any = (key: keyof LendingControls) => each.some((c) => c[key]);
  return { jobRunning: any("jobRunning"), canPause: any("canPause"), canPauseAfterJob: any("canPauseAfterJob"), canSnooze: any("canSnooze"), canResume: any("canResume") };
}

/**
 * The agent whose lending line speaks for the machine: the first one not held by a guard of its own
 * GPU (the schedule, battery, idle and load hold every agent alike), else the first.
 */
export function lendingLead<A extends Pick<AgentSnapshot, "lending">>(agents: readonly A[]): A | null {
  return agents.find((a) => a.lending.kind !== "gpu") ?? agents[0] ?? null;
}

/** The notice while a pause waits for the running job (or a condition lets it finish, or stops it); null otherwise. */
export function pendingNotice(agent: Pick<AgentSnapshot, "jobId" | "jobIdentity" | "lending"> | null): { kind: "after-job" | "finish" | "stop"; text: string } | null {
  if (agent === null || agent.jobId === null) return null;
  const job = jobTitle(agent.jobIdentity, agent.jobId);
  if (agent.lending.pauseAfterJob) return { kind: "after-job", text: `Pausing after job ${job} — Resume to cancel` };
  if (agent.lending.pending === "finish") return { kind: "finish", text: `Job ${job} finishes first; then the agent takes no new job.` };
  if (agent.lending.pending === "stop") return { kind: "stop", text: `Stopping job ${job}; then the agent takes no new job.` };
  return null;
}

/** How the lending line is toned: lending, held (or soon), or the circuit breaker. */
export function lendingTone(lending: LendingState): "ok" | "warn" | "error" {
  if (lending.kind === "breaker") return "error";
  if (lending.kind !== null || lending.pauseAfterJob) return "warn";
  return "ok";
}

/** Hours of job time: "0 h", "< 1 min", "25 min", "3.4 h", "128 h". */
export function formatHours(hours: number): string {
  if (!Number.isFinite(hours) || hours <= 0) return "0 h";
  if (hours * 60 < 1) return "< 1 min";
  if (hours < 1) return `${Math.round(hours * 60)} min`;
  const tenths = Math.round(hours * 10) / 10;
  if (tenths < 10) return `${tenths.toFixed(1)} h`;
  return `${Math.round(hours)} h`;
}

/** The projects the Given card lists (most hours first, as the host sends them), and how many more there are. */
export function givenTop(given: GivenSummary, count = 5): { shown: GivenSummary["byProject"]; more: number } {
  return { shown: given.byProject.slice(0, count), more: Math.max(0, given.byProject.length - count) };
}

/** The Given card's "since": the day of the oldest job counted. */
export function sinceWords(since: number): string {
  return formatDay(since);
}

/** "12 jobs", "1 job". */
export function jobsWords(jobs: number): string {
  return `${jobs} ${jobs === 1 ? "job" : "jobs"}`;
}
