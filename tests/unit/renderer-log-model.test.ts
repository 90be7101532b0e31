// The job log model behind the Job view: colours parsed from SGR and nothing else obeyed, lines
// and their timestamps from events however the output is cut, sections that fold by the rule
// (passed folds, failed and stopped stay open, the owner's choice sticks), search, bounds; and the
// layout that maps rows to lines with folds and word wrapping, at a million lines.
import { describe, expect, it } from "vitest";
import type { JobLogEvent, JobPlan } from "../../agent-core/host/contract.js";
import { JobLogInterpreter, type FormatContext } from "../../renderer/job-format.js";
import { applySgr, endStyle, parseLine, plainText, PLAIN_STYLE } from "../../renderer/log/ansi.js";
import { JobLog, type JobLogLimits } from "../../renderer/log/job-log.js";
import { LogLayout, wrapRows } from "../../renderer/log/log-layout.js";

const started = (directive: string, t = 100): JobLogEvent => ({ event: "cmd_started", timestamp: t, directive });
const out = (output: string, t = 100): JobLogEvent => ({ event: "cmd_output", timestamp: t, output });
const finished = (directive: string, exit_code: number, started_at = 100, finished_at = 101): JobLogEvent => ({ event: "cmd_finished", timestamp: finished_at, directive, exit_code, started_at, finished_at });

function read(events: readonly JobLogEvent[], context: Partial<FormatContext> = {}, limits: Partial<JobLogLimits> = {}): JobLog {
  const log = new JobLog(limits);
  const interpreter = new JobLogInterpreter(log, context);
  for (const e of events) interpreter.read(e);
  return log;
}

describe("ANSI colours", () => {
  it("turns SGR into styled segments and drops every other sequence and control character", () => {
    const { segments } = parseLine("\x1b[1;31mred bold\x1b[0m plain \x1b[38;5;208morange\x1b[38;2;1;2;3m rgb\x1b[K\x1b]0;title\x07\x1b]52;c;aGk=\x07\x07 end");
    expect(segments.map((s) => s.text)).toEqual(["red bold", " plain ", "orange", " rgb end"]); // the dropped sequences change no style
    expect(segments[0]!.style).toMatchObject({ bold: true, fg: 1 });
    expect(segments[1]!.style).toBe(PLAIN_STYLE);
    expect(segments[2]!.style.fg).toBe(208);
    expect(segments[3]!.style.fg).toBe("#010203");
    expect(plainText("a\x1b[32mb\x1b[0m\x08c\td")).toBe("abc\td");
    expect(applySgr(PLAIN_STYLE, "92;44")).toMatchObject({ fg: 10, bg: 4 });
    expect(applySgr(applySgr(PLAIN_STYLE, "1;2"), "22")).toBe(PLAIN_STYLE);
  });

  it("carries a colour that runs across lines to the next line", () => {
    const log = read([started("make"), out("\x1b[33mwarning: one\nstill yellow\n\x1b[0mplain\n")]);
    expect(endStyle("\x1b[33mwarning: one", PLAIN_STYLE).fg).toBe(3);
    expect(log.startStyle(2).fg).toBe(3);
    expect(parseLine(log.rawLine(2), log.startStyle(2)).segments[0]!.style.fg).toBe(3);
    expect(log.startStyle(3).fg).toBe(3); // it starts yellow and resets at once
    expect(parseLine(log.rawLine(3), log.startStyle(3)).segments).toEqual([{ text: "plain", style: PLAIN_STYLE }]);
    expect(log.startStyle(4)).toBe(PLAIN_STYLE);
  });
});

