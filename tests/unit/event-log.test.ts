import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createEventFile, JobEventLog } from "../../agent-core/logs/event-log.js";
import { wallClockNanoseconds } from "../../agent-core/util/clock.js";

const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), "sa-eventlog-"));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("JobEventLog", () => {
  it("appends one JSON line per event to job_log_<ns>.json (0600) and reads batches by line index", () => {
    const log = new JobEventLog(dir());
    expect(log.path).toMatch(/job_log_\d{19}\.json$/);
    expect(statSync(log.path).mode & 0o777).toBe(0o600);
    log.append({ event: "job_started", timestamp: 1 });
    for (let i = 0; i < 10; i++) log.append({ event: "cmd_output", timestamp: 1, output: `line ${i}\n` });
    expect(log.count).toBe(11);
    const text = readFileSync(log.path, "utf8");
    expect(text.split("\n")).toHaveLength(12);
    expect(text.endsWith("\n")).toBe(true);

    const batch = log.read(1, 3, 1 << 20);
    expect(batch.lines).toBe(3);
    expect(batch.body.toString()).toBe(
      ['{"event":"cmd_output","timestamp":1,"output":"line 0\\n"}', '{"event":"cmd_output","timestamp":1,"output":"line 1\\n"}', '{"event":"cmd_output","timestamp":1,"output":"line 2\\n"}', ""].join("\n"),
    );
    expect(log.read(11, 5, 1 << 20).lines).toBe(0);
    expect(log.offsetOf(11)).toBe(log.bytes);
  });

  it("cuts a batch by bytes but always returns at least one line", () => {
    const log = new JobEventLog(dir());
    const big = "x".repeat(5000);
    for (let i = 0; i < 8; i++) log.append({ event: "cmd_output", timestamp: 1, output: big });
    const batch = log.read(0, 2000, 12_000);
    expect(batch.lines).toBeGreaterThanOrEqual(1);
    expect(batch.body.length).toBeLessThanOrEqual(12_000);
    expect(log.read(0, 2000, 10).lines).toBe(1);
  });

  it("notifies subscribers in order and survives a throwing one", () => {
    const log = new JobEventLog(dir());
    const seen: number[] = [];
    log.subscribe(() => {
      throw new Error("bad sink");
    });
    log.subscribe((_, index) => seen.push(index));
    log.append({ event: "job_started", timestamp: 1 });
    log.append({ event: "job_finished", timestamp: 2, result: "passed" });
    expect(seen).toEqual([0, 1]);
  });

  it("reopens a file another writer left: keeps its complete lines, cuts a torn last one, appends after them", () => {
    const d = dir();
    const ns = 1_700_000_000_000_000_000n;
    const path = createEventFile(d, ns);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => createEventFile(d, ns)).toThrow(/EEXIST/);
    const first = new JobEventLog(d, ns, { reopen: true });
    expect(first.path).toBe(path);
    expect(first.count).toBe(0);
    first.append({ event: "job_started", timestamp: 1 });
    first.append({ event: "cmd_started", timestamp: 1, directive: "x" });
    appendFileSync(path, '{"event":"cmd_out'); // a write cut short
    const second = new JobEventLog(d, ns, { reopen: true });
    expect(second.count).toBe(2);
    expect(second.read(1, 1, 1 << 20).body.toString()).toBe('{"event":"cmd_started","timestamp":1,"directive":"x"}\n');
    second.append({ event: "job_finished", timestamp: 2, result: "passed" });
    expect(readFileSync(path, "utf8")).toBe(
      '{"event":"job_started","timestamp":1}\n{"event":"cmd_started","timestamp":1,"directive":"x"}\n{"event":"job_finished","timestamp":2,"result":"passed"}\n',
    );
    second.dispose();
    first.dispose();
  });

  it("writes big and non-ASCII events byte-exact (JSON + newline, UTF-8)", () => {
    const log = new JobEventLog(dir());
    const events = [
      { event: "cmd_output" as const, timestamp: 1, output: `é€😀\u001b[0m"\\\t\n`.repeat(20_000) },
      { event: "cmd_output" as const, timestamp: 1, output: "lone \ud800 surrogate" },
      { event: "cmd_output" as const, timestamp: 1, output: "small" },
    ];
    for (const e of events) log.append(e);
    expect(readFileSync(log.path, "utf8")).toBe(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
    expect(log.bytes).toBe(Buffer.byteLength(events.map((e) => `${JSON.stringify(e)}\n`).join("")));
  });

  it("dispose deletes the file and is idempotent", () => {
    const log = new JobEventLog(dir());
    log.append({ event: "job_started", timestamp: 1 });
    log.dispose();
    expect(existsSync(log.path)).toBe(false);
    log.dispose();
  });

  it("nanosecond names strictly increase", () => {
    const a = wallClockNanoseconds();
    const b = wallClockNanoseconds();
    expect(b > a).toBe(true);
    expect(Number(a / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
  });
});
