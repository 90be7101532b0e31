// What a job's process tree used and what the machine uses, from /proc. A fake /proc (real file
// formats, a comm with spaces and parentheses) for the parsing and the CPU rule step by step; real
// process trees (a CPU-busy child, a child holding ~100 MB, an orphan, a grandchild reaped by a
// non-root shell) for the figures against the kernel's own accounting.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { parentsNow } from "../../agent-core/gpu/attribution.js";
import { MachineUsage, parseStat, ProcessTreeUsage } from "../../agent-core/gpu/usage.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sa-usage-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const child of children.splice(0)) {
    // Each tree is its own process group (detached): the group kill reaches orphans too.
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // Already gone.
    }
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// ---------- fake /proc ----------

interface FakeProc {
  ppid: number;
  utime?: number;
  stime?: number;
  cutime?: number;
  cstime?: number;
  starttime: number;
  rss?: number;
  state?: string;
}

/** A /proc/<pid>/stat line with all 52 fields, as Linux 6.x writes it. */
function statLine(pid: number, comm: string, p: FakeProc): string {
  const f = [p.state ?? "S", p.ppid, pid, pid, 0, -1, 4194560, 120, 0, 0, 0, p.utime ?? 0, p.stime ?? 0, p.cutime ?? 0, p.cstime ?? 0, 20, 0, 1, 0, p.starttime, 12_345_678, p.rss ?? 0];
  const tail = ["18446744073709551615", 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 17, 3, 0, 0, 0, 0, 0, 5, 6, 7, 8, 9, 10, 11, 0];
  return `${pid} (${comm}) ${[...f, ...tail].join(" ")}\n`;
}

function writeProc(root: string, pid: number, comm: string, p: FakeProc): void {
  mkdirSync(join(root, String(pid)), { recursive: true });
  writeFileSync(join(root, String(pid), "stat"), statLine(pid, comm, p));
  // statm as the kernel writes it (size resident shared text lib data dt); the sampler reads RSS from stat's field 24, the same counter.
  writeFileSync(join(root, String(pid), "statm"), `3014 ${p.rss ?? 0} 200 10 0 400 0\n`);
}

function removeProc(root: string, pid: number): void {
  rmSync(join(root, String(pid)), { recursive: true, force: true });
}

describe("parseStat", () => {
  it("reads after the last ')', so a comm with spaces and parentheses is fine", () => {
    expect(parseStat(statLine(4242, "tmux: server", { ppid: 1, utime: 150, stime: 50, cutime: 7, cstime: 3, starttime: 500, rss: 1000 }))).toEqual({
      ppid: 1,
      state: "S",
      self: 200,
      children: 10,
      starttime: 500,
      rssPages: 1000,
    });
    expect(parseStat(statLine(7, "a) (b", { ppid: 4242, utime: 1, starttime: 9, state: "Z" }))).toMatchObject({ ppid: 4242, state: "Z", self: 1, starttime: 9 });
    expect(parseStat("")).toBeNull();
    expect(parseStat("12 (cut) S 1 2")).toBeNull();
  });

  it("matches this process's own stat", () => {
    const own = parseStat(readFileSync("/proc/self/stat", "latin1"));
    expect(own?.ppid).toBe(process.ppid);
    expect(own?.rssPages).toBeGreaterThan(0);
  });
});

