// One job's log as the UI follows it. Events arrive live (HostEvent "job-output", numbered from
// `from`) and from the local history (readJobLog pages). Both go through `ingest`, where each consumer
// -- the outline (commands, result) and the log feed -- takes only the event it expects next, so
// nothing is applied twice or out of order whatever the sources deliver. A live batch that starts
// after a gap waits (bounded) until the history has filled the gap; the log feed, when it had no
// view, catches up from the history the same way. The output is held only by the view's JobLog.
import type { HostParams, JobLogEvent, JobLogPage } from "../../agent-core/host/contract.js";
import { errorCode } from "../bridge/types.js";
import { applyToOutline, emptyOutline, MAX_OUTLINE_COMMANDS, type JobOutline } from "../job-format.js";
import { LogFeed, type LogFeedLimits } from "./log-feed.js";

export interface JobStreamStatus {
  /** A read from the local history is in progress. */
  loading: boolean;
  /** Why the log stopped loading (shown with a Retry), or null. */
  error: string | null;
  /** The host does not know the job yet (scheduled, not picked up by the agent). */
  missing: boolean;
}

export interface JobStreamHost {
  readJobLog(params: HostParams<"readJobLog">): Promise<JobLogPage>;
  /** The outline changed (a command started or finished, or the result is known). */
  outline(jobId: string, outline: JobOutline): void;
  status(jobId: string, status: JobStreamStatus): void;
}

export interface JobStreamOptions {
  /** maxBytes of each readJobLog page. */
  pageBytes: number;
  /** Characters of live output held while a gap is filled; beyond it they are re-read from history. */
  maxQueuedChars: number;
  /** Waits while the history has not yet stored events the live stream announced. */
  lagDelaysMs: readonly number[];
  /** Give up waiting for the history after this long without progress. */
  lagGiveUpMs: number;
  sleep: (ms: number) => Promise<void>;
  feed: Partial<LogFeedLimits>;
}

export const DEFAULT_STREAM_OPTIONS: JobStreamOptions = {
  pageBytes: 256 * 1024,
  maxQueuedChars: 4 * 1024 * 1024,
  lagDelaysMs: [20, 50, 100, 200, 500, 1000],
  lagGiveUpMs: 30_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  feed: {},
};

interface LiveBatch {
  from: number;
  events: readonly JobLogEvent[];
  chars: number;
}

function batchChars(events: readonly JobLogEvent[]): number {
  let chars = 0;
  for (const e of events) chars += e.event === "cmd_output" ? e.output.length + 64 : 96;
  return chars;
}

export class JobStream {
  readonly feed: LogFeed;
  private readonly options: JobStreamOptions;
  /** Next event index the outline needs. */
  private applied = 0;
  /** Events [0, seen) are known to exist. */
  private seen = 0;
  /** Number of events once the log is known complete (job_finished seen, or a page said done). */
  private end: number | null = null;
  /** Read the history up to its end once: the job was opened mid-way, or events may have been missed. */
  private syncPending: boolean;
  private queue: LiveBatch[] = [];
  private queuedChars = 0;
  private outline: JobOutline = emptyOutline();
  private reading = false;
  private disposed = false;
  private current: JobStreamStatus = { loading: false, error: null, missing: false };

  /**
   * @param fresh true when the job just started here, so its events will all arrive live from 0;
   *   false when it is opened from the history or mid-way, so the stored log is read first.
   * @param awaitContext the job's plan is on its way: nothing is read until the feed has it
   *   (feed.setContext), so that the log is read once and its first header already knows it.
   */
  constructor(
    readonly jobId: string,
    private readonly host: JobStreamHost,
    fresh: boolean,
    options: Partial<JobStreamOptions> = {},
    awaitContext = false,
  ) {
    this.options = { ...DEFAULT_STREAM_OPTIONS, ...options };
    this.syncPending = !fresh;
    this.feed = new LogFeed(this.options.feed);
    this.feed.onWantsData = () => this.pump();
    if (awaitContext) this.feed.awaitContext();
    if (!fresh) this.pump();
  }

  get status(): JobStreamStatus {
    return this.current;
  }

  /** Index of the next event the outline needs (for tests and the UI's counters). */
  get appliedCount(): number {
    return this.applied;
  }

  get complete(): boolean {
    return this.end !== null && this.applied >= this.end;
  }

  /** A "job-output" HostEvent for this job; `preview` is output that follows its events. */
  live(from: number, events: readonly JobLogEvent[], preview?: string): void {
    if (this.disposed) return;
    if (events.length > 0) {
      this.learn(from + events.length);
      if (from <= this.applied && this.queue.length === 0) {
        this.ingest(from, events);
      } else {
        this.hold(from, events);
      }
    }
    // Only right behind what the log has: after a gap the events bring the same text later.
    if (preview !== undefined && this.queue.length === 0) this.feed.preview(from + events.length, preview);
    this.pump();
  }

