// Nothing left behind after a crash: a headless agent is killed with SIGKILL while its job runs
// background processes (one of them in a session of its own); the next agent of the same owner
// (same HOME, same TMPDIR) finds the crashed run in its journal and, before it registers, stops
// what is left of the job, removes its env files (they hold the job's secrets) and its work folder.
// Under strict the sandbox already dies with its parent (bwrap --die-with-parent).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { job, startHub, stopAll } from "../helpers/processes.js";
import { waitForCommandStart, waitForIdleAgent, waitUntil } from "../helpers/jobs.js";
import { entriesMatching, removeVarTempDirs, sleepers, startAgentAt, stillRunning, uniqueSleepBase, varTempDir, waitForSleepers } from "../helpers/sandbox.js";

describe("crash clean-up of a headless agent", () => {
  afterEach(async () => {
    await stopAll();
    removeVarTempDirs();
  });

  for (const level of ["none", "strict"] as const) {
    it(`after kill -9 under --sandbox ${level}, the next agent leaves nothing of the crashed run`, async () => {
      const hub = await startHub();
      const home = varTempDir("sa-crash-home-");
      const tmp = varTempDir("sa-crash-tmp-");
      const name = `crash-${level}`;
      const args = ["--sandbox", level, "--name", name];
      const first = startAgentAt(hub, { home, tmp, args });
      await waitForIdleAgent(hub, name);

      const base = uniqueSleepBase();
      const numbers = [base, base + 1, base + 2];
      const id = await hub.api.schedule(
        job({
          env: { JOB_SECRET: "crash-secret" },
          commands: ["echo left-by-the-crashed-job > ~/crashed-job-file", `sleep ${base} & nohup sleep ${base + 1} & setsid sleep ${base + 2} &`, "sleep 600"],
        }),
      );
      await waitForCommandStart(hub, id, "sleep 600");
      const pids = await waitForSleepers(numbers, "the job's three sleeps running");
      const workDirs = entriesMatching(tmp, /^semaphore-agent-/);
      expect(workDirs).toHaveLength(1);
      if (level === "none") {
        // The official agent's place for env files: the agent's TMPDIR (spec §6).
        expect(entriesMatching(tmp, /^\.env-/).length).toBeGreaterThan(0);
      }

      first.signal("SIGKILL");
      await first.waitForExit(10_000);
      if (level === "strict") {
        // bwrap --die-with-parent: the whole sandbox (its own PID namespace) goes with the agent.
        await waitUntil(() => pids.every((pid) => !stillRunning(pid)), 10_000, "the sandbox to die with the agent");
      }

      const second = startAgentAt(hub, { home, tmp, args });
      await second.waitForOutput(/registered as /, 20_000);
      // Under none the job's processes outlived the agent and the journal's clean-up stopped them;
      // under strict the sandbox was gone already (its env file was in the work folder's private /tmp).
      expect(second.stderr).toMatch(
        level === "none"
          ? /cleaned up after 1 earlier run that crashed: [1-9]\d* job process(es)? stopped, 1 env file and 1 work folder removed/
          : /cleaned up after 1 earlier run that crashed: 0 job processes stopped, 1 env file and 1 work folder removed/,
      );

      expect(pids.filter(stillRunning)).toEqual([]);
      expect(sleepers(numbers).size).toBe(0);
      expect(entriesMatching(tmp, /^\.env-/)).toEqual([]);
      for (const dir of workDirs) expect(existsSync(join(tmp, dir))).toBe(false);
      if (level === "strict") {
        // The private job home is cleaned when the next agent opens it (the crashed job's files may hold secrets).
        const jobHome = join(home, ".local", "share", "semaphore-agent", "job-homes", name);
        expect(readdirSync(jobHome)).toEqual([".toolbox"]);
      } else {
        // Under none the job home is the owner's HOME: never cleaned.
        expect(existsSync(join(home, "crashed-job-file"))).toBe(true);
      }
      // Only the new run's own work folder is there.
      expect(entriesMatching(tmp, /^semaphore-agent-/)).toHaveLength(1);
      await waitForIdleAgent(hub, name);
    });
  }
});
