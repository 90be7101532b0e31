// The owner's choices for the job log (timestamps, wrapping), kept across jobs and restarts in the
// page's localStorage: the same in Electron's window and in the web console of one machine.
import type { LogViewOptions } from "./log-view.js";

const KEY = "semaphore-agent.log-view";

export const DEFAULT_LOG_OPTIONS: LogViewOptions = { timestamps: false, wrap: true };

export function loadLogOptions(): LogViewOptions {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "null") as Partial<LogViewOptions> | null;
    return {
      timestamps: typeof stored?.timestamps === "boolean" ? stored.timestamps : DEFAULT_LOG_OPTIONS.timestamps,
      wrap: typeof stored?.wrap === "boolean" ? stored.wrap : DEFAULT_LOG_OPTIONS.wrap,
    };
  } catch {
    return { ...DEFAULT_LOG_OPTIONS };
  }
}

export function saveLogOptions(options: LogViewOptions): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(options));
  } catch {
    // Storage refused (a private window, quota): the choice holds for this page only.
  }
}
