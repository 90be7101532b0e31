// The owner's terms, as the host keeps them: paused by hand, snoozed until, "finish current job,
// then pause", the circuit breaker, and the settings' schedule, battery, idle and load limits. It
// reads the signals and asks the pure policy engine (policy/engine.ts) for the verdict; the host
// acts on it (drain and disconnect, register again, stop a running job).
import { CircuitBreaker, decide, stateLine, type LendingPolicy, type PolicyVerdict } from "../policy/engine.js";
import { readPolicySignals, type LendingSignalSource, type PolicyReadings } from "../policy/signals.js";
import type { GivenSummary, JobSummary, LendingState } from "./contract.js";
import type { StoredSettings } from "./settings.js";

export class LendingControl {
  pausedByHand = false;
  snoozedUntil: number | null = null;
  /** "Finish current job, then pause" is waiting for the running job. */
  pauseAfterJob = false;
  readonly breaker: CircuitBreaker;
  /** The readings of the last decide(), for decideNow(). */
  private readings: PolicyReadings = { idleSeconds: null, onBattery: null, ownerCpuPercent: null };

  constructor(
    private readonly signals: LendingSignalSource,
    readonly now: () => number,
    breakerJobs: number,
  ) {
    this.breaker = new CircuitBreaker(breakerJobs);
  }

  /** On battery now (null: no battery, or unknown): keep-awake never holds a machine on battery. */
  onBattery(): Promise<boolean | null> {
    return this.signals.onBattery().catch(() => null);
  }

  policyOf(settings: StoredSettings): LendingPolicy {
    this.breaker.setLimit(settings.breakerJobs);
    return {
      schedule: settings.lendSchedule,
      runOnBattery: settings.lendOnBattery,
      idleMinutes: settings.lendIdleMinutes,
      ownerCpuPercent: settings.lendOwnerCpuPercent,
      onRunningJob: { ...settings.lendOnRunningJob },
    };
  }

  /** The verdict now, the signals read afresh. `disk`: the disk guard's reason while it holds the agent. */
  async decide(settings: StoredSettings, disk: string | null): Promise<PolicyVerdict> {
    this.readings = await readPolicySignals(this.policyOf(settings), this.signals);
    return this.decideNow(settings, disk);
  }

  /** The verdict now with the signals as last read: for a decision that cannot wait for a reading (a job just ended). */
  decideNow(settings: StoredSettings, disk: string | null): PolicyVerdict {
    const now = this.now();
    if (this.snoozedUntil !== null && this.snoozedUntil <= now) this.snoozedUntil = null;
    return decide(this.policyOf(settings), {
      now,
      pausedByHand: this.pausedByHand,
      snoozedUntil: this.snoozedUntil,
      ...this.readings,
      disk,
      breaker: this.breaker.tripped,
    });
  }

  state(verdict: PolicyVerdict | null, pending: LendingState["pending"]): LendingState {
    return {
      line: verdict === null ? "Lending this machine" : stateLine(verdict),
      kind: verdict?.kind ?? null,
      pausedByHand: this.pausedByHand,
      pauseAfterJob: this.pauseAfterJob,
      snoozedUntil: this.snoozedUntil,
      pending,
      note: verdict?.note ?? null,
    };
  }
}

/** "This machine has given": Semaphore jobs that ran here (not the demo's, not ones never run), and their hours. */
export function givenFrom(jobs: readonly JobSummary[]): GivenSummary {
  const byProject = new Map<string, { jobs: number; ms: number }>();
  let count = 0;
  let ms = 0;
  let since: number | null = null;
  for (const job of jobs) {
    if (job.mode !== "semaphore" || job.result === "running" || job.problem !== null) continue;
    const duration = job.durationMs ?? 0;
    count++;
    ms += duration;
    since = since === null ? job.startedAt : Math.min(since, job.startedAt);
    const project = job.identity?.projectName ?? "(no project)";
    const entry = byProject.get(project) ?? { jobs: 0, ms: 0 };
    entry.jobs++;
    entry.ms += duration;
    byProject.set(project, entry);
  }
  return {
    jobs: count,
    hours: ms / 3_600_000,
    since,
    byProject: [...byProject.entries()]
      .map(([project, e]) => ({ project, jobs: e.jobs, hours: e.ms / 3_600_000 }))
      .sort((a, b) => b.hours - a.hours || b.jobs - a.jobs || a.project.localeCompare(b.project)),
  };
}
