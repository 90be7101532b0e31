// The debug terminal's traffic rules, on a clock the test moves by hand (no real timers, no timing
// assertions): acknowledgements batched and only for parsed output, keystrokes coalesced and split,
// sizes debounced. The last test plays a host that stops at TERMINAL_HIGH_WATER against a slow
// terminal, as a `yes` flood would.
import { describe, expect, it } from "vitest";
import { TERMINAL_ACK_CHARS, TERMINAL_HIGH_WATER } from "../../agent-core/host/contract.js";
import {
  AckBatcher,
  InputSender,
  ResizeSender,
  TERMINAL_ACK_IDLE_MS,
  TERMINAL_ACK_MIN_INTERVAL_MS,
  TERMINAL_INPUT_MAX_CHARS,
  TERMINAL_RESIZE_DEBOUNCE_MS,
  clampSize,
  splitInput,
  type Scheduler,
} from "../../renderer/store/terminal-flow.js";

/** Timers on a logical clock: advance() runs what falls due, in order. */
class ManualClock implements Scheduler {
  private t = 0;
  private nextId = 1;
  private timers: { id: number; due: number; fn: () => void }[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ id, due: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.due <= target).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.t = next.due;
      next.fn();
    }
    this.t = target;
  }
}

function batcher(clock: ManualClock) {
  const acks: { at: number; chars: number }[] = [];
  const flow = new AckBatcher((chars) => acks.push({ at: clock.now(), chars }), clock);
  return { flow, acks };
}

const sum = (list: readonly { chars: number }[]) => list.reduce((n, a) => n + a.chars, 0);

