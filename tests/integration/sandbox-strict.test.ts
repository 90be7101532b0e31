// The strict sandbox through the real hub and a real `semaphore-agent start --sandbox strict`
// (bubblewrap): the owner's HOME (outside /tmp here) and the host's /tmp are out of reach, the job
// has its own HOME and /tmp, a stop leaves no process behind however it was started, GPU nodes
// are passed read-write while the system stays read-only, the agent's /proc is out of sight, and
// a job's events are the same as under `none`.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { job, startHub, stopAll, summarize, type AgentProcess, type HubProcess } from "../helpers/processes.js";
import { expectNoViolations, outputOf, runJob, waitForCommandStart, waitForIdleAgent, waitUntil } from "../helpers/jobs.js";
import { entriesMatching, removeVarTempDirs, sleepers, startAgentAt, stillRunning, uniqueSleepBase, varTempDir, waitForSleepers } from "../helpers/sandbox.js";

const NAME = "strict-agent";

describe("the strict sandbox (bubblewrap) through a real agent", () => {
  let hub: HubProcess;
  let agent: AgentProcess;
  let owner: string;
  let dev: string;
  let jobHome: string;
  const tag = randomBytes(6).toString("hex");
  const hostTmpFile = `/tmp/sa-host-only-${tag}`;
  const jobTmpFile = `sa-job-wrote-${tag}`;

  beforeAll(async () => {
    hub = await startHub();
    owner = varTempDir("sa-owner-");
    writeFileSync(join(owner, "secret.txt"), `owner-secret-${tag}\n`);
    mkdirSync(join(owner, "proj"));
    writeFileSync(join(owner, "proj", "keep.txt"), "the owner's project\n");
    writeFileSync(hostTmpFile, "host tmp\n");
    // A stand-in /dev with GPU nodes (regular files will do for a bind) and something else.
    dev = varTempDir("sa-dev-");
    writeFileSync(join(dev, "nvidia0"), "");
    writeFileSync(join(dev, "nvidiactl"), "");
    mkdirSync(join(dev, "dri"));
    writeFileSync(join(dev, "dri", "renderD128"), "");
    writeFileSync(join(dev, "other-file"), "not a gpu\n");
    agent = startAgentAt(hub, {
      home: owner,
      args: ["--sandbox", "strict", "--name", NAME],
      env: { SEMAPHORE_AGENT_SANDBOX_DEV_DIR: dev },
    });
    jobHome = join(owner, ".local", "share", "semaphore-agent", "job-homes", NAME);
    await agent.waitForOutput(new RegExp(`jobs run in ${jobHome.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(sandbox: strict`), 15_000);
    await waitForIdleAgent(hub, NAME);
  });

  afterAll(async () => {
    await stopAll();
    rmSync(hostTmpFile, { force: true });
    removeVarTempDirs();
  });

  it("hides the owner's HOME and the host's /tmp; the job has its own HOME and /tmp", async () => {
    const { view, events } = await runJob(
      hub,
      job({
        env: { OWNER: owner, HOST_TMP_FILE: hostTmpFile, JOB_TMP_FILE: jobTmpFile, AGENT_TMP: agent.tmp },
        commands: [
          'cat "$OWNER/secret.txt" 2>&1; echo "exit=$?"',
          'ls -A "$OWNER" 2>&1; echo "exit=$?"',
          'ls -A "$AGENT_TMP" | wc -l',
          'echo planted > "$OWNER/planted"; (echo > /var/tmp/sa-planted) 2>/dev/null || echo read-only',
          'echo "HOME=$HOME PWD=$PWD TMPDIR=$TMPDIR"',
          "mkdir -p proj && touch proj/x && rm -rf proj && echo removed",
          'cat "$HOST_TMP_FILE" 2>&1; echo "exit=$?"',
          'echo from-the-job > "/tmp/$JOB_TMP_FILE" && ls -A /tmp',
        ],
      }),
    );
    expect(view.result).toBe("passed");
    const secret = outputOf(events, 'cat "$OWNER/secret.txt" 2>&1; echo "exit=$?"');
    expect(secret).not.toContain("owner-secret");
    expect(secret).toMatch(/No such file or directory[\s\S]*exit=1/);
    // The owner's HOME is an empty tmpfs but for the way down to the job home.
    expect(outputOf(events, 'ls -A "$OWNER" 2>&1; echo "exit=$?"').trim().split(/\s+/)).toEqual([".local", "exit=0"]);
    // The agent's TMPDIR (its work folder, the env files of none) is an empty tmpfs too.
    expect(outputOf(events, 'ls -A "$AGENT_TMP" | wc -l').trim()).toBe("0");
    // What a job writes where the owner's HOME was stays in the sandbox; the system is read-only.
    expect(outputOf(events, 'echo planted > "$OWNER/planted"; (echo > /var/tmp/sa-planted) 2>/dev/null || echo read-only').trim()).toBe("read-only");
    expect(existsSync(join(owner, "planted"))).toBe(false);
    expect(existsSync("/var/tmp/sa-planted")).toBe(false);
    expect(outputOf(events, 'echo "HOME=$HOME PWD=$PWD TMPDIR=$TMPDIR"').trim()).toBe(`HOME=${jobHome} PWD=${jobHome} TMPDIR=/tmp`);
    expect(outputOf(events, "mkdir -p proj && touch proj/x && rm -rf proj && echo removed").trim()).toBe("removed");
    expect(readFileSync(join(owner, "proj", "keep.txt"), "utf8")).toBe("the owner's project\n");
    expect(readFileSync(join(owner, "secret.txt"), "utf8")).toBe(`owner-secret-${tag}\n`);
    expect(outputOf(events, 'cat "$HOST_TMP_FILE" 2>&1; echo "exit=$?"')).toMatch(/No such file or directory[\s\S]*exit=1/);
    expect(outputOf(events, 'echo from-the-job > "/tmp/$JOB_TMP_FILE" && ls -A /tmp')).toContain(jobTmpFile);
    expect(existsSync(join("/tmp", jobTmpFile))).toBe(false);
    // The private /tmp is gone with the job, and the job home cleaned (only the toolbox is left).
    await waitUntil(() => readdirSync(jobHome).join(",") === ".toolbox", 10_000, "the job home cleaned to its .toolbox");
    expect(entriesMatching(agent.tmp, /^semaphore-agent-/).flatMap((w) => entriesMatching(join(agent.tmp, w), /^tmp$/))).toEqual([]);
    await waitForIdleAgent(hub, NAME);
    await expectNoViolations(hub);
  });

  /** Starts processes every way a job may try to leave its tree, session or environment behind. */
  const escapes = (base: number) => [
    `sleep ${base} &`,
    `nohup sleep ${base + 1} > /dev/null 2>&1 &`,
    `setsid sleep ${base + 2} &`,
    `( (sleep ${base + 5} &) & )`,
    `trap '' TERM HUP; sleep ${base + 3} &`,
    `env -i setsid sleep ${base + 4} &`,
  ];
  const numbers = (base: number) => [0, 1, 2, 3, 4, 5].map((k) => base + k);

  /** Waits until each of the sleeps runs on the host; returns their pids. */
  const waitForSix = (base: number) => waitForSleepers(numbers(base), `all six sleeps ${base}..${base + 5} running`);

  it("a stop leaves nothing: background, nohup, setsid, double fork, ignored TERM/HUP, env -i", async () => {
    const base = uniqueSleepBase();
    const id = await hub.api.schedule(job({ commands: [...escapes(base), "sleep 600"] }));
    await waitForCommandStart(hub, id, "sleep 600");
    const pids = await waitForSix(base);
    expect(pids).toHaveLength(6);
    await hub.api.stop(id);
    const view = await hub.api.waitForJob(id, "finished", 30_000);
    expect(view.result).toBe("stopped");
    expect(pids.filter(stillRunning)).toEqual([]);
    expect(sleepers(numbers(base)).size).toBe(0);
    await waitForIdleAgent(hub, NAME);
    await expectNoViolations(hub);
  });

  it("a job that ends by itself leaves nothing either", async () => {
    const base = uniqueSleepBase();
    // The job ends when the test says so (a file in the job home): after it has seen every sleep run.
    const go = `go-${tag}`;
    const id = await hub.api.schedule(
      job({ env: { GO: go }, commands: [...escapes(base), 'while [ ! -e "$HOME/$GO" ]; do sleep 0.05; done; echo done'] }),
    );
    const pids = await waitForSix(base);
    writeFileSync(join(jobHome, go), "");
    const view = await hub.api.waitForJob(id, "finished", 30_000);
    expect(view.result).toBe("passed");
    expect(pids.filter(stillRunning)).toEqual([]);
    expect(sleepers(numbers(base)).size).toBe(0);
    await waitForIdleAgent(hub, NAME);
    await expectNoViolations(hub);
  });

  it("passes GPU nodes read-write; the rest of the system stays read-only", async () => {
    const { view, events } = await runJob(
      hub,
      job({
        env: { DEV: dev },
        commands: [
          'echo written-by-job > "$DEV/nvidia0" && cat "$DEV/nvidia0"',
          'ls "$DEV/dri"',
          'echo x > "$DEV/other-file"',
        ],
      }),
    );
    expect(view.result).toBe("failed");
    expect(summarize(events).filter((l) => l.startsWith("finished("))).toEqual([
      "finished(Exporting environment variables, 0)",
      "finished(Injecting Files, 0)",
      'finished(echo written-by-job > "$DEV/nvidia0" && cat "$DEV/nvidia0", 0)',
      'finished(ls "$DEV/dri", 0)',
      'finished(echo x > "$DEV/other-file", 1)',
      "finished(Exporting environment variables, 0)",
    ]);
    expect(outputOf(events, 'echo written-by-job > "$DEV/nvidia0" && cat "$DEV/nvidia0"')).toBe("written-by-job\n");
    expect(outputOf(events, 'ls "$DEV/dri"').trim()).toBe("renderD128");
    expect(outputOf(events, 'echo x > "$DEV/other-file"')).toMatch(/Read-only file system/);
    expect(readFileSync(join(dev, "nvidia0"), "utf8")).toBe("written-by-job\n");
    expect(readFileSync(join(dev, "other-file"), "utf8")).toBe("not a gpu\n");
    await waitForIdleAgent(hub, NAME);
  });

  it("cannot read the agent's environment or memory through /proc", async () => {
    const readEnviron = 'if cat "/proc/$AGENT_PID/environ" > /tmp/environ 2>/dev/null; then echo READABLE; else echo UNREADABLE; fi';
    const readMem = 'if head -c 1 "/proc/$AGENT_PID/mem" > /dev/null 2>&1; then echo READABLE; else echo UNREADABLE; fi';
    const { view, events } = await runJob(
      hub,
      job({
        env: { AGENT_PID: String(agent.pid) },
        commands: [readEnviron, readMem, 'grep -c -a SEMAPHORE_AGENT_TEST_TIMINGS /tmp/environ || true', 'test -e "/proc/$AGENT_PID" && echo VISIBLE || echo GONE'],
      }),
    );
    expect(view.result).toBe("passed");
    expect(outputOf(events, readEnviron).trim()).toBe("UNREADABLE");
    expect(outputOf(events, readMem).trim()).toBe("UNREADABLE");
    expect(outputOf(events, "grep -c -a SEMAPHORE_AGENT_TEST_TIMINGS /tmp/environ || true").trim()).toBe("0");
    expect(outputOf(events, 'test -e "/proc/$AGENT_PID" && echo VISIBLE || echo GONE').trim()).toBe("GONE");
    await waitForIdleAgent(hub, NAME);
  });

  it("a job with env vars, an injected file under ~ and an epilogue has the same events as under none", async () => {
    const request = job({
      env: { EMPTY: "", GREETING: "hello world" },
      files: [{ path: "~/conf/app.txt", content: "injected\n", mode: "0600" }],
      commands: ['echo "$GREETING"', "cat ~/conf/app.txt", "stat -c %a ~/conf/app.txt", "echo -n partial; false"],
      always: ["echo always $SEMAPHORE_JOB_RESULT"],
      onFail: ["echo on-fail"],
    });
    const strict = await runJob(hub, request);

    const noneHub = await startHub();
    const noneHome = varTempDir("sa-owner-none-");
    startAgentAt(noneHub, { home: noneHome, args: ["--sandbox", "none", "--name", "none-agent"] });
    await waitForIdleAgent(noneHub, "none-agent");
    const none = await runJob(noneHub, request);

    // "Injecting <path>" names the file as the agent resolved ~: each agent's own job home.
    const summary = (events: typeof strict.events, home: string) => summarize(events).map((l) => l.replaceAll(home, "<HOME>"));
    expect(strict.view.result).toBe("failed");
    expect(none.view.result).toBe("failed");
    expect(summary(strict.events, jobHome)).toEqual(summary(none.events, noneHome));
    expect(summary(strict.events, jobHome)).toEqual([
      "job_started",
      "started(Exporting environment variables)",
      'out("Exporting EMPTY\\nExporting GREETING\\n")',
      "finished(Exporting environment variables, 0)",
      "started(Injecting Files)",
      'out("Injecting <HOME>/conf/app.txt with file mode 0600\\n")',
      "finished(Injecting Files, 0)",
      'started(echo "$GREETING")',
      'out("hello world\\n")',
      'finished(echo "$GREETING", 0)',
      "started(cat ~/conf/app.txt)",
      'out("injected\\n")',
      "finished(cat ~/conf/app.txt, 0)",
      "started(stat -c %a ~/conf/app.txt)",
      'out("600\\n")',
      "finished(stat -c %a ~/conf/app.txt, 0)",
      "started(echo -n partial; false)",
      'out("partial")',
      "finished(echo -n partial; false, 1)",
      "started(Exporting environment variables)",
      'out("Exporting SEMAPHORE_JOB_RESULT\\n")',
      "finished(Exporting environment variables, 0)",
      "started(echo always $SEMAPHORE_JOB_RESULT)",
      'out("always failed\\n")',
      "finished(echo always $SEMAPHORE_JOB_RESULT, 0)",
      "started(echo on-fail)",
      'out("on-fail\\n")',
      "finished(echo on-fail, 0)",
      "job_finished(failed)",
    ]);
    await expectNoViolations(hub);
    await expectNoViolations(noneHub);
  });
});
