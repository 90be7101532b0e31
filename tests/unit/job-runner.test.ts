// JobRunner against a real `bash --login` in a PTY: the event sequences of spec §5.11 (A–G) and the
// stop/dead-shell paths of §5.8–§5.9. Output chunking is not part of the contract, so consecutive
// cmd_output texts are joined before comparing.
import { parse } from "valibot";
import { access, chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JobHookConfig } from "../../agent-core/job/types.js";
import type { JobLogEvent, JobResult } from "../../agent-core/job/events.js";
import { JobRunner, type StartShell } from "../../agent-core/job/runner.js";
import { JobRequestSchema, type JobRequest } from "../../agent-core/protocol/types.js";
import { startShellSession } from "../../agent-core/shell/session.js";
import type { ShellSession } from "../../agent-core/shell/types.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const ENV = "Exporting environment variables";
const FILES = "Injecting Files";
const PRE = "Running the pre-job hook configured in the agent";
const POST = "Running the post-job hook configured in the agent";
const WARN_FAIL = "Warning: The agent is configured to fail the job if the pre-job hook fails.\n";
const WARN_PROCEED = "Warning: The agent is configured to proceed with the job even if the pre-job hook fails.\n";

type Step = string | RegExp;

/** `job_started`, `started(D)`, `out(text)`, `finished(D, n)`, `job_finished(r)` with outputs joined. */
function simplify(events: JobLogEvent[]): string[] {
  const out: string[] = [];
  let pending: string | null = null;
  const flush = () => {
    if (pending !== null) out.push(`out(${pending})`);
    pending = null;
  };
  for (const e of events) {
    if (e.event === "cmd_output") {
      pending = (pending ?? "") + e.output;
      continue;
    }
    flush();
    if (e.event === "job_started") out.push("job_started");
    else if (e.event === "cmd_started") out.push(`started(${e.directive})`);
    else if (e.event === "cmd_finished") out.push(`finished(${e.directive}, ${e.exit_code})`);
    else out.push(`job_finished(${e.result})`);
  }
  flush();
  return out;
}

function expectSequence(events: JobLogEvent[], expected: Step[]): void {
  const actual = simplify(events);
  expect(actual, actual.join("\n")).toEqual(expected.map((s) => (typeof s === "string" ? s : expect.stringMatching(s))));
}

/** The invariants of spec §7.1 that hold for every job. */
function expectWellFormed(events: JobLogEvent[]): void {
  expect(events[0]?.event).toBe("job_started");
  expect(events.at(-1)?.event).toBe("job_finished");
  let open: string | null = null;
  for (const e of events) {
    expect(Number.isInteger(e.timestamp)).toBe(true);
    if (e.event === "cmd_started") {
      expect(open).toBeNull();
      open = e.directive;
    } else if (e.event === "cmd_output") {
      expect(open).not.toBeNull();
    } else if (e.event === "cmd_finished") {
      expect(e.directive).toBe(open);
      expect(Number.isInteger(e.started_at) && Number.isInteger(e.finished_at)).toBe(true);
      expect(e.finished_at).toBeGreaterThanOrEqual(e.started_at);
      open = null;
    }
  }
  expect(open).toBeNull();
}

const ENV_OK = [`started(${ENV})`, `finished(${ENV}, 0)`];
const FILES_OK = [`started(${FILES})`, `finished(${FILES}, 0)`];
const RESULT_EXPORT = (code: number) => [`started(${ENV})`, "out(Exporting SEMAPHORE_JOB_RESULT\n)", `finished(${ENV}, ${code})`];

interface Harness {
  base: string;
  home: string;
  tmp: string;
  events: JobLogEvent[];
  runners: JobRunner[];
  /** Called for every event as it is emitted (synchronously, like the agent's event log). */
  onEvent: ((e: JobLogEvent) => void) | null;
  /** What the runner's onEnvFile callback received (the debug terminal's kept copies come from it). */
  envFileCopies: Array<{ path: string; content: string }>;
}

let h: Harness;

beforeEach(async () => {
  const base = await mkdtemp(join(tmpdir(), "job-runner-"));
  const home = join(base, "home");
  const tmp = join(base, "tmp");
  const work = join(base, "work");
  await mkdir(home);
  await mkdir(tmp);
  await mkdir(work, { mode: 0o700 });
  h = { base, home, tmp, events: [], runners: [], onEvent: null, envFileCopies: [] };
});

afterEach(async () => {
  await Promise.all(h.runners.map((r) => r.close()));
  await rm(h.base, { recursive: true, force: true });
});

function request(fields: Record<string, unknown>): JobRequest {
  return parse(JobRequestSchema, {
    job_id: "job-1",
    executor: "shell",
    logger: { method: "push", url: "http://127.0.0.1:1/api/v1/logs/job-1", token: "t" },
    ...fields,
  });
}

