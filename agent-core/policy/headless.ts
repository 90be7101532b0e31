// The lending policy for `semaphore-agent start`: the config keys lend-schedule, lend-on-battery,
// lend-idle-minutes, lend-owner-cpu-percent and snooze-file feed the same engine as the app. With
// their defaults nothing is checked at all, so the official agent's behaviour holds.
import { readFile } from "node:fs/promises";
import type { AgentConfig } from "../config/types.js";
import { decide, stateLine, type PolicyVerdict } from "./engine.js";
import { scheduleFromEntries } from "./schedule.js";
import { defaultSignalSource, readPolicySignals, type LendingSignalSource } from "./signals.js";

type LendingConfig = Pick<AgentConfig, "lendSchedule" | "lendOnBattery" | "lendIdleMinutes" | "lendOwnerCpuPercent" | "snoozeFile">;

/** Whether any lending key differs from its default (else no check runs). */
export function lendingConfigured(c: LendingConfig): boolean {
  return c.lendSchedule.length > 0 || !c.lendOnBattery || c.lendIdleMinutes > 0 || c.lendOwnerCpuPercent > 0 || c.snoozeFile !== "";
}

/**
 * The snooze file: absent, not snoozed; a time in it (ISO 8601, or Unix seconds), snoozed until
 * then (a past time is no snooze); anything else, paused while it exists.
 */
export async function readSnoozeFile(path: string, now: number): Promise<{ until: number | null; paused: boolean }> {
  let text: string;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch {
    return { until: null, paused: false };
  }
  const at = /^\d{9,11}$/.test(text) ? Number(text) * 1000 : text === "" ? NaN : Date.parse(text);
  if (Number.isFinite(at)) return { until: at > now ? at : null, paused: false };
  return { until: null, paused: true };
}

export class HeadlessLending {
  constructor(
    private readonly config: LendingConfig,
    private readonly signals: LendingSignalSource = defaultSignalSource(),
    private readonly now: () => number = Date.now,
  ) {}

  async verdict(): Promise<PolicyVerdict> {
    const c = this.config;
    const now = this.now();
    const snooze = c.snoozeFile === "" ? { until: null, paused: false } : await readSnoozeFile(c.snoozeFile, now);
    const policy = { schedule: scheduleFromEntries(c.lendSchedule), runOnBattery: c.lendOnBattery, idleMinutes: c.lendIdleMinutes, ownerCpuPercent: c.lendOwnerCpuPercent, onRunningJob: {} };
    const readings = await readPolicySignals(policy, this.signals);
    const verdict = decide(policy, { now, pausedByHand: snooze.paused, snoozedUntil: snooze.until, ...readings, disk: null, breaker: null });
    if (verdict.kind === "paused") return { ...verdict, reason: `Paused: ${c.snoozeFile} exists`, next: "remove it to resume" };
    return verdict;
  }

  /** For Agent's lendingCheck: the state line while work is not allowed, null when it is. */
  async check(): Promise<string | null> {
    const v = await this.verdict();
    return v.allowed ? null : stateLine(v);
  }
}
