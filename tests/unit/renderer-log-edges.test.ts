// The job log model's edge cases (found in review): carriage returns however the output is cut,
// colours that hold across a \r rewrite and past a line cut at its length, escape sequences that
// are not SGR, colon sub-parameters, C1 controls, times of previewed lines, limits counted once,
// the search's first-character filter, word wrapping at hyphens and tabs, and the layout checked
// against itself on random logs (incremental = fresh, rows and lines map back and forth).
import { describe, expect, it } from "vitest";
import type { JobLogEvent } from "../../agent-core/host/contract.js";
import { JobLogInterpreter } from "../../renderer/job-format.js";
import { applySgr, parseLine, plainText, PLAIN_STYLE } from "../../renderer/log/ansi.js";
import { JobLog, type JobLogLimits } from "../../renderer/log/job-log.js";
import { LogLayout, wrapRows } from "../../renderer/log/log-layout.js";
import { LogFeed } from "../../renderer/store/log-feed.js";

const started = (directive: string, t = 100): JobLogEvent => ({ event: "cmd_started", timestamp: t, directive });
const out = (output: string, t = 100): JobLogEvent => ({ event: "cmd_output", timestamp: t, output });
const finished = (directive: string, exit_code: number): JobLogEvent => ({ event: "cmd_finished", timestamp: 101, directive, exit_code, started_at: 100, finished_at: 101 });

function read(events: readonly JobLogEvent[], limits: Partial<JobLogLimits> = {}): JobLog {
  const log = new JobLog(limits);
  const interpreter = new JobLogInterpreter(log, {});
  for (const e of events) interpreter.read(e);
  return log;
}
const lines = (log: JobLog) => Array.from({ length: log.lineCount }, (_, i) => log.plainLine(i));

describe("carriage returns", () => {
  it("'abc\\r\\r\\n' keeps abc whether it comes in one chunk or several", () => {
    for (const chunks of [["abc\r\r\n"], ["abc\r", "\r\n"], ["abc\r\r", "\n"], ["abc\r", "\r", "\n"]]) {
      expect(lines(read([started("x"), ...chunks.map((c) => out(c))]))[1], JSON.stringify(chunks)).toBe("abc");
    }
  });
});

describe("colours", () => {
  it("a colour set before a \\r holds for the text that rewrites the line and for the next line", () => {
    const log = read([started("x"), out("\x1b[31mred\rplain\nnext\n")]);
    expect(log.plainLine(1)).toBe("plain");
    expect(parseLine(log.rawLine(1), log.startStyle(1)).segments[0]!.style.fg).toBe(1);
    expect(log.startStyle(2).fg).toBe(1);
    const split = read([started("x"), out("\x1b[31m50%\r"), out("100%\n"), out("after\n")]);
    expect(split.plainLine(1)).toBe("100%");
    expect(split.startStyle(2).fg).toBe(1);
  });

  it("a reset in the part of a line cut at its length still ends the colour", () => {
    const log = read([started("x"), out("\x1b[31m" + "x".repeat(20) + "\x1b[0m\n"), out("next\n")], { maxLineChars: 10 });
    expect(log.startStyle(2)).toBe(PLAIN_STYLE);
    const grown = read([started("x"), out("\x1b[32m" + "y".repeat(20)), out("\x1b[0m tail"), out("\nnext\n")], { maxLineChars: 10 });
    expect(grown.cutChars(1)).toBeGreaterThan(0);
    expect(grown.startStyle(2)).toBe(PLAIN_STYLE);
  });

  it("drops escapes that are not SGR, with their intermediates and final byte (tput sgr0: ESC ( B)", () => {
    expect(plainText("\x1b[31mred\x1b(B\x1b[m done")).toBe("red done");
    expect(plainText("a\x1b#8b\x1b)0c\x1b7d")).toBe("abcd");
  });

  it("reads colon sub-parameters as one parameter", () => {
    expect(applySgr(applySgr(PLAIN_STYLE, "1;31"), "4:0")).toMatchObject({ bold: true, fg: 1, underline: false });
    expect(applySgr(PLAIN_STYLE, "4:3")).toMatchObject({ underline: true, italic: false });
    expect(applySgr(PLAIN_STYLE, "1;38:2::255:0:0").fg).toBe("#ff0000");
    expect(applySgr(PLAIN_STYLE, "38:2:0:128:255").fg).toBe("#0080ff");
    expect(applySgr(PLAIN_STYLE, "48:5:208").bg).toBe(208);
    expect(applySgr(PLAIN_STYLE, "38;5;208;1")).toMatchObject({ fg: 208, bold: true });
    expect(applySgr(PLAIN_STYLE, "38;2;1;2;3;4")).toMatchObject({ fg: "#010203", underline: true });
  });

  it("drops C1 control characters", () => {
    expect(plainText("a\u009bb\u0085c")).toBe("abc");
  });
});

