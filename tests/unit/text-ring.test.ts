import { describe, expect, it } from "vitest";
import { RING_MIN_CHARS, TextRingReader, TextRingWriter } from "../../agent-core/logs/text-ring.js";

const text = (n: number, fill = "a") => fill.repeat(n);

describe("TextRing", () => {
  it("leaves short and not well-formed texts to the message", () => {
    const writer = new TextRingWriter(1 << 20);
    expect(writer.put(text(RING_MIN_CHARS - 1))).toBeNull();
    expect(writer.put(`${text(RING_MIN_CHARS)}\ud800`)).toBeNull();
    expect(writer.put(text(RING_MIN_CHARS))).not.toBeNull();
  });

  it("carries texts unchanged, wraps without splitting one, and refuses what does not fit until released", () => {
    const size = 64 * 1024;
    const writer = new TextRingWriter(size);
    const reader = new TextRingReader(writer.memory);
    // Multi-byte UTF-8 and surrogate pairs survive the trip.
    const mixed = `${text(2000, "é")}${text(1000, "😀")}${text(1000)}`;
    const first = writer.put(mixed)!;
    expect(reader.take(first)).toBe(mixed);
    // ASCII texts of 5000 bytes until the ring is full.
    const slices = [];
    for (let i = 0; ; i++) {
      const slice = writer.put(text(5000, String.fromCharCode(97 + i)));
      if (!slice) break;
      slices.push(slice);
    }
    expect(slices.length).toBeGreaterThan(5);
    expect(writer.put(text(5000, "z"))).toBeNull(); // full until the reader catches up
    // Once the reader has taken enough there is room again, never split across the ring's end.
    for (const [i, slice] of slices.slice(0, 3).entries()) expect(reader.take(slice)).toBe(text(5000, String.fromCharCode(97 + i)));
    const wrapped = writer.put(text(5000, "z"))!;
    expect((wrapped[0] % size) + wrapped[1]).toBeLessThanOrEqual(size);
    for (const [i, slice] of slices.slice(3).entries()) expect(reader.take(slice)).toBe(text(5000, String.fromCharCode(100 + i)));
    expect(reader.take(wrapped)).toBe(text(5000, "z"));
    // Round and round: everything taken in order comes back intact.
    for (let i = 0; i < 100; i++) {
      const t = `${i}:${text(4096 + ((i * 977) % 1000), String.fromCharCode(97 + (i % 26)))}`;
      const slice = writer.put(t)!;
      expect(slice).not.toBeNull();
      expect(reader.take(slice)).toBe(t);
    }
  });

  it("never takes a text longer than a quarter of the ring", () => {
    const writer = new TextRingWriter(64 * 1024);
    expect(writer.put(text(16 * 1024 + 1))).toBeNull();
    expect(writer.put(text(16 * 1024))).not.toBeNull();
  });

  it("moves a text whose UTF-8 form does not fit before the ring's end to its start", () => {
    const size = 64 * 1024;
    const writer = new TextRingWriter(size);
    const reader = new TextRingReader(writer.memory);
    const slices = [0, 1, 2, 3].map(() => writer.put(text(13_000))!); // 52000 bytes, 13536 left
    expect(slices.every(Boolean)).toBe(true);
    for (const slice of slices) reader.take(slice);
    // 7000 characters of 2 bytes: the length fits the 13536 bytes up to the end, the bytes do not.
    const wide = text(7000, "é");
    const slice = writer.put(wide)!;
    expect(slice[0]).toBe(size);
    expect(slice[1]).toBe(14_000);
    expect(reader.take(slice)).toBe(wide);
  });
});
