// The job's local event file (spec §7.2): every event is appended as one JSON line before anything
// else sees it, so a push failure, a 422 or a crash of a sink never loses an event. Line offsets are
// kept in memory so the pusher can read "up to N lines from index start_from" without rescanning.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { JobLogEvent } from "../job/events.js";
import { wallClockNanoseconds } from "../util/clock.js";

export type EventListener = (event: JobLogEvent, index: number) => void;

export interface JobEventLogOptions {
  /**
   * Continue a file that exists already (created by createEventFile, possibly written by another
   * thread): its complete lines are kept, a torn last line is cut off, appends go after them.
   */
  reopen?: boolean;
}

export function eventFilePath(dir: string, nanoseconds: bigint): string {
  return join(dir, `job_log_${nanoseconds}.json`);
}

/** Creates the empty event file `<dir>/job_log_<ns>.json`, mode 0600; fails if it exists. */
export function createEventFile(dir: string, nanoseconds: bigint = wallClockNanoseconds()): string {
  const path = eventFilePath(dir, nanoseconds);
  closeSync(openSync(path, "wx", 0o600));
  return path;
}

export class JobEventLog {
  readonly path: string;
  private fd: number | null;
  /** offsets[i] is the byte offset where line i starts; offsets[count] is the file size. */
  private offsets: number[] = [0];
  private listeners = new Set<EventListener>();
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(dir: string, nanoseconds: bigint = wallClockNanoseconds(), options: JobEventLogOptions = {}) {
    this.path = eventFilePath(dir, nanoseconds);
    if (options.reopen) {
      this.fd = openSync(this.path, "r+");
      this.offsets = lineOffsets(this.fd);
      // Only a torn tail is cut: truncating (even to the same size) makes ext4 flush the file to
      // disk when it is closed (its replace-via-truncate heuristic), for a file deleted right after.
      if (fstatSync(this.fd).size !== this.bytes) ftruncateSync(this.fd, this.bytes);
    } else {
      this.fd = openSync(this.path, "wx+", 0o600);
    }
  }

  get count(): number {
    return this.offsets.length - 1;
  }

  get bytes(): number {
    return this.offsets[this.offsets.length - 1] ?? 0;
  }

  /** Byte offset of line `index` (the file size for index == count). */
  offsetOf(index: number): number {
    return this.offsets[Math.min(Math.max(index, 0), this.count)] ?? 0;
  }

  append(event: JobLogEvent): void {
    if (this.fd === null) throw new Error("event log is closed");
    const line = this.encodeLine(event);
    let written = 0;
    while (written < line.length) written += writeSync(this.fd, line, written, line.length - written, this.bytes + written);
    this.offsets.push(this.bytes + line.length);
    const index = this.count - 1;
    for (const listener of this.listeners) {
      try {
        listener(event, index);
      } catch {
        // A sink must never break the job; its own errors are its business.
      }
    }
  }

  /**
   * The event as one JSON line, in a scratch buffer reused by the next call (the line is written
   * out before then). Encoding straight into it is several times cheaper for big `cmd_output`
   * events than `Buffer.from(json + "\n")`, which flattens the concatenation, then measures the
   * UTF-8 length and only then encodes.
   */
  private encodeLine(event: JobLogEvent): Buffer {
    const json = JSON.stringify(event);
    // Room for the worst case (3 UTF-8 bytes per UTF-16 unit) spares a Buffer.byteLength pass.
    const room = 3 * json.length + 1;
    if (this.scratch.length < room) this.scratch = Buffer.allocUnsafe(Math.max(room, 2 * this.scratch.length));
    const size = this.scratch.write(json, 0, "utf8");
    this.scratch[size] = 0x0a;
    return this.scratch.subarray(0, size + 1);
  }

  /** Lines [start, start+n) with n <= maxLines and at most maxBytes (but at least one line). */
  read(start: number, maxLines: number, maxBytes: number): { body: Buffer; lines: number } {
    const available = this.count - start;
    if (this.fd === null || available <= 0) return { body: Buffer.alloc(0), lines: 0 };
    const from = this.offsets[start] ?? 0;
    let lines = Math.min(available, maxLines);
    while (lines > 1 && (this.offsets[start + lines] ?? 0) - from > maxBytes) lines = Math.max(1, Math.floor(lines / 2));
    const to = this.offsets[start + lines] ?? from;
    const body = Buffer.allocUnsafe(to - from);
    let got = 0;
    while (got < body.length) {
      const n = readSync(this.fd, body, got, body.length - got, from + got);
      if (n === 0) break;
      got += n;
    }
    return { body: body.subarray(0, got), lines };
  }

  /** Every line as text, for the artifact upload (§7.4) which converts the full local file. */
  readAll(): Buffer {
    return this.read(0, this.count, Number.MAX_SAFE_INTEGER).body;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Closes and deletes the file (spec §7.3 step 3). Idempotent. */
  dispose(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    rmSync(this.path, { force: true });
    this.listeners.clear();
    this.scratch = Buffer.alloc(0);
  }
}

/** [0, end of line 1, end of line 2, ...] of a file's complete lines. */
function lineOffsets(fd: number): number[] {
  const offsets = [0];
  const chunk = Buffer.allocUnsafe(1 << 20);
  for (let position = 0; ; ) {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    if (n === 0) break;
    for (let i = chunk.indexOf(10); i !== -1 && i < n; i = chunk.indexOf(10, i + 1)) offsets.push(position + i + 1);
    position += n;
  }
  return offsets;
}
