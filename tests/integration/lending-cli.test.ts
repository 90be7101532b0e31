// The owner's terms for the headless agent (`semaphore-agent start`, a real hub process): with a
// snooze file present the agent does not register and a job waits at the hub; removing it lets the
// agent register and run the job; creating it again drains the agent (it leaves Semaphore) and
// removing it registers it again under the same name. A bad lend-schedule entry is a configuration
// error naming the entry.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll, tempDir } from "../helpers/processes.js";
import { expectNoViolations, waitUntil } from "../helpers/jobs.js";

const TIMINGS = { lendingPollMs: 100, diskIdleCheckMs: 200 };

describe("lending terms of the headless agent", () => {
  afterEach(stopAll);

  it("a snooze file holds it off Semaphore; removing it registers; creating it again drains it", async () => {
    const hub = await startHub();
    const snooze = join(tempDir("sa-snooze-"), "no-ci-now");
    writeFileSync(snooze, "");
    const agent = startAgent(hub, { args: ["--name", "snoozy-agent-1", "--snooze-file", snooze], timings: TIMINGS });
    await agent.waitForOutput(/not taking jobs: Paused: \S+no-ci-now exists \(remove it to resume\); not registering until that changes/, 20_000);
    const id = await hub.api.schedule(job({ commands: ["echo lent"] }));
    expect(await hub.api.agents()).toEqual([]);
    expect((await hub.api.job(id)).status).toBe("queued");

    rmSync(snooze);
    const view = await hub.api.waitForJob(id, "finished", 30_000);
    expect(view).toMatchObject({ result: "passed", agent: "snoozy-agent-1" });
    expect(agent.stderr).toMatch(/lending again: registering/);

    writeFileSync(snooze, "");
    await agent.waitForOutput(/paused, not taking jobs: Paused: \S+no-ci-now exists \(remove it to resume\)/, 20_000);
    await hub.api.waitForAgent((agents) => agents.length === 1 && agents.every((a) => a.disconnected), 20_000);

    rmSync(snooze);
    await hub.api.waitForAgent((agents) => agents.some((a) => a.name === "snoozy-agent-1" && !a.disconnected && a.state === "waiting-for-jobs"), 20_000);
    expect((await hub.api.agents()).map((a) => a.name)).toEqual(["snoozy-agent-1", "snoozy-agent-1"]);
    expect(agent.child.exitCode).toBeNull();
    await expectNoViolations(hub);
  });

  it("a snooze file holding a past time is no snooze; a future one is", async () => {
    const hub = await startHub();
    const snooze = join(tempDir("sa-snooze-"), "until");
    writeFileSync(snooze, `${new Date(Date.now() + 3_600_000).toISOString()}\n`);
    const agent = startAgent(hub, { args: ["--name", "snoozy-agent-2", "--snooze-file", snooze], timings: TIMINGS });
    await agent.waitForOutput(/not taking jobs: Snoozed until \d\d:\d\d/, 20_000);
    writeFileSync(snooze, "1000000000\n"); // 2001: long past
    await waitUntil(() => /lending again: registering/.test(agent.stderr), 20_000, "the agent registering");
    await hub.api.waitForAgent((agents) => agents.some((a) => a.name === "snoozy-agent-2" && a.state === "waiting-for-jobs"), 20_000);
  });

  it("a bad lend-schedule entry is a configuration error that names it", async () => {
    // A list flag splits at commas, as the official agent's do: "weekends" is entry 2.
    const agent = startAgent(null, { args: ["--endpoint", "127.0.0.1:9", "--token", "t", "--lend-schedule", "mon-fri 19-8,weekends"] });
    expect(await agent.waitForExit(20_000)).toBe(1);
    expect(agent.stderr).toMatch(/--lend-schedule: entry 2 \("weekends"\) has an unknown day "weekends" \(use mon, tue/);
  });
});