describe("JobLog", () => {
  it("makes lines of output however it is cut, keeps the time of the event that began each, and collapses \\r progress", () => {
    const log = read([started("build", 100), out("one\ntw", 101), out("o\r\nthree", 102), out(" and more\n", 103), out("10%\r", 104), out("50%\r", 105), out("100%\n", 106), finished("build", 0, 100, 107)]);
    expect(log.text().split("\n")).toEqual(["▶ build", "one", "two", "three and more", "100%", "✔ exit 0 · 7 s"]);
    expect([0, 1, 2, 3, 4, 5].map((i) => log.time(i))).toEqual([100, 101, 101, 102, 104, 107]);
    expect([0, 1, 5].map((i) => log.kind(i))).toEqual(["header", "output", "meta"]);
  });

  it("folds a command that passed once it ends, keeps a failed or stopped one open, and the running one open", () => {
    const stop = { by: "Stopped by you", atEvent: 7 };
    const events = [out(""), started("a"), out("x\n"), finished("a", 0), started("b"), out("y\n"), finished("b", 2), started("c")];
    const log = read(events.slice(1), { stop: null });
    const sections = () => log.blocks.filter((b) => b.header !== null).map((b) => [b.header!.directive, b.folded]);
    expect(sections()).toEqual([["a", true], ["b", false], ["c", false]]);
    expect(log.isVisible(1)).toBe(false); // a's output
    expect(log.isVisible(0)).toBe(true); // a's header
    const stopped = read([started("sleep"), out("z\n"), finished("sleep", 1), { event: "job_finished", timestamp: 102, result: "stopped" }], { stop: { ...stop, atEvent: 1 } });
    expect(stopped.blocks[0]!.folded).toBe(false);
    expect(stopped.blocks[0]!.header!.end).toMatchObject({ state: "stopped", stoppedBy: "Stopped by you" });
    expect(stopped.text()).toContain("■ stopped by you · 1 s");
    expect(stopped.text().split("\n").slice(-2)).toEqual(["", "■ Job stopped by you"]);
  });

  it("leaves alone what the owner folded or unfolded, and folds or unfolds all at once", () => {
    const log = new JobLog();
    const interpreter = new JobLogInterpreter(log);
    interpreter.read(started("long"));
    interpreter.read(out("line\n"));
    log.setFolded(0, true); // folded while it runs
    interpreter.read(finished("long", 1));
    expect(log.blocks[0]!.folded).toBe(true); // a failure does not unfold what the owner folded
    interpreter.read(started("next"));
    interpreter.read(finished("next", 0));
    expect(log.blocks[1]!.folded).toBe(true);
    log.toggle(1);
    expect(log.blocks[1]!.folded).toBe(false);
    log.setAllFolded(false);
    expect(log.blocks.map((b) => b.folded)).toEqual([false, false]);
    log.setAllFolded(true);
    expect(log.blocks.map((b) => b.folded)).toEqual([true, true]);
    log.reveal(1); // the line under the first header
    expect(log.blocks[0]!.folded).toBe(false);
    expect(log.blockOfCommand(1)).toBe(1);
    expect(log.blockOfCommand(7)).toBe(-1);
  });

  it("labels epilogues and skipped commands from the plan", () => {
    const plan: JobPlan = { commands: ["make", "make lint"], epilogueAlways: ["echo bye"], epilogueOnPass: [], epilogueOnFail: [] };
    const log = read(
      [
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("make"),
        finished("make", 2),
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("echo bye"),
        finished("echo bye", 0),
        { event: "job_finished", timestamp: 110, result: "failed" },
      ],
      { plan },
    );
    expect(log.blocks.flatMap((b) => (b.header !== null ? [[b.header.directive, b.header.section.kind, b.folded]] : []))).toEqual([
      ["Exporting environment variables", "job-env", true],
      ["make", "command", false],
      ["Exporting environment variables", "result-env", true],
      ["echo bye", "epilogue-always", true],
    ]);
    expect(log.text()).toContain("⊘ Skipped after the failure: make lint");
    expect(log.text()).toContain("▶ echo bye  epilogue · always");
  });

  it("searches any case, every match of a line, bounded", () => {
    const log = read([started("Test"), out("error one ERROR two\nfine\nan Error\n")]);
    expect(log.search("error").map((m) => [m.line, m.start])).toEqual([
      [1, 0],
      [1, 10],
      [3, 3],
    ]);
    expect(log.search("test")).toEqual([{ line: 0, start: 2, length: 4 }]); // the header "▶ Test"
    expect(log.search("error", 2)).toHaveLength(2);
    expect(log.search("")).toEqual([]);
    expect(log.search("a.b")).toEqual([]); // literal, not a pattern
  });

  it("keeps at most maxLines lines and maxLineChars a line, and says what it left out", () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join("");
    const log = read([started("flood"), out(lines), out("x".repeat(300) + "\n"), finished("flood", 0)], {}, { maxLines: 20, maxLineChars: 100 });
    expect(log.lineCount).toBe(21); // the header, 19 lines, and the end of the command, which is always kept
    expect(log.droppedLines).toBe(32); // 50 + 1 lines of output, 19 kept
    expect(log.text()).toContain("… 32 more lines not shown");
    // A character budget too: the page's memory, however short the lines.
    const heavy = read([started("flood"), out(lines), finished("flood", 0)], {}, { maxChars: 100 });
    expect(heavy.text().split("\n").slice(1, 3)).toEqual(["line 0", "line 1"]);
    expect(heavy.lineCount).toBeLessThan(20);
    expect(heavy.droppedLines).toBe(50 - (heavy.lineCount - 2));
    expect(heavy.text()).toMatch(/▶ flood[\s\S]*✔ exit 0/);
    const wide = read([started("wide"), out("y".repeat(250)), out("y".repeat(50) + "\n")], {}, { maxLineChars: 100 });
    expect(wide.rawLine(1)).toBe("y".repeat(100));
    expect(wide.cutChars(1)).toBe(200);
    expect(wide.text()).toContain(" … 200 more characters");
  });
});