  /** Read the history to its end again: after a reconnect, once the job finished, or on Retry. */
  resync(): void {
    if (this.disposed) return;
    this.syncPending = true;
    this.setStatus({ ...this.current, error: null, missing: false });
    this.pump();
  }

  dispose(): void {
    this.disposed = true;
    this.queue = [];
    this.feed.detach();
  }

  private hold(from: number, events: readonly JobLogEvent[]): void {
    const chars = batchChars(events);
    if (this.queuedChars + chars > this.options.maxQueuedChars) {
      // Too much waiting on the gap: forget it all; `seen` remembers it exists and the history has it.
      this.queue = [];
      this.queuedChars = 0;
      return;
    }
    this.queue.push({ from, events, chars });
    this.queuedChars += chars;
  }

  /** Hands consecutive events to both consumers; each takes only what it expects next. */
  private ingest(from: number, events: readonly JobLogEvent[]): void {
    if (from <= this.applied) {
      let outline = this.outline;
      for (let i = this.applied - from; i < events.length; i++) {
        const event = events[i]!;
        outline = applyToOutline(outline, event, MAX_OUTLINE_COMMANDS, from + i);
        this.applied++;
        if (event.event === "job_finished") this.end = this.applied;
      }
      if (outline !== this.outline) {
        this.outline = outline;
        this.host.outline(this.jobId, outline);
      }
    }
    this.learn(from + events.length);
    this.feed.offer(from, events);
  }

  /** Events up to `count` exist; the feed is told, so it can say it has more to write. */
  private learn(count: number): void {
    this.seen = Math.max(this.seen, count);
    this.feed.knownEvents = this.end ?? this.seen;
  }

  /** Applies the held live batches the outline has reached. */
  private drainQueue(): void {
    while (this.queue.length > 0 && this.queue[0]!.from <= this.applied) {
      const batch = this.queue.shift()!;
      this.queuedChars -= batch.chars;
      this.ingest(batch.from, batch.events);
    }
  }

  private outlineBehind(): boolean {
    return this.applied < (this.end ?? this.seen) || (this.end === null && this.syncPending);
  }

  /** Where the next history read starts, or null when nobody needs one. */
  private readPosition(): number | null {
    // The log waits for the job's plan (a moment: the detail is being read); so do the reads.
    if (this.feed.awaiting) return null;
    let position: number | null = this.outlineBehind() ? this.applied : null;
    if (this.feed.wantsData && this.feed.next < (this.end ?? this.seen)) {
      position = position === null ? this.feed.next : Math.min(position, this.feed.next);
    }
    return position;
  }

  private async pump(): Promise<void> {
    if (this.reading || this.disposed) return;
    this.reading = true;
    let lagStep = 0;
    let lagSince = 0;
    try {
      for (;;) {
        const from = this.readPosition();
        if (from === null || this.disposed) break;
        // "Loading" is about the job's outline; the log catching up on its own is not news.
        this.setStatus({ loading: this.outlineBehind(), error: null, missing: false });
        const page = await this.host.readJobLog({ jobId: this.jobId, from, maxBytes: this.options.pageBytes });
        if (this.disposed) break;
        if (page.from !== from || page.next !== from + page.events.length) {
          throw new Error(`The host answered a log read from event ${from} with events ${page.from}..${page.next}`);
        }
        if (page.events.length > 0) {
          lagStep = 0;
          this.ingest(page.from, page.events);
          this.drainQueue();
        }
        if (page.done) {
          this.end = Math.max(page.next, this.applied);
          this.learn(this.end);
          this.syncPending = false;
          continue;
        }
        if (page.events.length > 0) continue;
        if (from >= this.seen) {
          // At the history's end, which is where the live stream goes on.
          this.syncPending = false;
          continue;
        }
        // The live stream announced events the history has not stored yet: wait for it, bounded.
        if (lagStep === 0) lagSince = Date.now();
        if (Date.now() - lagSince > this.options.lagGiveUpMs) {
          throw new Error(`The local history has not stored events from ${from} on`);
        }
        const delays = this.options.lagDelaysMs;
        await this.options.sleep(delays[Math.min(lagStep, delays.length - 1)] ?? 100);
        lagStep++;
      }
      if (!this.disposed) this.setStatus({ loading: false, error: null, missing: false });
    } catch (error) {
      if (this.disposed) return;
      const code = errorCode(error);
      if (code === "disconnected") {
        // The bridge lost the host; the store resyncs every stream when it is back.
        this.setStatus({ loading: false, error: null, missing: false });
      } else if (code === "not-found" && this.applied === 0) {
        this.setStatus({ loading: false, error: null, missing: true });
      } else {
        this.setStatus({ loading: false, error: error instanceof Error ? error.message : String(error), missing: false });
      }
    } finally {
      this.reading = false;
    }
  }

  private setStatus(status: JobStreamStatus): void {
    const c = this.current;
    if (c.loading === status.loading && c.error === status.error && c.missing === status.missing) return;
    this.current = status;
    this.host.status(this.jobId, status);
  }
}
