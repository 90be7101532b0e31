import { describe, expect, it } from "vitest";
import type { JobLogEvent, JobPlan, JobStop } from "../../agent-core/host/contract.js";
import { applyToOutline, commandRows, emptyOutline, formatSeconds, isEpilogue, JobLogInterpreter, type FormatContext, type JobOutline } from "../../renderer/job-format.js";
import { JobLog } from "../../renderer/log/job-log.js";

const started = (directive: string, t = 100): JobLogEvent => ({ event: "cmd_started", timestamp: t, directive });
const out = (output: string, t = 100): JobLogEvent => ({ event: "cmd_output", timestamp: t, output });
const finished = (directive: string, exit_code: number, started_at = 100, finished_at = 101): JobLogEvent => ({
  event: "cmd_finished",
  timestamp: finished_at,
  directive,
  exit_code,
  started_at,
  finished_at,
});

/** A log model fed by an interpreter, as the Job view has them. */
function reader(context: Partial<FormatContext> = {}) {
  const log = new JobLog();
  const interpreter = new JobLogInterpreter(log, context);
  const read = (events: readonly JobLogEvent[]) => {
    for (const e of events) interpreter.read(e);
    return log;
  };
  return { log, interpreter, read };
}

/** The log of `events`, read in order. */
const logOf = (events: readonly JobLogEvent[], context: Partial<FormatContext> = {}) => reader(context).read(events);

/** Every line as stored: its raw text (escapes kept) and its kind. */
const lines = (log: JobLog) => Array.from({ length: log.lineCount }, (_, i) => [log.rawLine(i), log.kind(i)]);

/** The raw text of the first line whose plain text contains `text`. */
function rawOf(log: JobLog, text: string): string {
  for (let i = 0; i < log.lineCount; i++) if (log.plainLine(i).includes(text)) return log.rawLine(i);
  throw new Error(`no line with ${JSON.stringify(text)}`);
}

describe("job log formatting", () => {
  it("writes a header line per command, the output as is, and a coloured exit line", () => {
    const log = logOf([
      started("echo hello"),
      out("hello\n\x1b[1mbold\x1b[0m\n"),
      finished("echo hello", 0, 100, 101),
      started("false"),
      finished("false", 2, 100, 100),
    ]);
    expect(lines(log)).toEqual([
      ["▶ echo hello", "header"],
      ["hello", "output"],
      ["\x1b[1mbold\x1b[0m", "output"],
      ["\x1b[0m\x1b[32m✔ exit 0 · 1 s\x1b[0m", "meta"],
      ["▶ false", "header"],
      ["\x1b[0m\x1b[31m✘ exit 2 · < 1 s\x1b[0m", "meta"],
    ]);
    expect(log.text()).toBe("▶ echo hello\nhello\nbold\n✔ exit 0 · 1 s\n▶ false\n✘ exit 2 · < 1 s");
    expect(log.blocks.map((b) => [b.first, b.end, b.header?.directive])).toEqual([
      [0, 4, "echo hello"],
      [4, 6, "false"],
    ]);
  });

  it("starts its own lines on a fresh line when the output did not end with a newline", () => {
    const log = logOf([started("printf partial"), out("no newline"), finished("printf partial", 0)]);
    expect(lines(log)).toEqual([
      ["▶ printf partial", "header"],
      ["no newline", "output"],
      ["\x1b[0m\x1b[32m✔ exit 0 · 1 s\x1b[0m", "meta"],
    ]);
    // A progress bar's lone \r is not a line end either.
    const bar = logOf([started("progress"), out("50%\r"), started("next")]);
    expect(lines(bar)).toEqual([
      ["▶ progress", "header"],
      ["50%", "output"],
      ["▶ next", "header"],
    ]);
  });

  it("ends the job with its result in words and colour", () => {
    for (const [result, colour, words] of [
      ["passed", "\x1b[32m", "✔ Job passed"],
      ["failed", "\x1b[31m", "✘ Job failed"],
      ["stopped", "\x1b[33m", "■ Job stopped"],
    ] as const) {
      const log = logOf([{ event: "job_finished", timestamp: 1, result }]);
      // A blank line, then the result, bold and in its colour.
      expect(lines(log)).toEqual([
        ["", "meta"],
        [`\x1b[1m${colour}${words}\x1b[0m`, "meta"],
      ]);
      expect(log.text()).toBe(`\n${words}`);
      expect(log.ended?.result).toBe(result);
    }
  });

  it("shows control characters of a directive instead of obeying them", () => {
    const log = logOf([started("echo \x1b]52;c;aGk=\x07 done")]);
    expect(log.rawLine(0)).toBe("▶ echo ^[]52;c;aGk=^G done");
    expect(log.rawLine(0)).not.toContain("\x07");
    expect(log.rawLine(0)).not.toContain("\x1b");
    expect(log.blocks[0]?.header?.directive).toBe("echo ^[]52;c;aGk=^G done");
  });

  it("gives the same log whether the events are read one by one or in two runs", () => {
    const events = [started("a"), out("x\n"), finished("a", 0), started("b"), out("y"), finished("b", 1)];
    const whole = logOf(events);
    const split = reader();
    split.read(events.slice(0, 3));
    const first = lines(split.log);
    split.read(events.slice(3));
    expect(lines(split.log)).toEqual(lines(whole));
    expect(split.log.text()).toBe(whole.text());
    expect(split.log.text()).toBe("▶ a\nx\n✔ exit 0 · 1 s\n▶ b\ny\n✘ exit 1 · 1 s");
    // The lines of the first run stay as they were: later events only add lines.
    expect(lines(split.log).slice(0, first.length)).toEqual(first);
  });

  it("says durations in words", () => {
    expect(formatSeconds(0)).toBe("< 1 s");
    expect(formatSeconds(1)).toBe("1 s");
    expect(formatSeconds(75)).toBe("1 min 15 s");
    expect(formatSeconds(3 * 3600 + 120)).toBe("3 h 2 min");
  });
});

