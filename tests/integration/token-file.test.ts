// The registration token kept off the command line (where `ps` shows it to every local user):
// `--token` warns, `--token-file` and SEMAPHORE_AGENT_TOKEN work, and the hub's banner suggests those.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startAgent, startHub, stopAll, tempDir } from "../helpers/processes.js";

afterEach(stopAll);

const WARNING =
  "semaphore-agent: warning: --token is visible to other users of this machine (ps); use SEMAPHORE_AGENT_TOKEN, --token-file or the config file\n";

const count = (text: string, part: string): number => text.split(part).length - 1;

describe("the token off the command line", () => {
  it("the hub's banner starts an agent with SEMAPHORE_AGENT_TOKEN, not --token", async () => {
    const hub = await startHub();
    await hub.proc.waitForOutput(/Ctrl-C stops the hub/, 5_000, "stdout");
    expect(hub.proc.stdout).not.toContain("--token");
    expect(hub.proc.stdout).toContain(`  SEMAPHORE_AGENT_TOKEN=${hub.token} semaphore-agent start --endpoint ${hub.endpoint} --no-https\n`);
  });

  it("start --token works but warns once on stderr, without the token", async () => {
    const hub = await startHub();
    const agent = startAgent(hub); // --endpoint … --token <hub token> --no-https
    await agent.waitForOutput(/waiting for jobs/, 15_000);
    await hub.api.shutdown();
    expect(await agent.waitForExit(15_000)).toBe(0);
    expect(count(agent.stderr, WARNING)).toBe(1);
    expect(agent.stderr.startsWith(WARNING)).toBe(true);
    expect(agent.stderr).not.toContain(hub.token);
    expect(agent.stdout).not.toContain(hub.token);
  });

  it("start --token-file and SEMAPHORE_AGENT_TOKEN register without a warning; a missing token file exits 1", async () => {
    const hub = await startHub();
    const file = join(tempDir(), "token");
    writeFileSync(file, `${hub.token}\n`, { mode: 0o600 });
    const fromFile = startAgent(hub, { bare: true, args: ["--endpoint", hub.endpoint, "--no-https", "--token-file", file] });
    const fromEnv = startAgent(hub, { bare: true, args: ["--endpoint", hub.endpoint, "--no-https"], env: { SEMAPHORE_AGENT_TOKEN: hub.token } });
    await fromFile.waitForOutput(/waiting for jobs/, 15_000);
    await fromEnv.waitForOutput(/waiting for jobs/, 15_000);
    await hub.api.shutdown();
    for (const agent of [fromFile, fromEnv]) {
      expect(await agent.waitForExit(15_000)).toBe(0);
      expect(agent.stderr).not.toContain("warning");
      expect(agent.stderr).not.toContain(hub.token);
    }

    const missing = join(tempDir(), "no-such-token");
    const bad = startAgent(hub, { bare: true, args: ["--endpoint", hub.endpoint, "--token-file", missing] });
    expect(await bad.waitForExit(10_000)).toBe(1);
    expect(bad.stderr).toBe(`semaphore-agent: --token-file: cannot read ${JSON.stringify(missing)} (ENOENT)\n`);
  });
});
