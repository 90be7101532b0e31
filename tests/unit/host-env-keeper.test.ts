// The private copies of jobs' env files kept for the debug terminal: order, permissions, retention
// by job count (never the running job), forget, reopening, and debris left by a crash.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EnvKeeper } from "../../agent-core/host/env-keeper.js";

const dirs: string[] = [];
function freshRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), "sa-env-keeper-"));
  dirs.push(dir);
  return join(dir, "debug-env");
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const file = (name: string, value: string) => Buffer.from(`export ${name}=${value}\n`);
const mode = (path: string) => statSync(path).mode & 0o777;

describe("EnvKeeper", () => {
  it("keeps each file of a job in order, owner-only, and gives them back in that order", () => {
    const root = freshRoot();
    const keeper = EnvKeeper.open(root, 10);
    expect(mode(root)).toBe(0o700);
    keeper.record("job-1", "/tmp/.env-100", file("A", "'a b$c'"), 1000);
    keeper.record("job-1", "/tmp/.env-200", file("SEMAPHORE_JOB_RESULT", "failed"), 2000);
    const kept = keeper.get("job-1");
    expect(kept).toMatchObject({ jobId: "job-1", keptAt: 1000, sources: ["/tmp/.env-100", "/tmp/.env-200"] });
    expect(kept!.files).toHaveLength(2);
    expect(readFileSync(kept!.files[0]!, "utf8")).toBe("export A='a b$c'\n");
    expect(readFileSync(kept!.files[1]!, "utf8")).toBe("export SEMAPHORE_JOB_RESULT=failed\n");
    for (const path of kept!.files) expect(mode(path)).toBe(0o600);
    const jobDir = join(kept!.files[0]!, "..");
    expect(mode(jobDir)).toBe(0o700);
    expect(mode(join(jobDir, "meta.json"))).toBe(0o600);
    expect(keeper.list()).toEqual([{ jobId: "job-1", keptAt: 1000, files: 2 }]);
    expect(keeper.get("another")).toBeNull();
  });

  it("keeps the last N jobs: the oldest go first, newest first in the list", () => {
    const root = freshRoot();
    const keeper = EnvKeeper.open(root, 2);
    expect(keeper.record("a", "/tmp/.env-1", file("X", "1"), 1000)).toEqual([]);
    expect(keeper.record("b", "/tmp/.env-2", file("X", "2"), 2000)).toEqual([]);
    const aFiles = keeper.get("a")!.files;
    expect(keeper.record("c", "/tmp/.env-3", file("X", "3"), 3000)).toEqual(["a"]);
    expect(keeper.list().map((j) => j.jobId)).toEqual(["c", "b"]);
    expect(keeper.get("a")).toBeNull();
    // The files are gone from disk, not only from the list.
    expect(() => statSync(aFiles[0]!)).toThrow();
    expect(readdirSync(root)).toHaveLength(2);
    // A second file of a kept job does not count as another job.
    expect(keeper.record("c", "/tmp/.env-4", file("SEMAPHORE_JOB_RESULT", "passed"), 4000)).toEqual([]);
    expect(keeper.list()).toEqual([
      { jobId: "c", keptAt: 3000, files: 2 },
      { jobId: "b", keptAt: 2000, files: 1 },
    ]);
  });

  it("a lower limit removes the oldest at once but never the running job; 0 keeps nothing new", () => {
    const root = freshRoot();
    const keeper = EnvKeeper.open(root, 5);
    for (const [i, id] of ["a", "b", "c", "d"].entries()) keeper.record(id, `/tmp/.env-${i}`, file("X", String(i)), 1000 * (i + 1));
    // "a" is the oldest, but it is the job still running: it stays, and counts.
    expect(keeper.setLimit(2, "a").sort()).toEqual(["b", "c"]);
    expect(keeper.list().map((j) => j.jobId)).toEqual(["d", "a"]);
    expect(keeper.setLimit(0).sort()).toEqual(["a", "d"]);
    expect(keeper.record("e", "/tmp/.env-9", file("X", "9"), 9000)).toEqual([]);
    expect(keeper.list()).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("forgets a job by hand", () => {
    const root = freshRoot();
    const keeper = EnvKeeper.open(root, 5);
    keeper.record("a", "/tmp/.env-1", file("X", "1"), 1000);
    keeper.record("b", "/tmp/.env-2", file("X", "2"), 2000);
    expect(keeper.forget("a")).toBe(true);
    expect(keeper.forget("a")).toBe(false);
    expect(keeper.get("a")).toBeNull();
    expect(keeper.list().map((j) => j.jobId)).toEqual(["b"]);
    expect(readdirSync(root)).toHaveLength(1);
    // Forgotten for good: a reopen does not bring it back.
    expect(EnvKeeper.open(root, 5).get("a")).toBeNull();
  });

  it("reopens with what was kept, applies the limit, and removes crash debris", () => {
    const root = freshRoot();
    const first = EnvKeeper.open(root, 5);
    first.record("job/with:odd chars", "/tmp/.env-1", file("X", "1"), 1000);
    first.record("b", "/tmp/.env-2", file("X", "2"), 2000);
    first.record("c", "/tmp/.env-3", file("X", "3"), 3000);
    // Debris: a folder without meta.json, one with a corrupt meta.json, one whose meta names a missing file, a stray file.
    mkdirSync(join(root, "4000-nometa-0000"), { mode: 0o700 });
    mkdirSync(join(root, "5000-corrupt-0000"), { mode: 0o700 });
    writeFileSync(join(root, "5000-corrupt-0000", "meta.json"), "{not json");
    mkdirSync(join(root, "6000-missing-0000"), { mode: 0o700 });
    writeFileSync(join(root, "6000-missing-0000", "meta.json"), JSON.stringify({ jobId: "m", keptAt: 6000, sources: ["/tmp/.env-6"] }));
    writeFileSync(join(root, "stray"), "x");
    const problems: string[] = [];
    const reopened = EnvKeeper.open(root, 2, (p) => problems.push(p));
    expect(problems).toHaveLength(4);
    expect(reopened.list().map((j) => j.jobId)).toEqual(["c", "b"]);
    expect(readdirSync(root).sort()).toHaveLength(2);
    expect(readFileSync(reopened.get("c")!.files[0]!, "utf8")).toBe("export X=3\n");
    // More files of a job kept before the reopen go after the ones already there.
    reopened.record("c", "/tmp/.env-7", file("SEMAPHORE_JOB_RESULT", "failed"), 7000);
    expect(reopened.get("c")!.sources).toEqual(["/tmp/.env-3", "/tmp/.env-7"]);
  });

  it("names folders safely whatever the job id", () => {
    const root = freshRoot();
    const keeper = EnvKeeper.open(root, 5);
    keeper.record("../../etc/passwd", "/tmp/.env-1", file("X", "1"), 1000);
    const [entry] = readdirSync(root);
    expect(entry).toMatch(/^1000-______etc_passwd-[0-9a-f]{8}$/);
    expect(keeper.get("../../etc/passwd")!.files[0]!.startsWith(join(root, entry!))).toBe(true);
  });
});
