// Configuration through the real CLI (spec §9, P-28): fatal mistakes exit 1 naming the key before
// anything is sent; flag > env > file precedence is visible in the register body; the registration
// token is never printed and never reaches a job.
import { afterEach, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll } from "../helpers/processes.js";
import { BASE, expectNoTokenLeak, expectNoViolations, requestsTo } from "../helpers/protocol.js";

afterEach(stopAll);

const SECRET = "config-test-secret-token-7731";
const fileWith = (...lines: string[]) => ["endpoint: 127.0.0.1:9", `token: ${SECRET}`, "no-https: true", ...lines, ""].join("\n");

async function expectConfigError(options: Parameters<typeof startAgent>[1], pattern: RegExp): Promise<string> {
  const agent = startAgent(null, { bare: true, ...options });
  expect(await agent.waitForExit(10_000)).toBe(1);
  expect(agent.stderr).toMatch(pattern);
  // A configuration error stops the agent before it ever starts (no "starting" banner).
  expect(agent.stderr).not.toMatch(/starting/);
  expectNoTokenLeak(agent, SECRET);
  return agent.stderr;
}

describe("configuration errors (exit 1, naming the key)", () => {
  it("an unknown key in the config file", async () => {
    await expectConfigError({ configYaml: fileWith("foo: bar") }, /Unrecognized option 'foo'/);
  });

  it.each([
    ["upload-job-logs: sometimes", /'upload-job-logs'.*never, always, when-trimmed/],
    ["disconnect-after-idle-timeout: ten", /'disconnect-after-idle-timeout'/],
    ["interruption-grace-period: -1", /'interruption-grace-period'.*negative/],
    ["disconnect-after-job: maybe", /'disconnect-after-job'/],
    ["env-vars: A=1", /'env-vars'/],
  ])("a bad value in the file: %s", async (line, pattern) => {
    await expectConfigError({ configYaml: fileWith(line) }, pattern);
  });

  it("a bad value from the environment names the variable", async () => {
    await expectConfigError(
      { configYaml: fileWith(), env: { SEMAPHORE_AGENT_DISCONNECT_AFTER_IDLE_TIMEOUT: "ten" } },
      /SEMAPHORE_AGENT_DISCONNECT_AFTER_IDLE_TIMEOUT/,
    );
  });

  it("a bad value from a flag names the flag", async () => {
    await expectConfigError({ configYaml: fileWith(), args: ["--upload-job-logs", "sometimes"] }, /--upload-job-logs/);
  });

  it("a missing endpoint", async () => {
    await expectConfigError({ configYaml: [`token: ${SECRET}`, "no-https: true", ""].join("\n") }, /'endpoint' is required/);
  });

  it("a missing token", async () => {
    await expectConfigError({ args: ["--endpoint", "127.0.0.1:9", "--no-https"] }, /'token' is required/);
  });

  it("a misspelt flag with an inline value does not echo the value", async () => {
    const stderr = await expectConfigError({ args: ["--endpoint", "127.0.0.1:9", `--tokn=${SECRET}`] }, /unknown flag: --tokn/);
    expect(stderr).not.toContain(SECRET);
  });

  it("invalid YAML after the token line does not quote the file", async () => {
    await expectConfigError({ configYaml: fileWith("name: [unclosed") }, /invalid YAML/);
  });
});

describe("precedence and secrets", () => {
  it("flag > env > file for the name (register body), and the token reaches neither the output nor a job", async () => {
    const hub = await startHub();
    const file = (name: string) => [`endpoint: ${hub.endpoint}`, `token: ${hub.token}`, "no-https: true", `name: ${name}`, ""].join("\n");
    const agents = [
      // flag beats env and file
      startAgent(hub, { bare: true, configYaml: file("file-name-0001"), env: { SEMAPHORE_AGENT_NAME: "env-name-0001" }, args: ["--name", "flag-name-0001"] }),
      // env beats file; endpoint and token from the environment too
      startAgent(hub, {
        bare: true,
        configYaml: [`endpoint: 127.0.0.1:9`, "token: wrong-token-from-file", "no-https: true", "name: file-name-0002", ""].join("\n"),
        env: { SEMAPHORE_AGENT_NAME: "env-name-0002", SEMAPHORE_AGENT_ENDPOINT: hub.endpoint, SEMAPHORE_AGENT_TOKEN: hub.token },
      }),
      // the file alone
      startAgent(hub, { bare: true, configYaml: file("file-name-0003") }),
    ];
    const views = await hub.api.waitForAgent((list) => list.filter((a) => a.state === "waiting-for-jobs").length === 3, 15_000);
    expect(views.map((a) => a.register.name).sort()).toEqual(["env-name-0002", "file-name-0003", "flag-name-0001"]);
    expect((await requestsTo(hub, `${BASE}/register`)).every((r) => r.status === 200)).toBe(true);

    // Jobs never see the registration token, whichever agent runs them.
    const ids = await Promise.all(agents.map(() => hub.api.schedule(job({ commands: ['echo "token=[${SEMAPHORE_AGENT_TOKEN:-unset}]"'] }))));
    for (const id of ids) {
      expect((await hub.api.waitForJob(id, "finished", 20_000)).result).toBe("passed");
      const events = await hub.api.events(id);
      expect(events.some((e) => e.event === "cmd_output" && e.output === "token=[unset]\n")).toBe(true);
      expect(JSON.stringify(events)).not.toContain(hub.token);
    }
    await expectNoViolations(hub);
    for (const agent of agents) expectNoTokenLeak(agent, hub.token);
  });
});