const cmds = (...directives: string[]) => directives.map((directive) => ({ directive }));

function makeRunner(req: JobRequest, config: Partial<JobHookConfig> = {}, startShell?: StartShell): JobRunner {
  const runner = new JobRunner(
    {
      request: req,
      config: {
        envVars: [],
        preJobHookPath: "",
        postJobHookPath: "",
        failOnPreJobHookError: false,
        sourcePreJobHook: false,
        ...config,
      },
      shellEnv: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: h.home,
        TMPDIR: h.tmp,
        LANG: "C.UTF-8",
        TERM: "dumb",
      },
      cwd: h.base,
      workDir: join(h.base, "work"),
      tmpDir: h.tmp,
      home: h.home,
      emit: (e) => {
        h.events.push(e);
        h.onEvent?.(e);
      },
      onEnvFile: (path, content) => h.envFileCopies.push({ path, content: content.toString("latin1") }),
    },
    startShell,
  );
  h.runners.push(runner);
  return runner;
}

async function writeHook(name: string, body: string): Promise<string> {
  const path = join(h.home, name);
  await writeFile(path, body);
  await chmod(path, 0o755);
  return path;
}

function waitForEvent(pred: (e: JobLogEvent) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const previous = h.onEvent;
    h.onEvent = (e) => {
      previous?.(e);
      if (pred(e)) resolve();
    };
  });
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe("JobRunner with a real bash: §5.11 examples", () => {
  it("Example A: passing job with epilogues", async () => {
    const runner = makeRunner(
      request({
        env_vars: [
          { name: "A", value: b64("VALUE_A") },
          { name: "B", value: b64("VALUE_B") },
        ],
        commands: cmds("echo -n $A", "echo -n $C"),
        epilogue_always_commands: cmds("echo -n $SEMAPHORE_JOB_RESULT"),
        epilogue_on_pass_commands: cmds("echo -n 'On pass'"),
        epilogue_on_fail_commands: cmds("echo -n 'On fail'"),
      }),
    );
    expect(await runner.run()).toBe<JobResult>("passed");
    expectWellFormed(h.events);
    expect(h.events.filter((e) => e.event === "cmd_output").map((e) => e.output).slice(0, 2)).toEqual([
      "Exporting A\n",
      "Exporting B\n",
    ]);
    expectSequence(h.events, [
      "job_started",
      `started(${ENV})`,
      "out(Exporting A\nExporting B\n)",
      `finished(${ENV}, 0)`,
      ...FILES_OK,
      "started(echo -n $A)",
      "out(VALUE_A)",
      "finished(echo -n $A, 0)",
      "started(echo -n $C)",
      "finished(echo -n $C, 0)",
      ...RESULT_EXPORT(0),
      "started(echo -n $SEMAPHORE_JOB_RESULT)",
      "out(passed)",
      "finished(echo -n $SEMAPHORE_JOB_RESULT, 0)",
      "started(echo -n 'On pass')",
      "out(On pass)",
      "finished(echo -n 'On pass', 0)",
      "job_finished(passed)",
    ]);
  });

  it("Example A with agent env-vars: sorted together, agent values override job values", async () => {
    const runner = makeRunner(
      request({
        env_vars: [
          { name: "A", value: b64("VALUE_A") },
          { name: "B", value: b64("VALUE_B") },
        ],
        commands: cmds("echo -n $A-$B-$IMPORTANT_HOST_VAR_A"),
        epilogue_always_commands: cmds("echo -n $IMPORTANT_HOST_VAR_B"),
      }),
      {
        envVars: [
          { name: "IMPORTANT_HOST_VAR_B", value: "it's $HOME" },
          { name: "IMPORTANT_HOST_VAR_A", value: "host_a" },
          { name: "B", value: "FROM_AGENT" },
        ],
      },
    );
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, [
      "job_started",
      `started(${ENV})`,
      "out(Exporting A\nExporting B\nExporting IMPORTANT_HOST_VAR_A\nExporting IMPORTANT_HOST_VAR_B\n)",
      `finished(${ENV}, 0)`,
      ...FILES_OK,
      "started(echo -n $A-$B-$IMPORTANT_HOST_VAR_A)",
      "out(VALUE_A-FROM_AGENT-host_a)",
      "finished(echo -n $A-$B-$IMPORTANT_HOST_VAR_A, 0)",
      ...RESULT_EXPORT(0),
      "started(echo -n $IMPORTANT_HOST_VAR_B)",
      "out(it's $HOME)",
      "finished(echo -n $IMPORTANT_HOST_VAR_B, 0)",
      "job_finished(passed)",
    ]);
    const separate = h.events.filter((e) => e.event === "cmd_output").slice(0, 4);
    expect(separate.map((e) => (e.event === "cmd_output" ? e.output : ""))).toEqual([
      "Exporting A\n",
      "Exporting B\n",
      "Exporting IMPORTANT_HOST_VAR_A\n",
      "Exporting IMPORTANT_HOST_VAR_B\n",
    ]);
  });

  it("Example B: failing job runs epilogue-always and on-fail", async () => {
    const runner = makeRunner(
      request({
        commands: cmds("false"),
        epilogue_always_commands: cmds("echo Hello Epilogue $SEMAPHORE_JOB_RESULT"),
        epilogue_on_pass_commands: cmds("echo Hello On Pass Epilogue $SEMAPHORE_JOB_RESULT"),
        epilogue_on_fail_commands: cmds("echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT"),
      }),
    );
    expect(await runner.run()).toBe("failed");
    expectWellFormed(h.events);
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(false)",
      "finished(false, 1)",
      ...RESULT_EXPORT(0),
      "started(echo Hello Epilogue $SEMAPHORE_JOB_RESULT)",
      "out(Hello Epilogue failed\n)",
      "finished(echo Hello Epilogue $SEMAPHORE_JOB_RESULT, 0)",
      "started(echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT)",
      "out(Hello On Fail Epilogue failed\n)",
      "finished(echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT, 0)",
      "job_finished(failed)",
    ]);
  });

  it("unknown command: exit code 127 with bash's text, remaining commands skipped", async () => {
    const runner = makeRunner(request({ commands: cmds("badcommand", "echo never") }));
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(badcommand)",
      /^out\(.*badcommand: command not found\n\)$/s,
      "finished(badcommand, 127)",
      ...RESULT_EXPORT(0),
      "job_finished(failed)",
    ]);
  });

  it("Example C: stop during `sleep 60` ends the command with 1 and the job `stopped`", async () => {
    const runner = makeRunner(
      request({ commands: cmds("sleep 60", "echo -n hello"), epilogue_always_commands: cmds("echo always") }),
    );
    const sleeping = waitForEvent((e) => e.event === "cmd_started" && e.directive === "sleep 60");
    const done = runner.run();
    await sleeping;
    await new Promise((r) => setTimeout(r, 1000));
    expect(runner.envFiles).toHaveLength(1);
    const envFile = runner.envFiles[0]!;
    runner.stop();
    expect(await done).toBe("stopped"); // without waiting for `sleep 60`: the test's timeout bounds it
    expectWellFormed(h.events);
    expectSequence(h.events, ["job_started", ...ENV_OK, ...FILES_OK, "started(sleep 60)", "finished(sleep 60, 1)", "job_finished(stopped)"]);
    // stop-job removes the env files at once, not only at close().
    expect(runner.envFiles).toEqual([]);
    expect(await exists(envFile)).toBe(false);
    expect(runner.recordedEnvFiles).toEqual([envFile]);
  });

  it("Example C: stop during the epilogue makes the result `stopped`", async () => {
    const runner = makeRunner(
      request({
        commands: cmds("echo -n hello"),
        epilogue_always_commands: cmds("sleep 60", "echo after"),
        epilogue_on_pass_commands: cmds("echo on pass"),
      }),
    );
    h.onEvent = (e) => {
      if (e.event === "cmd_started" && e.directive === "sleep 60") setTimeout(() => runner.stop(), 300);
    };
    expect(await runner.run()).toBe("stopped");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(echo -n hello)",
      "out(hello)",
      "finished(echo -n hello, 0)",
      ...RESULT_EXPORT(0),
      "started(sleep 60)",
      "finished(sleep 60, 1)",
      "job_finished(stopped)",
    ]);
  });

  it("Example D: exit code 130 with SEMAPHORE_JOB_RESULT=passed", async () => {
    const runner = makeRunner(
      request({
        commands: cmds("export SEMAPHORE_JOB_RESULT=passed", "echo 'exit 130' | sh", "echo -n hello"),
        epilogue_always_commands: cmds("echo never"),
      }),
    );
    expect(await runner.run()).toBe("passed");
    expectWellFormed(h.events);
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(export SEMAPHORE_JOB_RESULT=passed)",
      "finished(export SEMAPHORE_JOB_RESULT=passed, 0)",
      "started(echo 'exit 130' | sh)",
      "finished(echo 'exit 130' | sh, 130)",
      "started(Checking job result)",
      "out(SEMAPHORE_JOB_RESULT=passed - stopping job and marking it as passed)",
      "finished(Checking job result, 0)",
      "job_finished(passed)",
    ]);
    const check = h.events.filter((e) => e.event === "cmd_finished" && e.directive === "Checking job result");
    expect(check).toHaveLength(1);
    const finished = check[0]!;
    if (finished.event !== "cmd_finished") return;
    expect(finished.started_at).toBe(finished.finished_at);
    // The only output event of the step is the one line, without a newline.
    expect(h.events.filter((e) => e.event === "cmd_output")).toHaveLength(1);
  });

  it("Example D: exit code 130 with SEMAPHORE_JOB_RESULT=failed", async () => {
    const runner = makeRunner(
      request({ commands: cmds("export SEMAPHORE_JOB_RESULT=failed", "echo 'exit 130' | sh", "echo -n hello") }),
    );
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(export SEMAPHORE_JOB_RESULT=failed)",
      "finished(export SEMAPHORE_JOB_RESULT=failed, 0)",
      "started(echo 'exit 130' | sh)",
      "finished(echo 'exit 130' | sh, 130)",
      "started(Checking job result)",
      "out(SEMAPHORE_JOB_RESULT=failed - stopping job and marking it as failed)",
      "finished(Checking job result, 0)",
      "job_finished(failed)",
    ]);
  });

  it("Example D: exit code 130 without SEMAPHORE_JOB_RESULT is `stopped`; post-job hook still runs", async () => {
    const hook = await writeHook("post.sh", "echo post hook ran\n");
    const runner = makeRunner(request({ commands: cmds("echo 'exit 130' | sh", "echo -n hello") }), {
      postJobHookPath: hook,
    });
    expect(await runner.run()).toBe("stopped");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(echo 'exit 130' | sh)",
      "finished(echo 'exit 130' | sh, 130)",
      "started(Checking job result)",
      "out(SEMAPHORE_JOB_RESULT is set to '' - stopping job and marking it as stopped)",
      "finished(Checking job result, 0)",
      `started(${POST})`,
      `out(Running: bash ${hook}\npost hook ran\n)`,
      `finished(${POST}, 0)`,
      "job_finished(stopped)",
    ]);
    // Unlike Go (§5.8.3 deviation) the env file is removed by close() as usual.
    const [envFile] = runner.recordedEnvFiles;
    await runner.close();
    expect(await exists(envFile!)).toBe(false);
  });

  it("Example E: failing pre-job hook with fail-on-pre-job-hook-error fails the job, epilogues run", async () => {
    const hook = await writeHook("hook.sh", "badcommand\n");
    const runner = makeRunner(
      request({
        commands: cmds("echo never"),
        epilogue_always_commands: cmds("echo always"),
        epilogue_on_fail_commands: cmds("echo -n $SEMAPHORE_JOB_RESULT"),
      }),
      { preJobHookPath: hook, failOnPreJobHookError: true },
    );
    expect(await runner.run()).toBe("failed");
    expectWellFormed(h.events);
    const escaped = hook.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      `started(${PRE})`,
      new RegExp(`^out\\(Running: bash ${escaped}\\n${WARN_FAIL.replace(/\./g, "\\.")}.*badcommand: command not found\\n\\)$`, "s"),
      `finished(${PRE}, 127)`,
      ...RESULT_EXPORT(0),
      "started(echo always)",
      "out(always\n)",
      "finished(echo always, 0)",
      "started(echo -n $SEMAPHORE_JOB_RESULT)",
      "out(failed)",
      "finished(echo -n $SEMAPHORE_JOB_RESULT, 0)",
      "job_finished(failed)",
    ]);
    const outputs = h.events.filter((e) => e.event === "cmd_output").map((e) => (e.event === "cmd_output" ? e.output : ""));
    expect(outputs.slice(0, 2)).toEqual([`Running: bash ${hook}\n`, WARN_FAIL]);
  });

  it("Example E: failing pre-job hook without the flag proceeds with the commands", async () => {
    const hook = await writeHook("hook.sh", "exit 3\n");
    const runner = makeRunner(request({ commands: cmds("echo -n ran") }), { preJobHookPath: hook });
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      `started(${PRE})`,
      `out(Running: bash ${hook}\n${WARN_PROCEED})`,
      `finished(${PRE}, 3)`,
      "started(echo -n ran)",
      "out(ran)",
      "finished(echo -n ran, 0)",
      ...RESULT_EXPORT(0),
      "job_finished(passed)",
    ]);
  });

  it("Example E: successful pre-job hook sees the job env; post-job hook runs after the epilogues", async () => {
    const pre = await writeHook("pre.sh", 'echo "pre sees $A"\n');
    const post = await writeHook("post.sh", 'echo "post sees $SEMAPHORE_JOB_RESULT"\nexit 5\n');
    const runner = makeRunner(
      request({
        env_vars: [{ name: "A", value: b64("job value") }],
        commands: cmds("echo -n cmd"),
        epilogue_always_commands: cmds("echo -n epi"),
      }),
      { preJobHookPath: pre, postJobHookPath: post, failOnPreJobHookError: true },
    );
    // A failing post-job hook never changes the result.
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, [
      "job_started",
      `started(${ENV})`,
      "out(Exporting A\n)",
      `finished(${ENV}, 0)`,
      ...FILES_OK,
      `started(${PRE})`,
      `out(Running: bash ${pre}\n${WARN_FAIL}pre sees job value\n)`,
      `finished(${PRE}, 0)`,
      "started(echo -n cmd)",
      "out(cmd)",
      "finished(echo -n cmd, 0)",
      ...RESULT_EXPORT(0),
      "started(echo -n epi)",
      "out(epi)",
      "finished(echo -n epi, 0)",
      `started(${POST})`,
      `out(Running: bash ${post}\npost sees passed\n)`,
      `finished(${POST}, 5)`,
      "job_finished(passed)",
    ]);
  });

  it("Example E: source-pre-job-hook keeps the hook's exports and cwd", async () => {
    const hook = await writeHook("pre.sh", "export FROM_HOOK=yes\ncd /\n");
    const runner = makeRunner(request({ commands: cmds('echo -n "$FROM_HOOK $PWD"') }), {
      preJobHookPath: hook,
      sourcePreJobHook: true,
    });
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      `started(${PRE})`,
      `out(Running: source ${hook}\n${WARN_PROCEED})`,
      `finished(${PRE}, 0)`,
      'started(echo -n "$FROM_HOOK $PWD")',
      "out(yes /)",
      'finished(echo -n "$FROM_HOOK $PWD", 0)',
      ...RESULT_EXPORT(0),
      "job_finished(passed)",
    ]);
  });

  it("Example F: a command that kills the shell; later steps fail with 1 on the dead shell", async () => {
    const runner = makeRunner(
      request({ commands: cmds("sleep infinity &", "exit 1", "echo never"), epilogue_on_fail_commands: cmds("echo epi") }),
    );
    expect(await runner.run()).toBe("failed");
    expectWellFormed(h.events);
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(sleep infinity &)",
      "finished(sleep infinity &, 0)",
      "started(exit 1)",
      "finished(exit 1, 1)",
      ...RESULT_EXPORT(1),
      // Go still logs the epilogue commands; each fails at once on the dead shell.
      "started(echo epi)",
      "finished(echo epi, 1)",
      "job_finished(failed)",
    ]);
  });

  it("Example F variant: `set -e` then `false`", async () => {
    const runner = makeRunner(request({ commands: cmds("set -e", "false", "echo never") }));
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(set -e)",
      "finished(set -e, 0)",
      "started(false)",
      "finished(false, 1)",
      ...RESULT_EXPORT(1),
      "job_finished(failed)",
    ]);
  });

  it("Example G: an aliased command logs `Running: <directive>` first", async () => {
    const runner = makeRunner(
      request({ commands: [{ directive: "echo -n 'hello world'", alias: "Display Hello World" }] }),
    );
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(Display Hello World)",
      "out(Running: echo -n 'hello world'\nhello world)",
      "finished(Display Hello World, 0)",
      ...RESULT_EXPORT(0),
      "job_finished(passed)",
    ]);
    const outputs = h.events.filter((e) => e.event === "cmd_output");
    expect(outputs[0]).toMatchObject({ output: "Running: echo -n 'hello world'\n" });
  });
});

