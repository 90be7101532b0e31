// When the owner lends the machine: a pure decision, at one moment, of whether the agent may accept
// jobs, with one reason in words and when that may change. The clock and every signal (input idle
// time, battery, the owner's own CPU load, the disk guard, the circuit breaker) are inputs, so the
// rules are unit-tested without a machine. The host acts on the verdict: while work is not allowed
// the agent is not registered (Semaphore has no "busy" state: a registered agent gets jobs).
//
// The conditions, in the order they are checked (the first one that holds is the reason):
//   paused by hand · snoozed until a time · outside the weekly schedule · on battery · the owner is
//   using the computer · the owner's own load · a GPU guard · the disk guard · the circuit breaker.
import { nextScheduleChange, scheduleAllows, type WeeklySchedule } from "./schedule.js";

export const PAUSE_KINDS = ["paused", "snoozed", "schedule", "battery", "idle", "load", "gpu", "disk", "breaker"] as const;
export type PauseKind = (typeof PAUSE_KINDS)[number];

/** What happens to a running job when a condition starts: let it finish (default), or stop it now. */
export type RunningJobPolicy = "finish" | "stop";

export interface LendingPolicy {
  /** null: any time. */
  schedule: WeeklySchedule | null;
  /** Lend while the machine runs on battery. */
  runOnBattery: boolean;
  /** Only when nobody used the computer for this many minutes (0: whether or not it is in use). */
  idleMinutes: number;
  /** Not while processes outside the agent's jobs use more than this much CPU, in % of the machine (0: off). */
  ownerCpuPercent: number;
  /** Per condition: what a running job does when it starts (absent: finish). */
  onRunningJob: Partial<Record<PauseKind, RunningJobPolicy>>;
  /** IANA time zone of the schedule (default: the process's). */
  timeZone?: string;
}

export const DEFAULT_LENDING_POLICY: LendingPolicy = {
  schedule: null,
  runOnBattery: true,
  idleMinutes: 0,
  ownerCpuPercent: 0,
  onRunningJob: {},
};

export interface PolicySignals {
  now: number;
  pausedByHand: boolean;
  /** Epoch ms; null or past: not snoozed. */
  snoozedUntil: number | null;
  /** null: unknown (no battery, or it cannot be read). */
  onBattery: boolean | null;
  /** Seconds since the last keyboard or mouse input; null: idle detection is unavailable here. */
  idleSeconds: number | null;
  /** CPU use of processes outside the agent's jobs, % of the machine; null: unknown. */
  ownerCpuPercent: number | null;
  /** A guard of the agent's GPUs (too hot, over power, an Xid error, the owner's own use of it); null: fine or no GPU. */
  gpu?: string | null;
  /** The disk guard's reason while it holds the agent; null: fine. */
  disk: string | null;
  /** The circuit breaker's reason once it tripped; null: fine. */
  breaker: string | null;
}

export interface PolicyVerdict {
  allowed: boolean;
  /** The condition that holds the agent; null when work is allowed. */
  kind: PauseKind | null;
  /** One sentence: "Paused by you", "Outside your schedule", "You are using the computer", … */
  reason: string;
  /** The next change, in words: "resumes after 5 min idle", "next window Mon 19:00"; null: none known. */
  next: string | null;
  /** When the verdict may change by the clock alone (snooze end, schedule edge); null: on a signal. */
  nextChangeAt: number | null;
  /** For a running job when this verdict holds it. */
  onRunningJob: RunningJobPolicy;
  /** Said beside the verdict (idle detection unavailable, …); null: nothing to add. */
  note: string | null;
}

/** "18:00" today, "Mon 19:00" otherwise (in the schedule's time zone). */
export function whenWords(at: number, now: number, timeZone?: string): string {
  const time = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone }).format(at);
  const day = (t: number) => new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "2-digit", day: "2-digit", timeZone }).format(t);
  if (day(at) === day(now)) return time;
  const weekday = new Intl.DateTimeFormat("en-GB", { weekday: "short", timeZone }).format(at);
  return `${weekday} ${time}`;
}

function minutesWords(minutes: number): string {
  return minutes === 1 ? "1 min" : `${minutes} min`;
}

