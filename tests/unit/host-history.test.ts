// The job history on disk: crash safety (a job the app never finished comes back "lost" with its
// events), a torn index tolerated, retention by count and size, paging through a multi-MB log,
// and server job ids that never become paths.
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import { IDENTITY_VARIABLES, type JobIdentity } from "../../agent-core/job/identity.js";
import { HistoryStore, INDEX_FILE, JOBS_DIR, type HistoryRetention } from "../../agent-core/host/history.js";

const ROOMY: HistoryRetention = { maxJobs: 1000, maxBytes: 1024 * 1024 * 1024 };

let dir: string;
const stores: HistoryStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sa-host-history-"));
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

function open(retention: HistoryRetention = ROOMY, errors: string[] = []): HistoryStore {
  const store = HistoryStore.open(dir, retention, (m) => errors.push(m));
  stores.push(store);
  return store;
}

function jobEvents(lines: number, text = (i: number) => `line ${i}\n`): JobLogEvent[] {
  const events: JobLogEvent[] = [{ event: "job_started", timestamp: 1000 }, { event: "cmd_started", timestamp: 1000, directive: "run" }];
  for (let i = 0; i < lines; i++) events.push({ event: "cmd_output", timestamp: 1001, output: text(i) });
  events.push({ event: "cmd_finished", timestamp: 1002, directive: "run", exit_code: 0, started_at: 1000, finished_at: 1002 });
  events.push({ event: "job_finished", timestamp: 1002, result: "passed" });
  return events;
}

function runJob(store: HistoryStore, id: string, events: JobLogEvent[], startedAt = Date.now(), result: "passed" | "failed" | "stopped" = "passed") {
  store.start(id, { mode: "semaphore", startedAt, envVarNames: ["A", "B"] });
  for (const e of events) store.append(id, e);
  return store.finish(id, result, startedAt + 1000);
}

