const startWall = BigInt(Date.now()) * 1_000_000n;
const startMono = process.hrtime.bigint();
let lastNs = 0n;

/**
 * Unix time in nanoseconds, strictly increasing within this process. Date.now() has only
 * milliseconds, so the rest comes from the monotonic clock; file names built from it (`.env-<ns>`,
 * `job_log_<ns>.json`) never collide and sort in creation order, which the debug terminal relies on.
 */
export function wallClockNanoseconds(): bigint {
  let ns = startWall + (process.hrtime.bigint() - startMono);
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns;
}
