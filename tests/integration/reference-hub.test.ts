// The Go agent's end-to-end flow (spec §8.4) against a re-creation of its reference hub, with the
// expectations of spec §5.11 compared the way the official harness compares them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareLikeHarness, ReferenceHub } from "../helpers/reference-hub.js";
import { delay, startAgent, stopAll, type AgentProcess } from "../helpers/processes.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const started = (directive: string) => ({ event: "cmd_started", timestamp: "*", directive });
const output = (text: string) => ({ event: "cmd_output", timestamp: "*", output: text });
const finished = (directive: string, exit_code: number) => ({ event: "cmd_finished", timestamp: "*", directive, exit_code, started_at: "*", finished_at: "*" });
const jobStarted = { event: "job_started", timestamp: "*" };
const jobFinished = (result: string) => ({ event: "job_finished", timestamp: "*", result });

let hub: ReferenceHub;
let agent: AgentProcess;

beforeAll(async () => {
  hub = await new ReferenceHub().start();
  agent = startAgent(null, { bare: true, args: ["--endpoint", hub.endpoint, "--token", "dummy", "--no-https", "--name", "reference-hub-agent"] });
  for (let i = 0; i < 200 && !hub.registered; i++) await delay(50);
  expect(hub.registered).toBe(true);
});
afterAll(async () => {
  await stopAll();
  await hub.close();
});

let counter = 0;
async function runJob(request: Record<string, unknown>, stopAfterDirective?: string): Promise<string[]> {
  const id = `ref-job-${++counter}-${Date.now()}`;
  const from = hub.logs.length;
  hub.schedule({
    job_id: id,
    executor: "shell",
    env_vars: [],
    files: [],
    commands: [],
    epilogue_always_commands: [],
    epilogue_on_pass_commands: [],
    epilogue_on_fail_commands: [],
    callbacks: { finished: "", teardown_finished: "", token: "" },
    logger: { method: "push", url: hub.logUrl(id), token: "jwtToken" },
    ...request,
  });
  if (stopAfterDirective) {
    for (let i = 0; i < 400; i++) {
      if (hub.logs.slice(from).some((l) => l.includes(`"directive":${JSON.stringify(stopAfterDirective)}`))) break;
      await delay(50);
    }
    hub.scheduleStop(id);
  }
  for (let i = 0; i < 600 && hub.status(id) !== "finished"; i++) await delay(50);
  expect(hub.status(id)).toBe("finished");
  return hub.logs.slice(from);
}

