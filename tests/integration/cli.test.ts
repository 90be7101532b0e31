// The semaphore-agent command itself: sub-commands, `run` with the shipped examples, log file.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, runCli, startAgent, startHub, stopAll, tempDir } from "../helpers/processes.js";

afterEach(stopAll);

describe("semaphore-agent", () => {
  it("prints its version and usage; an unknown command exits 1", async () => {
    const version = runCli(["version"]);
    expect(await version.waitForExit(10_000)).toBe(0);
    expect(version.stdout.trim()).toMatch(/^v\d+\.\d+\.\d+$/);
    const help = runCli(["help"]);
    expect(await help.waitForExit(10_000)).toBe(0);
    expect(help.stdout).toMatch(/semaphore-agent start/);
    const bad = runCli(["frobnicate"]);
    expect(await bad.waitForExit(10_000)).toBe(1);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it("run: prints each command as a section with its exit code, the result last, exit 0 when passed", async () => {
    const run = runCli(["run", join(ROOT, "examples/env-and-files.yaml")], { HOME: tempDir("sa-run-home-"), NO_COLOR: "1" });
    expect(await run.waitForExit(30_000)).toBe(0);
    expect(run.stdout).toContain("▶ printf '%s\\n' \"$TRICKY\"\nit's $HOME, \"quoted\" — ünïcode\n✔ exit 0");
    expect(run.stdout).toMatch(/Injecting \/.*\/semaphore-agent-example\/run\.sh with file mode 0755/);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toMatch(/^Job passed in \d+\.\ds$/);
  });

  it("run: a failing job exits 1 and shows its epilogues", async () => {
    const run = runCli(["run", join(ROOT, "examples/failing-with-epilogues.yaml")], { NO_COLOR: "1" });
    expect(await run.waitForExit(30_000)).toBe(1);
    expect(run.stdout).toContain("▶ false\n✘ exit 1");
    expect(run.stdout).toContain("on fail: cleaning up after a failed job");
    expect(run.stdout).not.toContain("never printed");
    expect(run.stdout).toMatch(/Job failed in/);
  });

  it("run: Ctrl-C stops a long job (exit 2); a bad job file names the field (exit 1)", async () => {
    const run = runCli(["run", join(ROOT, "examples/long-running.yaml")], { NO_COLOR: "1" });
    await run.waitForOutput(/tick 1\n/, 20_000, "stdout");
    run.signal("SIGINT");
    expect(await run.waitForExit(20_000)).toBe(2);
    expect(run.stdout).toMatch(/Job stopped in/);
    expect(run.stdout).not.toContain("epilogue (skipped");

    const file = join(tempDir(), "bad.yaml");
    writeFileSync(file, "commands:\n  - echo ok\nfiles:\n  - path: x\n    mode: [1]\n");
    const bad = runCli(["run", file]);
    expect(await bad.waitForExit(10_000)).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml: files\[0\]\.mode/);
  });

  it("start: SEMAPHORE_AGENT_LOG_FILE_PATH gets the same lines as stderr, and an invalid log level exits 1", async () => {
    const hub = await startHub();
    const logFile = join(tempDir(), "agent_log");
    const agent = startAgent(hub, { env: { SEMAPHORE_AGENT_LOG_FILE_PATH: logFile } });
    await agent.waitForOutput(/waiting for jobs/, 15_000);
    await hub.api.shutdown();
    expect(await agent.waitForExit(15_000)).toBe(0);
    const lines = readFileSync(logFile, "utf8");
    expect(lines).toMatch(/registered as/);
    expect(lines).toMatch(/shut down: REQUESTED \(exit code 0\)/);
    expect(lines).not.toContain(hub.token);

    const bad = startAgent(hub, { env: { SEMAPHORE_AGENT_LOG_LEVEL: "chatty" } });
    expect(await bad.waitForExit(10_000)).toBe(1);
    expect(bad.stderr).toMatch(/SEMAPHORE_AGENT_LOG_LEVEL: unknown level 'chatty'/);
  });
});
