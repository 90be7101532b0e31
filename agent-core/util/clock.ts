let lastNs = 0n;

/**
 * Unix time in nanoseconds, strictly increasing within this process. Date.now() has only
 * milliseconds, so the sub-millisecond digits come from the monotonic clock; file names built from
 * it (`.env-<ns>`, `job_log_<ns>.json`) never collide and sort in creation order, which the debug
 * terminal relies on. The millisecond part always follows the wall clock.
 */
export function wallClockNanoseconds(): bigint {
  const ns = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  lastNs = ns > lastNs ? ns : lastNs + 1n;
  return lastNs;
}
