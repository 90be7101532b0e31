// The environment a job's bash inherits (spec §5.2 / P-25): the agent's own environment minus
// anything that is ours rather than the user's — the registration token (the Go agent leaks it),
// our test knobs, and Electron/Chromium runtime variables that would change how child tools behave.
const STRIPPED_PREFIXES = ["ELECTRON_", "CHROME_", "SEMAPHORE_AGENT_DESKTOP_"];
const STRIPPED_NAMES = new Set(["SEMAPHORE_AGENT_TOKEN", "SEMAPHORE_AGENT_TEST_TIMINGS", "ORIGINAL_XDG_CURRENT_DESKTOP"]);

export function isStrippedFromJobs(name: string): boolean {
  return STRIPPED_NAMES.has(name) || STRIPPED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

export function jobEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isStrippedFromJobs(name)) result[name] = value;
  }
  return result;
}