describe("job outline", () => {
  it("lists commands with exit codes and durations, and the result", () => {
    let o: JobOutline = emptyOutline();
    const events: JobLogEvent[] = [
      { event: "job_started", timestamp: 99 },
      started("Exporting environment variables", 100),
      finished("Exporting environment variables", 0, 100, 100),
      started("make test", 100),
      out("ok\n"),
      finished("make test", 2, 100, 104),
      { event: "job_finished", timestamp: 105, result: "failed" },
    ];
    for (const e of events) o = applyToOutline(o, e);
    expect(o.commands).toEqual([
      { index: 0, directive: "Exporting environment variables", startedAt: 100, exitCode: 0, durationS: 0 },
      { index: 1, directive: "make test", startedAt: 100, exitCode: 2, durationS: 4 },
    ]);
    expect(o.result).toBe("failed");
  });

  it("keeps the same object for events that change nothing shown", () => {
    const o = applyToOutline(emptyOutline(), started("a"));
    expect(applyToOutline(o, out("x"))).toBe(o);
    expect(applyToOutline(o, { event: "job_started", timestamp: 1 })).toBe(o);
    expect(applyToOutline(o, finished("a", 0))).not.toBe(o);
  });

  it("a running command has no exit code yet", () => {
    const o = applyToOutline(emptyOutline(), started("sleep 100"));
    expect(o.commands[0]).toMatchObject({ directive: "sleep 100", exitCode: null, durationS: null });
  });

  it("stays bounded, counting what it dropped", () => {
    let o = emptyOutline();
    for (let i = 0; i < 12; i++) {
      o = applyToOutline(o, started(`c${i}`), 5);
      o = applyToOutline(o, finished(`c${i}`, 0), 5);
    }
    expect(o.commands.map((c) => c.directive)).toEqual(["c7", "c8", "c9", "c10", "c11"]);
    expect(o.commands.map((c) => c.index)).toEqual([7, 8, 9, 10, 11]);
    expect(o.omittedCommands).toBe(7);
  });
});

// ---------------------------------------------------------------------------------------------
// A job's log as the runner writes it (agent-core/job/runner.ts), with its plan and its stop.