async function readAll(store: HistoryStore, id: string, maxBytes = 64 * 1024): Promise<JobLogEvent[]> {
  const out: JobLogEvent[] = [];
  let from = 0;
  for (;;) {
    const page = await store.readLog(id, from, maxBytes);
    expect(page.from).toBe(from);
    out.push(...page.events);
    if (page.done) return out;
    expect(page.next).toBeGreaterThan(from); // progress on every page of a finished job
    from = page.next;
  }
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const jobFiles = () => readdirSync(join(dir, JOBS_DIR));

describe("a job's record", () => {
  it("holds its summary, env var names and every event, newest job first", async () => {
    const store = open();
    const events = jobEvents(10);
    runJob(store, "job-1", events, 1_000);
    runJob(store, "job-2", jobEvents(1), 2_000, "failed");
    expect(store.list().map((j) => j.id)).toEqual(["job-2", "job-1"]);
    expect(store.list({ result: "failed" }).map((j) => j.id)).toEqual(["job-2"]);
    expect(store.list({ limit: 1 }).map((j) => j.id)).toEqual(["job-2"]);
    const detail = store.get("job-1");
    expect(detail).toMatchObject({
      envVarNames: ["A", "B"],
      summary: { id: "job-1", mode: "semaphore", result: "passed", startedAt: 1_000, finishedAt: 2_000, durationMs: 1000, events: events.length },
    });
    expect(detail?.summary.bytes).toBe(events.reduce((n, e) => n + Buffer.byteLength(`${JSON.stringify(e)}\n`), 0));
    expect(await readAll(store, "job-1")).toEqual(events);
    await expect(store.readLog("nope", 0)).rejects.toMatchObject({ code: "not-found" });
  });

  it("of a running job is readable while it runs, and not done", async () => {
    const store = open();
    store.start("live", { mode: "demo", startedAt: 5, envVarNames: [] });
    const events = jobEvents(100);
    events.slice(0, 50).forEach((e) => store.append("live", e));
    const page = await store.readLog("live", 0);
    expect(page).toMatchObject({ next: 50, done: false });
    expect(page.events).toEqual(events.slice(0, 50));
    expect(await store.readLog("live", 50)).toMatchObject({ events: [], next: 50, done: false });
    events.slice(50).forEach((e) => store.append("live", e));
    store.finish("live", "passed", 10);
    expect(await readAll(store, "live")).toEqual(events);
    expect(store.list()[0]).toMatchObject({ result: "passed", mode: "demo" });
  });

  it("survives a reopen: results, counts, names and logs", async () => {
    const first = open();
    const a = jobEvents(20);
    runJob(first, "a", a, 1);
    runJob(first, "b", jobEvents(3), 2, "stopped");
    const before = first.list();
    await first.close();
    const second = open();
    expect(second.list()).toEqual(before);
    expect(second.get("a")?.envVarNames).toEqual(["A", "B"]);
    expect(await readAll(second, "a")).toEqual(a);
  });
});

describe("crash safety", () => {
  it("turns a job that never finished into 'lost', with every event that reached the disk", async () => {
    const crashed = open();
    const events = jobEvents(500);
    crashed.start("mid-job", { mode: "semaphore", startedAt: 1_000, envVarNames: ["SECRET_NAME"] });
    events.slice(0, 300).forEach((e) => crashed.append("mid-job", e));
    await crashed.readLog("mid-job", 0); // the events are on disk; the store is then dropped, as in a crash
    const reopened = open();
    const job = reopened.get("mid-job");
    expect(job).toMatchObject({ envVarNames: ["SECRET_NAME"], summary: { result: "lost", events: 300 } });
    expect(job?.summary.finishedAt).toEqual(expect.any(Number));
    expect(await readAll(reopened, "mid-job")).toEqual(events.slice(0, 300));
  });

  it("cuts a torn last log line, so line N stays event N", async () => {
    const crashed = open();
    const events = jobEvents(10);
    crashed.start("torn", { mode: "semaphore", startedAt: 1, envVarNames: [] });
    events.forEach((e) => crashed.append("torn", e));
    await crashed.readLog("torn", 0);
    const [file] = jobFiles();
    appendFileSync(join(dir, JOBS_DIR, file as string), '{"event":"cmd_output","timest');
    const reopened = open();
    expect(reopened.get("torn")?.summary).toMatchObject({ result: "lost", events: events.length });
    expect(statSync(join(dir, JOBS_DIR, file as string)).size).toBe(reopened.get("torn")?.summary.bytes);
    expect(await readAll(reopened, "torn")).toEqual(events);
    reopened.start("next", { mode: "semaphore", startedAt: 2, envVarNames: [] });
    expect(reopened.list().map((j) => j.id)).toEqual(["next", "torn"]);
  });

  it("tolerates a torn last index line and keeps appending cleanly", async () => {
    const first = open();
    runJob(first, "one", jobEvents(2), 1);
    await first.close();
    appendFileSync(join(dir, INDEX_FILE), '{"op":"start","id":"two","fi');
    const errors: string[] = [];
    const second = open(ROOMY, errors);
    expect(second.list().map((j) => j.id)).toEqual(["one"]);
    runJob(second, "three", jobEvents(2), 3);
    await second.close();
    const third = open();
    expect(third.list().map((j) => [j.id, j.result])).toEqual([
      ["three", "passed"],
      ["one", "passed"],
    ]);
    for (const line of readFileSync(join(dir, INDEX_FILE), "utf8").trimEnd().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe("retention", () => {
  it("keeps at most maxJobs, dropping the oldest finished ones and their files", async () => {
    const store = open({ maxJobs: 3, maxBytes: ROOMY.maxBytes });
    store.start("running", { mode: "semaphore", startedAt: 0, envVarNames: [] });
    const removed: string[] = [];
    for (let i = 1; i <= 5; i++) removed.push(...(runJob(store, `job-${i}`, jobEvents(1), i)?.removed ?? []));
    expect(removed).toEqual(["job-1", "job-2", "job-3"]);
    // The running job is never dropped, even though it is the oldest.
    expect(store.list().map((j) => j.id)).toEqual(["job-5", "job-4", "running"]);
    await waitUntil(() => jobFiles().length === 3, "the removed jobs' files to go");
    await store.close();
    expect(open().list().map((j) => j.id)).toEqual(["job-5", "job-4", "running"]);
  });

  it("keeps the total size under maxBytes, sparing the job that just finished", async () => {
    const big = jobEvents(100, () => "x".repeat(1000)); // ~108 KB
    const store = open({ maxJobs: 100, maxBytes: 250_000 });
    runJob(store, "a", big, 1);
    runJob(store, "b", big, 2);
    const third = runJob(store, "c", big, 3);
    expect(third?.removed).toEqual(["a"]);
    expect(store.list().map((j) => j.id)).toEqual(["c", "b"]);
    // A single job over the limit stays: it is the one the user just watched.
    await store.close();
    const tiny = open({ maxJobs: 100, maxBytes: 1 });
    expect(tiny.list().map((j) => j.id)).toEqual(["c"]);
  });

  it("applies new limits at once", () => {
    const store = open();
    for (let i = 1; i <= 4; i++) runJob(store, `j${i}`, jobEvents(1), i);
    expect(store.setRetention({ maxJobs: 2, maxBytes: ROOMY.maxBytes })).toEqual(["j1", "j2"]);
  });

  it("compacts the index once it has grown far past the live entries", async () => {
    const store = open({ maxJobs: 2, maxBytes: ROOMY.maxBytes });
    for (let i = 0; i < 200; i++) runJob(store, `j${i}`, jobEvents(0), i);
    await store.close();
    const lines = readFileSync(join(dir, INDEX_FILE), "utf8").trimEnd().split("\n").length;
    expect(lines).toBeLessThanOrEqual(64 + 4);
    expect(open().list().map((j) => j.id)).toEqual(["j199", "j198"]);
  });
});

describe("paging", () => {
  it("pages through a multi-MB log, from the start and from anywhere, before and after a reopen", async () => {
    const store = open();
    // ~6 MB in 60,000 events of varying size, some multi-byte.
    const events = jobEvents(60_000, (i) => `${"ü".repeat(i % 7)}${"#".repeat((i * 37) % 150)} line ${i}\n`);
    runJob(store, "big", events, 1);
    const total = events.length;
    expect(store.get("big")?.summary.bytes).toBeGreaterThan(5 * 1024 * 1024);

    const check = async (s: HistoryStore) => {
      expect(await readAll(s, "big", 256 * 1024)).toEqual(events);
      for (const from of [0, 1, 63, 64, 65, 12_345, total - 1]) {
        const page = await s.readLog("big", from, 1024);
        expect(page.events[0]).toEqual(events[from]);
        expect(page.next).toBe(from + page.events.length);
      }
      expect(await s.readLog("big", total, 1024)).toMatchObject({ events: [], next: total, done: true });
      const last = await s.readLog("big", total - 2, 16 * 1024 * 1024);
      expect(last).toMatchObject({ next: total, done: true });
    };
    await check(store);
    await store.close();
    await check(open());
  });

  it("returns at least one event even when it is larger than maxBytes", async () => {
    const store = open();
    const events = jobEvents(3, () => "y".repeat(5000));
    runJob(store, "wide", events, 1);
    const page = await store.readLog("wide", 2, 1024);
    expect(page.events).toEqual([events[2]]);
  });
});

describe("job ids from a server", () => {
  it.each(["../../x", "/etc/passwd", "a/../../b", "..", "C:\\evil", "id with spaces and ünïcode", "x".repeat(200)])("never become paths: %s", async (id) => {
    const store = open();
    const events = jobEvents(2);
    runJob(store, id, events, 1);
    await store.close();
    const files = jobFiles();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[A-Za-z0-9_-]+\.jsonl$/);
    expect(readdirSync(dir).sort()).toEqual([INDEX_FILE, JOBS_DIR].sort());
    expect(existsSync(join(dir, "..", "x"))).toBe(false);
    const reopened = open();
    expect(reopened.get(id)?.summary.id).toBe(id);
    expect(await readAll(reopened, id)).toEqual(events);
  });

  it("that repeats replaces the older entry", async () => {
    const store = open();
    runJob(store, "same", jobEvents(1), 1);
    const second = jobEvents(5);
    runJob(store, "same", second, 2);
    expect(store.list().map((j) => j.id)).toEqual(["same"]);
    expect(await readAll(store, "same")).toEqual(second);
    await store.close();
    await waitUntil(() => jobFiles().length === 1, "the replaced job's file to go");
    expect(statSync(join(dir, JOBS_DIR, jobFiles()[0] as string)).mode & 0o777).toBe(0o600);
  });
});

describe("whose job it was, and why a job did not run or was stopped by the agent", () => {
  it("keeps the identity, the problem and the agent's stop reason across a reopen and a compaction; older records have none", async () => {
    const identity = { ...Object.fromEntries(Object.keys(IDENTITY_VARIABLES).map((k) => [k, null])), projectName: "api-server", branch: "main" } as JobIdentity;
    const store = HistoryStore.open(dir, { maxJobs: 100, maxBytes: 1 << 30 });
    store.start("with-identity", { mode: "semaphore", startedAt: 1, envVarNames: [], identity });
    store.finish("with-identity", "passed", 2);
    store.start("rejected", { mode: "semaphore", startedAt: 3, envVarNames: [] });
    store.finish("rejected", "failed", 4, "executor: unknown executor 'k8s'");
    store.start("floored", { mode: "semaphore", startedAt: 4, envVarNames: [] });
    store.finish("floored", "stopped", 5, null, "Stopped by the disk guard: Only 0.9 GB free on /data (job home), under the hard floor of 1.0 GB.");
    await store.close();
    // A record as an older version wrote it: no identity key at all.
    appendFileSync(join(dir, "index.jsonl"), `${JSON.stringify({ op: "start", id: "old", file: "5-old-abcd1234.jsonl", mode: "semaphore", startedAt: 5, envVarNames: [] })}\n`);
    const again = HistoryStore.open(dir, { maxJobs: 100, maxBytes: 1 << 30 });
    try {
      expect(again.get("with-identity")?.summary.identity).toMatchObject({ projectName: "api-server", branch: "main", sha: null });
      expect(again.get("rejected")?.summary).toMatchObject({ identity: null, problem: "executor: unknown executor 'k8s'" });
      expect(again.get("old")?.summary).toMatchObject({ identity: null, problem: null, stoppedBy: null, result: "lost" });
      expect(again.get("floored")?.summary).toMatchObject({ result: "stopped", problem: null, stoppedBy: expect.stringMatching(/^Stopped by the disk guard: /) });
      expect(again.get("rejected")?.summary.stoppedBy).toBeNull();
      expect(again.list({ project: "api-server" }).map((j) => j.id)).toEqual(["with-identity"]);
      expect(again.list({ branch: "main", result: "passed" }).map((j) => j.id)).toEqual(["with-identity"]);
      expect(again.list({ search: "API" }).map((j) => j.id)).toEqual(["with-identity"]);
      expect(again.list({ search: "rejected" }).map((j) => j.id)).toEqual(["rejected"]);
    } finally {
      await again.close();
    }
  });

  it("keeps a job's plan and its stop across a reopen and a compaction; older records and malformed plans have none", async () => {
    const plan = { commands: ["make test", "make lint"], epilogueAlways: ["echo cleanup"], epilogueOnPass: ["echo deploy"], epilogueOnFail: [] };
    const store = HistoryStore.open(dir, { maxJobs: 100, maxBytes: 1 << 30 });
    store.start("planned", { mode: "semaphore", startedAt: 1, envVarNames: ["A"], plan });
    expect(store.get("planned")).toMatchObject({ plan, stop: null });
    for (const e of jobEvents(2)) store.append("planned", e);
    // The stop is known while the job runs (the first one counts) and kept with the finish.
    expect(store.markStopped("planned", { by: "Stopped by Semaphore", atEvent: 3 })).toMatchObject({ summary: { result: "running", stoppedBy: "Stopped by Semaphore" }, stop: { by: "Stopped by Semaphore", atEvent: 3 } });
    expect(store.markStopped("planned", { by: "Stopped by you", atEvent: 4 })?.stop).toEqual({ by: "Stopped by Semaphore", atEvent: 3 });
    store.finish("planned", "stopped", 2, null, "Stopped by Semaphore");
    expect(store.markStopped("planned", { by: "Stopped by you", atEvent: 9 })).toBeNull(); // not running any more
    await store.close();
    appendFileSync(
      join(dir, "index.jsonl"),
      [
        { op: "start", id: "old", file: "5-old-abcd1234.jsonl", mode: "semaphore", startedAt: 5, envVarNames: [] },
        { op: "finish", id: "old", result: "stopped", finishedAt: 6, events: 0, bytes: 0, stoppedBy: "Stopped by you" },
        { op: "start", id: "bad-plan", file: "7-bad-abcd1234.jsonl", mode: "semaphore", startedAt: 7, envVarNames: [], plan: { commands: "not a list" } },
      ]
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(""),
    );
    for (const round of ["reopened", "compacted"]) {
      const again = HistoryStore.open(dir, { maxJobs: 100, maxBytes: 1 << 30 });
      try {
        expect(again.get("planned"), round).toMatchObject({ plan, stop: { by: "Stopped by Semaphore", atEvent: 3 }, summary: { result: "stopped", stoppedBy: "Stopped by Semaphore" } });
        // An older stop has no position: the UI says who, in the header, but cannot tell which command.
        expect(again.get("old"), round).toMatchObject({ plan: null, stop: null, summary: { stoppedBy: "Stopped by you" } });
        expect(again.get("bad-plan")?.plan, round).toBeNull();
      } finally {
        await again.close();
      }
    }
  });
});
