// The bounded path from a job's log events to one terminal. Formats events in order and hands the
// text to the terminal with flow control: at most a few writes in flight, and once the text waiting
// for the terminal passes the high watermark the feed stops taking events; below the low watermark it
// asks its owner for more, which reads what it skipped from the local history. So nothing is dropped
// and memory stays bounded however fast the job prints. DOM-free: the view passes a TerminalWriter.
import type { JobLogEvent } from "../../agent-core/host/contract.js";
import { JobLogFormatter, type FormatContext } from "../job-format.js";

/** What the view gives the feed: xterm's write(data, callback) in practice. */
export interface TerminalWriter {
  /** Hands text to the terminal; `done` is called once the terminal has parsed it. */
  write(data: string, done: () => void): void;
}

export interface TerminalFeedLimits {
  /** Writes handed to the terminal and not yet parsed. */
  maxWritesInFlight: number;
  /** Queued strings are joined into, or cut into, writes of at most this many characters. */
  maxWriteChars: number;
  /** Characters queued or in flight above which the feed takes no more events. */
  highWatermark: number;
  /** Characters queued or in flight at or below which the feed asks for more. */
  lowWatermark: number;
  /** Without a terminal: the most text kept for the first attach; beyond it the job is re-read from history. */
  maxBacklogChars: number;
}

export const DEFAULT_FEED_LIMITS: TerminalFeedLimits = {
  maxWritesInFlight: 3,
  maxWriteChars: 64 * 1024,
  highWatermark: 512 * 1024,
  lowWatermark: 128 * 1024,
  maxBacklogChars: 2 * 1024 * 1024,
};

export interface TerminalFeedStats {
  /** Characters the current terminal has parsed since it attached. */
  charsWritten: number;
  /** Writes in flight, strings waiting for the terminal, plus one while events are known that the feed has not taken. */
  writesPending: number;
  /** Characters queued or in flight. */
  pendingChars: number;
}

export class TerminalFeed {
  private nextIndex = 0;
  private context: FormatContext = { plan: null, stop: null };
  /** The job's plan is on its way (its detail is being read): no event is formatted before it is here. */
  private awaitingContext = false;
  private formatter = new JobLogFormatter();
  private queue: string[] = [];
  private queueHead = 0;
  private queuedChars = 0;
  private inFlight = 0;
  private inFlightChars = 0;
  private writer: TerminalWriter | null = null;
  /** Bumped on attach/detach so callbacks of a previous terminal are ignored. */
  private generation = 0;
  /** Detached and the backlog was given up: take nothing until a terminal attaches and re-reads. */
  private refusing = false;
  private charsWritten = 0;
  private pumping = false;
  private readonly limits: TerminalFeedLimits;

  /** Called when the feed can take more than it was offered: on attach and when it drains to the low watermark. */
  onWantsData: () => void = () => {};

  /** How many of the job's events are known to exist (its owner keeps this up to date). */
  knownEvents = 0;

  constructor(limits: Partial<TerminalFeedLimits> = {}) {
    this.limits = { ...DEFAULT_FEED_LIMITS, ...limits };
  }

  /** Index of the next job log event this feed needs. */
  get next(): number {
    return this.nextIndex;
  }

  get attached(): boolean {
    return this.writer !== null;
  }

  /** Characters queued or handed to the terminal and not yet parsed. */
  get pendingChars(): number {
    return this.queuedChars + this.inFlightChars;
  }

  /** True when the feed would read from history now: it has a terminal and room for a page. */
  get wantsData(): boolean {
    return this.writer !== null && !this.awaitingContext && this.pendingChars <= this.limits.lowWatermark;
  }

  /**
   * The job's plan will come (JobDetail is being read): take no events until setContext(), so that
   * the first command header already knows it. Only before anything was formatted.
   */
  awaitContext(): void {
    if (this.nextIndex === 0) this.awaitingContext = true;
  }

  /**
   * What the formatter knows of the job (JobDetail's plan and stop). The plan counts from the job's
   * first event (it is set before it, or the feed waits for it); a stop from the next event on.
   */
  setContext(context: Partial<FormatContext>): void {
    this.context = { ...this.context, ...context };
    this.formatter.setContext(this.context);
    if (!this.awaitingContext) return;
    this.awaitingContext = false;
    this.onWantsData();
  }

  /** Waiting for setContext(): its owner reads nothing meanwhile (it would read the same pages twice). */
  get awaiting(): boolean {
    return this.awaitingContext;
  }