const ENV = "Exporting environment variables";
const FILES = "Injecting Files";
const POST_HOOK = "Running the post-job hook configured in the agent";

/** cmd_started, its output, cmd_finished: one command of the log. */
const command = (directive: string, exitCode: number, output = "", t = 100, seconds = 1): JobLogEvent[] => [
  started(directive, t),
  ...(output !== "" ? [out(output, t)] : []),
  finished(directive, exitCode, t, t + seconds),
];

const PLAN: JobPlan = {
  commands: ["make deps", "make test", "make lint", "make docs"],
  epilogueAlways: ["echo cleanup", "echo upload"],
  epilogueOnPass: ["echo deploy"],
  epilogueOnFail: ["echo notify"],
};

/** Fails at command 2 of 4: the always epilogues, then on-fail, run; commands 3 and 4 never do. */
const FAILED_AT_TWO: JobLogEvent[] = [
  { event: "job_started", timestamp: 99 },
  ...command(ENV, 0, "Exporting A\nExporting B\n"),
  ...command(FILES, 0),
  ...command("make deps", 0, "ok\n"),
  ...command("make test", 2, "1 failing\n", 101, 4),
  ...command(ENV, 0, "Exporting SEMAPHORE_JOB_RESULT\n", 105, 0),
  ...command("echo cleanup", 0, "cleanup\n", 105),
  ...command("echo upload", 0, "upload\n", 106),
  ...command("echo notify", 0, "notify\n", 107),
  { event: "job_finished", timestamp: 108, result: "failed" },
];

/** Index of the first event matching `test`. */
const at = (events: JobLogEvent[], test: (e: JobLogEvent) => boolean) => events.findIndex(test);

function outlineOf(events: JobLogEvent[]): JobOutline {
  let o = emptyOutline();
  events.forEach((e, i) => (o = applyToOutline(o, e, undefined, i)));
  return o;
}

