// Output buffer of one command: raw PTY bytes in, ready-to-log `cmd_output` texts out (spec §5.4).
// Pure (the caller passes the clock), so the chunking rules are unit-testable without a PTY.

import { isUtf8 } from "node:buffer";

/** Max bytes per event while the command runs (spec §9.4). */
export const RUNNING_CHUNK = 100;
/** Max bytes per event during the final drain (spec §9.4). */
export const DRAIN_CHUNK = 1000;
/** Short data is held until this long after its last byte (spec §5.4 latency rule). */
export const HOLD_MS = 100;
/**
 * While running we hold data regardless of size until it has been idle for HOLD_MS, so output that
 * is complete when the command ends reaches the final drain as one event (spec §5.4, P-17). A
 * steady trickle (a line every 50 ms) would never be idle, so data older than this is emitted anyway.
 * Log pushes happen every 1.5–3 s, so this adds no visible latency.
 */
export const MAX_HOLD_MS = 1000;
/** Above this many buffered bytes we are flooded: emit big chunks at once (chunk sizes are not contract). */
export const FLOOD_THRESHOLD = 16 * 1024;
/**
 * Max bytes per event in flood mode. Kept well below V8's large-object size (~128 KB, also for the
 * event's JSON line): each string above it gets freshly mapped pages of its own, and faulting them
 * in costs more than the copy itself. In bench (a) 64 KB chunks cut the agent's CPU for a 200 MB
 * flood by about a fifth compared with 256 KB ones, on the main thread and in the log worker alike.
 */
export const FLOOD_CHUNK = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;

export class OutputChunker {
  // A list of buffers plus a read position instead of one growing Buffer: appends are O(1) and
  // nothing is copied until a chunk spans several reads.
  private bufs: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private bytes = 0;
  private lastDataAt = Number.NEGATIVE_INFINITY;
  private firstDataAt = Number.NEGATIVE_INFINITY;
  /** Buffered bytes (from the oldest) already handed out by preview(). */
  private previewed = 0;

  /** Bytes buffered and not yet emitted. */
  get size(): number {
    return this.bytes;
  }

  push(data: Buffer, now: number): void {
    if (data.length === 0) return;
    if (this.bytes === 0) this.firstDataAt = now;
    this.bufs.push(data);
    this.bytes += data.length;
    this.lastDataAt = now;
  }

  /**
   * Emits every chunk the rules allow at time `now`. `final` selects the final-drain rules (the
   * command has ended, no more bytes will come).
   */
  flush(now: number, final: boolean, emit: (text: string) => void): void {
    let emitted = false;
    while (this.bytes > 0) {
      let n: number;
      if (this.bytes >= FLOOD_THRESHOLD) {
        n = this.cut(Math.min(this.bytes, FLOOD_CHUNK), true, !final);
      } else if (!final) {
        if (now - this.lastDataAt < HOLD_MS && now - this.firstDataAt < MAX_HOLD_MS) break;
        n = this.cut(Math.min(this.bytes, RUNNING_CHUNK), true, true);
      } else {
        if (this.bytes < DRAIN_CHUNK && now - this.lastDataAt < HOLD_MS) break;
        // Spec: in the final drain the UTF-8 adjustment applies only to full-size chunks; a
        // shorter chunk is the very end of the output, where a cut-off sequence is genuinely invalid.
        n = this.cut(Math.min(this.bytes, DRAIN_CHUNK), this.bytes >= DRAIN_CHUNK, false);
      }
      // Only an incomplete UTF-8 sequence or a trailing \r is left: wait for the bytes that follow.
      if (n === 0) break;
      emit(decodeChunk(this.take(n)));
      emitted = true;
    }
    // What is left (a few held-back bytes) is no older than the last read.
    if (emitted && this.bytes > 0) this.firstDataAt = this.lastDataAt;
  }

  /** Drops everything (used when a drain times out). */
  clear(): void {
    this.bufs = [];
    this.head = 0;
    this.offset = 0;
    this.bytes = 0;
    this.previewed = 0;
  }

  /**
   * The text of the buffered bytes not previewed yet, for a live view that should not wait for the
   * latency rule's hold (up to 100 ms, or MAX_HOLD_MS for a trickle). It ends where a chunk may end
   * (character boundary, no split \r\n), and decoding is the same per byte, so the chunks emitted
   * later carry exactly this text: concatenated, previews are a prefix of the emitted output. ""
   * when there is nothing new, or in a flood (emitted at once anyway, and previews would double
   * the decoding work).
   */
  preview(): string {
    if (this.bytes >= FLOOD_THRESHOLD) return "";
    const end = this.cut(this.bytes, true, true);
    if (end <= this.previewed) return "";
    const text = decodeChunk(this.copyRange(this.previewed, end));
    this.previewed = end;
    return text;
  }

