// Live job output for the UI, batched by time and size before it crosses IPC or a WebSocket: a
// job printing 10,000 lines a second becomes ~60 messages a second, not 10,000. Every host event
// passes through here so that order holds: a batch is flushed before any other event goes out
// (job-started < its outputs < job-finished). The producer (the agent's event loop) only ever
// pushes into an array; it never waits.
import type { JobLogEvent } from "../job/events.js";
import { LIVE_BATCH_INTERVAL_MS, LIVE_BATCH_MAX_BYTES, type HostEvent } from "./contract.js";

export interface LiveBatcherOptions {
  intervalMs?: number;
  maxBytes?: number;
}

interface Batch {
  jobId: string;
  from: number;
  events: JobLogEvent[];
  bytes: number;
  /** Output previewed after the batch's last event; a batch with a preview ends there. */
  preview: string;
}

/** Rough size of an event once serialised: exact byte counts would cost more than they are worth here. */
function sizeOf(event: JobLogEvent): number {
  switch (event.event) {
    case "cmd_output":
      return 48 + event.output.length;
    case "cmd_started":
    case "cmd_finished":
      return 96 + event.directive.length;
    default:
      return 48;
  }
}

export class LiveBatcher {
  private batch: Batch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;
  private readonly maxBytes: number;

  constructor(
    private readonly emit: (event: HostEvent) => void,
    options: LiveBatcherOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? LIVE_BATCH_INTERVAL_MS;
    this.maxBytes = options.maxBytes ?? LIVE_BATCH_MAX_BYTES;
  }

  /** Event number `index` of job `jobId`'s log. */
  output(jobId: string, index: number, event: JobLogEvent): void {
    const open = this.batch;
    // A batch is one contiguous run of one job's events: `from` + position = event number.
    // A preview is shown after the batch's events, so an event that came after it starts a new batch.
    if (open && (open.jobId !== jobId || open.from + open.events.length !== index || open.preview !== "")) this.flush();
    const batch = this.open(jobId, index);
    batch.events.push(event);
    batch.bytes += sizeOf(event);
    if (batch.bytes >= this.maxBytes) this.flush();
  }

  /** Output of job `jobId` read ahead of its next event, number `next` (see the contract's `preview`). */
  preview(jobId: string, next: number, text: string): void {
    const open = this.batch;
    if (open && (open.jobId !== jobId || open.from + open.events.length !== next)) this.flush();
    const batch = this.open(jobId, next);
    batch.preview += text;
    batch.bytes += text.length;
    if (batch.bytes >= this.maxBytes) this.flush();
  }

  private open(jobId: string, from: number): Batch {
    if (this.batch) return this.batch;
    const batch: Batch = { jobId, from, events: [], bytes: 0, preview: "" };
    this.batch = batch;
    // Started by the first event and not pushed back by later ones: latency stays bounded.
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
    return batch;
  }

  /** Any event other than job output: whatever is batched goes out first. */
  pass(event: HostEvent): void {
    this.flush();
    this.emit(event);
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    this.emit(
      batch.preview === ""
        ? { type: "job-output", jobId: batch.jobId, from: batch.from, events: batch.events }
        : { type: "job-output", jobId: batch.jobId, from: batch.from, events: batch.events, preview: batch.preview },
    );
  }
}