describe("ProcessTreeUsage against a fake /proc", () => {
  const opts = (proc: string) => ({ proc, clockTicks: 100, pageSize: 4096, now: () => 42 });

  it("counts a reaped child once, keeps an orphan's CPU, follows pid reuse, survives the root's exit", () => {
    const proc = tempDir();
    writeProc(proc, 100, "tmux: server", { ppid: 1, utime: 150, stime: 50, starttime: 500, rss: 1000 });
    writeProc(proc, 101, "a) (b", { ppid: 100, utime: 80, stime: 20, starttime: 600, rss: 2000 });
    writeProc(proc, 102, "x", { ppid: 101, utime: 10, starttime: 700, rss: 500 });
    writeProc(proc, 200, "unrelated", { ppid: 1, utime: 9999, starttime: 50, rss: 99_999 });
    const tree = new ProcessTreeUsage(100, opts(proc));
    expect(tree.sample()).toEqual({ at: 42, cpuMs: 3100, rssBytes: 3500 * 4096, live: 3 });

    // 102 exits and 101 reaps it: its 12 ticks are now in 101's cutime, and only there.
    removeProc(proc, 102);
    writeProc(proc, 101, "a) (b", { ppid: 100, utime: 90, stime: 20, cutime: 12, starttime: 600, rss: 2000 });
    expect(tree.sample()).toMatchObject({ cpuMs: 3220, rssBytes: 3000 * 4096, live: 2 });

    // 101 forks 103, then exits (root reaps it: 122 ticks); 103 is orphaned to init but still the job's.
    writeProc(proc, 103, "busy", { ppid: 101, utime: 50, starttime: 800, rss: 100 });
    expect(tree.sample()).toMatchObject({ cpuMs: 3720, live: 3 });
    removeProc(proc, 101);
    writeProc(proc, 100, "tmux: server", { ppid: 1, utime: 150, stime: 50, cutime: 122, starttime: 500, rss: 1000 });
    writeProc(proc, 103, "busy", { ppid: 1, utime: 70, starttime: 800, rss: 100 });
    expect(tree.sample()).toMatchObject({ cpuMs: 3920, rssBytes: 1100 * 4096, live: 2 });

    // 103 exits, reaped by init: its 70 ticks are kept, and the root's growth still adds on top.
    removeProc(proc, 103);
    writeProc(proc, 100, "tmux: server", { ppid: 1, utime: 155, stime: 50, cutime: 122, starttime: 500, rss: 1000 });
    expect(tree.sample()).toMatchObject({ cpuMs: 3970, live: 1 });

    // Pid 103 reused by someone else; a stale parents map naming a vanished 104 and a reparented 105.
    writeProc(proc, 103, "other", { ppid: 1, utime: 500, starttime: 900, rss: 7 });
    writeProc(proc, 105, "other", { ppid: 1, utime: 500, starttime: 901, rss: 7 });
    const stale = new Map([...parentsNow(proc), [104, 100], [105, 100]]);
    expect(tree.sample(stale)).toMatchObject({ cpuMs: 3970, rssBytes: 1000 * 4096, live: 1 });

    // The root exits; then its pid is reused: nothing is lost, nothing foreign is added.
    removeProc(proc, 100);
    expect(tree.sample()).toMatchObject({ cpuMs: 3970, rssBytes: 0, live: 0 });
    writeProc(proc, 100, "new", { ppid: 1, utime: 1000, starttime: 1000, rss: 5 });
    expect(tree.sample()).toMatchObject({ cpuMs: 3970, live: 0 });
    expect(tree.result()).toEqual({ cpuMs: 3970, peakRssBytes: 3500 * 4096, processes: 4 });
  });

  it("counts a departed child's shortfall when its parent did not wait for it", () => {
    const proc = tempDir();
    writeProc(proc, 10, "sh", { ppid: 1, utime: 5, starttime: 1 });
    writeProc(proc, 11, "worker", { ppid: 10, utime: 40, starttime: 2 });
    const tree = new ProcessTreeUsage(10, opts(proc));
    tree.sample();
    // 11 gone, but 10's cutime did not grow (SIGCHLD ignored: auto-reaped, not accounted).
    removeProc(proc, 11);
    writeProc(proc, 10, "sh", { ppid: 1, utime: 6, starttime: 1 });
    expect(tree.sample().cpuMs).toBe(460);
  });

  it("gives null, never throws, where nothing is readable", () => {
    const tree = new ProcessTreeUsage(123, opts(join(tempDir(), "absent")));
    expect(tree.sample()).toMatchObject({ cpuMs: 0, rssBytes: 0, live: 0 });
    expect(tree.result()).toBeNull();
  });
});

describe("MachineUsage against a fake /proc", () => {
  it("gives CPU % from the delta of the cpu line (guest excluded) and memory from MemTotal − MemAvailable", () => {
    const proc = tempDir();
    const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000000 kB\nMemAvailable:    4096000 kB\nBuffers:          100 kB\n";
    writeFileSync(join(proc, "meminfo"), meminfo);
    writeFileSync(join(proc, "stat"), "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\nintr 1 2 3\nctxt 99\n");
    let t = 1;
    const machine = new MachineUsage({ proc, now: () => t++ });
    expect(machine.sample()).toEqual({ at: 1, cpuPercent: null, memoryUsedBytes: 12_288_000 * 1024, memoryTotalBytes: 16_384_000 * 1024 });
    writeFileSync(join(proc, "stat"), "cpu  160 0 70 860 60 0 0 0 5 0\ncpu0 160 0 70 860 60 0 0 0 5 0\nintr 1 2 3\n");
    expect(machine.sample().cpuPercent).toBeCloseTo((80 / 150) * 100, 6);
    // No time passed: no figure rather than a division by zero.
    expect(machine.sample().cpuPercent).toBeNull();
  });

  it("gives nulls where /proc is not there", () => {
    expect(new MachineUsage({ proc: join(tempDir(), "absent"), now: () => 3 }).sample()).toEqual({
      at: 3,
      cpuPercent: null,
      memoryUsedBytes: null,
      memoryTotalBytes: null,
    });
  });

  it("reads this machine", async () => {
    const machine = new MachineUsage();
    machine.sample();
    await sleep(100);
    const now = machine.sample();
    expect(now.cpuPercent).toBeGreaterThanOrEqual(0);
    expect(now.cpuPercent).toBeLessThanOrEqual(100);
    expect(now.memoryTotalBytes).toBeGreaterThan(0);
    expect(now.memoryUsedBytes).toBeGreaterThan(0);
    expect(now.memoryUsedBytes!).toBeLessThanOrEqual(now.memoryTotalBytes!);
  });
});

// ---------- real process trees ----------

