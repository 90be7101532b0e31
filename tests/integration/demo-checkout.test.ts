// The Local demo's checkout example through the Host with a real agent: the demo makes the local
// bare repository when it starts (cli/local-jobs.ts), the job checks it out with the fixture toolbox
// in the agent's HOME (HostOptions.env), builds and pushes out.txt; stopping the demo removes the
// repository and the clone.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { HostEvent, JobLogEvent } from "../../agent-core/host/contract.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { FAST_TIMINGS, ROOT } from "../helpers/processes.js";
import { installFixtureToolbox } from "../helpers/toolbox-fixture.js";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, registerAttempts: 3 };

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function until<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let host: Host | null = null;
afterAll(async () => {
  await host?.close({ timeoutMs: 10_000 });
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("Local demo: the checkout example", () => {
  it("passes: checkout of the demo's repository at its head, the build, the artifact; stop removes the repository", async () => {
    const home = tempDir("sa-demo-home-");
    const store = tempDir("sa-demo-store-");
    await installFixtureToolbox(home);
    host = await Host.open({
      dataDir: tempDir("sa-demo-data-"),
      secretCodec: plainFileCodec(),
      env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LANG: "C.UTF-8", TOOLBOX_FIXTURE_STORE: store },
      timings: TIMINGS,
      examplesDir: join(ROOT, "examples"),
    });
    const events: HostEvent[] = [];
    host.subscribe((e) => events.push(e));
    // The jobs run in the app's default strict sandbox: the fixture's artifact storage is a host
    // folder the owner lists as writable (the demo repository itself is made writable by the demo).
    const { tokenSet: _t, tokenStorage: _s, configured: _c, ...current } = await host.getSettings({});
    const saved = await host.saveSettings({ settings: { ...current, endpoint: "127.0.0.1:9", token: "not-used-by-the-demo", sandboxReadWritePaths: [store] } });
    expect(saved, JSON.stringify(saved)).toMatchObject({ ok: true });

    const snapshot = await host.getSnapshot({});
    const example = snapshot.demo.examples.find((e) => e.id === "checkout");
    expect(example?.description).toContain("needs the toolbox (semaphore-agent toolbox install)");

    await host.startDemo({});
    const { jobId } = await host.runExample({ exampleId: "checkout" });
    const finished = await until(
      () => events.find((e): e is Extract<HostEvent, { type: "job-finished" }> => e.type === "job-finished" && e.job.id === jobId),
      `the demo job ${jobId}`,
      60_000,
    );
    const live: JobLogEvent[] = events.flatMap((e) => (e.type === "job-output" && e.jobId === jobId ? e.events : []));
    const output = live.flatMap((e) => (e.event === "cmd_output" ? [e.output] : [])).join("");
    expect(finished.job.result, output).toBe("passed");

    const clone = /Performing a clone of (file:\/\/\/\S+\/demo-app\.git) into (\/\S+)\n/.exec(output);
    expect(clone, output).not.toBeNull();
    const repoDir = new URL(clone![1]!).pathname;
    const cloneDir = clone![2]!;
    expect(existsSync(repoDir)).toBe(true);
    const head = /\n([0-9a-f]{40})\n/.exec(output);
    expect(head, output).not.toBeNull();
    expect(output).toContain(`HEAD is now at ${head![1]!.slice(0, 7)}`);
    const commands = live.flatMap((e) => (e.event === "cmd_finished" ? [[e.directive, e.exit_code] as const] : []));
    expect(commands).toEqual(
      expect.arrayContaining([
        ["checkout", 0],
        ['test "$(git rev-parse HEAD)" = "$SEMAPHORE_GIT_SHA"', 0],
        ["artifact push job out.txt", 0],
      ]),
    );
    expect(readFileSync(join(store, "job", "out.txt"), "utf8")).toMatch(new RegExp(`^demo-app built from ${head![1]!.slice(0, 7)} on main\\n$`));

    await host.stopDemo({});
    expect(existsSync(repoDir)).toBe(false);
    expect(existsSync(cloneDir)).toBe(false);
  });
});
