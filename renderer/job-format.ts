// Reads a job's log events for the log model (JobLogInterpreter, for log/job-log.ts) and turns them
// into the structured list of its commands. Pure: no DOM, no store. With the job's plan
// (JobDetail.plan) it says which commands are epilogues (always, on pass, on fail) and which were
// skipped; it names the agent's own steps from the log alone; with the job's stop (JobDetail.stop)
// the command the stop ended says who stopped it instead of "exit 1".
import {
  CHECK_RESULT_DIRECTIVE,
  ENV_STEP_DIRECTIVE,
  FILES_STEP_DIRECTIVE,
  POST_JOB_HOOK_ALIAS,
  PRE_JOB_HOOK_ALIAS,
  sameDirective,
  type JobLogEvent,
  type JobPlan,
  type JobResult,
  type JobStop,
} from "../agent-core/host/contract.js";

const BOLD = "\x1b[1m";
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

/** Directives come from the server: show control characters instead of letting them act as escapes in the log. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `^${String.fromCharCode((c.charCodeAt(0) + 64) & 0x7f)}`);
}

export function resultWord(result: JobResult): string {
  return result === "passed" ? "passed" : result === "failed" ? "failed" : "stopped";
}

// ---------------------------------------------------------------------------------------------
// Sections: what each command of the log is (the job's own, an epilogue, one of the agent's steps).

export type SectionKind =
  | "job-env"
  | "files"
  | "pre-hook"
  | "command"
  | "check-result"
  | "result-env"
  | "epilogue-always"
  | "epilogue-on-pass"
  | "epilogue-on-fail"
  /** An epilogue of a job without a plan: which kind is not known. */
  | "epilogue"
  | "post-hook";

export interface Section {
  kind: SectionKind;
  /** Words shown beside the directive ("agent step · the job's variables", "epilogue · always"); null for the job's own commands. */
  tag: string | null;
}

const SECTION_TAGS: Record<SectionKind, string | null> = {
  "job-env": "agent step · the job's variables",
  files: "agent step · the job's files",
  "pre-hook": "agent hook",
  command: null,
  "check-result": "agent step · after exit 130",
  "result-env": "agent step · SEMAPHORE_JOB_RESULT",
  "epilogue-always": "epilogue · always",
  "epilogue-on-pass": "epilogue · on pass",
  "epilogue-on-fail": "epilogue · on fail",
  epilogue: "epilogue",
  "post-hook": "agent hook",
};

function section(kind: SectionKind): Section {
  return { kind, tag: SECTION_TAGS[kind] };
}

export function isEpilogue(kind: SectionKind): boolean {
  return kind === "epilogue-always" || kind === "epilogue-on-pass" || kind === "epilogue-on-fail" || kind === "epilogue";
}

/** The CSS class of a section's tag, in the log and in the command list: an epilogue's, an agent step's, or none for the job's own commands. */
export function sectionTagClass(kind: SectionKind): "epilogue" | "agent" | null {
  return kind === "command" ? null : isEpilogue(kind) ? "epilogue" : "agent";
}

/** Where a skipped command belongs among the commands that ran. */
export type SkippedGroup = "commands" | "always" | "branch";

export interface SkippedCommand {
  directive: string;
  section: Section;
  group: SkippedGroup;
}

/**
 * Follows a job's commands in the order the runner logs them (agent-core/job/runner.ts): the job's
 * env export, files, the pre-job hook, the job's commands (until the first failure or a stop), the
 * SEMAPHORE_JOB_RESULT export, the always epilogues, then the on-pass or on-fail ones, the post-job
 * hook. The agent's steps are told by their directives; epilogues and skipped commands need the plan.
 */
export class SectionTracker {
  private phase: "setup" | "commands" | "epilogues" | "done" = "setup";
  private envSeen = false;
  private setupFailed = false;
  private commandsStarted = 0;
  private commandFailed = false;
  private resultExported = false;
  private alwaysStarted = 0;
  private alwaysDone = false;
  private branch: "epilogue-on-pass" | "epilogue-on-fail" | null = null;
  private branchStarted = 0;
  private current: Section | null = null;

