// (start) What a second `npm start` costs when nothing changed: scripts/build.mjs finds every part
// built from the same inputs and builds nothing, then the console starts and prints its URL.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/**
 * (start) A second `npm start -- --console` with nothing changed: the build finds nothing to do and
 * the console prints its URL. Timed from the spawn of npm to that line, `runs` times.
 */
export async function startAgain(runs = 3): Promise<Record<string, number>> {
  const { spawn } = await import("node:child_process");
  const data = mkdtempSync(join(tmpdir(), "sa-bench-start-"));
  const once = (): Promise<number> =>
    new Promise((resolveTime, reject) => {
      const t0 = performance.now();
      const child = spawn("npm", ["start", "--", "--console", "--port", "0", "--data-dir", data], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
      let out = "";
      const timer = setTimeout(() => {
        process.kill(-child.pid!, "SIGKILL");
        reject(new Error(`npm start printed no console URL within 120 s:\n${out}`));
      }, 120_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/Web console: http:\/\/127\.0\.0\.1:\d+/.test(out)) {
          clearTimeout(timer);
          const ms = performance.now() - t0;
          child.once("exit", () => resolveTime(ms));
          process.kill(-child.pid!, "SIGTERM");
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
    });
  try {
    await once(); // builds what changed, if anything: the runs after it are the "second npm start"
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    times.sort((a, b) => a - b);
    const r = { runs, medianMs: times[Math.floor(runs / 2)] as number, maxMs: times.at(-1) as number };
    console.log(`\n(start) a second \`npm start -- --console\` with nothing changed: spawn of npm -> the console's URL printed, ${runs} runs`);
    console.log(`    median ${(r.medianMs / 1000).toFixed(2)} s, max ${(r.maxMs / 1000).toFixed(2)} s   (target < 5 s; before: the whole build again, about 37 s)`);
    return r;
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
}