  stats(): TerminalFeedStats {
    return {
      charsWritten: this.charsWritten,
      writesPending: this.inFlight + (this.queue.length - this.queueHead) + (this.nextIndex < this.knownEvents ? 1 : 0),
      pendingChars: this.pendingChars,
    };
  }

  /**
   * Offers consecutive events `from`, `from + 1`, ... The feed takes them from its `next` on when it has
   * room, else none of them (it will be offered them again from history). Earlier ones it already has.
   */
  offer(from: number, events: readonly JobLogEvent[]): boolean {
    const start = this.nextIndex - from;
    if (start < 0 || start >= events.length || !this.hasRoom()) return false;
    const text = this.formatter.formatAll(events, start);
    this.nextIndex = from + events.length;
    this.enqueue(text);
    return true;
  }

  /**
   * Output that follows event `next - 1`, shown before the events that repeat it (the host's
   * `preview`). Taken only when the feed is exactly there and has room; otherwise the events bring
   * the same text later.
   */
  preview(next: number, text: string): void {
    if (next !== this.nextIndex || text.length === 0 || !this.hasRoom()) return;
    this.enqueue(this.formatter.preview(text));
  }

  /** Connects a terminal that shows the job from its start. Returns the detach function. */
  attach(writer: TerminalWriter): () => void {
    if (this.refusing) this.restart();
    this.refusing = false;
    this.writer = writer;
    this.generation++;
    this.charsWritten = 0;
    const generation = this.generation;
    this.pump();
    this.onWantsData();
    return () => {
      if (this.generation === generation) this.detach();
    };
  }

  /** The terminal is gone with everything written to it: a later terminal needs the job from the start again. */
  detach(): void {
    this.writer = null;
    this.generation++;
    this.restart();
    this.refusing = true;
  }

  private restart(): void {
    this.queue = [];
    this.queueHead = 0;
    this.queuedChars = 0;
    this.inFlight = 0;
    this.inFlightChars = 0;
    this.nextIndex = 0;
    this.formatter = new JobLogFormatter(this.context);
  }

  private hasRoom(): boolean {
    if (this.awaitingContext) return false;
    if (this.writer !== null) return this.pendingChars < this.limits.highWatermark;
    return !this.refusing;
  }

  private enqueue(text: string): void {
    if (text.length === 0) return;
    this.queue.push(text);
    this.queuedChars += text.length;
    if (this.writer !== null) {
      this.pump();
    } else if (this.queuedChars > this.limits.maxBacklogChars) {
      // Nobody is watching and the job is big: keep nothing; the first terminal re-reads the history.
      this.restart();
      this.refusing = true;
    }
  }

  private pump(): void {
    const writer = this.writer;
    // A terminal that calls back synchronously re-enters here; the loop below already goes on.
    if (writer === null || this.pumping) return;
    this.pumping = true;
    try {
      this.pumpInto(writer);
    } finally {
      this.pumping = false;
    }
  }

  private pumpInto(writer: TerminalWriter): void {
    const max = this.limits.maxWriteChars;
    while (this.writer === writer && this.inFlight < this.limits.maxWritesInFlight && this.queueHead < this.queue.length) {
      let chunk = this.queue[this.queueHead]!;
      if (chunk.length > max) {
        // xterm parses one write without yielding: a long one would freeze the page. Its parser
        // carries escape sequences and surrogate pairs across writes, so any cut is safe.
        this.queue[this.queueHead] = chunk.slice(max);
        chunk = chunk.slice(0, max);
      } else {
        this.queueHead++;
        while (this.queueHead < this.queue.length && chunk.length + this.queue[this.queueHead]!.length <= max) {
          chunk += this.queue[this.queueHead++]!;
        }
      }
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      this.queuedChars -= chunk.length;
      this.inFlight++;
      this.inFlightChars += chunk.length;
      const generation = this.generation;
      const size = chunk.length;
      writer.write(chunk, () => this.written(generation, size));
    }
    if (this.queueHead === this.queue.length && this.queueHead > 0) {
      this.queue = [];
      this.queueHead = 0;
    }
  }

  private written(generation: number, size: number): void {
    if (generation !== this.generation) return;
    const wasAboveLow = this.pendingChars > this.limits.lowWatermark;
    this.inFlight--;
    this.inFlightChars -= size;
    this.charsWritten += size;
    this.pump();
    if (wasAboveLow && this.pendingChars <= this.limits.lowWatermark) this.onWantsData();
  }
}
