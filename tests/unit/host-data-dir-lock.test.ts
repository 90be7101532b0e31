// host.lock in one process: who counts as holding it (pid and start time), and what a crash leaves.
// The race between processes is in tests/integration/data-dir-lock.test.ts.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HostError } from "../../agent-core/host/contract.js";
import { DataDirLock } from "../../agent-core/host/data-dir-lock.js";
import { processStartTime } from "../../agent-core/shell/kill.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
const locks: DataDirLock[] = [];

afterEach(async () => {
  for (const lock of locks.splice(0)) lock.release();
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sa-lock-"));
  dirs.push(dir);
  return dir;
}

function acquire(dir: string): DataDirLock {
  const lock = DataDirLock.acquire(dir);
  locks.push(lock);
  return lock;
}

/** A live process that has nothing to do with any lock. */
async function liveStranger(): Promise<number> {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", reject);
  });
  return child.pid!;
}

function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

function refusal(fn: () => unknown): HostError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HostError);
    return error as HostError;
  }
  throw new Error("expected a HostError");
}

const NONCE = "0123456789abcdef0123456789abcdef";

describe("DataDirLock", () => {
  it("writes pid, start time and a nonce; a second process-level acquire of a held lock is refused", async () => {
    const dir = dataDir();
    const lock = acquire(dir);
    const [pid, start, nonce] = readFileSync(join(dir, "host.lock"), "utf8").split("\n");
    expect(Number(pid)).toBe(process.pid);
    if (process.platform === "linux") expect(start).toBe(`proc:${processStartTime(process.pid)}`);
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    lock.release();
    expect(existsSync(join(dir, "host.lock"))).toBe(false);

    // Held by a live process whose start time matches: refused, naming it.
    const holder = await liveStranger();
    const start2 = process.platform === "linux" ? `proc:${processStartTime(holder)}` : "";
    writeFileSync(join(dir, "host.lock"), `${holder}\n${start2}\n${NONCE}\n`);
    const error = refusal(() => acquire(dir));
    expect(error.code).toBe("invalid-state");
    expect(error.message).toBe(
      `Another Semaphore Agent Desktop (pid ${holder}) is already using ${dir}: close it first, or give this one another data dir.`,
    );
    // An older version's lock (the pid alone) of a live process is respected too.
    writeFileSync(join(dir, "host.lock"), `${holder}\n`);
    expect(refusal(() => acquire(dir)).message).toContain(`(pid ${holder})`);
  });

  it("takes over a lock whose pid was reused by an unrelated live process (start time differs)", async () => {
    const dir = dataDir();
    const stranger = await liveStranger();
    const wrongStart = process.platform === "linux" ? "proc:1" : "ps:Thu Jan  1 00:00:00 1970";
    writeFileSync(join(dir, "host.lock"), `${stranger}\n${wrongStart}\n${NONCE}\n`);
    const lock = acquire(dir);
    expect(Number(readFileSync(join(dir, "host.lock"), "utf8").split("\n")[0])).toBe(process.pid);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it.runIf(spawnSync("ps", ["-o", "lstart=", "-p", String(process.pid)]).status === 0)(
    "tells a reused pid by ps's start time too (how macOS locks record it)",
    async () => {
      const dir = dataDir();
      const stranger = await liveStranger();
      const lstart = spawnSync("ps", ["-o", "lstart=", "-p", String(stranger)], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } })
        .stdout.trim()
        .replace(/\s+/g, " ");
      writeFileSync(join(dir, "host.lock"), `${stranger}\nps:${lstart}\n${NONCE}\n`);
      expect(refusal(() => acquire(dir)).message).toContain(`(pid ${stranger})`);
      writeFileSync(join(dir, "host.lock"), `${stranger}\nps:Thu Jan 1 00:00:00 1970\n${NONCE}\n`);
      acquire(dir).release();
      expect(readdirSync(dir)).toEqual([]);
    },
  );

  it("takes over the lock of a dead process, also after a takeover that crashed halfway", () => {
    const dir = dataDir();
    const dead = deadPid();
    writeFileSync(join(dir, "host.lock"), `${dead}\n\n${NONCE}\n`);
    // A process died holding the first takeover claim, another left a temporary file.
    writeFileSync(join(dir, `host.lock.takeover.${NONCE}.1`), `${dead}\n\n${"f".repeat(32)}\n`);
    writeFileSync(join(dir, `host.lock.${"e".repeat(32)}.tmp`), `${dead}\n\n${"e".repeat(32)}\n`);
    const lock = acquire(dir);
    expect(readdirSync(dir)).toEqual(["host.lock"]);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it("waits for a live process's takeover claim instead of racing it", async () => {
    const dir = dataDir();
    writeFileSync(join(dir, "host.lock"), `${deadPid()}\n\n${NONCE}\n`);
    const claimer = await liveStranger();
    const claimStart = process.platform === "linux" ? `proc:${processStartTime(claimer)}` : "";
    writeFileSync(join(dir, `host.lock.takeover.${NONCE}.1`), `${claimer}\n${claimStart}\n${"c".repeat(32)}\n`);
    // The claimer never finishes (it is `sleep`): after the deadline acquire gives up, claiming nothing.
    const started = Date.now();
    const error = refusal(() => acquire(dir));
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
    expect(error.message).toMatch(/^Could not take the lock .*host\.lock: another process kept taking it over; try again\.$/);
    expect(readFileSync(join(dir, "host.lock"), "utf8")).toContain(NONCE);
    // Its own claim stays, marked abandoned, so the index is not reused while the stale lock is there.
    expect(readFileSync(join(dir, `host.lock.takeover.${NONCE}.2`), "utf8")).toBe("abandoned\n");
  }, 20_000);

  it("does not delete a lock that is no longer its own", () => {
    const dir = dataDir();
    const lock = acquire(dir);
    writeFileSync(join(dir, "host.lock"), `${process.pid}\n\n${NONCE}\n`);
    lock.release();
    expect(readFileSync(join(dir, "host.lock"), "utf8")).toContain(NONCE);
  });
});
