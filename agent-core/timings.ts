// Fixed internal parameters of spec §9.4. They are constants for the real agent; tests and
// benchmarks may shrink some of them through SEMAPHORE_AGENT_TEST_TIMINGS (a JSON object with any
// of these keys, in milliseconds or counts) so that e.g. the 10-minute UNABLE_TO_SYNC window can be
// exercised in seconds. Nothing else reads that variable, and it is stripped from job environments.

export interface AgentTimings {
  registerAttempts: number;
  registerDelayMs: number;
  getJobAttempts: number;
  getJobDelayMs: number;
  disconnectAttempts: number;
  disconnectDelayMs: number;
  httpTimeoutMs: number;
  syncIntervalMinMs: number;
  syncIntervalMaxMs: number;
  unableToSyncMs: number;
  logPushMinMs: number;
  logPushMaxMs: number;
  logFlushMinMs: number;
  logFlushMaxMs: number;
  logFlushChecks: number;
  logFlushCheckMs: number;
  logBatchLines: number;
  /** The desktop app's registration back-off (not the spec's: the app never gives up): first wait and cap. */
  appRetryFirstMs: number;
  appRetryMaxMs: number;
  /** The disk guard: how often during a job the hard floor is checked, and while drained, whether space is back. */
  diskPollMs: number;
  diskIdleCheckMs: number;
  /** The app's lending policy: how often the signals (idle time, battery, load) are read. */
  lendingPollMs: number;
}

export const DEFAULT_TIMINGS: Readonly<AgentTimings> = Object.freeze({
  registerAttempts: 30,
  registerDelayMs: 1000,
  getJobAttempts: 10,
  getJobDelayMs: 3000,
  disconnectAttempts: 100,
  disconnectDelayMs: 1000,
  httpTimeoutMs: 30_000,
  syncIntervalMinMs: 3000,
  syncIntervalMaxMs: 6000,
  unableToSyncMs: 10 * 60 * 1000,
  logPushMinMs: 1500,
  logPushMaxMs: 3000,
  logFlushMinMs: 250,
  logFlushMaxMs: 500,
  logFlushChecks: 60,
  logFlushCheckMs: 1000,
  logBatchLines: 2000,
  appRetryFirstMs: 5_000,
  appRetryMaxMs: 5 * 60_000,
  diskPollMs: 5_000,
  diskIdleCheckMs: 60_000,
  lendingPollMs: 5_000,
});

export const TEST_TIMINGS_ENV = "SEMAPHORE_AGENT_TEST_TIMINGS";

export function timingsFromEnv(env: NodeJS.ProcessEnv = process.env): AgentTimings {
  const raw = env[TEST_TIMINGS_ENV];
  if (!raw) return { ...DEFAULT_TIMINGS };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${TEST_TIMINGS_ENV}: not valid JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${TEST_TIMINGS_ENV}: expected a JSON object`);
  }
  const result: AgentTimings = { ...DEFAULT_TIMINGS };
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in DEFAULT_TIMINGS)) throw new Error(`${TEST_TIMINGS_ENV}: unknown key '${key}'`);
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new Error(`${TEST_TIMINGS_ENV}: '${key}' must be a non-negative number`);
    }
    (result as unknown as Record<string, number>)[key] = value;
  }
  return result;
}

/** Uniformly random integer in [min, max) milliseconds, as the spec's "random in [a, b)". */
export function randomBetween(min: number, max: number): number {
  if (max <= min) return min;
  return min + Math.floor(Math.random() * (max - min));
}
