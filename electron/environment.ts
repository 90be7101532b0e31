// The environment the app's agent (and so every job) starts from: the user's, not Electron's. Pure,
// for unit tests. The agent strips ELECTRON_* / CHROME_* / SEMAPHORE_AGENT_DESKTOP_* once more
// (agent-core/agent/job-env.ts); this also undoes what Electron and an AppImage change.

const RUNTIME_PREFIXES = ["ELECTRON_", "CHROME_", "GOOGLE_API_", "ORIGINAL_"];
/** Set by the AppImage runtime for the app itself; meaningless (or misleading) to a job. */
const APPIMAGE_NAMES = ["APPIMAGE", "APPDIR", "ARGV0", "OWD"];
/** Set by npm when the app runs through `npm start`. */
const NPM_NAMES = ["INIT_CWD", "NODE", "npm_command", "npm_execpath", "npm_node_execpath"];

export function isRuntimeVariable(name: string): boolean {
  return RUNTIME_PREFIXES.some((prefix) => name.startsWith(prefix)) || name.startsWith("npm_") || NPM_NAMES.includes(name);
}

/**
 * A copy of `env` for the host: Electron's and npm's variables removed, XDG_CURRENT_DESKTOP restored
 * to the value Electron saved before it changed it, the AppImage runtime's variables removed when
 * the app runs from one, and (under `npm start`) PATH without npm's node_modules/.bin entries.
 */
export function hostEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || isRuntimeVariable(name)) continue;
    if (env.APPIMAGE !== undefined && APPIMAGE_NAMES.includes(name)) continue;
    result[name] = value;
  }
  // Electron on Linux rewrites XDG_CURRENT_DESKTOP (e.g. to "Unity") and keeps the user's value here.
  const original = env.ORIGINAL_XDG_CURRENT_DESKTOP;
  if (original !== undefined) {
    if (original === "" || original === "undefined") delete result.XDG_CURRENT_DESKTOP;
    else result.XDG_CURRENT_DESKTOP = original;
  }
  const launchedByNpm = env.npm_lifecycle_event !== undefined || env.npm_execpath !== undefined;
  if (launchedByNpm && result.PATH !== undefined) result.PATH = withoutNpmPathEntries(result.PATH);
  return result;
}

/** PATH minus the entries npm prepends for scripts (node_modules/.bin folders, node-gyp-bin). */
export function withoutNpmPathEntries(path: string, separator = process.platform === "win32" ? ";" : ":"): string {
  return path
    .split(separator)
    .filter((entry) => !/[\\/]node_modules[\\/]\.bin[\\/]?$/.test(entry) && !/[\\/]node-gyp-bin[\\/]?$/.test(entry))
    .join(separator);
}
