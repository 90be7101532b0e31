// Job semantics through the real hub and agent processes: commands, results, epilogues, exit code 130,
// stop-job, output encoding and volume (spec §5.3–§5.4, §5.8–§5.9, §5.11 examples A–D, F, G).
// One hub and one agent for the whole file; the jobs run one after another.
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { job, SANDBOX_LEVELS, summarize, type AgentProcess, type HubProcess } from "../helpers/processes.js";
import {
  EMPTY_PREAMBLE,
  envFilesIn,
  expectNoViolations,
  isAlive,
  isRunning,
  jobProcesses,
  outputOf,
  rawOutputs,
  resultExport,
  runJob,
  useHubAndAgent,
  waitForCommandStart,
  waitUntil,
  withoutTimes,
} from "../helpers/jobs.js";

describe.each(SANDBOX_LEVELS)("job semantics: commands, results, epilogues, stop, output (sandbox: %s)", (sandbox) => {
  let hub: HubProcess;
  let agent: AgentProcess;

  useHubAndAgent((h, a) => {
    hub = h;
    agent = a;
  }, sandbox);

  it("Example A: a passing job runs epilogue-always and epilogue-on-pass with SEMAPHORE_JOB_RESULT=passed", async () => {
    const { view, events } = await runJob(
      hub,
      job({
        env: { A: "VALUE_A", B: "VALUE_B" },
        commands: ["echo -n $A", "echo -n $C"],
        always: ["echo -n $SEMAPHORE_JOB_RESULT"],
        onPass: ["echo -n 'On pass'"],
        onFail: ["echo -n 'On fail'"],
      }),
    );
    expect(view.result).toBe("passed");
    expect(summarize(events)).toEqual([
      "job_started",
      "started(Exporting environment variables)",
      'out("Exporting A\\nExporting B\\n")',
      "finished(Exporting environment variables, 0)",
      "started(Injecting Files)",
      "finished(Injecting Files, 0)",
      "started(echo -n $A)",
      'out("VALUE_A")',
      "finished(echo -n $A, 0)",
      "started(echo -n $C)",
      "finished(echo -n $C, 0)",
      ...resultExport(),
      "started(echo -n $SEMAPHORE_JOB_RESULT)",
      'out("passed")',
      "finished(echo -n $SEMAPHORE_JOB_RESULT, 0)",
      "started(echo -n 'On pass')",
      'out("On pass")',
      "finished(echo -n 'On pass', 0)",
      "job_finished(passed)",
    ]);
    // Rows 3–4 of Example A: one event per exported name.
    expect(rawOutputs(events, "Exporting environment variables")).toEqual(["Exporting A\n", "Exporting B\n"]);
    await expectNoViolations(hub);
  });

  it("Example B: a failing command skips the rest, fails the job, and runs epilogue-always and epilogue-on-fail", async () => {
    const { view, events } = await runJob(
      hub,
      job({
        commands: ["false", "echo never"],
        always: ["echo Hello Epilogue $SEMAPHORE_JOB_RESULT"],
        onPass: ["echo Hello On Pass Epilogue $SEMAPHORE_JOB_RESULT"],
        onFail: ["echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT"],
      }),
    );
    expect(view.result).toBe("failed");
    // The wire form of Example B, event for event (each short output is exactly one event).
    expect(events.map(withoutTimes)).toEqual([
      { event: "job_started" },
      { event: "cmd_started", directive: "Exporting environment variables" },
      { event: "cmd_finished", directive: "Exporting environment variables", exit_code: 0 },
      { event: "cmd_started", directive: "Injecting Files" },
      { event: "cmd_finished", directive: "Injecting Files", exit_code: 0 },
      { event: "cmd_started", directive: "false" },
      { event: "cmd_finished", directive: "false", exit_code: 1 },
      { event: "cmd_started", directive: "Exporting environment variables" },
      { event: "cmd_output", output: "Exporting SEMAPHORE_JOB_RESULT\n" },
      { event: "cmd_finished", directive: "Exporting environment variables", exit_code: 0 },
      { event: "cmd_started", directive: "echo Hello Epilogue $SEMAPHORE_JOB_RESULT" },
      { event: "cmd_output", output: "Hello Epilogue failed\n" },
      { event: "cmd_finished", directive: "echo Hello Epilogue $SEMAPHORE_JOB_RESULT", exit_code: 0 },
      { event: "cmd_started", directive: "echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT" },
      { event: "cmd_output", output: "Hello On Fail Epilogue failed\n" },
      { event: "cmd_finished", directive: "echo Hello On Fail Epilogue $SEMAPHORE_JOB_RESULT", exit_code: 0 },
      { event: "job_finished", result: "failed" },
    ]);
    for (const e of events) {
      expect(Number.isInteger(e.timestamp)).toBe(true);
      if (e.event === "cmd_finished") {
        expect(Number.isInteger(e.started_at) && Number.isInteger(e.finished_at)).toBe(true);
        expect(e.started_at).toBeLessThanOrEqual(e.finished_at);
      }
    }
    await expectNoViolations(hub);
  });

  it("epilogue failures never change the result; a failing epilogue-always does not prevent epilogue-on-pass", async () => {
    const { view, events } = await runJob(
      hub,
      job({
        commands: ["true"],
        always: ["echo -n first", "exit_code_7() { return 7; }; exit_code_7", "echo -n skipped"],
        onPass: ["echo -n on-pass $SEMAPHORE_JOB_RESULT", "false", "echo -n skipped too"],
        onFail: ["echo -n on-fail"],
      }),
    );
    expect(view.result).toBe("passed");
    expect(summarize(events)).toEqual([
      ...EMPTY_PREAMBLE,
      "started(true)",
      "finished(true, 0)",
      ...resultExport(),
      "started(echo -n first)",
      'out("first")',
      "finished(echo -n first, 0)",
      "started(exit_code_7() { return 7; }; exit_code_7)",
      "finished(exit_code_7() { return 7; }; exit_code_7, 7)",
      "started(echo -n on-pass $SEMAPHORE_JOB_RESULT)",
      'out("on-pass passed")',
      "finished(echo -n on-pass $SEMAPHORE_JOB_RESULT, 0)",
      "started(false)",
      "finished(false, 1)",
      "job_finished(passed)",
    ]);
    await expectNoViolations(hub);
  });

  it("an unknown command ends with 127 and bash's 'command not found' text, like Example B", async () => {
    const { view, events } = await runJob(hub, job({ commands: ["badcommand", "echo never"], onFail: ["echo -n on-fail"] }));
    expect(view.result).toBe("failed");
    expect(summarize(events)).toEqual([
      ...EMPTY_PREAMBLE,
      "started(badcommand)",
      'out("bash: badcommand: command not found\\n")',
      "finished(badcommand, 127)",
      ...resultExport(),
      "started(echo -n on-fail)",
      'out("on-fail")',
      "finished(echo -n on-fail, 0)",
      "job_finished(failed)",
    ]);
    await expectNoViolations(hub);
  });

  describe("exit code 130 (Example D)", () => {
    const checks = [
      {
        title: "SEMAPHORE_JOB_RESULT=passed marks the job passed",
        setup: ["export SEMAPHORE_JOB_RESULT=passed"],
        text: "SEMAPHORE_JOB_RESULT=passed - stopping job and marking it as passed",
        result: "passed",
      },
      {
        title: "SEMAPHORE_JOB_RESULT=failed marks the job failed",
        setup: ["export SEMAPHORE_JOB_RESULT=failed"],
        text: "SEMAPHORE_JOB_RESULT=failed - stopping job and marking it as failed",
        result: "failed",
      },
      {
        // Runs after the jobs above on the same agent: each job has a fresh shell, nothing leaks.
        title: "SEMAPHORE_JOB_RESULT unset marks the job stopped",
        setup: [],
        text: "SEMAPHORE_JOB_RESULT is set to '' - stopping job and marking it as stopped",
        result: "stopped",
      },
    ] as const;

    for (const check of checks) {
      it(check.title, async () => {
        const { view, events } = await runJob(
          hub,
          job({
            commands: [...check.setup, "echo 'exit 130' | sh", "echo -n hello"],
            // Skipped in the 130 path: no SEMAPHORE_JOB_RESULT export, no epilogues.
            always: ["echo -n always"],
            onPass: ["echo -n on-pass"],
            onFail: ["echo -n on-fail"],
          }),
        );
        expect(view.result).toBe(check.result);
        expect(summarize(events)).toEqual([
          ...EMPTY_PREAMBLE,
          ...check.setup.flatMap((c) => [`started(${c})`, `finished(${c}, 0)`]),
          "started(echo 'exit 130' | sh)",
          "finished(echo 'exit 130' | sh, 130)",
          "started(Checking job result)",
          `out(${JSON.stringify(check.text)})`,
          "finished(Checking job result, 0)",
          `job_finished(${check.result})`,
        ]);
        // Exactly one output event, no trailing newline; started_at == finished_at.
        expect(rawOutputs(events, "Checking job result")).toEqual([check.text]);
        const finished = events.find((e) => e.event === "cmd_finished" && e.directive === "Checking job result");
        expect(finished && finished.event === "cmd_finished" && finished.started_at === finished.finished_at).toBe(true);
        // The .env-* files are removed in this path too (deviation OK from the Go agent's quirk).
        expect(envFilesIn(agent.jobTmp())).toEqual([]);
        await expectNoViolations(hub);
      });
    }

    it("a foreground process killed by SIGINT ends its command with 130 too, instead of hanging the job", async () => {
      // Interactive bash abandons the rest of the command line when a foreground job dies of
      // SIGINT, so the end marker never comes (the Go agent hangs here until the job is stopped).
      const killed = "bash -c 'kill -INT $$'; echo never";
      const { view, events } = await runJob(
        hub,
        job({ commands: ["export SEMAPHORE_JOB_RESULT=failed", killed, "echo -n never"], always: ["echo -n always"] }),
        15_000,
      );
      expect(view.result).toBe("failed");
      const text = "SEMAPHORE_JOB_RESULT=failed - stopping job and marking it as failed";
      expect(summarize(events)).toEqual([
        ...EMPTY_PREAMBLE,
        "started(export SEMAPHORE_JOB_RESULT=failed)",
        "finished(export SEMAPHORE_JOB_RESULT=failed, 0)",
        `started(${killed})`,
        // bash's own newline for the interrupted line; "never" is not printed.
        'out("\\n")',
        `finished(${killed}, 130)`,
        "started(Checking job result)",
        `out(${JSON.stringify(text)})`,
        "finished(Checking job result, 0)",
        "job_finished(failed)",
      ]);
      await expectNoViolations(hub);
    });
  });

  describe("stop-job", () => {
    it("Example C: stopping mid-command ends the command with 1, the job stopped, and kills the job's whole process tree", async () => {
      const pidFile = join(agent.home, "job.pids");
      const bg = "sleep 1000 & echo $! >> ~/job.pids";
      const trapping = "(trap '' TERM HUP; sleep 1000) & echo $! >> ~/job.pids";
      const fg = "echo $$ >> ~/job.pids; trap '' TERM HUP; sleep 1000";
      const id = await hub.api.schedule(job({ commands: [bg, trapping, fg, "echo -n never"], always: ["echo -n never"] }));
      await waitForCommandStart(hub, id, fg);
      // The background sleep, the trapping subshell and bash itself wrote their PIDs.
      const written = await waitUntil(() => {
        const pids = existsSync(pidFile) ? readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number) : [];
        return pids.length === 3 ? pids : null;
      }, 10_000, "three PIDs in ~/job.pids");
      // Everything the job runs right now: bash, both background sleeps, the subshell, the
      // foreground sleep (the harness gives the agent its own HOME, so HOME identifies them).
      const running = await waitUntil(() => {
        const procs = jobProcesses(agent);
        return procs.filter((p) => p.cmdline === "sleep 1000").length === 3 ? procs : null;
      }, 10_000, "three sleep 1000 processes of the job");
      // Under strict the job has its own PID namespace: what it echoes are PIDs of that namespace,
      // so the host's view (found by HOME) is what is checked there.
      const hostPids = sandbox === "strict" ? [] : written;
      const pids = [...new Set([...hostPids, ...running.map((p) => p.pid)])];
      for (const pid of hostPids) expect(isAlive(pid)).toBe(true);
      expect(envFilesIn(agent.jobTmp()).length).toBe(1);

      await hub.api.stop(id);
      const view = await hub.api.waitForJob(id, "finished");
      expect(view.result).toBe("stopped");
      const events = await hub.api.events(id);
      expect(summarize(events)).toEqual([
        ...EMPTY_PREAMBLE,
        `started(${bg})`,
        `finished(${bg}, 0)`,
        `started(${trapping})`,
        `finished(${trapping}, 0)`,
        `started(${fg})`,
        `finished(${fg}, 1)`,
        "job_finished(stopped)",
      ]);
      // Nothing of the job is left running: not bash, not the background children, not the
      // processes that ignore SIGTERM and SIGHUP.
      // At `finished` none of them runs any more: each is gone or a zombie (killed, waiting for
      // init to reap it; in some sandboxes PID 1 reaps only about once a second).
      expect(pids.filter(isRunning).map((pid) => running.find((p) => p.pid === pid)?.cmdline ?? String(pid))).toEqual([]);
      // ... and once reaped, process.kill(pid, 0) answers ESRCH for every one of them.
      await waitUntil(() => !pids.some(isAlive), 5_000, `ESRCH for all of ${pids.join(", ")}`);
      expect(jobProcesses(agent)).toEqual([]);
      expect(envFilesIn(agent.jobTmp())).toEqual([]);
      await expectNoViolations(hub);
    });

    it("stopping during the epilogue ends the job stopped (Example C variant)", async () => {
      const id = await hub.api.schedule(job({ commands: ["echo -n hello"], always: ["sleep 1000", "echo -n never"], onPass: ["echo -n never"] }));
      await waitForCommandStart(hub, id, "sleep 1000");
      await hub.api.stop(id);
      const view = await hub.api.waitForJob(id, "finished");
      expect(view.result).toBe("stopped");
      expect(summarize(await hub.api.events(id))).toEqual([
        ...EMPTY_PREAMBLE,
        "started(echo -n hello)",
        'out("hello")',
        "finished(echo -n hello, 0)",
        ...resultExport(),
        "started(sleep 1000)",
        "finished(sleep 1000, 1)",
        "job_finished(stopped)",
      ]);
      expect(jobProcesses(agent)).toEqual([]);
      await expectNoViolations(hub);
    });
  });

  describe("output encoding", () => {
    it("invalid UTF-8 becomes one U+FFFD per byte; valid multi-byte characters pass", async () => {
      const broken = "printf '\\x96\\x96\\x96\\x96\\x96'";
      const mixed = "printf 'ok \\xe2\\x9c\\x93 \\xff\\xfe end'";
      const { view, events } = await runJob(hub, job({ commands: [broken, mixed] }));
      expect(view.result).toBe("passed");
      expect(outputOf(events, broken)).toBe("\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
      expect(outputOf(events, mixed)).toBe("ok \u2713 \uFFFD\uFFFD end");
      await expectNoViolations(hub);
    });

    it("progress output: a lone \\r is kept, \\r\\n becomes \\n", async () => {
      // Through the PTY (onlcr) the program's "\r\n" reaches the agent as "\r\r\n" and its "\n" as
      // "\r\n"; the agent turns each "\r\n" into "\n" once and keeps lone "\r" (spec §5.4, P-17),
      // exactly like the Go agent's strings.Replace.
      const progress = "printf 'a\\rb\\r\\nc\\n'";
      const bars = "printf '10%%\\r50%%\\r100%%\\n'";
      // With onlcr off the program's own bytes arrive unchanged: here "\r\n" itself becomes "\n".
      const raw = "stty -onlcr; printf 'a\\rb\\r\\nc\\n'; stty onlcr";
      const { view, events } = await runJob(hub, job({ commands: [progress, bars, raw] }));
      expect(view.result).toBe("passed");
      expect(outputOf(events, progress)).toBe("a\rb\r\nc\n");
      expect(outputOf(events, bars)).toBe("10%\r50%\r100%\n");
      expect(outputOf(events, raw)).toBe("a\rb\nc\n");
      await expectNoViolations(hub);
    });

    it("1,000,000 lines arrive complete, in order, without duplicates", async () => {
      const { view, events } = await runJob(hub, job({ commands: ["seq 1 1000000", "echo -n after"] }), 50_000);
      expect(view.result).toBe("passed");
      expect(view.trimmed).toBe(false);
      expect(view.event_count).toBe(events.length);
      let expected = "";
      for (let i = 1; i <= 1_000_000; i++) expected += `${i}\n`;
      const actual = outputOf(events, "seq 1 1000000");
      // Compare lengths first so a mismatch does not dump 7 MB.
      expect(actual.length).toBe(expected.length);
      expect(actual === expected).toBe(true);
      expect(outputOf(events, "echo -n after")).toBe("after");
      expect(events.at(-1)).toMatchObject({ event: "job_finished", result: "passed" });
      await expectNoViolations(hub);
    });
  });

  it("Example F: a command that kills the shell fails the job; later steps fail with 1 at once", async () => {
    const { view, events } = await runJob(hub, job({ commands: ["sleep infinity &", "exit 1", "echo never"], always: ["echo -n never"] }));
    expect(view.result).toBe("failed");
    expect(summarize(events)).toEqual([
      ...EMPTY_PREAMBLE,
      "started(sleep infinity &)",
      "finished(sleep infinity &, 0)",
      "started(exit 1)",
      "finished(exit 1, 1)",
      "started(Exporting environment variables)",
      'out("Exporting SEMAPHORE_JOB_RESULT\\n")',
      "finished(Exporting environment variables, 1)",
      "started(echo -n never)",
      "finished(echo -n never, 1)",
      "job_finished(failed)",
    ]);
    // The orphaned `sleep infinity` is killed with the rest of the job's session at close.
    expect(jobProcesses(agent)).toEqual([]);
    await expectNoViolations(hub);
  });

  it("Example F variant: `set -e` followed by a failing command ends with 1", async () => {
    const { view, events } = await runJob(hub, job({ commands: ["set -e", "false", "echo never"] }));
    expect(view.result).toBe("failed");
    expect(summarize(events)).toEqual([
      ...EMPTY_PREAMBLE,
      "started(set -e)",
      "finished(set -e, 0)",
      "started(false)",
      "finished(false, 1)",
      ...resultExport(1),
      "job_finished(failed)",
    ]);
    await expectNoViolations(hub);
  });

  it("Example G: an aliased command is logged under its alias with a Running: line", async () => {
    const { view, events } = await runJob(
      hub,
      job({ commands: [{ directive: "echo -n 'hello world'", alias: "Display Hello World" }] }),
    );
    expect(view.result).toBe("passed");
    expect(summarize(events)).toEqual([
      ...EMPTY_PREAMBLE,
      "started(Display Hello World)",
      'out("Running: echo -n \'hello world\'\\nhello world")',
      "finished(Display Hello World, 0)",
      ...resultExport(),
      "job_finished(passed)",
    ]);
    expect(rawOutputs(events, "Display Hello World")).toEqual(["Running: echo -n 'hello world'\n", "hello world"]);
    await expectNoViolations(hub);
  });
});
