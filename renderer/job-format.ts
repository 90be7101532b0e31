// Turns a job's log events into terminal text and into the structured list of its commands. Pure:
// no DOM, no store; the formatter carries only "is the cursor at the start of a line".
import type { JobLogEvent, JobResult } from "../agent-core/host/contract.js";

const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";
const DIM = "\x1b[2m";
const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";

/** "0 s" reads as "did not run"; sub-second commands are common, so say so. Timestamps are whole seconds. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 1) return "< 1 s";
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** Directives come from the server: show control characters instead of letting them drive the terminal. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `^${String.fromCharCode((c.charCodeAt(0) + 64) & 0x7f)}`);
}

export function resultWord(result: JobResult): string {
  return result === "passed" ? "passed" : result === "failed" ? "failed" : "stopped";
}

/** Formats one job's events in order. Make a new one for each terminal that shows the job from its start. */
export class JobLogFormatter {
  private atLineStart = true;
  /** Characters of output shown by preview() that the next cmd_output events repeat. */
  private ahead = 0;

  /**
   * Output shown ahead of the events that will carry it (the host's `preview`): returned to be
   * written now, and skipped when those cmd_output events come.
   */
  preview(text: string): string {
    if (text.length === 0) return "";
    this.ahead += text.length;
    this.atLineStart = text.charCodeAt(text.length - 1) === 10;
    return text;
  }

  format(event: JobLogEvent): string {
    if (event.event !== "cmd_output") this.ahead = 0; // a preview never outlives its command
    switch (event.event) {
      case "job_started":
        this.atLineStart = true;
        return `${this.lineBreak()}${DIM}Job started${RESET}\r\n`;
      case "cmd_started": {
        const text = `${this.lineBreak()}${RESET}${BOLD}▶ ${printable(event.directive)}${RESET}\r\n`;
        this.atLineStart = true;
        return text;
      }
      case "cmd_output": {
        const skip = Math.min(this.ahead, event.output.length);
        this.ahead -= skip;
        const output = skip === 0 ? event.output : event.output.slice(skip);
        if (output.length > 0) this.atLineStart = output.charCodeAt(output.length - 1) === 10; // "\n"
        return output;
      }
      case "cmd_finished": {
        const seconds = formatSeconds(event.finished_at - event.started_at);
        const ok = event.exit_code === 0;
        const text = `${this.lineBreak()}${RESET}${ok ? GREEN : RED}${ok ? "✔" : "✘"} exit ${event.exit_code} · ${seconds}${RESET}\r\n`;
        this.atLineStart = true;
        return text;
      }
      case "job_finished": {
        const colour = event.result === "passed" ? GREEN : event.result === "failed" ? RED : YELLOW;
        const mark = event.result === "passed" ? "✔" : event.result === "failed" ? "✘" : "■";
        const text = `${this.lineBreak()}\r\n${RESET}${BOLD}${colour}${mark} Job ${resultWord(event.result)}${RESET}\r\n`;
        this.atLineStart = true;
        return text;
      }
    }
  }

  /** Formats a run of consecutive events into one string. */
  formatAll(events: readonly JobLogEvent[], start = 0, end = events.length): string {
    let text = "";
    for (let i = start; i < end; i++) text += this.format(events[i]!);
    return text;
  }

  private lineBreak(): string {
    return this.atLineStart ? "" : "\r\n";
  }
}

/** One command of a job as the UI lists it. */
export interface CommandEntry {
  /** Position in the job (0 = first cmd_started). */
  index: number;
  directive: string;
  /** Unix seconds. */
  startedAt: number;
  /** null while it runs. */
  exitCode: number | null;
  /** Whole seconds; null while it runs. */
  durationS: number | null;
}

/** The structured view of a job's log: its commands and, once known, its result. */
export interface JobOutline {
  commands: CommandEntry[];
  /** Commands dropped from the front of `commands` to keep it bounded. */
  omittedCommands: number;
  result: JobResult | null;
}

export const MAX_OUTLINE_COMMANDS = 5000;

export function emptyOutline(): JobOutline {
  return { commands: [], omittedCommands: 0, result: null };
}

/**
 * Applies one event to an outline. Returns the same object when nothing the UI shows changed
 * (cmd_output, job_started), a new one otherwise, so callers can tell whether to publish.
 */
export function applyToOutline(outline: JobOutline, event: JobLogEvent, max = MAX_OUTLINE_COMMANDS): JobOutline {
  switch (event.event) {
    case "cmd_started": {
      const index = outline.omittedCommands + outline.commands.length;
      let commands = [...outline.commands, { index, directive: event.directive, startedAt: event.timestamp, exitCode: null, durationS: null }];
      let omitted = outline.omittedCommands;
      if (commands.length > max) {
        omitted += commands.length - max;
        commands = commands.slice(commands.length - max);
      }
      return { ...outline, commands, omittedCommands: omitted };
    }
    case "cmd_finished": {
      const at = findOpenCommand(outline.commands);
      const done: CommandEntry = {
        index: at >= 0 ? outline.commands[at]!.index : outline.omittedCommands + outline.commands.length,
        directive: event.directive,
        startedAt: event.started_at,
        exitCode: event.exit_code,
        durationS: Math.max(0, event.finished_at - event.started_at),
      };
      const commands = at >= 0 ? outline.commands.map((c, i) => (i === at ? done : c)) : [...outline.commands, done];
      return { ...outline, commands };
    }
    case "job_finished":
      return { ...outline, result: event.result };
    case "job_started":
    case "cmd_output":
      return outline;
  }
}

/** The command still running: commands do not nest, so it is the last one without an exit code. */
function findOpenCommand(commands: readonly CommandEntry[]): number {
  const last = commands.length - 1;
  return last >= 0 && commands[last]!.exitCode === null ? last : -1;
}
