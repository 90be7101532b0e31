// The path from a job's log events to the Job view's log (a JobLog). Events are read in order by a
// JobLogInterpreter straight into the log: taking them is cheap (lines are split, nothing is drawn;
// the view draws only the rows on screen, once a frame), so there is no queue to bound. Without a
// view the feed keeps a bounded backlog for the first one; past it, it gives the backlog up and the
// view re-reads the job from the local history. DOM-free.
import type { JobLogEvent } from "../../agent-core/host/contract.js";
import { JobLogInterpreter, type FormatContext } from "../job-format.js";
import { JobLog, type JobLogLimits } from "../log/job-log.js";

export interface LogFeedLimits {
  /** Without a view: the most output (characters) kept for the first attach; beyond it the job is re-read from history. */
  maxBacklogChars: number;
  log: Partial<JobLogLimits>;
}

export const DEFAULT_FEED_LIMITS: LogFeedLimits = { maxBacklogChars: 2 * 1024 * 1024, log: {} };

export interface LogFeedStats {
  /** Characters of output the current log has taken since its view attached. */
  charsWritten: number;
  /** 1 while events are known that the feed has not taken (being read from history), else 0. */
  writesPending: number;
}

/** What the view hears of what the feed takes. */
export interface LogFeedListener {
  /** Output text the log took (the probe counts it). */
  ingested(text: string): void;
  /** The log changed: events were taken. */
  changed(): void;
}

export class LogFeed {
  private nextIndex = 0;
  private context: FormatContext = { plan: null, stop: null };
  /** The job's plan is on its way (its detail is being read): no event is read before it is here. */
  private awaitingContext = false;
  private log: JobLog;
  private interpreter: JobLogInterpreter;
  private listener: LogFeedListener | null = null;
  /** Bumped on attach/detach so a previous view's detach is ignored. */
  private generation = 0;
  /** Detached and the backlog was given up: take nothing until a view attaches and re-reads. */
  private refusing = false;
  private backlogChars = 0;
  private charsWritten = 0;
  private readonly limits: LogFeedLimits;

  /** Called when the feed can take more than it was offered: on attach and once the plan is here. */
  onWantsData: () => void = () => {};

  /** How many of the job's events are known to exist (its owner keeps this up to date). */
  knownEvents = 0;

  constructor(limits: Partial<LogFeedLimits> = {}) {
    this.limits = { ...DEFAULT_FEED_LIMITS, ...limits };
    this.log = new JobLog(this.limits.log);
    this.interpreter = new JobLogInterpreter(this.log, this.context);
  }

  /** Index of the next job log event this feed needs. */
  get next(): number {
    return this.nextIndex;
  }

  get attached(): boolean {
    return this.listener !== null;
  }

  /** True when the feed would read from history now: it has a view and is not waiting for the plan. */
  get wantsData(): boolean {
    return this.listener !== null && !this.awaitingContext;
  }

  /**
   * The job's plan will come (JobDetail is being read): take no events until setContext(), so that
   * the first command header already knows it. Only before anything was read.
   */
  awaitContext(): void {
    if (this.nextIndex === 0) this.awaitingContext = true;
  }

  /** What the interpreter knows of the job (JobDetail's plan and stop): the plan from the first event, a stop from the next. */
  setContext(context: Partial<FormatContext>): void {
    this.context = { ...this.context, ...context };
    this.interpreter.setContext(this.context);
    if (!this.awaitingContext) return;
    this.awaitingContext = false;
    this.onWantsData();
  }

  /** Waiting for setContext(): its owner reads nothing meanwhile (it would read the same pages twice). */
  get awaiting(): boolean {
    return this.awaitingContext;
  }

  stats(): LogFeedStats {
    return { charsWritten: this.charsWritten, writesPending: this.nextIndex < this.knownEvents ? 1 : 0 };
  }

  /**
   * Offers consecutive events `from`, `from + 1`, ... The feed takes them from its `next` on (earlier
   * ones it already has), unless it is waiting for the plan or gave its backlog up.
   */
  offer(from: number, events: readonly JobLogEvent[]): boolean {
    const start = this.nextIndex - from;
    if (start < 0 || start >= events.length || !this.takes()) return false;
    let chars = 0;
    for (let i = start; i < events.length; i++) {
      // What a preview showed already is not counted again.
      const kept = this.interpreter.read(events[i]!);
      if (kept.length === 0) continue;
      chars += kept.length;
      this.listener?.ingested(kept);
    }
    this.nextIndex = from + events.length;
    this.took(chars);
    return true;
  }

  /**
   * Output that follows event `next - 1`, shown before the events that repeat it (the host's
   * `preview`). Taken only when the feed is exactly there; otherwise the events bring it later.
   */
  preview(next: number, text: string): void {
    if (next !== this.nextIndex || text.length === 0 || !this.takes()) return;
    this.interpreter.preview(text);
    this.listener?.ingested(text);
    this.took(text.length);
  }

  /** Connects a view that shows the job from its start: it gets the log to draw. */
  attach(listener: LogFeedListener): { log: JobLog; detach: () => void } {
    if (this.refusing) this.restart();
    this.refusing = false;
    this.listener = listener;
    this.generation++;
    this.charsWritten = 0;
    const generation = this.generation;
    const log = this.log;
    this.onWantsData();
    return {
      log,
      detach: () => {
        if (this.generation === generation) this.detach();
      },
    };
  }

  /** The view is gone: a later one needs the job from the start again. */
  detach(): void {
    this.listener = null;
    this.generation++;
    this.charsWritten = 0;
    this.restart();
    this.refusing = true;
  }

  private takes(): boolean {
    if (this.awaitingContext) return false;
    return this.listener !== null || !this.refusing;
  }

  private took(chars: number): void {
    this.charsWritten += chars;
    if (this.listener !== null) {
      this.listener.changed();
      return;
    }
    this.backlogChars += chars;
    if (this.backlogChars > this.limits.maxBacklogChars) {
      // Nobody is watching and the job is big: keep nothing; the first view re-reads the history.
      this.restart();
      this.refusing = true;
    }
  }

  private restart(): void {
    this.nextIndex = 0;
    this.backlogChars = 0;
    this.log = new JobLog(this.limits.log);
    this.interpreter = new JobLogInterpreter(this.log, this.context);
  }
}