describe("job log sections: steps, epilogues, skipped, stopped", () => {
  it("names the agent's two env exports apart, and the files step, from the log alone", () => {
    const text = logOf(FAILED_AT_TWO).text();
    expect(text).toContain("▶ Exporting environment variables  agent step · the job's variables\n");
    expect(text).toContain("▶ Injecting Files  agent step · the job's files\n");
    expect(text).toContain("▶ Exporting environment variables  agent step · SEMAPHORE_JOB_RESULT\n");
    // The job's own commands have no tag; the directive sent to Semaphore is shown as it is.
    expect(text).toContain("▶ make deps\n");
    expect(FAILED_AT_TWO.filter((e) => e.event === "cmd_started" && e.directive === ENV)).toHaveLength(2);
  });

  it("labels epilogues as always / on fail with the plan, and as epilogues without it", () => {
    const log = logOf(FAILED_AT_TWO, { plan: PLAN });
    const text = log.text();
    expect(text).toContain("▶ echo cleanup  epilogue · always\n");
    expect(text).toContain("▶ echo upload  epilogue · always\n");
    expect(text).toContain("▶ echo notify  epilogue · on fail\n");
    expect(text).not.toContain("on pass");
    // Told apart from the agent's steps (the view colours a header by its section's kind).
    const sections = log.blocks.flatMap((b) => (b.header !== null ? [[b.header.directive, b.header.section.kind, isEpilogue(b.header.section.kind)]] : []));
    expect(sections).toContainEqual(["echo cleanup", "epilogue-always", true]);
    expect(sections).toContainEqual(["echo notify", "epilogue-on-fail", true]);
    expect(sections).toContainEqual([ENV, "job-env", false]);
    expect(sections).toContainEqual([ENV, "result-env", false]);
    const without = logOf(FAILED_AT_TWO).text();
    expect(without).toContain("▶ echo notify  epilogue\n");
    expect(without).not.toMatch(/Skipped/);
  });

  it("labels on-pass epilogues of a job that passed", () => {
    const passed: JobLogEvent[] = [
      ...command(ENV, 0),
      ...command(FILES, 0),
      ...PLAN.commands.flatMap((c) => command(c, 0)),
      ...command(ENV, 0),
      ...command("echo cleanup", 0),
      ...command("echo upload", 0),
      ...command("echo deploy", 0),
      { event: "job_finished", timestamp: 120, result: "passed" },
    ];
    const text = logOf(passed, { plan: PLAN }).text();
    expect(text).toContain("▶ echo deploy  epilogue · on pass\n");
    expect(text).not.toContain("Skipped");
  });

  it("lists the commands skipped after the failure at the end of the log, before the result", () => {
    const log = logOf(FAILED_AT_TWO, { plan: PLAN });
    expect(log.text()).toMatch(/⊘ Skipped after the failure: make lint, make docs\n\n✘ Job failed$/);
    expect(log.text()).toContain("✘ exit 2 · 4 s");
    expect(rawOf(log, "⊘ Skipped")).toBe("\x1b[2m⊘ Skipped after the failure: make lint, make docs\x1b[0m");
    expect(rawOf(log, "✘ exit 2")).toBe("\x1b[0m\x1b[31m✘ exit 2 · 4 s\x1b[0m");
  });

  it("lists skipped epilogues after a failing always epilogue", () => {
    const events: JobLogEvent[] = [
      ...command(ENV, 0),
      ...command(FILES, 0),
      ...PLAN.commands.flatMap((c) => command(c, 0)),
      ...command(ENV, 0),
      ...command("echo cleanup", 1),
      ...command("echo deploy", 0),
      { event: "job_finished", timestamp: 120, result: "passed" },
    ];
    const text = logOf(events, { plan: PLAN }).text();
    expect(text).toContain("▶ echo deploy  epilogue · on pass");
    expect(text).toContain("⊘ Skipped after the failure: echo upload (epilogue · always)");
  });

  it("says who stopped the command that was running, not exit 1, and what never ran after the stop", () => {
    const events: JobLogEvent[] = [
      { event: "job_started", timestamp: 99 },
      ...command(ENV, 0),
      ...command(FILES, 0),
      ...command("make deps", 0),
      started("make test", 101),
      out("running\n", 102),
      finished("make test", 1, 101, 104),
      ...command(POST_HOOK, 1, "Running: bash /hook.sh\n", 104, 0),
      { event: "job_finished", timestamp: 104, result: "stopped" },
    ];
    // The stop was asked while `make test` ran: after its output, before its cmd_finished.
    const stop: JobStop = { by: "Stopped by you", atEvent: at(events, (e) => e.event === "cmd_output" && e.output === "running\n") + 1 };
    const log = logOf(events, { plan: PLAN, stop });
    const text = log.text();
    expect(text).toContain("running\n■ stopped by you · 3 s\n");
    expect(text).not.toMatch(/exit 1 ·/);
    expect(text).toContain("▶ Running the post-job hook configured in the agent  agent hook");
    expect(text).toContain("■ not run: the job was stopped (exit 1)");
    expect(text).toMatch(/⊘ Skipped after the stop: make lint, make docs, echo cleanup \(epilogue · always\), echo upload \(epilogue · always\)\n/);
    expect(text).not.toContain("echo notify");
    expect(text).toMatch(/■ Job stopped by you$/);
    // Amber, not the red of a failure.
    expect(rawOf(log, "■ stopped by you")).toBe("\x1b[0m\x1b[33m■ stopped by you · 3 s\x1b[0m");
    expect(rawOf(log, "■ not run")).toBe("\x1b[0m\x1b[33m■ not run: the job was stopped (exit 1)\x1b[0m");
    expect(log.rawLine(log.lineCount - 1)).toBe("\x1b[1m\x1b[33m■ Job stopped by you\x1b[0m");

    // Each kind of stop in its words.
    for (const [by, words] of [
      ["Stopped by Semaphore", "■ stopped by Semaphore · 3 s"],
      ["Stopped by you: paused", "■ stopped by you: paused · 3 s"],
      ["Stopped: You are using the computer", "■ stopped: You are using the computer · 3 s"],
      ["Stopped by the disk guard: Only 1 GB free", "■ stopped by the disk guard: Only 1 GB free · 3 s"],
    ] as const) {
      expect(logOf(events, { stop: { by, atEvent: stop.atEvent } }).text()).toContain(words);
    }
  });

  it("a stop learned while the job runs counts from the next event; a failure before it stays a failure", () => {
    const { interpreter, read } = reader({ plan: PLAN });
    read([...command(ENV, 0), ...command(FILES, 0), ...command("make deps", 3), started("make test")]);
    interpreter.setContext({ stop: { by: "Stopped by Semaphore", atEvent: 7 } }); // while `make test` (event 6) runs
    const text = read([finished("make test", 1, 100, 102), { event: "job_finished", timestamp: 102, result: "stopped" }]).text();
    expect(text).toContain("✘ exit 3 · 1 s");
    expect(text).toContain("■ stopped by Semaphore · 2 s");
    expect(text).toMatch(/■ Job stopped by Semaphore$/);
  });

  it("a command still open when the job ended says it did not finish", () => {
    const log = logOf([started("sleep 60", 100), { event: "job_finished", timestamp: 130, result: "stopped" }]);
    expect(log.text()).toContain("■ did not finish · 30 s");
    expect(rawOf(log, "■ did not finish")).toBe("\x1b[0m\x1b[33m■ did not finish · 30 s\x1b[0m");
    expect(log.text()).toContain("■ Job stopped");
    expect(log.blocks[0]?.header?.end?.state).toBe("unfinished");
  });
});

