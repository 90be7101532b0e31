// host.lock between real processes (agent-core/host/data-dir-lock.ts as built in dist/): three
// processes race for one data dir that holds a stale lock, 60 times; exactly one may win each time.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, stopAll, tempDir } from "../helpers/processes.js";

const RACER = join(ROOT, "tests/helpers/lock-racer.mjs");
const TRIALS = 60;
const RACERS = 3;
/** What the losers must say: the HostError of a held lock, naming the holder's pid. */
const REFUSAL = /^busy Another Semaphore Agent Desktop \(pid \d+\) is already using /;

/** One tests/helpers/lock-racer.mjs process: send a command, await its one-line answer. */
class Racer {
  private buffered = "";
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      this.buffered += chunk;
      for (let nl = this.buffered.indexOf("\n"); nl >= 0; nl = this.buffered.indexOf("\n")) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  next(timeoutMs = 10_000): Promise<string> {
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`racer ${this.child.pid} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
}

const racers: Racer[] = [];

afterAll(async () => {
  for (const racer of racers) {
    racer.child.stdin?.end();
    racer.child.kill("SIGKILL");
  }
  await Promise.all(racers.map((racer) => racer.exited));
  await stopAll();
});

/** A pid whose process has exited (and been reaped): what a crashed app leaves in host.lock. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (child.pid === undefined) throw new Error("could not start node");
  return child.pid;
}

describe("host.lock between processes", () => {
  it(`${TRIALS} trials × ${RACERS} processes racing from a stale lock: exactly one holder each time`, async () => {
    for (let i = 0; i < RACERS; i++) {
      const racer = new Racer(spawn(process.execPath, [RACER], { stdio: ["pipe", "pipe", "inherit"] }));
      racers.push(racer);
      expect(await racer.next()).toBe("ready");
    }
    const root = tempDir("sa-lock-race-");
    const stale = deadPid();
    const doubleHolds: string[] = [];
    const otherFailures: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = join(root, `trial-${trial}`);
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, "host.lock"), `${stale}\n`, { mode: 0o600 });
      // All three are told at once; each answers once it holds the lock or was refused.
      for (const racer of racers) racer.send(`acquire ${dir}`);
      const answers = await Promise.all(racers.map((racer) => racer.next()));
      const holders = racers.filter((_, i) => answers[i] === "held");
      const refusedWrongly = answers.filter((answer) => answer !== "held" && !REFUSAL.test(answer));
      if (holders.length > 1) doubleHolds.push(`trial ${trial}: ${holders.length} holders (${answers.join(" | ")})`);
      if (holders.length === 0 || refusedWrongly.length > 0) otherFailures.push(`trial ${trial}: ${answers.join(" | ")}`);
      // Everyone who holds keeps holding until now; then they let go before the next trial.
      for (const holder of holders) holder.send("release");
      for (const holder of holders) expect(await holder.next()).toBe("released");
      // No claim or temporary file is left behind, and the released lock is gone.
      const left = readdirSync(dir);
      if (left.length > 0) otherFailures.push(`trial ${trial}: left ${left.join(", ")}`);
    }
    expect({ doubleHolds, otherFailures }).toEqual({ doubleHolds: [], otherFailures: [] });
  });
});
