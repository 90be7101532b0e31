// The renderer's half of a debug terminal's traffic, DOM-free so it is tested without a browser:
// acknowledging parsed output in batches (the host stops reading the PTY at TERMINAL_HIGH_WATER
// unacknowledged characters), sending keystrokes and pastes in order in pieces the contract accepts,
// and telling the host the terminal's size once it has settled.
import { TERMINAL_ACK_CHARS } from "../../agent-core/host/contract.js";

/** terminalInput takes at most this many characters per call (contract: data ≤ 64 KiB). */
export const TERMINAL_INPUT_MAX_CHARS = 64 * 1024;
/** Input queued and not yet sent above which more is refused (a paste of a whole disk image). */
export const TERMINAL_INPUT_MAX_QUEUED = 16 * 1024 * 1024;
/** An acknowledgement is sent at most this long after a parse that left something unacknowledged. */
export const TERMINAL_ACK_IDLE_MS = 50;
/** At most one acknowledgement per terminal this often. */
export const TERMINAL_ACK_MIN_INTERVAL_MS = 16;
/** The terminal's size goes to the host once it has not changed for this long. */
export const TERMINAL_RESIZE_DEBOUNCE_MS = 100;

/** Timers and a clock; the page's in practice, a manual one in tests. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Character counts of one terminal's output (UTF-16 code units, as the host counts them). */
export interface TerminalFlowStats {
  /** Arrived from the host. */
  received: number;
  /** Parsed by the terminal (its write callback ran). */
  parsed: number;
  /** Acknowledged to the host. */
  acked: number;
  /** Received and not parsed yet: waiting for the terminal to mount, or in xterm's write queue. */
  pending: number;
}

export interface AckOptions {
  ackChars: number;
  idleMs: number;
  minIntervalMs: number;
}

const DEFAULT_ACK_OPTIONS: AckOptions = {
  ackChars: TERMINAL_ACK_CHARS,
  idleMs: TERMINAL_ACK_IDLE_MS,
  minIntervalMs: TERMINAL_ACK_MIN_INTERVAL_MS,
};

/**
 * Counts a terminal's output and acknowledges what was parsed: at once when ackChars are unacknowledged
 * (but never twice within minIntervalMs), else idleMs after the parse, so the tail of any output is
 * acknowledged and the host never waits on characters the page has already shown.
 */
export class AckBatcher {
  private receivedChars = 0;
  private parsedChars = 0;
  private ackedChars = 0;
  private lastAckAt = Number.NEGATIVE_INFINITY;
  private timer: unknown = null;
  private timerDue = 0;
  private closed = false;
  private readonly options: AckOptions;

  constructor(
    private readonly send: (chars: number) => void,
    private readonly scheduler: Scheduler = realScheduler,
    options: Partial<AckOptions> = {},
  ) {
    this.options = { ...DEFAULT_ACK_OPTIONS, ...options };
  }

  received(chars: number): void {
    this.receivedChars += chars;
  }

  parsed(chars: number): void {
    this.parsedChars += chars;
    if (this.closed) return;
    const unacked = this.parsedChars - this.ackedChars;
    if (unacked <= 0) return;
    if (unacked >= this.options.ackChars) this.flushSoon();
    else this.arm(this.options.idleMs);
  }

  stats(): TerminalFlowStats {
    return {
      received: this.receivedChars,
      parsed: this.parsedChars,
      acked: this.ackedChars,
      pending: this.receivedChars - this.parsedChars,
    };
  }

  /** No more acknowledgements (the terminal ended or was closed). */
  close(): void {
    this.closed = true;
    this.disarm();
  }

  private flushSoon(): void {
    const wait = this.lastAckAt + this.options.minIntervalMs - this.scheduler.now();
    if (wait <= 0) this.flush();
    else this.arm(wait);
  }

  private flush(): void {
    this.disarm();
    const chars = this.parsedChars - this.ackedChars;
    if (chars <= 0 || this.closed) return;
    this.ackedChars = this.parsedChars;
    this.lastAckAt = this.scheduler.now();
    this.send(chars);
  }