describe("LogLayout", () => {
  it("wraps at spaces and never inside a word: a word longer than a row takes its own row and overflows", () => {
    expect(wrapRows("short", 10)).toBe(1);
    expect(wrapRows("aaaa bbbb cccc", 10)).toBe(2); // "aaaa bbbb " | "cccc"
    expect(wrapRows("aaaa bbbbbbbbbbbbbbbb cc", 10)).toBe(3); // "aaaa " | the long word | "cc"
    expect(wrapRows("x".repeat(40), 10)).toBe(1); // one word: it overflows, it is not cut
  });

  it("maps rows to lines and back with folded commands, with and without wrapping", () => {
    const log = read([out("pre\n"), started("a"), out("a1\na2 is a rather long line here\n"), finished("a", 0), started("b"), out("b1\nb2\n"), finished("b", 1)]);
    // Lines: 0 pre | 1 ▶a 2 a1 3 a2 4 end | 5 ▶b 6 b1 7 b2 8 end; a is folded.
    const layout = new LogLayout(log);
    expect(layout.totalRows).toBe(1 + 1 + 4);
    expect([0, 1, 2, 3, 4, 5].map((r) => layout.lineAtRow(r).line)).toEqual([0, 1, 5, 6, 7, 8]);
    expect(layout.rowOfLine(3)).toBe(1); // hidden: its header's row
    log.setFolded(1, false);
    expect(layout.totalRows).toBe(9);
    layout.setWrap(16);
    // "a2 is a rather long line here" at 16 columns: "a2 is a rather " | "long line here"
    expect(layout.rowsOf(3)).toBe(2);
    expect(layout.totalRows).toBe(10);
    expect(layout.lineAtRow(4)).toEqual({ line: 3, row: 1 });
    expect(layout.rowOfLine(4)).toBe(5);
    for (let line = 0; line < log.lineCount; line++) expect(layout.lineAtRow(layout.rowOfLine(line)).line).toBe(line);
  });

  it("holds a million lines: folding, finding rows and searching stay right at that size", () => {
    const log = new JobLog();
    const interpreter = new JobLogInterpreter(log);
    const chunk = Array.from({ length: 1000 }, (_, i) => `${i} compiling module ${i}.c\n`).join("");
    for (let c = 0; c < 10; c++) {
      interpreter.read(started(`step ${c}`));
      for (let k = 0; k < 100; k++) interpreter.read(out(chunk));
      interpreter.read(finished(`step ${c}`, c === 9 ? 1 : 0));
    }
    expect(log.lineCount).toBe(10 * (100_000 + 2));
    const layout = new LogLayout(log);
    expect(layout.totalRows).toBe(9 + 100_002); // nine folded, the failed one open
    log.setAllFolded(false);
    expect(layout.totalRows).toBe(1_000_020);
    const line = 777_777;
    expect(layout.lineAtRow(layout.rowOfLine(line)).line).toBe(line);
    layout.setWrap(12);
    expect(layout.totalRows).toBeGreaterThan(2_000_000);
    expect(layout.lineAtRow(layout.rowOfLine(line)).line).toBe(line);
    expect(log.search("module 999.c").length).toBe(1000);
  });
});
