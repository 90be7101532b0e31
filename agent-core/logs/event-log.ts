// The job's local event file (spec §7.2): every event is appended as one JSON line before anything
// else sees it, so a push failure, a 422 or a crash of a sink never loses an event. Line offsets are
// kept in memory so the pusher can read "up to N lines from index start_from" without rescanning.
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { JobLogEvent } from "../job/events.js";
import { wallClockNanoseconds } from "../util/clock.js";

export type EventListener = (event: JobLogEvent, index: number) => void;

export class JobEventLog {
  readonly path: string;
  private fd: number | null;
  /** offsets[i] is the byte offset where line i starts; offsets[count] is the file size. */
  private offsets: number[] = [0];
  private listeners = new Set<EventListener>();

  constructor(dir: string, nanoseconds: bigint = wallClockNanoseconds()) {
    this.path = join(dir, `job_log_${nanoseconds}.json`);
    this.fd = openSync(this.path, "wx+", 0o600);
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
    const line = Buffer.from(`${JSON.stringify(event)}\n`, "utf8");
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
  }
}