describe("JobRunner failure paths", () => {
  it("bad base64 in env_vars: env step 1 without Exporting lines, files and commands skipped", async () => {
    const runner = makeRunner(
      request({
        env_vars: [
          { name: "GOOD", value: b64("fine") },
          { name: "BAD", value: "abc" },
        ],
        commands: cmds("echo never"),
        epilogue_always_commands: cmds("echo -n $SEMAPHORE_JOB_RESULT"),
      }),
    );
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, [
      "job_started",
      `started(${ENV})`,
      "out(env_vars[1].value (BAD): not valid base64\n)",
      `finished(${ENV}, 1)`,
      ...RESULT_EXPORT(0),
      "started(echo -n $SEMAPHORE_JOB_RESULT)",
      "out(failed)",
      "finished(echo -n $SEMAPHORE_JOB_RESULT, 0)",
      "job_finished(failed)",
    ]);
    // Only the SEMAPHORE_JOB_RESULT file was written.
    expect(runner.recordedEnvFiles).toHaveLength(1);
  });

  it("bad file mode: file written 0644, error line, job failed", async () => {
    const runner = makeRunner(
      request({
        files: [
          { path: "ok/one.txt", content: b64("one"), mode: "0600" },
          { path: "two.txt", content: b64("two"), mode: "+x" },
        ],
        commands: cmds("echo never"),
      }),
    );
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      `started(${FILES})`,
      `out(Injecting ${h.home}/ok/one.txt with file mode 0600\nInjecting ${h.home}/two.txt with file mode +x\nbad file permission '+x'\n)`,
      `finished(${FILES}, 1)`,
      ...RESULT_EXPORT(0),
      "job_finished(failed)",
    ]);
    expect((await stat(join(h.home, "ok/one.txt"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(h.home, "two.txt"))).mode & 0o777).toBe(0o644);
  });

  it("injected files are visible to the commands", async () => {
    const runner = makeRunner(
      request({
        files: [{ path: "~/conf/app.yml", content: b64("key: value\n"), mode: "0640" }],
        commands: cmds("cat conf/app.yml", "stat -c %a conf/app.yml conf"),
      }),
    );
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      `started(${FILES})`,
      `out(Injecting ${h.home}/conf/app.yml with file mode 0640\n)`,
      `finished(${FILES}, 0)`,
      "started(cat conf/app.yml)",
      "out(key: value\n)",
      "finished(cat conf/app.yml, 0)",
      "started(stat -c %a conf/app.yml conf)",
      "out(640\n750\n)",
      "finished(stat -c %a conf/app.yml conf, 0)",
      ...RESULT_EXPORT(0),
      "job_finished(passed)",
    ]);
  });

  it("no commands: passed, SEMAPHORE_JOB_RESULT still exported", async () => {
    const runner = makeRunner(request({}));
    expect(await runner.run()).toBe("passed");
    expectSequence(h.events, ["job_started", ...ENV_OK, ...FILES_OK, ...RESULT_EXPORT(0), "job_finished(passed)"]);
  });

  it("a shell that fails to start: env/files skipped, post-job hook exit 1, failed", async () => {
    const hook = await writeHook("post.sh", "echo never\n");
    const failing: StartShell = (o) => startShellSession({ ...o, shell: join(h.base, "no-such-bash") });
    const runner = makeRunner(request({ commands: cmds("echo never") }), { postJobHookPath: hook }, failing);
    expect(await runner.run()).toBe("failed");
    expectWellFormed(h.events);
    expectSequence(h.events, [
      "job_started",
      `started(${POST})`,
      `out(Running: bash ${hook}\n)`,
      `finished(${POST}, 1)`,
      "job_finished(failed)",
    ]);
    expect(runner.shellStartError).not.toBeNull();
    expect(runner.recordedEnvFiles).toEqual([]);
  });
});