describe("command rows (the Job view's side list)", () => {
  it("lists the kinds, and the skipped commands greyed in their place", () => {
    const rows = commandRows(outlineOf(FAILED_AT_TWO), { plan: PLAN, stop: null }, true, "failed");
    expect(rows.map((r) => [r.directive, r.section.kind, r.state])).toEqual([
      [ENV, "job-env", "passed"],
      [FILES, "files", "passed"],
      ["make deps", "command", "passed"],
      ["make test", "command", "failed"],
      ["make lint", "command", "skipped"],
      ["make docs", "command", "skipped"],
      [ENV, "result-env", "passed"],
      ["echo cleanup", "epilogue-always", "passed"],
      ["echo upload", "epilogue-always", "passed"],
      ["echo notify", "epilogue-on-fail", "passed"],
    ]);
    expect(rows.find((r) => r.directive === "echo notify")?.section.tag).toBe("epilogue · on fail");
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
  });

  it("a running job lists no skipped commands yet; without a plan none at all", () => {
    const running = outlineOf(FAILED_AT_TWO.slice(0, 10));
    expect(commandRows(running, { plan: PLAN, stop: null }, false, null).map((r) => r.state)).toEqual(["passed", "passed", "passed", "running"]);
    const rows = commandRows(outlineOf(FAILED_AT_TWO), { plan: null, stop: null }, true, "failed");
    expect(rows.map((r) => r.state)).not.toContain("skipped");
    expect(rows.at(-1)?.section.kind).toBe("epilogue");
  });

  it("the command a stop ended is stopped, the ones after it not run, the rest skipped", () => {
    const events: JobLogEvent[] = [
      ...command(ENV, 0),
      ...command(FILES, 0),
      started("make deps"),
      finished("make deps", 1),
      ...command(POST_HOOK, 1),
      { event: "job_finished", timestamp: 104, result: "stopped" },
    ];
    const rows = commandRows(outlineOf(events), { plan: PLAN, stop: { by: "Stopped by you", atEvent: 5 } }, true, "stopped");
    expect(rows.map((r) => [r.directive, r.state])).toEqual([
      [ENV, "passed"],
      [FILES, "passed"],
      ["make deps", "stopped"],
      ["make test", "skipped"],
      ["make lint", "skipped"],
      ["make docs", "skipped"],
      ["echo cleanup", "skipped"],
      ["echo upload", "skipped"],
      [POST_HOOK, "after-stop"],
    ]);
    // A job that ended with a command still open: it did not finish.
    const lost = commandRows(outlineOf([started("sleep 60")]), { plan: null, stop: null }, true, null);
    expect(lost[0]?.state).toBe("unfinished");
  });
});