  constructor(private readonly plan: JobPlan | null) {}

  start(directive: string): Section {
    const plan = this.plan;
    let kind: SectionKind;
    if (directive === POST_JOB_HOOK_ALIAS) {
      kind = "post-hook";
      this.phase = "done";
    } else if (this.phase === "setup" && directive === ENV_STEP_DIRECTIVE && !this.envSeen) {
      kind = "job-env";
      this.envSeen = true;
    } else if ((this.phase === "setup" || this.phase === "commands") && directive === ENV_STEP_DIRECTIVE) {
      kind = "result-env";
      this.resultExported = true;
      this.phase = "epilogues";
    } else if (this.phase === "setup" && directive === FILES_STEP_DIRECTIVE) {
      kind = "files";
    } else if (this.phase === "setup" && directive === PRE_JOB_HOOK_ALIAS) {
      kind = "pre-hook";
    } else if ((this.phase === "setup" || this.phase === "commands") && directive === CHECK_RESULT_DIRECTIVE) {
      kind = "check-result";
    } else if (this.phase === "epilogues" || this.phase === "done") {
      kind = plan === null ? "epilogue" : this.epilogueKind(plan, directive);
    } else {
      kind = "command";
      this.phase = "commands";
      this.commandsStarted++;
    }
    this.current = section(kind);
    return this.current;
  }

  finish(exitCode: number): void {
    const kind = this.current?.kind;
    this.current = null;
    if (exitCode === 0 || kind === undefined) return;
    if (kind === "job-env" || kind === "files") this.setupFailed = true;
    else if (kind === "command") this.commandFailed = true;
    else if (kind === "epilogue-always") this.alwaysDone = true;
  }

  /** The commands of the plan that never ran, once the job has ended with `result`. Empty without a plan. */
  skipped(result: JobResult): SkippedCommand[] {
    const plan = this.plan;
    if (plan === null) return [];
    const out: SkippedCommand[] = [];
    for (const directive of plan.commands.slice(this.commandsStarted)) out.push({ directive, section: section("command"), group: "commands" });
    for (const directive of plan.epilogueAlways.slice(this.alwaysStarted)) out.push({ directive, section: section("epilogue-always"), group: "always" });
    // Epilogues run only after the SEMAPHORE_JOB_RESULT export; without it (a stop, exit 130) the
    // result says which of on-pass and on-fail would have run, and a stop runs neither.
    const branch = this.resultExported ? (this.branch ?? (this.regularPassed() ? "epilogue-on-pass" : "epilogue-on-fail")) : result === "passed" ? "epilogue-on-pass" : result === "failed" ? "epilogue-on-fail" : null;
    if (branch !== null) {
      const list = branch === "epilogue-on-pass" ? plan.epilogueOnPass : plan.epilogueOnFail;
      for (const directive of list.slice(this.branch === branch ? this.branchStarted : 0)) out.push({ directive, section: section(branch), group: "branch" });
    }
    return out;
  }

  /** The result the regular phase gave, as far as the log tells it (it decides which epilogues run). */
  private regularPassed(): boolean {
    if (this.setupFailed || this.commandFailed) return false;
    return this.plan === null || this.commandsStarted >= this.plan.commands.length;
  }

  private epilogueKind(plan: JobPlan, directive: string): SectionKind {
    if (this.branch === null && !this.alwaysDone && sameDirective(directive, plan.epilogueAlways[this.alwaysStarted])) {
      this.alwaysStarted++;
      if (this.alwaysStarted >= plan.epilogueAlways.length) this.alwaysDone = true;
      return "epilogue-always";
    }
    this.alwaysDone = true;
    if (this.branch === null) {
      const pass = sameDirective(directive, plan.epilogueOnPass[0]);
      const fail = sameDirective(directive, plan.epilogueOnFail[0]);
      this.branch = pass && !fail ? "epilogue-on-pass" : fail && !pass ? "epilogue-on-fail" : this.regularPassed() ? "epilogue-on-pass" : "epilogue-on-fail";
    }
    this.branchStarted++;
    return this.branch;
  }
}

