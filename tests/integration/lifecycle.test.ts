// Server-driven shutdowns (spec §3.7, §3.8, P-9): requested, single job (job-finished), job-id,
// idle timeout. Disconnect happens before the shutdown hook; server-requested shutdowns exit 0.
import { afterEach, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll, summarize } from "../helpers/processes.js";
import {
  BASE,
  expectNoTokenLeak,
  expectNoViolations,
  hubPort,
  passingJob,
  requestsTo,
  shutdownHook,
  startPair,
  waitUntil,
} from "../helpers/protocol.js";

afterEach(stopAll);

describe("server-requested shutdown", () => {
  it("POST /private/shutdown while idle: /disconnect, then the hook (REQUESTED), exit 0", async () => {
    const hook = shutdownHook();
    const hub = await startHub();
    const agent = startAgent(hub, { args: ["--shutdown-hook-path", hook.path], env: { HUB_PORT: hubPort(hub) } });
    await hub.api.waitForAgent((agents) => agents[0]?.state === "waiting-for-jobs", 15_000);
    await hub.api.shutdown();

    expect(await agent.waitForExit(15_000)).toBe(0);
    const [a] = await hub.api.agents();
    expect(a!.shutdown_reason).toBe("requested");
    expect(a!.disconnected).toBe(true);

    const ran = hook.read();
    expect(ran).not.toBeNull();
    expect(ran!.reason).toBe("REQUESTED");
    // Disconnect came first: the hub had it before the hook started, and said so to the hook.
    expect(ran!.isShutdown).toBe("true");
    expect(ran!.atMs).toBeGreaterThanOrEqual(Date.parse(a!.disconnected_at!));
    const disconnects = await requestsTo(hub, `${BASE}/disconnect`);
    expect(disconnects.map((r) => r.status)).toEqual([200]);

    expect(agent.stderr).toMatch(/shut down: REQUESTED \(exit code 0\)/);
    expect(agent.stderr).toMatch(/shutdown hook exited with 0: hook done/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("/disconnect failing (500, then a lost answer): retried, then the hook, exit 0", async () => {
    const hook = shutdownHook();
    const { hub, agent } = await startPair([], { args: ["--shutdown-hook-path", hook.path] });
    await hub.api.fault({ target: "disconnect", mode: "500", count: 1 });
    await hub.api.fault({ target: "disconnect", mode: "drop-after-store", count: 1 });
    await hub.api.shutdown();

    expect(await agent.waitForExit(15_000)).toBe(0);
    const disconnects = await requestsTo(hub, `${BASE}/disconnect`);
    expect(disconnects.map((r) => r.status)).toEqual([500, null, 200]);
    expect(hook.read()?.reason).toBe("REQUESTED");
    expect(agent.stderr).toMatch(/error \(disconnect\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("POST /private/shutdown during a job: the job is stopped, reported, then shutdown REQUESTED, exit 0", async () => {
    const { hub, agent } = await startPair();
    const id = await hub.api.schedule(job({ commands: ["sleep 30"] }));
    await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_started" && e.directive === "sleep 30"), 15_000);
    await hub.api.shutdown();

    expect(await agent.waitForExit(15_000)).toBe(0);
    const view = await hub.api.job(id);
    expect(view.result).toBe("stopped");
    expect(view.abandoned).toBe(false);
    expect(summarize(await hub.api.events(id))).toEqual([
      "job_started",
      "started(Exporting environment variables)",
      "finished(Exporting environment variables, 0)",
      "started(Injecting Files)",
      "finished(Injecting Files, 0)",
      "started(sleep 30)",
      "finished(sleep 30, 1)",
      "job_finished(stopped)",
    ]);
    const [a] = await hub.api.agents();
    expect(a!.shutdown_reason).toBe("requested");
    expect(a!.disconnected).toBe(true);
    expect(agent.stderr).toMatch(/shut down: REQUESTED \(exit code 0\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});

describe("single job and job-id", () => {
  it("--disconnect-after-job: one job, then shutdown JOB_FINISHED, exit 0; register had single_job true", async () => {
    const hook = shutdownHook();
    const { hub, agent } = await startPair([], { args: ["--disconnect-after-job", "--shutdown-hook-path", hook.path] });
    const id = await hub.api.schedule(job({ commands: ["echo single"] }));
    const second = await hub.api.schedule(job({ commands: ["echo second"] }));

    expect(await agent.waitForExit(20_000)).toBe(0);
    const view = await hub.api.job(id);
    expect(view.result).toBe("passed");
    expect(summarize(await hub.api.events(id))).toEqual(passingJob(["started(echo single)", 'out("single\\n")', "finished(echo single, 0)"]));
    expect((await hub.api.job(second)).status).toBe("queued");
    const [a] = await hub.api.agents();
    expect(a!.register.single_job).toBe(true);
    expect(a!.register.job_id).toBe("");
    expect(a!.shutdown_reason).toBe("job-finished");
    expect(a!.jobs).toEqual([id]);
    expect(hook.read()?.reason).toBe("JOB_FINISHED");
    expect(agent.stderr).toMatch(/shut down: JOB_FINISHED \(exit code 0\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("--job-id with --disconnect-after-job: register carries job_id, the agent runs exactly that job", async () => {
    // next_sync_after 10 s: the job is handed out on the first sync, and only the forced sync on
    // job completion (P-6) can report it finished before the next one is due.
    const hub = await startHub(["--next-sync-after", "10000"]);
    const other = await hub.api.schedule(job({ commands: ["echo other"] }));
    const reserved = await hub.api.schedule(job({ commands: ["echo reserved"], job_id: "reserved-job-0001" }));
    const started = Date.now();
    const agent = startAgent(hub, { args: ["--disconnect-after-job", "--job-id", reserved] });

    expect(await agent.waitForExit(20_000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(9000);
    expect((await hub.api.job(reserved)).result).toBe("passed");
    expect((await hub.api.job(other)).status).toBe("queued");
    const [a] = await hub.api.agents();
    expect(a!.register).toMatchObject({ single_job: true, job_id: reserved });
    expect(a!.jobs).toEqual([reserved]);
    expect(a!.shutdown_reason).toBe("job-finished");
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("--job-id without --disconnect-after-job: exit 1 naming job-id, nothing sent", async () => {
    const hub = await startHub();
    const agent = startAgent(hub, { args: ["--job-id", "some-job"] });
    expect(await agent.waitForExit(10_000)).toBe(1);
    expect(agent.stderr).toMatch(/job-id/);
    expect(agent.stderr).toMatch(/disconnect-after-job/);
    expect(await requestsTo(hub, `${BASE}/register`)).toEqual([]);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});

describe("idle timeout", () => {
  it("--disconnect-after-idle-timeout 1: shutdown IDLE, exit 0", async () => {
    const hook = shutdownHook();
    const hub = await startHub();
    const started = Date.now();
    const agent = startAgent(hub, { args: ["--disconnect-after-idle-timeout", "1", "--shutdown-hook-path", hook.path] });
    expect(await agent.waitForExit(15_000)).toBe(0);
    const [a] = await hub.api.agents();
    expect(a!.register.idle_timeout).toBe(1);
    expect(a!.shutdown_reason).toBe("idle");
    expect(a!.disconnected).toBe(true);
    expect(Date.parse(a!.disconnected_at!) - Date.parse(a!.registered_at)).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitUntil(() => hook.read(), 2000, "the shutdown hook's output");
    expect(hook.read()!.reason).toBe("IDLE");
    expect(agent.stderr).toMatch(/shut down: IDLE \(exit code 0\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
