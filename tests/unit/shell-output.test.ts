import { describe, expect, it } from "vitest";

import { MarkerScanner, PROMPT_COMMAND_LINE, PROMPT_MARKER, commandLine, commandMarkers } from "../../agent-core/shell/markers.js";
import {
  DRAIN_CHUNK,
  FLOOD_CHUNK,
  FLOOD_THRESHOLD,
  HOLD_MS,
  MAX_HOLD_MS,
  OutputChunker,
  RUNNING_CHUNK,
  decodeChunk,
  decodeUtf8PerByte,
} from "../../agent-core/shell/output.js";

/** Flushes and returns what was emitted. */
function flush(c: OutputChunker, now: number, final: boolean): string[] {
  const out: string[] = [];
  c.flush(now, final, (t) => out.push(t));
  return out;
}

const b = (s: string | number[]): Buffer => (typeof s === "string" ? Buffer.from(s, "utf8") : Buffer.from(s));

describe("decode", () => {
  it("replaces every invalid byte by one U+FFFD", () => {
    expect(decodeChunk(b([0x96, 0x96, 0x96, 0x96, 0x96]))).toBe("\ufffd".repeat(5));
    // Node's own decoder would give a single U+FFFD for the truncated sequence E2 82.
    expect(decodeUtf8PerByte(b([0x61, 0xe2, 0x82, 0x62]))).toBe("a\ufffd\ufffdb");
    expect(decodeUtf8PerByte(b([0xed, 0xa0, 0x80]))).toBe("\ufffd".repeat(3)); // surrogate
    expect(decodeUtf8PerByte(b([0xc0, 0xaf]))).toBe("\ufffd\ufffd"); // overlong
    expect(decodeUtf8PerByte(b([0xf4, 0x90, 0x80, 0x80]))).toBe("\ufffd".repeat(4)); // > U+10FFFF
    expect(decodeUtf8PerByte(b([0x96, ...b("héllo 😀"), 0xff]))).toBe("\ufffdhéllo 😀\ufffd");
  });

  it("normalises CRLF and keeps a lone CR", () => {
    expect(decodeChunk(b("a\r\nb\rc\r\n"))).toBe("a\nb\rc\n");
    expect(decodeChunk(b([0x96, 0x0d, 0x0a]))).toBe("\ufffd\n");
  });
});