describe("AckBatcher", () => {
  it("acknowledges only what was parsed, and the tail once the terminal is idle", () => {
    const clock = new ManualClock();
    const { flow, acks } = batcher(clock);
    flow.received(1000);
    clock.advance(500);
    expect(acks).toEqual([]); // received but not parsed: nothing to acknowledge
    flow.parsed(600);
    expect(acks).toEqual([]);
    clock.advance(TERMINAL_ACK_IDLE_MS - 1);
    expect(acks).toEqual([]);
    clock.advance(1);
    expect(acks.map((a) => a.chars)).toEqual([600]);
    expect(flow.stats()).toEqual({ received: 1000, parsed: 600, acked: 600, pending: 400 });
    flow.parsed(400);
    clock.advance(TERMINAL_ACK_IDLE_MS);
    expect(acks.map((a) => a.chars)).toEqual([600, 400]);
    expect(flow.stats()).toEqual({ received: 1000, parsed: 1000, acked: 1000, pending: 0 });
    expect(clock.pending).toBe(0);
  });

  it("acknowledges at once at TERMINAL_ACK_CHARS, but never twice within the minimum interval", () => {
    const clock = new ManualClock();
    const { flow, acks } = batcher(clock);
    flow.received(10 * TERMINAL_ACK_CHARS);
    flow.parsed(TERMINAL_ACK_CHARS);
    expect(acks.map((a) => a.chars)).toEqual([TERMINAL_ACK_CHARS]);
    // Nine more batches parsed in the same instant: one more acknowledgement, after the interval.
    for (let i = 0; i < 9; i++) flow.parsed(TERMINAL_ACK_CHARS);
    expect(acks).toHaveLength(1);
    clock.advance(TERMINAL_ACK_MIN_INTERVAL_MS);
    expect(acks).toHaveLength(2);
    expect(acks[1]!.chars).toBe(9 * TERMINAL_ACK_CHARS);
    clock.advance(1000);
    expect(acks).toHaveLength(2);
    expect(sum(acks)).toBe(10 * TERMINAL_ACK_CHARS);
  });

  it("keeps acknowledgements at least the minimum interval apart under a steady stream of parses", () => {
    const clock = new ManualClock();
    const { flow, acks } = batcher(clock);
    let parsed = 0;
    for (let step = 0; step < 400; step++) {
      const chars = 1 + ((step * 7919) % 40_000); // uneven sizes, some over the batch size in sum
      flow.received(chars);
      flow.parsed(chars);
      parsed += chars;
      clock.advance(step % 3); // 0, 1 or 2 ms between parses
    }
    clock.advance(TERMINAL_ACK_IDLE_MS);
    expect(sum(acks)).toBe(parsed);
    for (let i = 1; i < acks.length; i++) expect(acks[i]!.at - acks[i - 1]!.at).toBeGreaterThanOrEqual(TERMINAL_ACK_MIN_INTERVAL_MS);
    expect(acks.every((a) => a.chars > 0)).toBe(true);
  });

  it("sends nothing more once closed", () => {
    const clock = new ManualClock();
    const { flow, acks } = batcher(clock);
    flow.received(100);
    flow.parsed(100);
    flow.close();
    clock.advance(1000);
    flow.parsed(TERMINAL_ACK_CHARS);
    clock.advance(1000);
    expect(acks).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe("splitInput", () => {
  it("cuts long input into pieces the contract accepts, in order", () => {
    const text = Array.from({ length: 200_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    const pieces = splitInput(text);
    expect(pieces).toHaveLength(Math.ceil(200_000 / TERMINAL_INPUT_MAX_CHARS));
    expect(pieces.every((p) => p.length > 0 && p.length <= TERMINAL_INPUT_MAX_CHARS)).toBe(true);
    expect(pieces.join("")).toBe(text);
    expect(splitInput("")).toEqual([]);
    expect(splitInput("ls\r")).toEqual(["ls\r"]);
  });

  it("never separates the halves of a surrogate pair", () => {
    const text = `${"a".repeat(9)}😀${"b".repeat(5)}😀😀`;
    const pieces = splitInput(text, 10);
    expect(pieces.join("")).toBe(text);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(10);
      const last = piece.charCodeAt(piece.length - 1);
      expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
      const first = piece.charCodeAt(0);
      expect(first >= 0xdc00 && first <= 0xdfff).toBe(false);
    }
    expect(pieces[0]).toBe("a".repeat(9));
  });
});

/** A send whose answers the test gives one by one. */
function heldSend() {
  const sent: string[] = [];
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = (data: string) =>
    new Promise<void>((resolve, reject) => {
      sent.push(data);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      waiting.push({
        resolve: () => {
          inFlight--;
          resolve();
        },
        reject: (e) => {
          inFlight--;
          reject(e);
        },
      });
    });
  return { sent, waiting, send, maxInFlight: () => maxInFlight };
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe("InputSender", () => {
  it("sends what is typed in one tick as one call", async () => {
    const host = heldSend();
    const input = new InputSender(host.send);
    input.push("l");
    input.push("s");
    input.push("\r");
    expect(host.sent).toEqual([]);
    await flush();
    expect(host.sent).toEqual(["ls\r"]);
  });

  it("sends a big paste in order, one call at a time, with what is typed meanwhile after it", async () => {
    const host = heldSend();
    const input = new InputSender(host.send);
    const paste = "x".repeat(TERMINAL_INPUT_MAX_CHARS * 2 + 1000);
    input.push(paste);
    await flush();
    expect(host.sent).toHaveLength(1);
    input.push("\r");
    for (let i = 0; i < 10 && host.waiting.length > 0; i++) {
      host.waiting.shift()!.resolve();
      await flush();
    }
    expect(host.sent.join("")).toBe(`${paste}\r`);
    expect(host.sent.every((p) => p.length <= TERMINAL_INPUT_MAX_CHARS)).toBe(true);
    expect(host.maxInFlight()).toBe(1);
    expect(input.queued).toBe(0);
  });

  it("drops what is queued when a call fails, and says so", async () => {
    const host = heldSend();
    const errors: unknown[] = [];
    const input = new InputSender(host.send, (e) => errors.push(e));
    input.push("y".repeat(TERMINAL_INPUT_MAX_CHARS + 5));
    await flush();
    host.waiting.shift()!.reject(new Error("not-found"));
    await flush();
    expect(errors).toHaveLength(1);
    expect(host.sent).toHaveLength(1);
    expect(input.queued).toBe(0);
    // It still works for the next keystroke.
    input.push("q");
    await flush();
    expect(host.sent.at(-1)).toBe("q");
  });

  it("refuses input beyond its queue limit and after close", async () => {
    const host = heldSend();
    const errors: unknown[] = [];
    const input = new InputSender(host.send, (e) => errors.push(e), queueMicrotask, 8, 20);
    expect(input.push("a".repeat(15))).toBe(true);
    expect(input.push("b".repeat(10))).toBe(false);
    expect(errors).toHaveLength(1);
    input.close();
    expect(input.push("c")).toBe(false);
    await flush();
    expect(host.sent.join("")).not.toContain("b");
  });
});

describe("ResizeSender", () => {
  it("sends the size once it settled, and only when it changed", () => {
    const clock = new ManualClock();
    const sent: [number, number][] = [];
    const resize = new ResizeSender((c, r) => sent.push([c, r]), { cols: 80, rows: 24 }, clock);
    resize.request(90, 30);
    resize.request(100, 31);
    clock.advance(TERMINAL_RESIZE_DEBOUNCE_MS - 1);
    resize.request(120, 40);
    clock.advance(TERMINAL_RESIZE_DEBOUNCE_MS - 1);
    expect(sent).toEqual([]);
    clock.advance(1);
    expect(sent).toEqual([[120, 40]]);
    resize.request(120, 40);
    clock.advance(TERMINAL_RESIZE_DEBOUNCE_MS);
    expect(sent).toEqual([[120, 40]]); // the host has it already
    resize.request(1, 0); // clamped to the contract's bounds
    clock.advance(TERMINAL_RESIZE_DEBOUNCE_MS);
    expect(sent.at(-1)).toEqual([2, 1]);
    resize.close();
    resize.request(50, 20);
    clock.advance(TERMINAL_RESIZE_DEBOUNCE_MS);
    expect(sent).toHaveLength(2);
  });

  it("clamps sizes to the contract", () => {
    expect(clampSize(5000, 9000)).toEqual({ cols: 1000, rows: 500 });
    expect(clampSize(80.7, 24.2)).toEqual({ cols: 80, rows: 24 });
    expect(clampSize(Number.NaN, -3)).toEqual({ cols: 2, rows: 1 });
  });
});

describe("flow control against a host that stops at the high water", () => {
  it("delivers a flood completely, with the host's unacknowledged output bounded and never stuck", () => {
    const clock = new ManualClock();
    const total = 12 * 1024 * 1024; // `yes` for a while
    const batch = 64 * 1024;
    let hostSent = 0;
    let hostAcked = 0;
    let maxOutstanding = 0;
    let parsedByTerminal = 0;
    let ackCalls = 0;
    const flow = new AckBatcher((chars) => {
      ackCalls++;
      hostAcked += chars;
    }, clock);
    // The terminal parses each write 3 ms after it was handed over.
    const write = (chars: number) => {
      flow.received(chars);
      clock.setTimeout(() => {
        parsedByTerminal += chars;
        flow.parsed(chars);
      }, 3);
    };
    // The host reads the PTY every 8 ms while under the high water.
    let stalledTicks = 0;
    for (let tick = 0; hostAcked < total; tick++) {
      expect(tick).toBeLessThan(100_000);
      let sentThisTick = 0;
      while (hostSent < total && hostSent - hostAcked < TERMINAL_HIGH_WATER) {
        const chars = Math.min(batch, total - hostSent);
        hostSent += chars;
        sentThisTick += chars;
        write(chars);
      }
      maxOutstanding = Math.max(maxOutstanding, hostSent - hostAcked);
      stalledTicks = sentThisTick === 0 && clock.pending === 0 && hostAcked < total ? stalledTicks + 1 : 0;
      expect(stalledTicks).toBeLessThan(2); // nothing in flight and nothing sent: a deadlock
      clock.advance(8);
    }
    expect(hostAcked).toBe(total);
    expect(parsedByTerminal).toBe(total);
    expect(maxOutstanding).toBeLessThanOrEqual(TERMINAL_HIGH_WATER);
    // Batched: about one acknowledgement per TERMINAL_ACK_CHARS, not one per write.
    expect(ackCalls).toBeLessThanOrEqual(total / TERMINAL_ACK_CHARS + 50);
    expect(flow.stats()).toEqual({ received: total, parsed: total, acked: total, pending: 0 });
  });
});
