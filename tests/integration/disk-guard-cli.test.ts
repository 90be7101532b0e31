// The disk guard of `semaphore-agent start`: with limits no disk can meet, the agent drains before
// taking any job (says why, leaves the hub, waits for space) and a job scheduled meanwhile is not
// given to it; with the default limits a job runs as usual.
import { afterEach, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll, type HubProcess } from "../helpers/processes.js";
import { expectNoViolations, outputOf, runJob, waitForIdleAgent } from "../helpers/jobs.js";

const DISK_TIMINGS = { diskPollMs: 100, diskIdleCheckMs: 200 };

describe("disk guard of the headless agent", () => {
  let hub: HubProcess;

  afterEach(async () => {
    await stopAll();
  });

  it("below the threshold it pauses, leaves the hub, and a job scheduled meanwhile waits for another agent", async () => {
    hub = await startHub();
    const full = startAgent(hub, {
      args: ["--name", "full-disk", "--disk-min-free-gb", "100000000", "--disk-min-free-percent", "100"],
      timings: DISK_TIMINGS,
    });
    const paused = await full.waitForOutput(/paused, not taking jobs: (.*[^.]); checking every \d+ m?s\n/, 20_000);
    const reason = paused[1] as string;
    // Job home (its HOME under none) and TMPDIR share one filesystem here: read once, both named.
    expect(reason).toMatch(/^Only \d+(\.\d)? [KMGTP]?B free on /);
    expect(reason).toContain(`${full.home} (job home, TMPDIR)`);
    expect(reason).toMatch(/below \d+(\.\d)? [KMGTP]?B: no new job is taken until there is more/);
    expect(full.stderr).toContain(`disk guard: ${reason}`);

    await hub.api.waitForAgent((agents) => agents.some((a) => a.name === "full-disk" && a.disconnected));

    const id = await hub.api.schedule(job({ commands: ["echo ran"] }));
    const queued = await hub.api.job(id);
    expect(queued.status).toBe("queued");
    expect(queued.agent).toBeNull();

    // An agent with the default limits (this disk has enough space for them) takes it and runs it.
    const healthy = startAgent(hub, { args: ["--name", "healthy-agent"], timings: DISK_TIMINGS });
    const view = await hub.api.waitForJob(id, "finished", 30_000);
    expect(view.agent).toBe("healthy-agent");
    expect(view.result).toBe("passed");
    expect(outputOf(await hub.api.events(id), "echo ran")).toBe("ran\n");

    // The paused agent is still there, still paused: it never registered again.
    expect(full.child.exitCode).toBeNull();
    expect(full.stderr).not.toMatch(/registering again/);
    expect((full.stderr.match(/registered as /g) ?? []).length).toBe(1);
    expect((await hub.api.agents()).filter((a) => a.name === "full-disk").every((a) => a.disconnected)).toBe(true);
    expect(healthy.stderr).not.toMatch(/paused|disk guard/);
    await expectNoViolations(hub);
  });

  it("with the default limits a job runs normally on the same kind of agent", async () => {
    hub = await startHub();
    const agent = startAgent(hub, { args: ["--name", "default-limits"], timings: DISK_TIMINGS });
    await waitForIdleAgent(hub, "default-limits");
    const { view, events } = await runJob(hub, job({ commands: ["echo fine"] }));
    expect(view.result).toBe("passed");
    expect(outputOf(events, "echo fine")).toBe("fine\n");
    expect(agent.stderr).not.toMatch(/paused|disk guard|not taking jobs/);
    await expectNoViolations(hub);
  });
});