describe("OutputChunker", () => {
  it("holds short output until 100 ms after its last byte while running", () => {
    const c = new OutputChunker();
    c.push(b("hello\r\n"), 0);
    expect(flush(c, 50, false)).toEqual([]);
    expect(flush(c, HOLD_MS, false)).toEqual(["hello\n"]);
    expect(c.size).toBe(0);
  });

  it("emits output complete at the end as one drain chunk (217-byte line)", () => {
    const c = new OutputChunker();
    const line = "x".repeat(217);
    c.push(b(line + "\r\n"), 0);
    expect(flush(c, 10, false)).toEqual([]); // more than 100 bytes, but not idle yet
    expect(flush(c, 20, true)).toEqual([]); // final drain: short data, last byte < 100 ms ago
    expect(flush(c, 100, true)).toEqual([line + "\n"]);
  });

  it("emits 100-byte chunks while running once the data is idle", () => {
    const c = new OutputChunker();
    c.push(b("a".repeat(250)), 0);
    const out = flush(c, HOLD_MS, false);
    expect(out.map((t) => t.length)).toEqual([RUNNING_CHUNK, RUNNING_CHUNK, 50]);
  });

  it("does not hold a steady trickle longer than MAX_HOLD_MS", () => {
    const c = new OutputChunker();
    let t = 0;
    const out: string[] = [];
    for (; t <= MAX_HOLD_MS; t += 50) {
      c.push(b("line\r\n"), t);
      c.flush(t, false, (x) => out.push(x));
    }
    expect(out.join("")).not.toBe("");
  });

  it("drains in 1000-byte chunks", () => {
    const c = new OutputChunker();
    c.push(b("z".repeat(2500)), 0);
    expect(flush(c, 0, true).map((t) => t.length)).toEqual([DRAIN_CHUNK, DRAIN_CHUNK]);
    expect(flush(c, 50, true)).toEqual([]); // 500 left, younger than 100 ms
    expect(flush(c, 100, true).map((t) => t.length)).toEqual([500]);
  });

  it("never splits a multi-byte character across pushes or chunks", () => {
    const euro = b("€"); // e2 82 ac
    const c = new OutputChunker();
    c.push(b("a".repeat(98)), 0);
    c.push(euro.subarray(0, 2), 0); // 100 bytes buffered, ends inside the character
    expect(flush(c, HOLD_MS, false)).toEqual(["a".repeat(98)]);
    expect(c.size).toBe(2);
    expect(flush(c, 2 * HOLD_MS, false)).toEqual([]); // an incomplete sequence alone waits
    c.push(euro.subarray(2), 300);
    expect(flush(c, 400, false)).toEqual(["€"]);
  });

  it("moves a 4-byte character that straddles the chunk limit to the next chunk", () => {
    const c = new OutputChunker();
    c.push(Buffer.concat([b("a".repeat(98)), b("😀"), b("b")]), 0);
    expect(flush(c, HOLD_MS, false)).toEqual(["a".repeat(98), "😀b"]);
    const d = new OutputChunker();
    d.push(Buffer.concat([b("a".repeat(997)), b("😀"), b("c")]), 0);
    expect(flush(d, HOLD_MS, true)).toEqual(["a".repeat(997), "😀c"]);
  });

  it("emits a truncated sequence at the very end of the output as U+FFFD per byte", () => {
    const c = new OutputChunker();
    c.push(b([0x61, 0xf0, 0x9f, 0x98]), 0);
    expect(flush(c, HOLD_MS, true)).toEqual(["a\ufffd\ufffd\ufffd"]);
  });

  it("turns five invalid 0x96 bytes into five U+FFFD", () => {
    const c = new OutputChunker();
    c.push(b([0x96, 0x96, 0x96, 0x96, 0x96, 0x0d, 0x0a]), 0);
    expect(flush(c, HOLD_MS, true)).toEqual(["\ufffd\ufffd\ufffd\ufffd\ufffd\n"]);
  });

  it("never splits CRLF and normalises it", () => {
    const c = new OutputChunker();
    c.push(b("a".repeat(99) + "\r\nb"), 0);
    const out = flush(c, HOLD_MS, false);
    expect(out).toEqual(["a".repeat(99), "\nb"]);
    // A trailing \r is held while running: its \n may come with the next read.
    const d = new OutputChunker();
    d.push(b("abc\r"), 0);
    expect(flush(d, HOLD_MS, false)).toEqual(["abc"]);
    d.push(b("\ndef"), 200);
    expect(flush(d, 300, false)).toEqual(["\ndef"]);
    const e = new OutputChunker();
    e.push(b("x".repeat(999) + "\r\n"), 0);
    expect(flush(e, HOLD_MS, true)).toEqual(["x".repeat(999), "\n"]);
  });

  it("keeps lone CRs (progress bars)", () => {
    const c = new OutputChunker();
    c.push(b("10%\r20%\r100%\r\n"), 0);
    expect(flush(c, HOLD_MS, true)).toEqual(["10%\r20%\r100%\n"]);
    const d = new OutputChunker();
    d.push(b("done\r"), 0);
    expect(flush(d, HOLD_MS, true)).toEqual(["done\r"]);
  });

  it("coalesces a flood into big chunks at once, respecting boundaries", () => {
    const c = new OutputChunker();
    const line = "1234567€\r\n"; // 12 bytes, a 3-byte character inside
    const total = 100_000;
    const parts: Buffer[] = [];
    for (let i = 0; i < total; i++) parts.push(b(line));
    const all = Buffer.concat(parts); // 1.2 MB
    // Feed in odd-sized reads so pushes split characters and CRLFs.
    const out: string[] = [];
    for (let off = 0; off < all.length; off += 4093) {
      c.push(all.subarray(off, off + 4093), 0);
      if (c.size >= FLOOD_THRESHOLD) c.flush(0, false, (t) => out.push(t)); // no time has passed
    }
    expect(out.length).toBeGreaterThan(0);
    expect(c.size).toBeLessThan(FLOOD_THRESHOLD);
    c.flush(HOLD_MS, true, (t) => out.push(t));
    expect(c.size).toBe(0);
    expect(out.join("")).toBe("1234567€\n".repeat(total));
    expect(out.length).toBeLessThan(all.length / 4093 + 20);
    expect(Math.max(...out.map((t) => Buffer.byteLength(t)))).toBeLessThanOrEqual(FLOOD_CHUNK);
  });
});

