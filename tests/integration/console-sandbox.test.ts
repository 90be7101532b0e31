// The app's jobs (a real `semaphore-agent console` process: host + agent, a real hub process) and
// the owner's machine:
// - under the app's default strict sandbox, a later job cannot read what the app keeps of earlier
//   jobs (their kept env copies with the secrets, the history) in the app's data folder, even by
//   absolute path, nor the console's own /proc/<pid>/environ and mem;
// - `kill -9` of the console in the middle of a job, under strict and under none: once the console
//   is started again, no job process, env file or agent work folder of the crashed run is left.
// The data folder lies outside /tmp (the job's /tmp is private anyway), so hiding it is what is tested.
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { outputOf, waitForCommandStart, waitUntil } from "../helpers/jobs.js";
import { job, startHub, stopAll, tempDir, type HubProcess } from "../helpers/processes.js";
import { entriesMatching, removeVarTempDirs, sleepers, stillRunning, uniqueSleepBase, varTempDir, waitForSleepers } from "../helpers/sandbox.js";

/** Saves the hub's endpoint and token (and `extra`) through the console's API and starts its agent. */
async function configureAndStart(con: ConsoleProcess, hub: HubProcess, extra: Record<string, unknown> = {}): Promise<void> {
  const rpc = await ConsoleRpc.open(con);
  try {
    const { tokenSet: _t, tokenStorage: _s, configured: _c, ...current } = (await rpc.call("getSettings")).result as Record<string, unknown>;
    const saved = await rpc.call("saveSettings", { settings: { ...current, endpoint: hub.endpoint, noHttps: true, token: hub.token, ...extra } });
    expect(saved, JSON.stringify(saved)).toMatchObject({ ok: true });
    const started = await rpc.call("startAgent");
    expect(started, JSON.stringify(started)).toMatchObject({ ok: true });
  } finally {
    rpc.close();
  }
}

async function startAgentAgain(con: ConsoleProcess): Promise<void> {
  const rpc = await ConsoleRpc.open(con);
  try {
    const started = await rpc.call("startAgent");
    expect(started, JSON.stringify(started)).toMatchObject({ ok: true });
  } finally {
    rpc.close();
  }
}

afterEach(async () => {
  await stopAll();
  removeVarTempDirs();
});

describe("the app's jobs and the owner's machine (console process, agent, hub)", () => {
  it("under strict a job cannot read earlier jobs' kept env copies or history, or the console's /proc", async () => {
    const hub = await startHub();
    const dataDir = varTempDir("sa-app-data-");
    const con = await startConsole({ dataDir });
    await configureAndStart(con, hub);
    await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));

    const tag = randomBytes(6).toString("hex");
    const first = await hub.api.schedule(job({ env: { EARLIER_SECRET: `earlier-secret-${tag}` }, commands: ["echo first"] }));
    expect((await hub.api.waitForJob(first, "finished")).result).toBe("passed");
    // The app keeps a private copy of that job's env files (for its debug terminal) and its log.
    const kept = join(dataDir, "debug-env");
    await waitUntil(() => existsSync(kept) && readdirSync(kept).length > 0, 10_000, "the kept env copy of the first job");
    expect(existsSync(join(dataDir, "history"))).toBe(true);

    const pid = con.proc.pid;
    // The secret's text is built at run time, so this job's own commands do not contain it.
    const find = `grep -rl "earlier-$(printf secret)-${tag}" ${dataDir} /tmp "$HOME" 2>/dev/null; echo "grep=$?"`;
    const list = `ls -A ${dataDir}; echo "ls=$?"`;
    const keptRead = `cat ${kept}/*/* 2>&1 | head -c 200; echo; ls ${kept} 2>&1 | head -c 200; echo`;
    const proc = `for f in environ mem cmdline; do test -r /proc/${pid}/$f && echo "readable $f"; done; echo "proc-done"`;
    const second = await hub.api.schedule(job({ commands: [find, list, keptRead, proc] }));
    expect((await hub.api.waitForJob(second, "finished")).result).toBe("passed");
    const events = await hub.api.events(second);
    // Nowhere the job can see holds the earlier job's secret.
    expect(outputOf(events, find)).toBe("grep=1\n");
    // The data folder is an empty folder but for the job home inside it (the job's own HOME).
    expect(outputOf(events, list)).toBe("job-home\nls=0\n");
    expect(outputOf(events, keptRead)).not.toContain(tag);
    expect(outputOf(events, keptRead)).toMatch(/No such file or directory/);
    // The job has its own PID namespace: the console's process is not in its /proc.
    expect(pid).toBeGreaterThan(100);
    expect(outputOf(events, proc)).toBe("proc-done\n");
  });

  for (const level of ["strict", "none"] as const) {
    it(`kill -9 of the console mid-job (sandbox ${level}): after a restart nothing of the crashed run is left`, async () => {
      const hub = await startHub();
      const dataDir = varTempDir("sa-app-data-");
      const home = tempDir("sa-app-home-");
      const tmp = tempDir("sa-app-tmp-");
      const con = await startConsole({ dataDir, home, tmp });
      await configureAndStart(con, hub, { sandbox: level });
      await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));

      const base = uniqueSleepBase();
      const numbers = [base, base + 1, base + 2];
      const id = await hub.api.schedule(
        job({
          env: { JOB_SECRET: "crash-secret" },
          commands: [`sleep ${base} & nohup sleep ${base + 1} >/dev/null 2>&1 & setsid sleep ${base + 2} &`, "sleep 600"],
        }),
      );
      await waitForCommandStart(hub, id, "sleep 600");
      const pids = await waitForSleepers(numbers, "the job's three sleeps running");
      const workDirs = entriesMatching(tmp, /^semaphore-agent-/);
      expect(workDirs).toHaveLength(1);
      // Under none the job's env file is in the agent's TMPDIR (spec §6); under strict in the work folder.
      if (level === "none") expect(entriesMatching(tmp, /^\.env-/).length).toBeGreaterThan(0);

      con.proc.signal("SIGKILL");
      await con.proc.waitForExit(10_000);
      if (level === "strict") {
        // bwrap --die-with-parent: the sandbox goes with the console.
        await waitUntil(() => pids.every((p) => !stillRunning(p)), 10_000, "the sandbox to die with the console");
      } else {
        // Under none they outlive it: the restarted app must find and stop them.
        expect(pids.filter(stillRunning)).toHaveLength(3);
      }

      const again = await startConsole({ dataDir, home, tmp });
      // The clean-up runs as the console opens its data folder, before any agent starts.
      await waitUntil(() => pids.every((p) => !stillRunning(p)), 10_000, "no job process of the crashed run");
      expect(sleepers(numbers).size).toBe(0);
      expect(entriesMatching(tmp, /^\.env-/)).toEqual([]);
      for (const dir of workDirs) expect(existsSync(join(tmp, dir))).toBe(false);
      // The app's private job home is cleaned when the agent starts again (the default policy).
      await startAgentAgain(again);
      await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs" && !a.disconnected));
      expect(readdirSync(join(dataDir, "job-home")).filter((n) => n !== ".toolbox")).toEqual([]);
      expect(entriesMatching(tmp, /^semaphore-agent-/)).toHaveLength(1);
    });
  }
});
