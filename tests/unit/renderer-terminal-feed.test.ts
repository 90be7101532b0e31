import { describe, expect, it } from "vitest";
import type { JobLogEvent } from "../../agent-core/host/contract.js";
import { JobLogFormatter } from "../../renderer/job-format.js";
import { utf8Length } from "../../renderer/probe.js";
import { TerminalFeed, type TerminalWriter } from "../../renderer/store/terminal-feed.js";

/** A terminal that parses only when the test says so, like a busy xterm. */
class SlowTerminal implements TerminalWriter {
  readonly written: string[] = [];
  private readonly callbacks: (() => void)[] = [];
  maxInFlight = 0;

  write(data: string, done: () => void): void {
    this.written.push(data);
    this.callbacks.push(done);
    this.maxInFlight = Math.max(this.maxInFlight, this.callbacks.length);
  }

  get inFlight(): number {
    return this.callbacks.length;
  }

  /** Parses the oldest `n` writes (all by default). */
  parse(n = Infinity): void {
    for (let i = 0; i < n && this.callbacks.length > 0; i++) this.callbacks.shift()!();
  }

  parseAll(): void {
    while (this.callbacks.length > 0) this.parse(1);
  }

  get text(): string {
    return this.written.join("");
  }
}

type OutputEvent = Extract<JobLogEvent, { event: "cmd_output" }>;
const output = (i: number, size = 100): OutputEvent => ({ event: "cmd_output", timestamp: 1, output: `${String(i).padStart(6, "0")}${"x".repeat(size - 7)}\n` });
const events = (from: number, count: number, size = 100) => Array.from({ length: count }, (_, k) => output(from + k, size));
const expectedText = (all: JobLogEvent[]) => new JobLogFormatter().formatAll(all);

const limits = { maxWritesInFlight: 3, maxWriteChars: 1000, highWatermark: 5000, lowWatermark: 1000, maxBacklogChars: 20_000 };

