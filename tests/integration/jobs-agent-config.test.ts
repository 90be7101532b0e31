// Job semantics that depend on the agent's configuration, through the real hub and agent processes:
// agent `env-vars` (spec §5.5, P-12, Example A variant) and the pre-/post-job hooks (§3.9, §5.7,
// Example E, P-22). One hub for the file; the differently configured agents run one after another,
// each shut down through the hub before the next one registers, so every job goes to the agent under test.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { job, SANDBOX_LEVELS, startAgent, startHub, stopAll, summarize, tempDir, type AgentProcess, type HubProcess } from "../helpers/processes.js";
import {
  expectNoViolations,
  jobProcesses,
  outputOf,
  processesWithHome,
  rawOutputs,
  resultExport,
  runJob,
  shutdownAgent,
  waitForCommandStart,
  waitForIdleAgent,
} from "../helpers/jobs.js";

const PRE = "Running the pre-job hook configured in the agent";
const POST = "Running the post-job hook configured in the agent";
const WARN_PROCEED = "Warning: The agent is configured to proceed with the job even if the pre-job hook fails.\n";
const WARN_FAIL = "Warning: The agent is configured to fail the job if the pre-job hook fails.\n";

describe.each(SANDBOX_LEVELS)("job semantics that depend on the agent configuration (sandbox: %s)", (sandbox) => {
  let hub: HubProcess;
  let hooks: string;
  const homes: string[] = [];

  beforeAll(async () => {
    hub = await startHub();
    hooks = tempDir("sa-hooks-");
  });

  afterAll(async () => {
    await stopAll();
    for (const home of homes) expect(processesWithHome(home)).toEqual([]);
  });

  /** Starts an agent named `name` with `args` for the enclosing describe block, and shuts it down after it. */
  function useAgent(name: string, args: () => string[]): () => AgentProcess {
    let agent: AgentProcess | undefined;
    beforeAll(async () => {
      agent = startAgent(hub, { args: ["--name", name, ...args()], sandbox });
      homes.push(agent.home);
      await waitForIdleAgent(hub, name);
    });
    afterAll(async () => {
      if (agent) await shutdownAgent(hub, agent, name);
    });
    return () => {
      if (!agent) throw new Error(`agent ${name} not started`);
      return agent;
    };
  }

  describe("env-vars", () => {
    useAgent("jobs-agent-env-vars", () => ["--env-vars", "A=agent,IMPORTANT=x"]);

    it("Example A variant: agent env-vars override job vars of the same name and are sorted in with them", async () => {
      const { view, events } = await runJob(
        hub,
        job({
          env: { B: "VALUE_B", A: "VALUE_A" },
          commands: ["echo -n $A", "echo -n $C", "echo -n $IMPORTANT"],
          always: ["echo -n $SEMAPHORE_JOB_RESULT"],
          onPass: ['echo -n "On pass $A $IMPORTANT"'],
          onFail: ["echo -n 'On fail'"],
        }),
      );
      expect(view.result).toBe("passed");
      expect(summarize(events)).toEqual([
        "job_started",
        "started(Exporting environment variables)",
        'out("Exporting A\\nExporting B\\nExporting IMPORTANT\\n")',
        "finished(Exporting environment variables, 0)",
        "started(Injecting Files)",
        "finished(Injecting Files, 0)",
        "started(echo -n $A)",
        'out("agent")',
        "finished(echo -n $A, 0)",
        "started(echo -n $C)",
        "finished(echo -n $C, 0)",
        "started(echo -n $IMPORTANT)",
        'out("x")',
        "finished(echo -n $IMPORTANT, 0)",
        ...resultExport(),
        "started(echo -n $SEMAPHORE_JOB_RESULT)",
        'out("passed")',
        "finished(echo -n $SEMAPHORE_JOB_RESULT, 0)",
        'started(echo -n "On pass $A $IMPORTANT")',
        'out("On pass agent x")',
        'finished(echo -n "On pass $A $IMPORTANT", 0)',
        "job_finished(passed)",
      ]);
      expect(rawOutputs(events, "Exporting environment variables")).toEqual(["Exporting A\n", "Exporting B\n", "Exporting IMPORTANT\n"]);
      await expectNoViolations(hub);
    });
  });

  describe("pre-job hook that may fail, and a post-job hook", () => {
    const pre = () => join(hooks, "pre.sh");
    const post = () => join(hooks, "post.sh");
    const getAgent = useAgent("jobs-agent-hooks-proceed", () => ["--pre-job-hook-path", pre(), "--post-job-hook-path", post()]);

    it("a failing pre-job hook without fail-on-pre-job-hook-error is ignored; the post-job hook runs after the epilogues", async () => {
      writeFileSync(pre(), "badcommand\n");
      writeFileSync(post(), 'echo "post-job hook: result=$SEMAPHORE_JOB_RESULT A=$A"\n');
      const { view, events } = await runJob(
        hub,
        job({ env: { A: "job-a" }, commands: ["echo -n after hook"], always: ["echo -n always"], onPass: ["echo -n on-pass"] }),
      );
      expect(view.result).toBe("passed");
      expect(summarize(events)).toEqual([
        "job_started",
        "started(Exporting environment variables)",
        'out("Exporting A\\n")',
        "finished(Exporting environment variables, 0)",
        "started(Injecting Files)",
        "finished(Injecting Files, 0)",
        `started(${PRE})`,
        `out(${JSON.stringify(`Running: bash ${pre()}\n${WARN_PROCEED}${pre()}: line 1: badcommand: command not found\n`)})`,
        `finished(${PRE}, 127)`,
        "started(echo -n after hook)",
        'out("after hook")',
        "finished(echo -n after hook, 0)",
        ...resultExport(),
        "started(echo -n always)",
        'out("always")',
        "finished(echo -n always, 0)",
        "started(echo -n on-pass)",
        'out("on-pass")',
        "finished(echo -n on-pass, 0)",
        `started(${POST})`,
        `out(${JSON.stringify(`Running: bash ${post()}\npost-job hook: result=passed A=job-a\n`)})`,
        `finished(${POST}, 0)`,
        "job_finished(passed)",
      ]);
      // §5.7: the Running: line and the warning are events of their own.
      expect(rawOutputs(events, PRE).slice(0, 2)).toEqual([`Running: bash ${pre()}\n`, WARN_PROCEED]);
      expect(rawOutputs(events, POST)[0]).toBe(`Running: bash ${post()}\n`);
      await expectNoViolations(hub);
    });

    it("a successful pre-job hook runs in the job's shell environment (HOME, job vars); a failing post-job hook changes nothing", async () => {
      const agent = getAgent();
      writeFileSync(pre(), 'echo "pre-job hook in $PWD sees A=$A"\nHOOK_ONLY=not-exported-to-the-job\n');
      writeFileSync(post(), "echo post; exit 3\n");
      const { view, events } = await runJob(hub, job({ env: { A: "job-a" }, commands: ['echo -n "[$HOOK_ONLY]"'] }));
      expect(view.result).toBe("passed");
      expect(summarize(events).slice(4)).toEqual([
        "started(Injecting Files)",
        "finished(Injecting Files, 0)",
        `started(${PRE})`,
        `out(${JSON.stringify(`Running: bash ${pre()}\n${WARN_PROCEED}pre-job hook in ${agent.home} sees A=job-a\n`)})`,
        `finished(${PRE}, 0)`,
        'started(echo -n "[$HOOK_ONLY]")',
        'out("[]")',
        'finished(echo -n "[$HOOK_ONLY]", 0)',
        ...resultExport(),
        `started(${POST})`,
        `out(${JSON.stringify(`Running: bash ${post()}\npost\n`)})`,
        `finished(${POST}, 3)`,
        "job_finished(passed)",
      ]);
      await expectNoViolations(hub);
    });

    it("the post-job hook is attempted for a stopped job (exit code 1, dead shell) and the job ends stopped", async () => {
      const agent = getAgent();
      writeFileSync(pre(), "echo pre\n");
      writeFileSync(post(), "echo post\n");
      const id = await hub.api.schedule(job({ commands: ["sleep 1000", "echo never"], always: ["echo never"] }));
      await waitForCommandStart(hub, id, "sleep 1000");
      await hub.api.stop(id);
      const view = await hub.api.waitForJob(id, "finished");
      expect(view.result).toBe("stopped");
      expect(summarize(await hub.api.events(id))).toEqual([
        "job_started",
        "started(Exporting environment variables)",
        "finished(Exporting environment variables, 0)",
        "started(Injecting Files)",
        "finished(Injecting Files, 0)",
        `started(${PRE})`,
        `out(${JSON.stringify(`Running: bash ${pre()}\n${WARN_PROCEED}pre\n`)})`,
        `finished(${PRE}, 0)`,
        "started(sleep 1000)",
        "finished(sleep 1000, 1)",
        `started(${POST})`,
        `out(${JSON.stringify(`Running: bash ${post()}\n`)})`,
        `finished(${POST}, 1)`,
        "job_finished(stopped)",
      ]);
      expect(jobProcesses(agent)).toEqual([]);
      await expectNoViolations(hub);
    });
  });

  describe("pre-job hook with fail-on-pre-job-hook-error", () => {
    const pre = () => join(hooks, "pre-fail.sh");
    useAgent("jobs-agent-hooks-fail", () => ["--pre-job-hook-path", pre(), "--fail-on-pre-job-hook-error"]);

    it("Example E: the failing hook fails the job, regular commands are skipped, epilogues run", async () => {
      writeFileSync(pre(), "badcommand\n");
      const { view, events } = await runJob(
        hub,
        job({
          commands: ["echo never"],
          always: ["echo -n always $SEMAPHORE_JOB_RESULT"],
          onPass: ["echo -n on-pass"],
          onFail: ["echo -n on-fail"],
        }),
      );
      expect(view.result).toBe("failed");
      expect(summarize(events)).toEqual([
        "job_started",
        "started(Exporting environment variables)",
        "finished(Exporting environment variables, 0)",
        "started(Injecting Files)",
        "finished(Injecting Files, 0)",
        `started(${PRE})`,
        `out(${JSON.stringify(`Running: bash ${pre()}\n${WARN_FAIL}${pre()}: line 1: badcommand: command not found\n`)})`,
        `finished(${PRE}, 127)`,
        ...resultExport(),
        "started(echo -n always $SEMAPHORE_JOB_RESULT)",
        'out("always failed")',
        "finished(echo -n always $SEMAPHORE_JOB_RESULT, 0)",
        "started(echo -n on-fail)",
        'out("on-fail")',
        "finished(echo -n on-fail, 0)",
        "job_finished(failed)",
      ]);
      // Rows 7–9 of Example E: Running:, the warning, then the bash error text.
      expect(rawOutputs(events, PRE)).toEqual([
        `Running: bash ${pre()}\n`,
        WARN_FAIL,
        `${pre()}: line 1: badcommand: command not found\n`,
      ]);
      await expectNoViolations(hub);
    });

    it("a successful hook lets the job run as usual", async () => {
      writeFileSync(pre(), "echo hook ok\n");
      const { view, events } = await runJob(hub, job({ commands: ["echo -n job ran"] }));
      expect(view.result).toBe("passed");
      expect(outputOf(events, PRE)).toBe(`Running: bash ${pre()}\n${WARN_FAIL}hook ok\n`);
      expect(outputOf(events, "echo -n job ran")).toBe("job ran");
      await expectNoViolations(hub);
    });
  });

  describe("pre-job hook with source-pre-job-hook", () => {
    const pre = () => join(hooks, "pre-source.sh");
    const getAgent = useAgent("jobs-agent-hooks-source", () => ["--pre-job-hook-path", pre(), "--source-pre-job-hook"]);

    it("the sourced hook's exports and working directory persist into the job", async () => {
      const agent = getAgent();
      writeFileSync(pre(), 'export FROM_HOOK="exported by the hook"\nmkdir -p ~/hookdir && cd ~/hookdir\n');
      const command = 'echo -n "$FROM_HOOK in $PWD"';
      const { view, events } = await runJob(hub, job({ commands: [command] }));
      expect(view.result).toBe("passed");
      expect(summarize(events).slice(5)).toEqual([
        `started(${PRE})`,
        `out(${JSON.stringify(`Running: source ${pre()}\n${WARN_PROCEED}`)})`,
        `finished(${PRE}, 0)`,
        `started(${command})`,
        `out(${JSON.stringify(`exported by the hook in ${agent.home}/hookdir`)})`,
        `finished(${command}, 0)`,
        ...resultExport(),
        "job_finished(passed)",
      ]);
      await expectNoViolations(hub);
    });
  });
});