  /** Bytes [start, end) of the buffer (0 = oldest), without consuming them. */
  private copyRange(start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(end - start);
    let filled = 0;
    let skip = start + this.offset;
    for (let h = this.head; h < this.bufs.length && filled < out.length; h++) {
      const b = this.bufs[h]!;
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      filled += b.copy(out, filled, skip, Math.min(b.length, skip + out.length - filled));
      skip = 0;
    }
    return out;
  }

  /**
   * Shortens a prospective chunk of `n` bytes so it ends on a character boundary and does not
   * split `\r\n`. `moreMayCome`: the bytes after the buffered ones are still unknown, so a
   * trailing `\r` at the very end is held back too (the `\n` may be in the next read).
   */
  private cut(n: number, utf8: boolean, moreMayCome: boolean): number {
    if (utf8) n = this.utf8Boundary(n);
    if (n > 0 && this.peek(n - 1) === CR) {
      if (n < this.bytes ? this.peek(n) === LF : moreMayCome) n -= 1;
    }
    return n;
  }

  /**
   * Spec §5.4 shortens the chunk "up to 4 times until the prefix is valid UTF-8". Checking only
   * the tail is equivalent when the rest of the chunk is valid, and better when it is not: an
   * invalid byte earlier in the chunk no longer makes us cut (and so mangle) a valid character at
   * its end. Cutting before an incomplete sequence never changes the decoded text, because the
   * per-byte decoder treats every invalid byte on its own.
   */
  private utf8Boundary(n: number): number {
    const lookBack = Math.min(3, n);
    for (let k = 1; k <= lookBack; k++) {
      const b = this.peek(n - k);
      if (b < 0x80) return n;
      if (b < 0xc0) continue; // continuation byte: keep looking for the lead byte
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > k ? n - k : n;
    }
    return n;
  }

  /** Byte at logical position `i` (0 = oldest buffered byte); i < size. */
  private peek(i: number): number {
    i += this.offset;
    for (let h = this.head; h < this.bufs.length; h++) {
      const b = this.bufs[h]!;
      if (i < b.length) return b[i]!;
      i -= b.length;
    }
    return -1;
  }

  private take(n: number): Buffer {
    const first = this.bufs[this.head]!;
    let out: Buffer;
    if (first.length - this.offset >= n) {
      out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) this.advance();
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const b = this.bufs[this.head]!;
        const copied = b.copy(out, filled, this.offset, Math.min(b.length, this.offset + n - filled));
        filled += copied;
        this.offset += copied;
        if (this.offset === b.length) this.advance();
      }
    }
    this.bytes -= n;
    this.previewed = Math.max(0, this.previewed - n);
    return out;
  }

  private advance(): void {
    this.head++;
    this.offset = 0;
    if (this.head === this.bufs.length) {
      this.bufs = [];
      this.head = 0;
    } else if (this.head >= 1024) {
      this.bufs = this.bufs.slice(this.head);
      this.head = 0;
    }
  }
}

/** One emitted chunk as text: UTF-8 with one U+FFFD per invalid byte, `\r\n` → `\n`, lone `\r` kept. */
export function decodeChunk(chunk: Buffer): string {
  const text = isUtf8(chunk) ? chunk.toString("utf8") : decodeUtf8PerByte(chunk);
  // split/join yields a flat string; replaceAll's result is flattened again later, on this thread.
  return text.includes("\r\n") ? text.split("\r\n").join("\n") : text;
}

/**
 * UTF-8 decoding with one U+FFFD per invalid byte, as Go's encoder does (spec §5.4). Node's decoder
 * follows WHATWG and collapses a truncated sequence into a single U+FFFD, so it is only used for the
 * valid runs in between.
 */
export function decodeUtf8PerByte(buf: Buffer): string {
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  const len = buf.length;
  while (i < len) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const size = validSequenceLength(buf, i, b);
    if (size > 0) {
      i += size;
      continue;
    }
    if (i > runStart) parts.push(buf.toString("utf8", runStart, i));
    parts.push("\uFFFD");
    i++;
    runStart = i;
  }
  if (runStart < len) parts.push(buf.toString("utf8", runStart, len));
  return parts.join("");
}

/** Length of the well-formed sequence starting at `i` with lead byte `b` (RFC 3629), or 0. */
function validSequenceLength(buf: Buffer, i: number, b: number): number {
  const len = buf.length;
  const cont = (j: number, lo = 0x80, hi = 0xbf): boolean => {
    if (j >= len) return false;
    const c = buf[j]!;
    return c >= lo && c <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80; // no overlongs
    const hi = b === 0xed ? 0x9f : 0xbf; // no surrogates
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80; // no overlongs
    const hi = b === 0xf4 ? 0x8f : 0xbf; // nothing above U+10FFFF
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}