/** "Stopped by you" -> "stopped by you", for the middle of a line. */
export function stopWords(by: string): string {
  return by.replace(/^Stopped\b/, "stopped");
}

/** The names of skipped commands in one line, bounded. */
export function skippedLine(skipped: readonly SkippedCommand[], stopped: boolean, max = 12): string {
  const names = skipped.slice(0, max).map((c) => {
    const name = c.directive.length > 80 ? `${c.directive.slice(0, 79)}…` : c.directive;
    return c.section.tag !== null ? `${name} (${c.section.tag})` : name;
  });
  const more = skipped.length > max ? `, and ${skipped.length - max} more` : "";
  return `Skipped after the ${stopped ? "stop" : "failure"}: ${names.join(", ")}${more}`;
}

/** What the interpreter knows of the job besides its events: its plan and its stop (JobDetail). */
export interface FormatContext {
  plan: JobPlan | null;
  stop: JobStop | null;
}

/** How a command ended, as the log says it. */
export interface CommandEnd {
  /** ok: exit 0; failed: another exit; stopped: the stop ended it; after-stop: started after the stop (never ran); unfinished: the job ended while it ran. */
  state: "ok" | "failed" | "stopped" | "after-stop" | "unfinished";
  /** null when it did not finish. */
  exitCode: number | null;
  /** Its duration in whole seconds. */
  seconds: number;
  /** Who stopped it ("Stopped by you"), for a stopped one. */
  stoppedBy: string | null;
}

/** The line that ends a command, with its colour: "✔ exit 0 · 1 s", "■ stopped by you · 3 s". */
export function commandEndLine(end: CommandEnd): string {
  const seconds = formatSeconds(end.seconds);
  switch (end.state) {
    case "stopped":
      return `${YELLOW}■ ${printable(stopWords(end.stoppedBy ?? "Stopped"))} · ${seconds}`;
    case "after-stop":
      return `${YELLOW}■ not run: the job was stopped (exit ${end.exitCode})`;
    case "unfinished":
      return `${YELLOW}■ did not finish · ${seconds}`;
    case "ok":
    case "failed":
      return `${end.state === "ok" ? GREEN : RED}${end.state === "ok" ? "✔" : "✘"} exit ${end.exitCode} · ${seconds}`;
  }
}

/** How the job ended, as its last line says it: the skipped commands (or null) and the result with its colour. */
export interface JobEnd {
  result: JobResult;
  /** The "⊘ Skipped after the failure: ..." line, plain, or null. */
  skipped: string | null;
  /** "✔ Job passed", "■ Job stopped by you", with its colour. */
  line: string;
}

/** What a job's log is made of, in order: the interpreter calls these, the log model (JobLog) takes them. */
export interface JobLogSink {
  jobStarted(timestamp: number): void;
  /** `directive` is already printable. */
  commandStarted(directive: string, section: Section, index: number, timestamp: number): void;
  /** Output as the job printed it (colours, \r and all); `timestamp` is null for a preview. */
  output(text: string, timestamp: number | null): void;
  commandFinished(end: CommandEnd, timestamp: number): void;
  jobFinished(end: JobEnd, timestamp: number): void;
}

/**
 * Reads one job's events in order and tells a sink what the log says: which command is what
 * (SectionTracker), how each ended, who stopped it, what was skipped. Make a new one for each
 * view that shows the job from its start.
 */
export class JobLogInterpreter {
  /** Characters of output shown by preview() that the next cmd_output events repeat. */
  private ahead = 0;
  /** Events read so far: the number of the next one. */
  private count = 0;
  /** Commands started so far. */
  private commands = 0;
  private context: FormatContext;
  private tracker: SectionTracker;
  /** The running command: its event number and cmd_started timestamp. */
  private open: { event: number; startedAt: number } | null = null;

