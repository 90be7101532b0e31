// The feed from a job's events to the Job view's log: order, overlaps and gaps, the bounded backlog
// kept for a view that is not there yet, a stale detach, previews taken once.
import { describe, expect, it } from "vitest";
import type { JobLogEvent } from "../../agent-core/host/contract.js";
import { JobLogInterpreter } from "../../renderer/job-format.js";
import { JobLog } from "../../renderer/log/job-log.js";
import { utf8Length } from "../../renderer/probe.js";
import { LogFeed } from "../../renderer/store/log-feed.js";

type OutputEvent = Extract<JobLogEvent, { event: "cmd_output" }>;
const output = (i: number, size = 100): OutputEvent => ({ event: "cmd_output", timestamp: 1, output: `${String(i).padStart(6, "0")}${"x".repeat(size - 7)}\n` });
const events = (from: number, count: number, size = 100) => Array.from({ length: count }, (_, k) => output(from + k, size));

/** The log of `all`, read straight through an interpreter. */
function expectedText(all: readonly JobLogEvent[]): string {
  const log = new JobLog();
  const interpreter = new JobLogInterpreter(log);
  for (const e of all) interpreter.read(e);
  return log.text();
}

/** A view: attaches, counts changes and the text it was told of. */
function view(feed: LogFeed) {
  const seen = { changes: 0, ingested: "" };
  const { log, detach } = feed.attach({ ingested: (t) => (seen.ingested += t), changed: () => seen.changes++ });
  return { log, detach, seen };
}

describe("LogFeed", () => {
  it("takes events in order into the view's log, ignoring ones it has and a batch after a gap", () => {
    const feed = new LogFeed();
    const v = view(feed);
    const all = events(0, 10);
    expect(feed.offer(0, all.slice(0, 6))).toBe(true);
    expect(feed.offer(2, all.slice(2, 8))).toBe(true); // overlapping: takes 6 and 7 only
    expect(feed.offer(0, all.slice(0, 8))).toBe(false); // nothing new
    expect(feed.offer(9, all.slice(9))).toBe(false); // gap: 8 is missing
    expect(feed.next).toBe(8);
    feed.offer(8, all.slice(8));
    expect(v.log.text()).toBe(expectedText(all));
    expect(v.seen.ingested).toBe(all.map((e) => e.output).join(""));
    expect(v.seen.changes).toBe(3); // once per batch it took
  });

  it("holds a bounded backlog for the first view, then gives it up to be re-read from history", () => {
    const feed = new LogFeed({ maxBacklogChars: 20_000 });
    const small = events(0, 50);
    feed.offer(0, small);
    expect(feed.next).toBe(50);
    expect(view(feed).log.text()).toBe(expectedText(small)); // the backlog, in order

    const big = new LogFeed({ maxBacklogChars: 20_000 });
    let asked = 0;
    big.onWantsData = () => asked++;
    const all = events(0, 400);
    for (let i = 0; i < 400; i += 10) big.offer(i, all.slice(i, i + 10));
    expect(big.next).toBe(0); // more than 20 000 characters: dropped, and nothing more is taken
    expect(big.offer(0, all.slice(0, 10))).toBe(false);
    const late = view(big);
    expect(asked).toBe(1);
    expect(late.log.lineCount).toBe(0);
    expect(big.wantsData).toBe(true);
    expect(big.next).toBe(0); // the owner re-reads from the start
    for (let i = 0; i < 400; i += 100) big.offer(i, all.slice(i, i + 100));
    expect(late.log.text()).toBe(expectedText(all)); // a view takes it all: the log is its
  });

  it("forgets a detached view; the next starts from 0 with a new log, and a stale detach does nothing", () => {
    const feed = new LogFeed();
    const first = view(feed);
    const all = events(0, 30);
    feed.offer(0, all);
    first.detach();
    expect(feed.stats()).toEqual({ charsWritten: 0, writesPending: 0 });
    expect(feed.next).toBe(0);
    expect(feed.offer(0, all)).toBe(false); // no view, nothing kept
    const second = view(feed);
    expect(second.log).not.toBe(first.log);
    expect(feed.offer(0, all)).toBe(true);
    expect(second.log.text()).toBe(expectedText(all));
    first.detach();
    expect(feed.attached).toBe(true);
    expect(feed.stats().charsWritten).toBe(all.reduce((n, e) => n + e.output.length, 0));
    // The probe counts what the view took in UTF-8 bytes.
    expect(utf8Length("aé€😀\ud800")).toBe(1 + 2 + 3 + 4 + 3);
  });

  it("counts as pending the events it knows of but has not taken, so 'nothing pending' means up to date", () => {
    const feed = new LogFeed();
    view(feed);
    const all = events(0, 10);
    feed.knownEvents = 10;
    feed.offer(0, all.slice(0, 5));
    expect(feed.stats().writesPending).toBe(1);
    feed.offer(5, all.slice(5));
    expect(feed.stats().writesPending).toBe(0);
  });

  it("waits for the job's plan before taking the first event", () => {
    const feed = new LogFeed();
    let asked = 0;
    feed.onWantsData = () => asked++;
    feed.awaitContext();
    const v = view(feed);
    expect(feed.wantsData).toBe(false);
    expect(feed.offer(0, [{ event: "cmd_started", timestamp: 1, directive: "Exporting environment variables" }])).toBe(false);
    feed.setContext({ plan: { commands: ["make"], epilogueAlways: [], epilogueOnPass: [], epilogueOnFail: [] } });
    expect(asked).toBe(2); // on attach, and once the plan came
    expect(feed.offer(0, [{ event: "cmd_started", timestamp: 1, directive: "Exporting environment variables" }])).toBe(true);
    expect(v.log.text()).toBe("▶ Exporting environment variables  agent step · the job's variables");
  });

  it("shows a preview at once and skips it when the events repeat it: the log has it exactly once", () => {
    const feed = new LogFeed();
    const v = view(feed);
    const started: JobLogEvent = { event: "cmd_started", timestamp: 1, directive: "make" };
    const out = (text: string): JobLogEvent => ({ event: "cmd_output", timestamp: 1, output: text });
    const finished: JobLogEvent = { event: "cmd_finished", timestamp: 2, directive: "make", exit_code: 0, started_at: 1, finished_at: 2 };
    feed.offer(0, [started]);
    feed.preview(1, "compiling a");
    feed.preview(1, "\ncompiling b\n");
    feed.preview(5, "not right behind the log: ignored");
    expect(v.log.text()).toContain("compiling a\ncompiling b");
    // The events carry the same text, in other pieces, then more.
    feed.offer(1, [out("compiling a\ncomp"), out("iling b\nlinking\n"), finished]);
    expect(v.log.text()).toBe(expectedText([started, out("compiling a\ncompiling b\nlinking\n"), finished]));
    expect(v.log.text()).not.toContain("ignored");
  });
});
