// The owner's terms, as the host keeps them: paused by hand, snoozed until, "finish current job,
// then pause", the circuit breaker, and the settings' schedule, battery, idle and load limits. It
// reads the signals and asks the pure policy engine (policy/engine.ts) for the verdict; the host
// acts on it (drain and disconnect, register again, stop a running job).
import { CircuitBreaker, decide, stateLine, type LendingPolicy, type PolicyVerdict } from "../policy/engine.js";
import { readPolicySignals, type LendingSignalSource, type PolicyReadings } from "../policy/signals.js";
import type { GivenSummary, JobSummary, LendingState } from "./contract.js";
import type { StoredSettings } from "./settings.js";

/** The signals every agent's terms are decided on, read once per round (idle time, battery, the owner's load). */
export class LendingSignals {
  /** The readings of the last read(), for a decision that cannot wait for a reading (a job just ended). */
  readings: PolicyReadings = { idleSeconds: null, onBattery: null, ownerCpuPercent: null };

  constructor(private readonly signals: LendingSignalSource) {}

  /** On battery now (null: no battery, or unknown): keep-awake never holds a machine on battery. */
  onBattery(): Promise<boolean | null> {
    return this.signals.onBattery().catch(() => null);
  }

  async read(settings: StoredSettings): Promise<PolicyReadings> {
    this.readings = await readPolicySignals(policyOf(settings), this.signals);
    return this.readings;
  }
}

export function policyOf(settings: StoredSettings): LendingPolicy {
  return {
    schedule: settings.lendSchedule,
    runOnBattery: settings.lendOnBattery,
    idleMinutes: settings.lendIdleMinutes,
    ownerCpuPercent: settings.lendOwnerCpuPercent,
    onRunningJob: { ...settings.lendOnRunningJob },
  };
}

/** One agent's terms: paused by hand, snoozed, "finish current job, then pause", its circuit breaker. */
export class LendingControl {
  pausedByHand = false;
  snoozedUntil: number | null = null;
  /** "Finish current job, then pause" is waiting for the running job. */
  pauseAfterJob = false;
  readonly breaker: CircuitBreaker;

  constructor(
    readonly now: () => number,
    breakerJobs: number,
  ) {
    this.breaker = new CircuitBreaker(breakerJobs);
  }

  /** Any of the owner's own holds is set (Resume has something to undo). */
  get holdsSet(): boolean {
    return this.pausedByHand || this.pauseAfterJob || this.snoozedUntil !== null || this.breaker.tripped !== null;
  }

  /** Resume: ends a pause by hand, a snooze, a pending pause and a tripped breaker. */
  clear(): void {
    this.pausedByHand = false;
    this.pauseAfterJob = false;
    this.snoozedUntil = null;
    this.breaker.reset();
  }

  /**
   * The verdict now with `readings`. `disk`: the disk guard's reason while it holds the agent;
   * `gpu`: a guard of the agent's GPUs.
   */
  decideNow(settings: StoredSettings, readings: PolicyReadings, disk: string | null, gpu: string | null = null): PolicyVerdict {
    const now = this.now();
    if (this.snoozedUntil !== null && this.snoozedUntil <= now) this.snoozedUntil = null;
    this.breaker.setLimit(settings.breakerJobs);
    return decide(policyOf(settings), {
      now,
      pausedByHand: this.pausedByHand,
      snoozedUntil: this.snoozedUntil,
      ...readings,
      gpu,
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
  let gpuMs = 0;
  let energyWh = 0;
  for (const job of jobs) {
    if (job.mode !== "semaphore" || job.result === "running" || job.problem !== null) continue;
    const duration = job.durationMs ?? 0;
    count++;
    ms += duration;
    for (const gpu of job.usage?.gpus ?? []) {
      gpuMs += duration;
      energyWh += gpu.energyWh;
    }
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
    gpuHours: gpuMs / 3_600_000,
    energyWh,
    since,
    byProject: [...byProject.entries()]
      .map(([project, e]) => ({ project, jobs: e.jobs, hours: e.ms / 3_600_000 }))
      .sort((a, b) => b.hours - a.hours || b.jobs - a.jobs || a.project.localeCompare(b.project)),
  };
}