  constructor(
    private readonly sink: JobLogSink,
    context: Partial<FormatContext> = {},
  ) {
    this.context = { plan: context.plan ?? null, stop: context.stop ?? null };
    this.tracker = new SectionTracker(this.context.plan);
  }

  /** Events read so far. */
  get events(): number {
    return this.count;
  }

  /**
   * What is known of the job now. The plan is read before the first event (a plan that comes later
   * is used from the next job on: the feed waits for it); a stop is used from the next event on.
   */
  setContext(context: Partial<FormatContext>): void {
    this.context = { ...this.context, ...context };
    if (this.count === 0) this.tracker = new SectionTracker(this.context.plan);
  }

  /**
   * Output shown ahead of the events that will carry it (the host's `preview`): told now, and
   * skipped when those cmd_output events come.
   */
  preview(text: string): void {
    if (text.length === 0) return;
    this.ahead += text.length;
    this.sink.output(text, null);
  }

  /** Reads the next event; returns the output it told the sink (a cmd_output's text less what a preview showed), else "". */
  read(event: JobLogEvent): string {
    if (event.event !== "cmd_output") this.ahead = 0; // a preview never outlives its command
    const index = this.count++;
    switch (event.event) {
      case "job_started":
        this.sink.jobStarted(event.timestamp);
        return "";
      case "cmd_started": {
        const section = this.tracker.start(event.directive);
        this.open = { event: index, startedAt: event.timestamp };
        this.sink.commandStarted(printable(event.directive), section, this.commands++, event.timestamp);
        return "";
      }
      case "cmd_output": {
        const skip = Math.min(this.ahead, event.output.length);
        this.ahead -= skip;
        const output = skip === 0 ? event.output : event.output.slice(skip);
        if (output.length > 0) this.sink.output(output, event.timestamp);
        return output;
      }
      case "cmd_finished": {
        const ok = event.exit_code === 0;
        const state = ok ? "ok" : stopState(this.context.stop, this.open?.event ?? null, index);
        this.open = null;
        this.tracker.finish(event.exit_code);
        this.sink.commandFinished(
          {
            state: state === "after-stop" ? "after-stop" : state === "stopped" ? "stopped" : ok ? "ok" : "failed",
            exitCode: event.exit_code,
            seconds: event.finished_at - event.started_at,
            stoppedBy: state === "stopped" ? this.context.stop!.by : null,
          },
          event.finished_at,
        );
        return "";
      }
      case "job_finished": {
        if (this.open !== null) {
          this.sink.commandFinished({ state: "unfinished", exitCode: null, seconds: event.timestamp - this.open.startedAt, stoppedBy: null }, event.timestamp);
          this.open = null;
        }
        const stop = event.result === "stopped" ? this.context.stop : null;
        const skipped = this.tracker.skipped(event.result);
        const colour = event.result === "passed" ? GREEN : event.result === "failed" ? RED : YELLOW;
        const mark = event.result === "passed" ? "✔" : event.result === "failed" ? "✘" : "■";
        const words = stop !== null ? printable(stopWords(stop.by)) : resultWord(event.result);
        this.sink.jobFinished(
          {
            result: event.result,
            skipped: skipped.length > 0 ? `⊘ ${printable(skippedLine(skipped, event.result === "stopped" || this.context.stop !== null))}` : null,
            line: `${BOLD}${colour}${mark} Job ${words}`,
          },
          event.timestamp,
        );
        return "";
      }
    }
  }
}

/**
 * How a command that did not exit 0 ended, given the job's stop: "stopped" for the command that was
 * running when the stop was asked, "after-stop" for one started after it (in a dead shell: never
 * run), "failed" otherwise.
 */
