// Shared memory that carries big `cmd_output` texts from the agent's main thread to the log worker.
// postMessage would serialise such a string, copy it into the message and deserialise it again on
// the other side, all byte by byte through V8's serializer; for a 200 MB flood that is a noticeable
// share of the main thread's time, which belongs to the PTY. Here the main thread writes the text's
// UTF-8 bytes straight into a ring buffer and posts only (position, length); the worker decodes
// them and releases the space. When the ring is full (the worker lags behind) or the text is not
// well-formed UTF-16 (UTF-8 could not carry a lone surrogate unchanged), the caller posts the string
// itself, so nothing ever waits for ring space.

/** Texts shorter than this travel inside the message (the ring saves nothing on them). */
export const RING_MIN_CHARS = 4096;
export const RING_BYTES = 8 * 1024 * 1024;

/** The shared part, handed to the worker in its workerData. */
export interface TextRingMemory {
  data: SharedArrayBuffer;
  /** BigInt64Array[1]: bytes released by the worker, counted from the start (monotonic). */
  released: SharedArrayBuffer;
}

/** A text in the ring: absolute start (mod size gives the position) and UTF-8 byte length. */
export type RingSlice = [start: number, bytes: number];

/** The main thread's side: writes texts. */
export class TextRingWriter {
  readonly memory: TextRingMemory;
  private readonly bytes: Uint8Array;
  private readonly released: BigInt64Array;
  private readonly encoder = new TextEncoder();
  private allocated = 0;

  constructor(size: number = RING_BYTES) {
    this.memory = { data: new SharedArrayBuffer(size), released: new SharedArrayBuffer(8) };
    this.bytes = new Uint8Array(this.memory.data);
    this.released = new BigInt64Array(this.memory.released);
  }

  /** Copies `text` into the ring, or returns null when it is short, not well-formed or does not fit. */
  put(text: string): RingSlice | null {
    const size = this.bytes.length;
    if (text.length < RING_MIN_CHARS || text.length > size / 4 || !isWellFormed(text)) return null;
    const free = size - (this.allocated - Number(Atomics.load(this.released, 0)));
    const offset = this.allocated % size;
    const tail = size - offset;
    // A text is never split: it goes after the last one, or to the ring's start when the space up
    // to the end is too small for it (the UTF-8 length is only known once it has been encoded).
    if (tail >= text.length) {
      const slice = this.tryPut(text, this.allocated, Math.min(tail, free));
      if (slice || free <= tail) return slice;
    }
    return free > tail ? this.tryPut(text, this.allocated + tail, Math.min(size, free - tail)) : null;
  }

  private tryPut(text: string, start: number, room: number): RingSlice | null {
    if (room < text.length) return null;
    const offset = start % this.bytes.length;
    const { read, written } = this.encoder.encodeInto(text, this.bytes.subarray(offset, offset + room));
    if (read !== text.length) return null; // multi-byte characters made it longer than the room
    this.allocated = start + written;
    return [start, written];
  }
}

/** The worker's side: reads texts in the order they were put, releasing their space. */
export class TextRingReader {
  private readonly bytes: Buffer;
  private readonly released: BigInt64Array;

  constructor(memory: TextRingMemory) {
    this.bytes = Buffer.from(memory.data);
    this.released = new BigInt64Array(memory.released);
  }

  take([start, n]: RingSlice): string {
    const offset = start % this.bytes.length;
    const text = this.bytes.toString("utf8", offset, offset + n);
    Atomics.store(this.released, 0, BigInt(start + n));
    return text;
  }
}

function isWellFormed(text: string): boolean {
  // ES2024 (Node >= 20); typed in lib.es2024, newer than this project's lib setting.
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}