describe("JobRunner stop-job (§5.9)", () => {
  it("the post-job hook is attempted for a stopped job and logged with exit code 1", async () => {
    const hook = await writeHook("post.sh", "echo never\n");
    const runner = makeRunner(request({ commands: cmds("sleep 60") }), { postJobHookPath: hook });
    h.onEvent = (e) => {
      if (e.event === "cmd_started" && e.directive === "sleep 60") setTimeout(() => runner.stop(), 200);
    };
    expect(await runner.run()).toBe("stopped");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      "started(sleep 60)",
      "finished(sleep 60, 1)",
      `started(${POST})`,
      `out(Running: bash ${hook}\n)`,
      `finished(${POST}, 1)`,
      "job_finished(stopped)",
    ]);
  });

  it("stop before run(): no shell, no user command, post-job hook 1, `stopped`", async () => {
    const hook = await writeHook("post.sh", "echo never\n");
    let starts = 0;
    const counting: StartShell = (o) => {
      starts++;
      return startShellSession(o);
    };
    const runner = makeRunner(request({ commands: cmds("touch ~/ran") }), { postJobHookPath: hook }, counting);
    runner.stop();
    expect(await runner.run()).toBe("stopped");
    expectSequence(h.events, [
      "job_started",
      `started(${POST})`,
      `out(Running: bash ${hook}\n)`,
      `finished(${POST}, 1)`,
      "job_finished(stopped)",
    ]);
    expect(starts).toBe(0);
    expect(await exists(join(h.home, "ran"))).toBe(false);
  });

  it("stop while bash is starting: the new shell is killed and nothing runs", async () => {
    let session: ShellSession | null = null;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: StartShell = async (o) => {
      session = await startShellSession(o);
      await gate;
      return session;
    };
    const runner = makeRunner(request({ commands: cmds("touch ~/ran") }), {}, slow);
    const done = runner.run();
    while (session === null) await new Promise((r) => setTimeout(r, 20));
    runner.stop();
    release();
    expect(await done).toBe("stopped");
    expectSequence(h.events, ["job_started", "job_finished(stopped)"]);
    expect((session as ShellSession | null)?.alive).toBe(false);
    expect(await exists(join(h.home, "ran"))).toBe(false);
  });

  it("Go quirk: a stop during the first env export makes the job `failed`", async () => {
    const runner = makeRunner(request({ env_vars: [{ name: "A", value: b64("1") }], commands: cmds("touch ~/ran") }));
    h.onEvent = (e) => {
      if (e.event === "cmd_output" && e.output === "Exporting A\n") runner.stop();
    };
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, ["job_started", `started(${ENV})`, "out(Exporting A\n)", `finished(${ENV}, 1)`, "job_finished(failed)"]);
    // The env file written after the stop does not survive it.
    expect(runner.recordedEnvFiles).toHaveLength(1);
    expect(runner.envFiles).toEqual([]);
    expect(await exists(runner.recordedEnvFiles[0]!)).toBe(false);
    expect(await exists(join(h.home, "ran"))).toBe(false);
  });

  it("Go quirk: a stop during a fail-on-error pre-job hook makes the job `failed`", async () => {
    const hook = await writeHook("pre.sh", "sleep 60\n");
    const runner = makeRunner(request({ commands: cmds("touch ~/ran") }), {
      preJobHookPath: hook,
      failOnPreJobHookError: true,
    });
    h.onEvent = (e) => {
      if (e.event === "cmd_output" && e.output === WARN_FAIL) setTimeout(() => runner.stop(), 200);
    };
    expect(await runner.run()).toBe("failed");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      `started(${PRE})`,
      `out(Running: bash ${hook}\n${WARN_FAIL})`,
      `finished(${PRE}, 1)`,
      "job_finished(failed)",
    ]);
  });

  it("a stop during a pre-job hook without the flag skips the commands silently: `stopped`", async () => {
    const hook = await writeHook("pre.sh", "sleep 60\n");
    const runner = makeRunner(request({ commands: cmds("touch ~/ran") }), { preJobHookPath: hook });
    h.onEvent = (e) => {
      if (e.event === "cmd_output" && e.output === WARN_PROCEED) setTimeout(() => runner.stop(), 200);
    };
    expect(await runner.run()).toBe("stopped");
    expectSequence(h.events, [
      "job_started",
      ...ENV_OK,
      ...FILES_OK,
      `started(${PRE})`,
      `out(Running: bash ${hook}\n${WARN_PROCEED})`,
      `finished(${PRE}, 1)`,
      "job_finished(stopped)",
    ]);
    expect(await exists(join(h.home, "ran"))).toBe(false);
  });

  it("a stop during the SEMAPHORE_JOB_RESULT export: export 1, epilogues skipped, `stopped`", async () => {
    const runner = makeRunner(request({ commands: cmds("true"), epilogue_always_commands: cmds("echo never") }));
    h.onEvent = (e) => {
      if (e.event === "cmd_output" && e.output === "Exporting SEMAPHORE_JOB_RESULT\n") runner.stop();
    };
    expect(await runner.run()).toBe("stopped");
    expectSequence(h.events, ["job_started", ...ENV_OK, ...FILES_OK, "started(true)", "finished(true, 0)", ...RESULT_EXPORT(1), "job_finished(stopped)"]);
  });

  it("stop() after the end changes nothing and is harmless", async () => {
    const runner = makeRunner(request({ commands: cmds("true") }));
    expect(await runner.run()).toBe("passed");
    const count = h.events.length;
    runner.stop();
    runner.stop();
    expect(await runner.run()).toBe("passed");
    expect(h.events).toHaveLength(count);
    expect(runner.envFiles).toEqual([]);
  });
});

