import { describe, expect, it } from "vitest";
import type { JobLogEvent } from "../../agent-core/host/contract.js";
import { applyToOutline, emptyOutline, formatSeconds, JobLogFormatter, type JobOutline } from "../../renderer/job-format.js";

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

describe("job log formatting", () => {
  it("writes a bold header per command, the output as is, and a coloured exit line", () => {
    const f = new JobLogFormatter();
    expect(f.format(started("echo hello"))).toBe("\x1b[0m\x1b[1m▶ echo hello\x1b[0m\r\n");
    expect(f.format(out("hello\n"))).toBe("hello\n");
    expect(f.format(finished("echo hello", 0, 100, 101))).toBe("\x1b[0m\x1b[32m✔ exit 0 · 1 s\x1b[0m\r\n");
    expect(f.format(started("false"))).toBe("\x1b[0m\x1b[1m▶ false\x1b[0m\r\n");
    expect(f.format(finished("false", 2, 100, 100))).toBe("\x1b[0m\x1b[31m✘ exit 2 · < 1 s\x1b[0m\r\n");
  });

  it("starts its own lines on a fresh line when the output did not end with a newline", () => {
    const f = new JobLogFormatter();
    f.format(started("printf partial"));
    expect(f.format(out("no newline"))).toBe("no newline");
    expect(f.format(finished("printf partial", 0))).toMatch(/^\r\n\x1b\[0m\x1b\[32m✔ exit 0/);
    // A progress bar's lone \r is not a line end either.
    f.format(started("progress"));
    f.format(out("50%\r"));
    expect(f.format(started("next"))).toMatch(/^\r\n/);
  });

  it("ends the job with its result in words and colour", () => {
    const f = new JobLogFormatter();
    expect(f.format({ event: "job_finished", timestamp: 1, result: "passed" })).toContain("\x1b[32m✔ Job passed");
    expect(new JobLogFormatter().format({ event: "job_finished", timestamp: 1, result: "failed" })).toContain("\x1b[31m✘ Job failed");
    expect(new JobLogFormatter().format({ event: "job_finished", timestamp: 1, result: "stopped" })).toContain("\x1b[33m■ Job stopped");
  });

  it("shows control characters of a directive instead of obeying them", () => {
    const text = new JobLogFormatter().format(started("echo \x1b]52;c;aGk=\x07 done"));
    expect(text).toContain("echo ^[]52;c;aGk=^G done");
    expect(text.slice(text.indexOf("▶"))).not.toContain("\x07");
  });

  it("formats a run of events as the concatenation of each", () => {
    const events = [started("a"), out("x\n"), finished("a", 0), started("b"), out("y"), finished("b", 1)];
    const one = new JobLogFormatter();
    const each = events.map((e) => one.format(e)).join("");
    expect(new JobLogFormatter().formatAll(events)).toBe(each);
    const split = new JobLogFormatter();
    expect(split.formatAll(events, 0, 3) + split.formatAll(events, 3)).toBe(each);
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