describe("OutputChunker.preview", () => {
  /** A small deterministic PRNG, so a failure can be replayed. */
  function rng(seed: number): () => number {
    return () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
  }
  const PIECES = ["a", "hello\r\n", "\r", "\n", "é", "€", "𝄞", "\x1b[32m", "progress 42%\r"].map((p) => Buffer.from(p, "utf8"));
  const BAD = [Buffer.from([0x96]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9d])];

  it("shows read output at once, and the emitted chunks then repeat exactly that text", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = rng(seed);
      const parts: Buffer[] = [];
      for (let i = 0, n = 5 + Math.floor(random() * 60); i < n; i++) {
        const pool = random() < 0.1 ? BAD : PIECES;
        parts.push(pool[Math.floor(random() * pool.length)] as Buffer);
      }
      const bytes = Buffer.concat(parts);
      const c = new OutputChunker();
      const previews: string[] = [];
      const emitted: string[] = [];
      let now = 0;
      for (let at = 0; at < bytes.length; ) {
        // Reads split anywhere, even inside a character or between \r and \n.
        const len = 1 + Math.floor(random() * 12);
        c.push(bytes.subarray(at, at + len), now);
        at += len;
        const p = c.preview();
        if (p !== "") previews.push(p);
        now += Math.floor(random() * 150);
        c.flush(now, false, (t) => emitted.push(t));
        // At every moment, what was shown and what was logged agree: one is a prefix of the other.
        const shownSoFar = previews.join("");
        const loggedSoFar = emitted.join("");
        expect(shownSoFar.startsWith(loggedSoFar) || loggedSoFar.startsWith(shownSoFar), `seed ${seed}`).toBe(true);
      }
      c.flush(now + 1000, true, (t) => emitted.push(t));
      const shown = previews.join("");
      const logged = emitted.join("");
      expect(logged).toBe(decodeUtf8PerByte(bytes).split("\r\n").join("\n"));
      // Previews concatenated are a prefix of the logged output, so the UI can skip them exactly.
      expect(logged.startsWith(shown), `seed ${seed}: ${JSON.stringify(shown)} vs ${JSON.stringify(logged)}`).toBe(true);
    }
  });

  it("holds back an incomplete character and a trailing CR, and previews nothing twice", () => {
    const c = new OutputChunker();
    c.push(b([0x61, 0xe2, 0x82]), 0);
    expect(c.preview()).toBe("a");
    expect(c.preview()).toBe("");
    c.push(b([0xac, 0x0d]), 1);
    expect(c.preview()).toBe("€");
    c.push(b([0x0a]), 2);
    expect(c.preview()).toBe("\n");
    expect(flush(c, 500, false)).toEqual(["a€\n"]);
    expect(c.preview()).toBe("");
  });

  it("previews nothing in a flood, which is emitted at once anyway", () => {
    const c = new OutputChunker();
    c.push(Buffer.alloc(FLOOD_THRESHOLD, 0x61), 0);
    expect(c.preview()).toBe("");
  });
});