const BUSY = "let n = 0; for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= 500e3) break; for (let i = 0; i < 1e5; i++) n += i; }";
const ALLOC =
  "const b = Buffer.alloc(100 * 1024 * 1024, 1); const fs = require('fs'); console.log('allocated'); setInterval(() => { if (fs.existsSync(process.env.STOP)) process.exit(b[0] - 1); }, 20);";

/** A job-like tree: `bash -c script`, its own process group, stdout lines collected. */
function job(script: string, env: Record<string, string> = {}): { child: ChildProcess; lines: string[] } {
  const child = spawn("bash", ["-c", script], { detached: true, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, BUSY, ALLOC, ...env } });
  children.push(child);
  const lines: string[] = [];
  let buffer = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines };
}

function pidOf(lines: readonly string[], name: string): number | null {
  const line = lines.find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : null;
}

/** Exited: gone from /proc, or a zombie waiting for its reaper. */
function exited(pid: number): boolean {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "latin1"))?.state === "Z";
  } catch {
    return true;
  }
}

/** Sample every ~50 ms until `done` holds (bounded by the test's timeout). */
async function sampleUntil(tree: ProcessTreeUsage, done: () => boolean): Promise<void> {
  for (;;) {
    tree.sample();
    if (done()) return;
    await sleep(50);
  }
}

describe("ProcessTreeUsage on real processes", () => {
  it("counts a CPU-busy child that exited before the last sample and the peak of a child holding 100 MB", async () => {
    const stop = join(tempDir(), "stop");
    const { child, lines } = job('node -e "$ALLOC" & echo alloc $!; node -e "$BUSY" & echo busy $!; wait', { STOP: stop });
    const tree = new ProcessTreeUsage(child.pid!);
    await sampleUntil(tree, () => {
      const busy = pidOf(lines, "busy");
      return busy !== null && exited(busy) && lines.includes("allocated") && tree.result()!.peakRssBytes >= 80 * 1024 * 1024;
    });
    const last = tree.sample(); // The busy child is gone: its CPU is only in bash's cutime now.
    const alive = [child.pid!, pidOf(lines, "alloc")!].map((pid) => parseStat(readFileSync(`/proc/${pid}/stat`, "latin1"))!.self * 10);
    expect(last.live).toBe(2);
    expect(last.cpuMs).toBeGreaterThanOrEqual(400);
    expect(last.cpuMs - alive.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(400);
    expect(last.rssBytes).toBeGreaterThanOrEqual(80 * 1024 * 1024);

    // The job ends: the figures stay.
    writeFileSync(stop, "");
    await new Promise((r) => child.once("exit", r));
    expect(tree.sample().live).toBe(0);
    const result = tree.result()!;
    expect(result.cpuMs).toBeGreaterThanOrEqual(last.cpuMs);
    expect(result.peakRssBytes).toBeGreaterThanOrEqual(80 * 1024 * 1024);
    expect(result.processes).toBe(3);
  });

  it("keeps counting an orphan (double fork) and keeps its CPU when it exits", async () => {
    const { child, lines } = job('( node -e "$BUSY" & echo busy $!; sleep 0.4 ); echo orphaned; read -r _');
    const tree = new ProcessTreeUsage(child.pid!);
    await sampleUntil(tree, () => lines.includes("orphaned") && exited(pidOf(lines, "busy")!));
    // Reaped by init: only the shell is left, the orphan's CPU kept as departed. Where init never
    // reaps (some containers' pid 1) the orphan is a zombie still counted live with its stat.
    const busy = pidOf(lines, "busy")!;
    expect(tree.sample().live).toBe(exited(busy) && existsSync(`/proc/${busy}`) ? 2 : 1);
    expect(tree.result()!.cpuMs).toBeGreaterThanOrEqual(400);
  });

  it("counts a process never seen, reaped by a non-root shell, through that shell's cutime", async () => {
    const { child, lines } = job('bash -c \'node -e "$BUSY"; true\'; echo done; read -r _');
    const tree = new ProcessTreeUsage(child.pid!);
    while (!lines.includes("done")) await sleep(20);
    expect(tree.sample()).toMatchObject({ live: 1 });
    expect(tree.result()!.cpuMs).toBeGreaterThanOrEqual(400);
  });

  it("does not throw on a pid that vanished between reading parents and walking", async () => {
    const { child } = job("read -r _");
    // A process that is gone for good (spawned and reaped by this test), which the parents read
    // earlier still list as the root's child: exactly what a walk meets when a child exits and is
    // reaped between the two. (Killing a child of the job's bash instead leaves a zombie for as long
    // as bash takes to reap it, and a zombie is a process of the tree.)
    const gone = spawn("sleep", ["30"], { stdio: "ignore" });
    const goneExit = new Promise((resolve) => gone.once("exit", resolve));
    gone.kill("SIGKILL");
    await goneExit;
    expect(exited(gone.pid!)).toBe(true);
    const parents = new Map(parentsNow());
    parents.set(gone.pid!, child.pid!);
    const tree = new ProcessTreeUsage(child.pid!);
    expect(() => tree.sample(parents)).not.toThrow();
    expect(tree.result()!.processes).toBe(1);
  });
});