describe("JobRunner env files and close()", () => {
  it("env files exist with mode 0600 during the job and are gone after close()", async () => {
    const runner = makeRunner(
      request({
        env_vars: [{ name: "SECRET", value: b64("it's a secret") }],
        commands: cmds("echo $$"),
      }),
      { envVars: [{ name: "HOST", value: "h" }] },
    );
    let duringJob: string[] = [];
    let modes: number[] = [];
    let pid = 0;
    h.onEvent = (e) => {
      if (e.event === "cmd_started" && e.directive === "echo $$") duringJob = runner.envFiles;
    };
    expect(await runner.run()).toBe("passed");
    for (const e of h.events) if (e.event === "cmd_output" && /^\d+\n$/.test(e.output)) pid = Number(e.output);
    expect(pid).toBeGreaterThan(0);

    expect(duringJob).toHaveLength(1);
    const files = runner.envFiles;
    expect(files).toHaveLength(2);
    expect(files[0]).toBe(duringJob[0]);
    expect(runner.recordedEnvFiles).toEqual(files);
    for (const f of files) {
      expect(f.startsWith(join(h.tmp, ".env-"))).toBe(true);
      modes.push((await stat(f)).mode & 0o777);
    }
    expect(modes).toEqual([0o600, 0o600]);
    const n = files.map((f) => BigInt(f.slice(f.lastIndexOf("-") + 1)));
    expect(n[1]! > n[0]!).toBe(true);
    expect(await readFile(files[0]!, "utf8")).toBe(`export HOST=h\nexport SECRET='it'"'"'s a secret'\n`);
    expect(await readFile(files[1]!, "utf8")).toBe("export SEMAPHORE_JOB_RESULT=passed\n");
    expect(runner.jobEnvFiles).toEqual({ jobId: "job-1", paths: files });

    // bash is alive until close().
    expect(() => process.kill(pid, 0)).not.toThrow();
    await runner.close();
    await runner.close();
    for (const f of files) expect(await exists(f)).toBe(false);
    expect(runner.envFiles).toEqual([]);
    expect(runner.recordedEnvFiles).toEqual(files);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe("JobRunner env var names that are not shell identifiers", () => {
  // Each would run a command if it reached `export NAME=…` unquoted. The marker file says whether one did.
  const hostile = (marker: string): Array<[string, string]> => [
    ["a command after ';'", `X=1; touch ${marker}; Y`],
    ["a command substitution", `$(touch ${marker})`],
    ["a newline", `A\ntouch ${marker}\nB`],
    ["backticks", `\`touch ${marker}\``],
    ["a leading digit", "1ABC"],
    ["an empty name", ""],
    ["a terminal escape", "A\x1b]0;pwned\x07"],
  ];
  for (const [title, name] of hostile("MARKER")) {
    it(`${title}: the env step fails with 1 and names the field; nothing runs, no env file has it`, async () => {
      const marker = join(h.base, "pwned");
      const hostileName = name.replaceAll("MARKER", marker);
      const runner = makeRunner(
        request({
          env_vars: [
            { name: "GOOD", value: b64("fine") },
            { name: "ALSO_GOOD", value: b64("fine") },
            { name: hostileName, value: b64("v") },
          ],
          commands: cmds(`touch ${marker}-command`),
          epilogue_always_commands: cmds("echo -n $SEMAPHORE_JOB_RESULT"),
        }),
      );
      expect(await runner.run()).toBe("failed");
      expectSequence(h.events, [
        "job_started",
        `started(${ENV})`,
        `out(env_vars[2].name: ${JSON.stringify(hostileName)} is not a valid shell variable name\n)`,
        `finished(${ENV}, 1)`,
        ...RESULT_EXPORT(0),
        "started(echo -n $SEMAPHORE_JOB_RESULT)",
        "out(failed)",
        "finished(echo -n $SEMAPHORE_JOB_RESULT, 0)",
        "job_finished(failed)",
      ]);
      // One cmd_output event with the reason, no Exporting lines.
      const outputs = h.events.filter((e) => e.event === "cmd_output").map((e) => (e as { output: string }).output);
      expect(outputs.filter((o) => o.includes("not a valid shell variable name"))).toHaveLength(1);
      expect(outputs.filter((o) => o.startsWith("Exporting ") && o !== "Exporting SEMAPHORE_JOB_RESULT\n")).toEqual([]);
      expect(await exists(marker)).toBe(false);
      expect(await exists(`${marker}-command`)).toBe(false);
      // Only the SEMAPHORE_JOB_RESULT file was written, and only it reached the kept-copy callback.
      expect(runner.recordedEnvFiles).toHaveLength(1);
      expect(h.envFileCopies.map((c) => c.content)).toEqual(["export SEMAPHORE_JOB_RESULT=failed\n"]);
      for (const path of runner.envFiles) expect(await readFile(path, "utf8")).toBe("export SEMAPHORE_JOB_RESULT=failed\n");
    });
  }

  it("an agent env-vars name that is not an identifier (config built without validation) fails the step too", async () => {
    const marker = join(h.base, "pwned-agent");
    const runner = makeRunner(request({ commands: cmds("echo never") }), {
      envVars: [{ name: `Z=1; touch ${marker}; W`, value: "v" }],
    });
    expect(await runner.run()).toBe("failed");
    const reasons = h.events.filter((e) => e.event === "cmd_output" && e.output.includes("not a valid shell variable name"));
    expect(reasons).toEqual([
      expect.objectContaining({ output: `env-vars[0]: ${JSON.stringify(`Z=1; touch ${marker}; W`)} is not a valid shell variable name\n` }),
    ]);
    expect(await exists(marker)).toBe(false);
    expect(h.envFileCopies.map((c) => c.content)).toEqual(["export SEMAPHORE_JOB_RESULT=failed\n"]);
  });
});
