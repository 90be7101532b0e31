// Live output batching: consecutive events of one job become one job-output event; a batch goes out
// on its timer, when it is full, and before any other event, so the UI sees everything in order.
import { describe, expect, it } from "vitest";
import type { HostEvent, JobLogEvent } from "../../agent-core/host/contract.js";
import { LiveBatcher } from "../../agent-core/host/live-batcher.js";

const output = (text: string): JobLogEvent => ({ event: "cmd_output", timestamp: 1, output: text });

function collect(options?: { intervalMs?: number; maxBytes?: number }) {
  const emitted: HostEvent[] = [];
  const batcher = new LiveBatcher((e) => emitted.push(e), options);
  return { emitted, batcher };
}

describe("LiveBatcher", () => {
  it("merges consecutive events of a job into one job-output event, sent by its timer", async () => {
    const { emitted, batcher } = collect({ intervalMs: 5 });
    for (let i = 0; i < 100; i++) batcher.output("job", i, output(`${i}\n`));
    expect(emitted).toEqual([]); // nothing sent synchronously: the producer never waits
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (emitted.length > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 1);
    });
    expect(emitted).toHaveLength(1);
    const batch = emitted[0];
    expect(batch).toMatchObject({ type: "job-output", jobId: "job", from: 0 });
    expect(batch?.type === "job-output" && batch.events.map((e) => (e.event === "cmd_output" ? e.output : "")).join("")).toBe(
      Array.from({ length: 100 }, (_, i) => `${i}\n`).join(""),
    );
  });

  it("flushes when a batch reaches its size limit", () => {
    const { emitted, batcher } = collect({ intervalMs: 60_000, maxBytes: 1000 });
    for (let i = 0; i < 10; i++) batcher.output("job", i, output("x".repeat(300)));
    // 3 events of ~350 bytes fill a batch.
    expect(emitted.map((e) => (e.type === "job-output" ? [e.from, e.events.length] : null))).toEqual([
      [0, 3],
      [3, 3],
      [6, 3],
    ]);
    batcher.flush();
    expect(emitted.at(-1)).toMatchObject({ type: "job-output", from: 9 });
  });

  it("sends a batch before any other event: job-started < outputs < job-finished", () => {
    const { emitted, batcher } = collect({ intervalMs: 60_000 });
    const summary = { id: "job", mode: "semaphore" as const, result: "running" as const, startedAt: 1, finishedAt: null, durationMs: null, events: 0, bytes: 0, identity: null, problem: null, stoppedBy: null, agentId: null, agentName: null, usage: null };
    batcher.pass({ type: "job-started", job: { summary, envVarNames: [], plan: null, stop: null } });
    batcher.output("job", 0, { event: "job_started", timestamp: 1 });
    batcher.output("job", 1, output("a"));
    batcher.pass({ type: "activity", at: 1, level: "info", message: "hello" });
    batcher.output("job", 2, output("b"));
    batcher.pass({ type: "job-finished", job: { ...summary, result: "passed" } });
    expect(emitted.map((e) => (e.type === "job-output" ? `output ${e.from}+${e.events.length}` : e.type))).toEqual([
      "job-started",
      "output 0+2",
      "activity",
      "output 2+1",
      "job-finished",
    ]);
  });

  it("starts a new batch at a gap or another job, so `from` always numbers the events", () => {
    const { emitted, batcher } = collect({ intervalMs: 60_000 });
    batcher.output("a", 0, output("0"));
    batcher.output("a", 1, output("1"));
    batcher.output("a", 5, output("5"));
    batcher.output("b", 6, output("6"));
    batcher.flush();
    expect(emitted.map((e) => (e.type === "job-output" ? `${e.jobId}:${e.from}+${e.events.length}` : e.type))).toEqual(["a:0+2", "a:5+1", "b:6+1"]);
  });

  it("sends a preview after the batch's events, and starts a new batch for the events that repeat it", () => {
    const { emitted, batcher } = collect({ intervalMs: 60_000 });
    batcher.output("job", 0, output("a\n"));
    batcher.preview("job", 1, "b");
    batcher.preview("job", 1, "c\n");
    batcher.output("job", 1, output("bc\n"));
    batcher.preview("other", 0, "x"); // another job: what is batched goes out first
    batcher.flush();
    expect(emitted).toEqual([
      { type: "job-output", jobId: "job", from: 0, events: [output("a\n")], preview: "bc\n" },
      { type: "job-output", jobId: "job", from: 1, events: [output("bc\n")] },
      { type: "job-output", jobId: "other", from: 0, events: [], preview: "x" },
    ]);
  });
});