/** The verdict for `signals` under `policy`. */
export function decide(policy: LendingPolicy, signals: PolicySignals): PolicyVerdict {
  const { now } = signals;
  const tz = policy.timeZone;
  const hold = (kind: PauseKind, reason: string, next: string | null, nextChangeAt: number | null = null, note: string | null = null): PolicyVerdict => ({
    allowed: false,
    kind,
    reason,
    next,
    nextChangeAt,
    onRunningJob: policy.onRunningJob[kind] ?? "finish",
    note,
  });

  if (signals.pausedByHand) return hold("paused", "Paused by you", "until you resume");
  if (signals.snoozedUntil !== null && signals.snoozedUntil > now) {
    return hold("snoozed", `Snoozed until ${whenWords(signals.snoozedUntil, now, tz)}`, `resumes at ${whenWords(signals.snoozedUntil, now, tz)}`, signals.snoozedUntil);
  }
  if (policy.schedule !== null && !scheduleAllows(policy.schedule, now, tz)) {
    const opens = nextScheduleChange(policy.schedule, now, tz);
    return hold("schedule", "Outside your schedule", opens === null ? "no window in your schedule" : `next window ${whenWords(opens, now, tz)}`, opens);
  }
  if (!policy.runOnBattery && signals.onBattery === true) return hold("battery", "On battery", "resumes when the machine is plugged in");

  let note: string | null = null;
  if (policy.idleMinutes > 0) {
    if (signals.idleSeconds === null) {
      // Never silently: without a reading the agent lends as if idle, and says so.
      note = "Idle detection is unavailable here (no input idle time from the system): jobs run whether or not the computer is in use.";
    } else if (signals.idleSeconds < policy.idleMinutes * 60) {
      const left = Math.max(1, Math.ceil((policy.idleMinutes * 60 - signals.idleSeconds) / 60));
      return hold("idle", "You are using the computer", `resumes after ${minutesWords(policy.idleMinutes)} idle${left < policy.idleMinutes ? ` (in ${minutesWords(left)} if untouched)` : ""}`);
    }
  }
  if (policy.ownerCpuPercent > 0 && signals.ownerCpuPercent !== null && signals.ownerCpuPercent > policy.ownerCpuPercent) {
    return hold("load", `Your own programs use ${Math.round(signals.ownerCpuPercent)} % CPU (limit ${policy.ownerCpuPercent} %)`, "resumes when they use less", null, note);
  }
  if (signals.gpu != null) return hold("gpu", signals.gpu, "resumes by itself once the GPU is fine again", null, note);
  if (signals.disk !== null) return hold("disk", signals.disk, "resumes by itself once there is space", null, note);
  if (signals.breaker !== null) return hold("breaker", signals.breaker, "until you resume", null, note);

  // Allowed: the next clock change is the schedule's closing edge (a snooze that ended is no change).
  const closes = policy.schedule !== null ? nextScheduleChange(policy.schedule, now, tz) : null;
  return {
    allowed: true,
    kind: null,
    reason: "Lending this machine",
    next: closes === null ? null : `until ${whenWords(closes, now, tz)} (your schedule)`,
    nextChangeAt: closes,
    onRunningJob: "finish",
    note,
  };
}

/** The state line: "Paused — you are using the computer (resumes after 5 min idle)". */
export function stateLine(verdict: PolicyVerdict): string {
  if (verdict.allowed) return verdict.next === null ? verdict.reason : `${verdict.reason} ${verdict.next}`;
  const reason = verdict.kind === "paused" || verdict.kind === "snoozed" || verdict.kind === "schedule" ? verdict.reason : `Paused — ${lowerFirst(verdict.reason)}`;
  return verdict.next === null ? reason : `${reason} (${verdict.next})`;
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

/**
 * The circuit breaker: after `limit` jobs in a row fail before their first user command ends (the
 * toolbox missing, a full disk, a broken hook), lending pauses until the owner resumes. Any job that
 * got to run a command of its own resets the count.
 */
export class CircuitBreaker {
  private failures = 0;
  private trippedReason: string | null = null;

  constructor(private limit: number) {}

  setLimit(limit: number): void {
    this.limit = limit;
    if (limit <= 0) this.reset();
  }

  /** One finished job: whether it failed before any command of its own finished. */
  record(failedEarly: boolean): void {
    if (this.limit <= 0) return;
    this.failures = failedEarly ? this.failures + 1 : 0;
    if (this.failures >= this.limit && this.trippedReason === null) {
      this.trippedReason = `${this.failures} jobs in a row failed before their first command finished: check the agent's set-up (the toolbox, hooks, disk)`;
    }
  }

  get tripped(): string | null {
    return this.trippedReason;
  }

  get count(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
    this.trippedReason = null;
  }
}
