// Human-readable rendering of the agent's event stream for the terminal. Lines carry text from the
// server (job ids, error bodies): whoever writes them passes them through util/terminal-text.ts's
// terminalLine first, which redacts tokens and escapes control characters.
import type { AgentEvent } from "../agent/events.js";
import type { JobLogEvent } from "../job/events.js";
import { jobOrigin, jobTitle, semaphoreJobUrl, type JobIdentity } from "../job/identity.js";
import { escapeControlChars } from "../util/control-chars.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "panic";
const LEVELS: LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "panic"];

/** SEMAPHORE_AGENT_LOG_LEVEL (spec §9.3); an invalid value is fatal, so this throws. */
export function parseLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === "") return "info";
  const level = raw.toLowerCase() as LogLevel;
  if (!LEVELS.includes(level)) {
    throw new Error(`SEMAPHORE_AGENT_LOG_LEVEL: unknown level '${raw}' (use one of ${LEVELS.join(", ")})`);
  }
  return level;
}

const atLeast = (level: LogLevel, min: LogLevel) => LEVELS.indexOf(level) <= LEVELS.indexOf(min);

function clock(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function phaseText(event: Extract<AgentEvent, { type: "phase" }>): string {
  switch (event.phase) {
    case "registering":
      return "registering";
    case "waiting-for-jobs":
      return "waiting for jobs";
    case "starting-job":
      return `starting job ${event.jobId}`;
    case "running-job":
      return `running job ${event.jobId}`;
    case "stopping-job":
      return `stopping job ${event.jobId}`;
    case "finished-job":
      return `finished job ${event.jobId}`;
    case "shutting-down":
      return "shutting down";
    case "stopped":
      return "stopped";
  }
}

/** Whose job it is, in words: the job line and the job's page in Semaphore (job/identity.ts). */
export interface JobIdentityText {
  /** "job <id>: api-server · Unit tests — branch main @ 1a2b3c4 by Alice · workflow #42, triggered by push". */
  line: string;
  /** "https://acme.semaphoreci.com/jobs/<id>", or null. */
  url: string | null;
}

/**
 * What the identity of a job adds to its id, or null when it adds nothing (no identity, or one
 * that names neither project, job nor origin): then the lines that name the job by its id say all.
 * Raw text from the server: the caller redacts and escapes it (util/terminal-text.ts).
 */
export function jobIdentityText(jobId: string, identity: JobIdentity | null): JobIdentityText | null {
  if (identity === null) return null;
  const title = jobTitle(identity, jobId);
  const origin = jobOrigin(identity);
  const url = semaphoreJobUrl(identity);
  const named = title !== jobId;
  if (!named && origin === null && url === null) return null;
  const line = `job ${jobId}${named ? `: ${title}` : ""}${origin !== null ? ` — ${origin}` : ""}`;
  return { line, url };
}

/** One line per event worth showing at `level`, or null. */
export function formatAgentEvent(event: AgentEvent, level: LogLevel): string | null {
  // Job output events come by the thousand and are not shown at info level: skip formatting them.
  if (event.type === "job-log" && !atLeast(level, "debug")) return null;
  const at = clock(event.at);
  switch (event.type) {
    case "phase":
      return atLeast(level, "info") ? `${at}  ${phaseText(event)}` : null;
    case "registered":
      return atLeast(level, "info") ? `${at}  registered as ${event.name || "(no name)"} at ${event.url}` : null;
    case "sync": {
      const next = `next sync in ${Math.max(0, Math.round((event.nextSyncAt - event.at) / 100) / 10)} s`;
      if (event.error) return null; // reported by the matching error event
      const action = event.response?.action ?? "";
      const interesting = action !== "continue" && action !== "";
      if (!interesting && !atLeast(level, "debug")) return null;
      const reason = event.response?.shutdown_reason ? ` (${event.response.shutdown_reason})` : "";
      const job = event.response?.job_id ? ` ${event.response.job_id}` : "";
      return `${at}  sync ${event.request.state}${event.request.job_result ? `/${event.request.job_result}` : ""} -> ${action}${job}${reason}; ${next}`;
    }
    case "job-assigned":
      return atLeast(level, "info") ? `${at}  job ${event.jobId} assigned` : null;
    case "job-request": {
      // Whose job it is, once per job; without an identity the id in the state lines says it all.
      if (!atLeast(level, "info")) return null;
      const text = jobIdentityText(event.jobId, event.identity);
      return text === null ? null : `${at}  ${text.line}${text.url !== null ? `; open: ${text.url}` : ""}`;
    }
    case "job-output-preview":
      return null; // for the desktop app
    case "job-log":
      return atLeast(level, "debug") ? `${at}  [${event.jobId}] ${JSON.stringify(event.event)}` : null;
    case "disk":
      if (event.verdict.state === "ok") return atLeast(level, "info") ? `${at}  disk guard: enough free space again` : null;
      return atLeast(level, "warn") ? `${at}  disk guard: ${event.verdict.reason}` : null;
    case "job-shell":
      return atLeast(level, "debug") ? `${at}  job ${event.jobId}: shell pid ${event.pid}` : null;
    case "job-stopped-by-agent":
      return atLeast(level, "warn") ? `${at}  job ${event.jobId}: ${event.reason}` : null;
    case "job-stopped-by-server":
      return null; // the phase line says stopping-job
    case "job-rejected":
      // The only word of what was wrong: Semaphore's log for the job stays empty (spec §3.5).
      return atLeast(level, "error") ? `${at}  job ${event.jobId} rejected, not run: ${event.reason}` : null;
    case "job-finished": {
      if (!atLeast(level, "info")) return null;
      const extra = event.trimmed ? " (log trimmed by the server)" : event.unsentEvents > 0 ? ` (${event.unsentEvents} log events undelivered)` : "";
      return `${at}  job ${event.jobId} ${event.result}${extra}`;
    }
    case "interrupted":
      return `${at}  interrupted: told the server; waiting for it to stop the running job and shut the agent down`;
    case "error": {
      if (!atLeast(level, "error")) return null;
      const retry = event.retryAt ? `; retrying at ${clock(event.retryAt)}` : "";
      return `${at}  error (${event.scope}): ${event.message}${retry}`;
    }
    case "log":
      return atLeast(level, event.level === "warn" ? "warn" : "info") ? `${at}  ${event.level}: ${event.message}` : null;
    case "shutdown":
      return `${at}  shut down: ${event.reason} (exit code ${event.exitCode})`;
  }
}

const useColor = (stream: NodeJS.WriteStream) => stream.isTTY === true && !process.env.NO_COLOR;

/**
 * Renders a job's log as sections: a header per command, its output, and its exit code and time.
 * The output is the job's own, written as it came (colours included, as in a terminal); the
 * headers are ours, so a directive's control characters (newlines included) are shown escaped.
 */
export class JobLogPrinter {
  private startedAt = 0;
  private commandStartedAt = 0;
  private atLineStart = true;
  private readonly color: boolean;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.color = useColor(out);
  }

  private paint(code: string, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  private write(text: string): void {
    if (text.length === 0) return;
    this.out.write(text);
    this.atLineStart = text.endsWith("\n");
  }

  /**
   * Run's header: lines that name the job, before its log. They must come escaped (terminalLine):
   * this only paints them.
   */
  header(lines: string[]): void {
    if (lines.length === 0) return;
    if (!this.atLineStart) this.write("\n");
    this.write(`${lines.map((line, i) => (i === 0 ? this.paint("1", line) : this.paint("2", line))).join("\n")}\n\n`);
  }

  print(event: JobLogEvent): void {
    const now = Date.now();
    switch (event.event) {
      case "job_started":
        this.startedAt = now;
        break;
      case "cmd_started":
        this.commandStartedAt = now;
        this.write(`${this.paint("1;36", `▶ ${escapeControlChars(event.directive)}`)}\n`);
        break;
      case "cmd_output":
        this.write(event.output);
        break;
      case "cmd_finished": {
        if (!this.atLineStart) this.write("\n");
        const seconds = ((now - this.commandStartedAt) / 1000).toFixed(1);
        const ok = event.exit_code === 0;
        this.write(`${this.paint(ok ? "32" : "31", `${ok ? "✔" : "✘"} exit ${event.exit_code}`)} ${this.paint("2", `· ${seconds}s`)}\n\n`);
        break;
      }
      case "job_finished": {
        const seconds = ((now - this.startedAt) / 1000).toFixed(1);
        const colour = event.result === "passed" ? "1;32" : event.result === "failed" ? "1;31" : "1;33";
        this.write(`${this.paint(colour, `Job ${event.result}`)} in ${seconds}s\n`);
        break;
      }
    }
  }
}