describe("times and limits", () => {
  it("a previewed line takes the time of the event before it, not 0", () => {
    const log = new JobLog();
    const interpreter = new JobLogInterpreter(log, {});
    interpreter.read({ event: "job_started", timestamp: 50 });
    interpreter.read({ event: "cmd_started", timestamp: 200, directive: "make" });
    interpreter.preview("compiling\n");
    interpreter.read({ event: "cmd_output", timestamp: 205, output: "compiling\n" });
    expect(log.plainLine(2)).toBe("compiling");
    expect(log.time(2)).toBe(200);
  });

  it("a preview and the event that repeats it count once towards the backlog", () => {
    const feed = new LogFeed({ maxBacklogChars: 15 });
    feed.offer(0, [{ event: "cmd_started", timestamp: 1, directive: "make" }]);
    feed.preview(1, "0123456789");
    feed.offer(1, [{ event: "cmd_output", timestamp: 1, output: "0123456789" }]);
    expect(feed.next).toBe(2); // kept, not given up
    expect(feed.attach({ ingested: () => {}, changed: () => {} }).log.text()).toBe("▶ make\n0123456789");
  });

  it("a line dropped because the log is full is counted once, whatever pieces it came in", () => {
    const log = read([started("x"), out("1\n2\n"), out("part"), out("ial"), out(" line\n"), finished("x", 1)], { maxLines: 3 });
    expect(log.droppedLines).toBe(1);
    expect(log.text()).toContain("… 1 more lines not shown");
  });
});

describe("search and wrapping", () => {
  it("finds a line that holds the query's first character as it is (a titlecase letter)", () => {
    expect(read([started("x"), out("ǅx\n")]).search("ǅx")).toHaveLength(1);
  });

  it("wraps after a hyphen a letter follows and counts a tab to the next multiple of 8", () => {
    expect(wrapRows("aaaa-bbbb-cccc", 6)).toBe(3);
    expect(wrapRows("v1-2", 3)).toBe(1); // a digit after the hyphen: no break there, the word overflows
    expect(wrapRows("a\tb\tc\td\te", 12)).toBe(3);
  });

  it("random logs: the layout kept up to date equals a fresh one, and rows and lines map back and forth", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 30; round++) {
      const log = new JobLog({ maxLines: 400 });
      const interpreter = new JobLogInterpreter(log, {});
      const kept = new LogLayout(log);
      const cols = random() < 0.5 ? null : 6 + Math.floor(random() * 20);
      kept.setWrap(cols);
      let commands = 0;
      for (let step = 0; step < 60; step++) {
        const r = random();
        if (r < 0.15) interpreter.read(started(`c${commands++}`));
        else if (r < 0.25) interpreter.read(finished("c", random() < 0.5 ? 0 : 1));
        else if (r < 0.3 && log.blocks.length > 0) log.toggle(Math.floor(random() * log.blocks.length));
        else interpreter.read(out(["word ".repeat(Math.floor(random() * 8)), "\n", "x\r", "-a-b-", "\t", ""][Math.floor(random() * 6)]!));
        void kept.totalRows; // kept up to date step by step
      }
      const fresh = new LogLayout(log);
      fresh.setWrap(cols);
      expect(kept.totalRows).toBe(fresh.totalRows);
      let sum = 0;
      for (let l = 0; l < log.lineCount; l++) if (log.isVisible(l)) sum += kept.rowsOf(l);
      expect(sum).toBe(kept.totalRows);
      for (let row = 0; row < kept.totalRows; row++) {
        const at = kept.lineAtRow(row);
        expect(log.isVisible(at.line)).toBe(true);
        expect(kept.rowOfLine(at.line) + at.row).toBe(row);
      }
    }
  });
});