export function stopState(stop: JobStop | null, startEvent: number | null, endEvent: number | null): "stopped" | "after-stop" | "failed" {
  if (stop === null || startEvent === null) return "failed";
  if (startEvent >= stop.atEvent) return "after-stop";
  return endEvent === null || endEvent >= stop.atEvent ? "stopped" : "failed";
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
  /** Numbers of its cmd_started and cmd_finished events in the job's log, when the outline was told them. */
  startEvent?: number;
  endEvent?: number;
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
export function applyToOutline(outline: JobOutline, event: JobLogEvent, max = MAX_OUTLINE_COMMANDS, eventIndex?: number): JobOutline {
  switch (event.event) {
    case "cmd_started": {
      const index = outline.omittedCommands + outline.commands.length;
      const entry: CommandEntry = { index, directive: event.directive, startedAt: event.timestamp, exitCode: null, durationS: null };
      if (eventIndex !== undefined) entry.startEvent = eventIndex;
      let commands = [...outline.commands, entry];
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
      const startEvent = at >= 0 ? outline.commands[at]!.startEvent : undefined;
      if (startEvent !== undefined) done.startEvent = startEvent;
      if (eventIndex !== undefined) done.endEvent = eventIndex;
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

// ---------------------------------------------------------------------------------------------
// The side list: the commands that ran, what each is, how it ended, and those skipped.

export type CommandRowState = "running" | "passed" | "failed" | "stopped" | "after-stop" | "skipped" | "unfinished";

export interface CommandRow {
  key: string;
  directive: string;
  section: Section;
  state: CommandRowState;
  /** The command that ran (null for a skipped one). */
  entry: CommandEntry | null;
}

/**
 * The rows of the Job view's command list. `ended`: the job is over (finished or lost), so a command
 * without an exit code did not finish and the plan's commands that never started were skipped.
 * Without the plan (older jobs), or once the front of a long list was dropped, no epilogue kinds and
 * no skipped rows: the list is the log's.
 */
export function commandRows(outline: JobOutline, context: FormatContext, ended: boolean, result: JobResult | null): CommandRow[] {
  const plan = outline.omittedCommands > 0 ? null : context.plan;
  const tracker = new SectionTracker(plan);
  const rows: CommandRow[] = outline.commands.map((entry) => {
    const sec = tracker.start(entry.directive);
    if (entry.exitCode !== null) tracker.finish(entry.exitCode);
    let state: CommandRowState;
    if (entry.exitCode === null) state = ended ? "unfinished" : "running";
    else if (entry.exitCode === 0) state = "passed";
    else state = stopState(context.stop, entry.startEvent ?? null, entry.endEvent ?? null);
    return { key: `c${entry.index}`, directive: entry.directive, section: sec, state, entry };
  });
  if (!ended || result === null || plan === null) return rows;
  const skipped = tracker.skipped(result);
  if (skipped.length === 0) return rows;
  const later = (kinds: SectionKind[]) => {
    const at = rows.findIndex((r) => kinds.includes(r.section.kind));
    return at < 0 ? rows.length : at;
  };
  const lastOf = (kinds: SectionKind[]) => rows.reduce((found, r, i) => (kinds.includes(r.section.kind) ? i + 1 : found), -1);
  const atCommands = later(["result-env", "epilogue-always", "epilogue-on-pass", "epilogue-on-fail", "epilogue", "post-hook"]);
  const lastAlways = lastOf(["epilogue-always"]);
  const resultEnv = lastOf(["result-env"]);
  const atAlways = lastAlways >= 0 ? lastAlways : resultEnv >= 0 ? resultEnv : atCommands;
  const lastBranch = lastOf(["epilogue-on-pass", "epilogue-on-fail"]);
  const atBranch = lastBranch >= 0 ? lastBranch : atAlways;
  const toRow = (c: SkippedCommand, i: number): CommandRow => ({ key: `s${c.group}${i}`, directive: c.directive, section: c.section, state: "skipped", entry: null });
  const of = (group: SkippedGroup) => skipped.filter((c) => c.group === group).map(toRow);
  rows.splice(atBranch, 0, ...of("branch"));
  rows.splice(atAlways, 0, ...of("always"));
  rows.splice(atCommands, 0, ...of("commands"));
  return rows;
}