  /** Makes sure a flush is due within `delay` ms (an earlier one stays). */
  private arm(delay: number): void {
    const due = this.scheduler.now() + delay;
    if (this.timer !== null) {
      if (this.timerDue <= due) return;
      this.scheduler.clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = null;
      this.flushSoon();
    }, delay);
  }

  private disarm(): void {
    if (this.timer === null) return;
    this.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * Cuts text into pieces of at most `max` UTF-16 code units, never between the two halves of a
 * surrogate pair (the host would get two broken characters).
 */
export function splitInput(data: string, max = TERMINAL_INPUT_MAX_CHARS): string[] {
  if (max < 2) throw new RangeError("splitInput: max must be 2 or more");
  const pieces: string[] = [];
  let at = 0;
  while (at < data.length) {
    const end = pieceEnd(data, at, max);
    pieces.push(data.slice(at, end));
    at = end;
  }
  return pieces;
}

/** Where a piece of at most `max` code units starting at `at` ends, leaving a surrogate pair whole. */
function pieceEnd(data: string, at: number, max: number): number {
  const end = Math.min(at + max, data.length);
  if (end === data.length) return end;
  const last = data.charCodeAt(end - 1);
  return last >= 0xd800 && last <= 0xdbff ? end - 1 : end;
}

/**
 * Keystrokes and pastes to the host, in order: what is typed in one tick goes in one call, a call
 * carries at most TERMINAL_INPUT_MAX_CHARS, and the next call waits for the answer to the previous one.
 */
export class InputSender {
  private queue = "";
  private scheduled = false;
  private sending = false;
  private closed = false;

  constructor(
    private readonly send: (data: string) => Promise<unknown>,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly defer: (fn: () => void) => void = (fn) => queueMicrotask(fn),
    private readonly maxChars = TERMINAL_INPUT_MAX_CHARS,
    private readonly maxQueued = TERMINAL_INPUT_MAX_QUEUED,
  ) {}

  /** Queues input; false when it was refused (closed, or more than maxQueued waiting). */
  push(data: string): boolean {
    if (this.closed) return false;
    if (data === "") return true;
    if (this.queue.length + data.length > this.maxQueued) {
      this.onError(new Error(`Input of ${data.length} characters not sent: too much is still waiting to be sent`));
      return false;
    }
    this.queue += data;
    if (!this.scheduled && !this.sending) {
      this.scheduled = true;
      this.defer(() => {
        this.scheduled = false;
        void this.pump();
      });
    }
    return true;
  }

  /** Characters queued and not sent yet. */
  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    this.queue = "";
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue !== "" && !this.closed) {
        const end = pieceEnd(this.queue, 0, this.maxChars);
        const piece = this.queue.slice(0, end);
        this.queue = this.queue.slice(end);
        await this.send(piece);
      }
    } catch (error) {
      this.queue = "";
      this.onError(error);
    } finally {
      this.sending = false;
    }
  }
}

/** The contract's bounds on a terminal's size. */
export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(Number.isFinite(n) ? n : min)));
  return { cols: clamp(cols, 2, 1000), rows: clamp(rows, 1, 500) };
}

/** Sends a terminal's size once it has settled, and only when it differs from what the host has. */
export class ResizeSender {
  private timer: unknown = null;
  private pending: { cols: number; rows: number } | null = null;
  private closed = false;

  constructor(
    private readonly send: (cols: number, rows: number) => void,
    private sent: { cols: number; rows: number },
    private readonly scheduler: Scheduler = realScheduler,
    private readonly delayMs = TERMINAL_RESIZE_DEBOUNCE_MS,
  ) {}

  request(cols: number, rows: number): void {
    if (this.closed) return;
    this.pending = clampSize(cols, rows);
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = this.scheduler.setTimeout(() => {
      this.timer = null;
      this.fire();
    }, this.delayMs);
  }

  /** The size the host was last told. */
  get size(): { cols: number; rows: number } {
    return this.sent;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    const next = this.pending;
    this.pending = null;
    if (next === null || this.closed) return;
    if (next.cols === this.sent.cols && next.rows === this.sent.rows) return;
    this.sent = next;
    this.send(next.cols, next.rows);
  }
}
