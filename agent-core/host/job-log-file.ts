// One job's stored log: a JSON-lines file where line N is event N. Written while the job runs,
// batched, through a write stream (the agent's event loop never waits on the disk); read back in
// pages through a sparse table of line offsets, so the 500th page of a 50 MB log costs one seek and
// not a scan from the start.
import { createWriteStream, closeSync, ftruncateSync, openSync, readSync, type WriteStream } from "node:fs";
import { open } from "node:fs/promises";
import type { JobLogEvent } from "../job/events.js";

/** One offset per this many lines: a page read skips at most this many lines before its first event. */
export const OFFSET_STRIDE = 64;
/** Batched lines are handed to the stream once per event-loop turn, or earlier at this size. */
const WRITE_BATCH_BYTES = 256 * 1024;
const READ_CHUNK_BYTES = 256 * 1024;
const NEWLINE = 0x0a;

/** `offsets[k]` is the byte offset of line `k * OFFSET_STRIDE`. */
export type OffsetTable = number[];

/** Appends events to a job's log file. Counts and offsets are known at once; the bytes follow. */
export class JobLogWriter {
  private readonly stream: WriteStream;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private written: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private failed = false;
  private total = 0;
  private size = 0;
  readonly offsets: OffsetTable = [0];

  constructor(
    readonly path: string,
    private readonly onError: (message: string) => void,
  ) {
    this.stream = createWriteStream(path, { flags: "w", mode: 0o600 });
    this.stream.on("error", (error) => {
      if (this.failed) return;
      this.failed = true;
      this.onError(`writing the job log ${path} failed: ${error.message}; later output is not kept locally`);
    });
  }

  /** Events appended so far (line count once written). */
  get count(): number {
    return this.total;
  }

  /** Bytes of the lines appended so far. */
  get bytes(): number {
    return this.size;
  }

  append(event: JobLogEvent): void {
    if (this.closing) return;
    const line = `${JSON.stringify(event)}\n`;
    const length = Buffer.byteLength(line);
    this.total++;
    this.size += length;
    if (this.total % OFFSET_STRIDE === 0) this.offsets.push(this.size);
    this.pending.push(line);
    this.pendingBytes += length;
    if (this.pendingBytes >= WRITE_BATCH_BYTES) this.writePending();
    else this.scheduled ??= setImmediate(() => this.writePending());
  }

  /** Resolves once everything appended so far is in the file (or the file failed). */
  flush(): Promise<void> {
    this.writePending();
    return this.written;
  }

  /** Writes what is pending and closes the file. Idempotent; never rejects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.writePending();
      await this.written;
      await new Promise<void>((resolve) => {
        if (this.stream.destroyed) return resolve();
        this.stream.end(() => resolve());
        this.stream.once("error", () => resolve());
      });
    })();
    return this.closing;
  }

  private writePending(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    if (this.pending.length === 0) return;
    const chunk = this.pending.join("");
    this.pending = [];
    this.pendingBytes = 0;
    if (this.failed || this.stream.destroyed) return;
    // Write callbacks run in order, so waiting for the latest covers every earlier write.
    this.written = new Promise<void>((resolve) => this.stream.write(chunk, () => resolve()));
  }
}

/** Counts complete lines and builds the offset table while a file streams past. */
class LineIndexer {
  lines = 0;
  /** Bytes up to and including the last newline. */
  completeBytes = 0;
  readonly offsets: OffsetTable = [0];

  feed(chunk: Buffer, base: number): void {
    for (let i = chunk.indexOf(NEWLINE); i !== -1; i = chunk.indexOf(NEWLINE, i + 1)) {
      this.lines++;
      this.completeBytes = base + i + 1;
      if (this.lines % OFFSET_STRIDE === 0) this.offsets.push(this.completeBytes);
    }
  }
}

export interface ScannedLog {
  events: number;
  bytes: number;
  offsets: OffsetTable;
}

/**
 * Scans a log left by a job that never finished (the app died): a torn last line is cut off, so
 * that line N is still event N. Synchronous: it runs once, while the history opens.
 */
export function recoverLogFileSync(path: string): ScannedLog {
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch {
    return { events: 0, bytes: 0, offsets: [0] };
  }
  try {
    const indexer = new LineIndexer();
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, position);
      if (n === 0) break;
      indexer.feed(buffer.subarray(0, n), position);
      position += n;
    }
    if (position > indexer.completeBytes) ftruncateSync(fd, indexer.completeBytes);
    return { events: indexer.lines, bytes: indexer.completeBytes, offsets: indexer.offsets };
  } finally {
    closeSync(fd);
  }
}

/** The offset table of a finished log, built by one pass over the file (then kept by the caller). */
export async function scanLogFile(path: string): Promise<ScannedLog> {
  const file = await open(path, "r");
  try {
    const indexer = new LineIndexer();
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      indexer.feed(buffer.subarray(0, bytesRead), position);
      position += bytesRead;
    }
    return { events: indexer.lines, bytes: indexer.completeBytes, offsets: indexer.offsets };
  } finally {
    await file.close();
  }
}

export interface EventsPage {
  events: JobLogEvent[];
  next: number;
  /** The file ended before `limit` events (a log cut short by a crash or a failed write). */
  endOfFile: boolean;
}

/**
 * Events `from` .. at most `limit - 1`, stopping once the page holds `maxBytes` of lines (always at
 * least one event). Starts at the nearest offset at or before `from`.
 */
export async function readEventsPage(path: string, offsets: OffsetTable, from: number, limit: number, maxBytes: number): Promise<EventsPage> {
  const slot = Math.min(Math.floor(from / OFFSET_STRIDE), offsets.length - 1);
  let index = slot * OFFSET_STRIDE;
  let position = offsets[slot] ?? 0;
  const events: JobLogEvent[] = [];
  let pageBytes = 0;
  const file = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(Math.max(READ_CHUNK_BYTES, Math.min(maxBytes, 4 * READ_CHUNK_BYTES)));
    let carry: Buffer | null = null;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return { events, next: index, endOfFile: index < limit };
      position += bytesRead;
      let data = buffer.subarray(0, bytesRead);
      if (carry) data = Buffer.concat([carry, data]);
      let start = 0;
      for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        if (index >= from) {
          const line = data.toString("utf8", start, nl);
          events.push(JSON.parse(line) as JobLogEvent);
          pageBytes += nl + 1 - start;
        }
        index++;
        start = nl + 1;
        if (index >= limit || (events.length > 0 && pageBytes >= maxBytes)) return { events, next: index, endOfFile: false };
      }
      // Copy: the buffer is reused by the next read.
      carry = start < data.length ? Buffer.from(data.subarray(start)) : null;
    }
  } finally {
    await file.close();
  }
}