describe("TerminalFeed", () => {
  it("keeps at most a few writes in flight, coalesces small strings, and keeps order", () => {
    const feed = new TerminalFeed(limits);
    const term = new SlowTerminal();
    feed.attach(term);
    const all = events(0, 40);
    for (let i = 0; i < 40; i += 4) expect(feed.offer(i, all.slice(i, i + 4))).toBe(true);
    expect(term.inFlight).toBe(3);
    expect(term.written.every((w) => w.length <= limits.maxWriteChars)).toBe(true);
    term.parseAll();
    // While the terminal was busy, the queued batches were joined into fewer, larger writes.
    expect(term.written.length).toBeLessThan(10);
    expect(Math.max(...term.written.map((w) => w.length))).toBeGreaterThan(400);
    expect(term.maxInFlight).toBe(3);
    expect(term.text).toBe(expectedText(all));
    expect(feed.stats()).toEqual({ charsWritten: expectedText(all).length, writesPending: 0, pendingChars: 0 });
  });

  it("stops taking events above the high watermark and asks for more at the low one", () => {
    const feed = new TerminalFeed(limits);
    let asked = 0;
    feed.onWantsData = () => asked++;
    const term = new SlowTerminal();
    feed.attach(term);
    expect(asked).toBe(1); // on attach
    const all = events(0, 200);
    let next = 0;
    while (next < all.length && feed.offer(next, all.slice(next, next + 5))) next += 5;
    expect(next).toBeGreaterThanOrEqual(50); // 5000 characters of room
    expect(next).toBeLessThan(200);
    expect(feed.next).toBe(next);
    expect(feed.pendingChars).toBeGreaterThanOrEqual(limits.highWatermark);
    expect(feed.wantsData).toBe(false);
    // Refused: a later batch, and the batch at `next` while full. Nothing of them is written.
    expect(feed.offer(next, all.slice(next, next + 5))).toBe(false);
    expect(feed.offer(next + 5, all.slice(next + 5, next + 10))).toBe(false);
    expect(asked).toBe(1);
    // Draining below the low watermark asks once.
    while (feed.pendingChars > limits.lowWatermark) term.parse(1);
    expect(asked).toBe(2);
    expect(feed.wantsData).toBe(true);
    // The owner offers the rest again from `next` (as it would from history): all of it arrives, in order, once.
    while (next < all.length) {
      if (!feed.offer(next, all.slice(next, next + 5))) term.parse(1);
      else next += 5;
    }
    term.parseAll();
    expect(term.text).toBe(expectedText(all));
  });

  it("ignores events it already has and a batch that starts after its next", () => {
    const feed = new TerminalFeed(limits);
    const term = new SlowTerminal();
    feed.attach(term);
    const all = events(0, 10);
    feed.offer(0, all.slice(0, 6));
    expect(feed.offer(2, all.slice(2, 8))).toBe(true); // overlapping: takes 6 and 7 only
    expect(feed.offer(0, all.slice(0, 8))).toBe(false); // nothing new
    expect(feed.offer(9, all.slice(9))).toBe(false); // gap: 8 is missing
    expect(feed.next).toBe(8);
    feed.offer(8, all.slice(8));
    term.parseAll();
    expect(term.text).toBe(expectedText(all));
  });

  it("holds a bounded backlog for the first terminal, then gives it up to be re-read from history", () => {
    const feed = new TerminalFeed(limits);
    const small = events(0, 50);
    feed.offer(0, small);
    expect(feed.next).toBe(50);
    const term = new SlowTerminal();
    feed.attach(term);
    term.parseAll();
    expect(term.text).toBe(expectedText(small)); // the backlog, in order

    const big = new TerminalFeed(limits);
    let asked = 0;
    big.onWantsData = () => asked++;
    const all = events(0, 400);
    for (let i = 0; i < 400; i += 10) big.offer(i, all.slice(i, i + 10));
    expect(big.next).toBe(0); // more than 20 000 characters: dropped, and nothing more is taken
    expect(big.offer(0, all.slice(0, 10))).toBe(false);
    const late = new SlowTerminal();
    big.attach(late);
    expect(asked).toBe(1);
    expect(late.written).toEqual([]);
    expect(big.wantsData).toBe(true);
    expect(big.next).toBe(0); // the owner re-reads from the start
  });

  it("forgets a detached terminal: its callbacks are ignored and the next one starts from 0", () => {
    const feed = new TerminalFeed(limits);
    const first = new SlowTerminal();
    const detach = feed.attach(first);
    const all = events(0, 30);
    feed.offer(0, all);
    detach();
    first.parseAll(); // late callbacks of the disposed terminal
    expect(feed.stats()).toEqual({ charsWritten: 0, writesPending: 0, pendingChars: 0 });
    expect(feed.next).toBe(0);
    expect(feed.offer(0, all)).toBe(false); // no terminal, nothing kept
    const second = new SlowTerminal();
    feed.attach(second);
    expect(feed.offer(0, all)).toBe(true);
    second.parseAll();
    expect(second.text).toBe(expectedText(all));
    detach(); // a stale detach does not detach the new terminal
    expect(feed.attached).toBe(true);
  });

  it("cuts a string longer than a write into several, in order", () => {
    const feed = new TerminalFeed(limits);
    const term = new SlowTerminal();
    feed.attach(term);
    const wide: JobLogEvent = { event: "cmd_output", timestamp: 1, output: "é😀".repeat(400) }; // 1200 UTF-16 units
    feed.offer(0, [wide, output(1)]);
    expect(term.written.map((w) => w.length)).toEqual([1000, 200 + output(1).output.length]);
    term.parseAll();
    expect(term.text).toBe(wide.output + output(1).output);
    expect(feed.stats().charsWritten).toBe(wide.output.length + output(1).output.length);
    // The probe counts what the terminal parsed in UTF-8 bytes.
    expect(utf8Length(wide.output)).toBe(400 * (2 + 4));
    expect(utf8Length("aé€😀\ud800")).toBe(1 + 2 + 3 + 4 + 3);
  });

  it("counts as pending the events it knows of but has not taken, so 'nothing pending' means up to date", () => {
    const feed = new TerminalFeed(limits);
    const term = new SlowTerminal();
    feed.attach(term);
    const all = events(0, 10);
    feed.knownEvents = 10;
    feed.offer(0, all.slice(0, 5));
    expect(feed.stats().writesPending).toBe(2); // one write in flight + events 5..9 still to come
    term.parseAll();
    expect(feed.stats().writesPending).toBe(1);
    feed.offer(5, all.slice(5));
    term.parseAll();
    expect(feed.stats().writesPending).toBe(0);
  });

  it("shows a preview at once and skips it when the events repeat it: the terminal gets the log exactly once", () => {
    const feed = new TerminalFeed();
    const term = new SlowTerminal();
    feed.attach(term);
    const started: JobLogEvent = { event: "cmd_started", timestamp: 1, directive: "make" };
    const out = (text: string): JobLogEvent => ({ event: "cmd_output", timestamp: 1, output: text });
    const finished: JobLogEvent = { event: "cmd_finished", timestamp: 2, directive: "make", exit_code: 0, started_at: 1, finished_at: 2 };
    feed.offer(0, [started]);
    feed.preview(1, "compiling a");
    feed.preview(1, "\ncompiling b\n");
    feed.preview(5, "not right behind the terminal: ignored");
    term.parseAll();
    expect(term.text).toContain("compiling a\ncompiling b\n");
    // The events carry the same text, in other pieces, then more.
    feed.offer(1, [out("compiling a\ncomp"), out("iling b\nlinking\n"), finished]);
    term.parseAll();
    expect(term.text).toBe(expectedText([started, out("compiling a\ncompiling b\nlinking\n"), finished]));
    expect(term.text).not.toContain("ignored");
  });
});