describe("against the reference hub", () => {
  it("Example A: env vars, unset variable, epilogues on pass", async () => {
    const lines = await runJob({
      env_vars: [
        { name: "A", value: b64("VALUE_A") },
        { name: "B", value: b64("VALUE_B") },
      ],
      commands: [{ directive: "echo -n $A" }, { directive: "echo -n $C" }],
      epilogue_always_commands: [{ directive: "echo -n $SEMAPHORE_JOB_RESULT" }],
      epilogue_on_pass_commands: [{ directive: "echo -n 'On pass'" }],
      epilogue_on_fail_commands: [{ directive: "echo -n 'On fail'" }],
    });
    expect(
      compareLikeHarness(lines, [
        jobStarted,
        started("Exporting environment variables"),
        output("Exporting A\n"),
        output("Exporting B\n"),
        finished("Exporting environment variables", 0),
        started("Injecting Files"),
        finished("Injecting Files", 0),
        started("echo -n $A"),
        output("VALUE_A"),
        finished("echo -n $A", 0),
        started("echo -n $C"),
        finished("echo -n $C", 0),
        started("Exporting environment variables"),
        output("Exporting SEMAPHORE_JOB_RESULT\n"),
        finished("Exporting environment variables", 0),
        started("echo -n $SEMAPHORE_JOB_RESULT"),
        output("passed"),
        finished("echo -n $SEMAPHORE_JOB_RESULT", 0),
        started("echo -n 'On pass'"),
        output("On pass"),
        finished("echo -n 'On pass'", 0),
        jobFinished("passed"),
      ]),
    ).toBeNull();
  });

  it("Example B and unknown commands: failing job with epilogues, one event per short output", async () => {
    const lines = await runJob({
      commands: [{ directive: "badcommand" }],
      epilogue_always_commands: [{ directive: "echo Hello Epilogue $SEMAPHORE_JOB_RESULT" }],
      epilogue_on_pass_commands: [{ directive: "echo Hello On Pass Epilogue $SEMAPHORE_JOB_RESULT" }],
      epilogue_on_fail_commands: [{ directive: "echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT" }],
    });
    expect(
      compareLikeHarness(lines, [
        jobStarted,
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("Injecting Files"),
        finished("Injecting Files", 0),
        started("badcommand"),
        "*** LONG_OUTPUT ***",
        finished("badcommand", 127),
        started("Exporting environment variables"),
        output("Exporting SEMAPHORE_JOB_RESULT\n"),
        finished("Exporting environment variables", 0),
        started("echo Hello Epilogue $SEMAPHORE_JOB_RESULT"),
        output("Hello Epilogue failed\n"),
        finished("echo Hello Epilogue $SEMAPHORE_JOB_RESULT", 0),
        started("echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT"),
        output("Hello On Fail Epilogue failed\n"),
        finished("echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT", 0),
        jobFinished("failed"),
      ]),
    ).toBeNull();
  });

  it("a 217-byte line printed by a quick command is one event; files are injected", async () => {
    const long = "x".repeat(216);
    const lines = await runJob({
      files: [{ path: "ref-hub-test/a.txt", content: b64("hello"), mode: "0600" }],
      commands: [{ directive: `echo ${long}` }, { directive: "cat ref-hub-test/a.txt; rm -rf ref-hub-test" }],
    });
    expect(
      compareLikeHarness(lines, [
        jobStarted,
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("Injecting Files"),
        output(`Injecting ${agent.home}/ref-hub-test/a.txt with file mode 0600\n`),
        finished("Injecting Files", 0),
        started(`echo ${long}`),
        output(`${long}\n`),
        finished(`echo ${long}`, 0),
        started("cat ref-hub-test/a.txt; rm -rf ref-hub-test"),
        output("hello"),
        finished("cat ref-hub-test/a.txt; rm -rf ref-hub-test", 0),
        started("Exporting environment variables"),
        output("Exporting SEMAPHORE_JOB_RESULT\n"),
        finished("Exporting environment variables", 0),
        jobFinished("passed"),
      ]),
    ).toBeNull();
  });

  it("Example C: stopped job", async () => {
    const lines = await runJob({ commands: [{ directive: "sleep 60" }, { directive: "echo -n hello" }] }, "sleep 60");
    expect(
      compareLikeHarness(lines, [
        jobStarted,
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("Injecting Files"),
        finished("Injecting Files", 0),
        started("sleep 60"),
        finished("sleep 60", 1),
        jobFinished("stopped"),
      ]),
    ).toBeNull();
  });

  it("Example D: exit code 130 with SEMAPHORE_JOB_RESULT=passed", async () => {
    const lines = await runJob({
      commands: [{ directive: "export SEMAPHORE_JOB_RESULT=passed" }, { directive: "echo 'exit 130' | sh" }, { directive: "echo -n hello" }],
    });
    expect(
      compareLikeHarness(lines, [
        jobStarted,
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("Injecting Files"),
        finished("Injecting Files", 0),
        started("export SEMAPHORE_JOB_RESULT=passed"),
        finished("export SEMAPHORE_JOB_RESULT=passed", 0),
        started("echo 'exit 130' | sh"),
        finished("echo 'exit 130' | sh", 130),
        started("Checking job result"),
        output("SEMAPHORE_JOB_RESULT=passed - stopping job and marking it as passed"),
        finished("Checking job result", 0),
        jobFinished("passed"),
      ]),
    ).toBeNull();
  });

  it("Example F and G: a command that kills the shell, an aliased command", async () => {
    const lines = await runJob({
      commands: [{ directive: "echo -n 'hello world'", alias: "Display Hello World" }, { directive: "sleep infinity &" }, { directive: "exit 1" }],
    });
    expect(
      compareLikeHarness(lines, [
        jobStarted,
        started("Exporting environment variables"),
        finished("Exporting environment variables", 0),
        started("Injecting Files"),
        finished("Injecting Files", 0),
        started("Display Hello World"),
        output("Running: echo -n 'hello world'\n"),
        output("hello world"),
        finished("Display Hello World", 0),
        started("sleep infinity &"),
        finished("sleep infinity &", 0),
        started("exit 1"),
        finished("exit 1", 1),
        started("Exporting environment variables"),
        output("Exporting SEMAPHORE_JOB_RESULT\n"),
        finished("Exporting environment variables", 1),
        jobFinished("failed"),
      ]),
    ).toBeNull();
  });

  it("an unknown job id (the hub answers null) fails the job without log events", async () => {
    const from = hub.logs.length;
    const id = "no-such-job";
    hub.scheduleRaw(id, null); // GET /jobs/<id> answers `null`, like the Ruby hub for an unknown id
    for (let i = 0; i < 200 && hub.status(id) !== "finished"; i++) await delay(50);
    expect(hub.status(id)).toBe("finished");
    expect(hub.logs.slice(from)).toEqual([]);
  });

  it("shutdown: disconnects and exits 0", async () => {
    hub.shutdownScheduled = true;
    expect(await agent.waitForExit(15_000)).toBe(0);
    expect(hub.disconnected).toBe(true);
    expect(agent.stderr).toMatch(/shut down: UNKNOWN \(exit code 0\)/);
  });
});