describe("MarkerScanner", () => {
  const { start, end } = commandMarkers(1700000000);
  const feedAll = (s: MarkerScanner, ...pieces: (string | Buffer)[]): { out: string; done: boolean } => {
    const out: Buffer[] = [];
    let done = false;
    for (const p of pieces) done = s.feed(typeof p === "string" ? Buffer.from(p, "latin1") : p, (x) => out.push(Buffer.from(x)));
    return { out: Buffer.concat(out).toString("latin1"), done };
  };

  it("builds the exact wrapper line", () => {
    expect(start).toBe("949556c7-1700000000-start");
    expect(commandLine(start, end, "/w/current-agent-cmd")).toBe(
      'echo -e "\\001 949556c7-1700000000-start"; source /w/current-agent-cmd; AGENT_CMD_RESULT=$?; ' +
        'echo -e "\\001 949556c7-1700000000-end $AGENT_CMD_RESULT"; echo "exit $AGENT_CMD_RESULT" | sh\n',
    );
  });

  it("drops output before the start marker and parses the exit code", () => {
    const s = new MarkerScanner(start, end);
    const r = feedAll(s, "background noise\r\n\x01 949556c7-1700", `000000-start\r\nhello\r\n\x01 ${end} 42\r\nafter`);
    expect(r).toEqual({ out: "hello\r\n", done: true });
    expect(s.exitCode).toBe(42);
  });

  it("waits for a marker split across reads", () => {
    const s = new MarkerScanner(start, end);
    const r = feedAll(s, `\x01 ${start}\r\nout\x01 949556c7-17`, "00000000-end 1", "27\r", "\n");
    expect(r).toEqual({ out: "out", done: true });
    expect(s.exitCode).toBe(127);
  });

  it("flushes a genuine 0x01 after len(END)+10 bytes", () => {
    const s = new MarkerScanner(start, end);
    const genuine = "\x01" + "y".repeat(end.length + 20) + "\r\n";
    const r1 = feedAll(s, `\x01 ${start}\r\n`, genuine);
    expect(r1).toEqual({ out: genuine, done: false });
    const r2 = feedAll(s, `\x01 ${end} 0\r\n`);
    expect(r2.done).toBe(true);
  });

  it("ends at the prompt marker when bash abandoned the wrapper line (foreground job killed by SIGINT)", () => {
    const s = new MarkerScanner(start, end, PROMPT_MARKER);
    const r = feedAll(s, `\x01 ${start}\r\na\r\n\r\n\x01 ${PROMPT_MARKER} 13`, "0\r\n\x1b[?2004h");
    expect(r).toEqual({ out: "a\r\n\r\n", done: true });
    expect(s.exitCode).toBe(130);
    expect(s.aborted).toBe(true);
  });

  it("prefers the end marker, and ignores the prompt marker unless asked to watch for it", () => {
    const s = new MarkerScanner(start, end, PROMPT_MARKER);
    expect(feedAll(s, `\x01 ${start}\r\nok\r\n\x01 ${end} 0\r\n\x01 ${PROMPT_MARKER} 0\r\n`)).toEqual({ out: "ok\r\n", done: true });
    expect(s.aborted).toBe(false);
    const plain = new MarkerScanner(start, end);
    const r = feedAll(plain, `\x01 ${start}\r\n\x01 ${PROMPT_MARKER} 130\r\n`, "y".repeat(end.length + 20));
    expect(r.done).toBe(false);
    expect(r.out).toBe(`\x01 ${PROMPT_MARKER} 130\r\n${"y".repeat(end.length + 20)}`);
  });

  it("installs the prompt marker with a PROMPT_COMMAND line", () => {
    expect(PROMPT_COMMAND_LINE).toBe(`PROMPT_COMMAND='echo -e "\\001 ${PROMPT_MARKER} $?"'; export -n PROMPT_COMMAND`);
  });

  it("keeps a short genuine 0x01 that is directly followed by the end marker", () => {
    const s = new MarkerScanner(start, end);
    const r = feedAll(s, `\x01 ${start}\r\n\x01 foo`, `\x01 ${end} 0\r\n`);
    expect(r).toEqual({ out: "\x01 foo", done: true });
  });
});
