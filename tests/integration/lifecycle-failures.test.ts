// Agent-side give-ups (spec §1.4, §2.4, §3.8): no successful sync for longer than the window ends
// the agent with UNABLE_TO_SYNC and exit code 1 (hook included); registration is retried
// registerAttempts times and then fails with the server's message.
import { afterEach, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll } from "../helpers/processes.js";
import {
  BASE,
  expectNoTokenLeak,
  expectNoViolations,
  hubPort,
  requestsTo,
  shutdownHook,
  startPair,
  waitForIdleAgent,
} from "../helpers/protocol.js";

afterEach(stopAll);

describe("unable to sync", () => {
  it("sync answering 500 for longer than unableToSyncMs: disconnect, hook UNABLE_TO_SYNC, exit 1", async () => {
    const hook = shutdownHook();
    const hub = await startHub();
    const agent = startAgent(hub, {
      args: ["--shutdown-hook-path", hook.path],
      env: { HUB_PORT: hubPort(hub) },
      timings: { unableToSyncMs: 2000 },
    });
    await waitForIdleAgent(hub, agent);
    await hub.api.fault({ target: "sync", mode: "500", count: 100_000 });

    expect(await agent.waitForExit(15_000)).toBe(1);
    const syncs = await requestsTo(hub, `${BASE}/sync`);
    const lastOk = syncs.filter((r) => r.status === 200).at(-1)!;
    const disconnect = (await requestsTo(hub, `${BASE}/disconnect`))[0];
    expect(disconnect?.status).toBe(200);
    // Not before the window: > unableToSyncMs after the last successful sync.
    expect(Date.parse(disconnect!.time) - Date.parse(lastOk.time)).toBeGreaterThan(2000);
    expect(syncs.filter((r) => r.fault === "500").length).toBeGreaterThanOrEqual(3);

    const ran = hook.read();
    expect(ran?.reason).toBe("UNABLE_TO_SYNC");
    expect(ran?.isShutdown).toBe("true"); // disconnect before the hook
    expect(agent.stderr).toMatch(/shut down: UNABLE_TO_SYNC \(exit code 1\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("the hub process dies during a job: the agent gives up after the window, runs the hook, exit 1", async () => {
    const hook = shutdownHook();
    const { hub, agent } = await startPair([], {
      args: ["--shutdown-hook-path", hook.path],
      timings: { unableToSyncMs: 2000, disconnectAttempts: 3 },
    });
    // Output keeps coming, so there are always log events the dead hub will never take: the agent
    // must not spend the 60 s flush window on them before shutting down (it exits, like Go, §3.8).
    const id = await hub.api.schedule(job({ commands: ["while true; do echo tick; sleep 0.05; done"] }));
    await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_output"), 15_000);
    await expectNoViolations(hub);
    const killedAt = Date.now();
    hub.proc.signal("SIGKILL");
    await hub.proc.waitForExit(5000);

    expect(await agent.waitForExit(15_000)).toBe(1);
    expect(Date.now() - killedAt).toBeGreaterThan(1500);
    expect(hook.read()?.reason).toBe("UNABLE_TO_SYNC");
    expect(agent.stderr).toMatch(/error \(disconnect\).*attempt 3\/3/);
    expect(agent.stderr).toMatch(/shut down: UNABLE_TO_SYNC \(exit code 1\)/);
    expectNoTokenLeak(agent, hub.token);
  });

  it("sync failing while the job's log pushes hang: the agent still shuts down promptly (no 30 s wait on the push)", async () => {
    const hook = shutdownHook();
    const { hub, agent } = await startPair([], {
      args: ["--shutdown-hook-path", hook.path],
      timings: { unableToSyncMs: 2000 },
    });
    const id = await hub.api.schedule(job({ commands: ["while true; do echo tick; sleep 0.05; done"] }));
    await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_output"), 15_000);
    await hub.api.fault({ target: "logs", mode: "hang", count: 100_000 });
    await hub.api.fault({ target: "sync", mode: "500", count: 100_000 });
    const t0 = Date.now();

    expect(await agent.waitForExit(12_000)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(hook.read()?.reason).toBe("UNABLE_TO_SYNC");
    const [a] = await hub.api.agents();
    expect(a!.disconnected).toBe(true);
    // The hub then finishes the abandoned job as failed.
    expect((await hub.api.job(id)).abandoned).toBe(true);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});

describe("registration", () => {
  it("a wrong registration token: registerAttempts attempts, then exit 1 with the server's message", async () => {
    const hook = shutdownHook();
    const hub = await startHub();
    const wrong = "wrong-registration-token-0042";
    const agent = startAgent(hub, {
      bare: true,
      args: ["--endpoint", hub.endpoint, "--no-https", "--token", wrong, "--shutdown-hook-path", hook.path],
      timings: { registerAttempts: 3, registerDelayMs: 100 },
    });
    expect(await agent.waitForExit(10_000)).toBe(1);
    const registers = await requestsTo(hub, `${BASE}/register`);
    expect(registers.map((r) => r.status)).toEqual([401, 401, 401]);
    expect(registers.every((r) => r.note === "wrong registration token")).toBe(true);
    expect(agent.stderr).toMatch(/wrong registration token.*attempt 3\/3/);
    // No agent, so no sync, no disconnect and no shutdown hook (spec §2.4).
    expect(await hub.api.agents()).toEqual([]);
    expect(await requestsTo(hub, `${BASE}/disconnect`)).toEqual([]);
    expect(hook.read()).toBeNull();
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, wrong);
    expectNoTokenLeak(agent, hub.token);
  });

  it("register answering 500 twice, then success: the agent proceeds", async () => {
    const hub = await startHub();
    await hub.api.fault({ target: "register", mode: "500", count: 2 });
    const agent = startAgent(hub, { timings: { registerAttempts: 3, registerDelayMs: 100 } });
    await waitForIdleAgent(hub, agent);
    expect((await requestsTo(hub, `${BASE}/register`)).map((r) => r.status)).toEqual([500, 500, 200]);
    expect(agent.stderr).toMatch(/attempt 2\/3/);
    const id = await hub.api.schedule(job({ commands: ["true"] }));
    expect((await hub.api.waitForJob(id, "finished", 15_000)).result).toBe("passed");
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("register dropped, then garbage, then success: the agent proceeds with one registration", async () => {
    const hub = await startHub();
    await hub.api.fault({ target: "register", mode: "drop", count: 1 });
    await hub.api.fault({ target: "register", mode: "garbage", count: 1 });
    const agent = startAgent(hub, { timings: { registerAttempts: 3, registerDelayMs: 100 } });
    await waitForIdleAgent(hub, agent);
    expect((await requestsTo(hub, `${BASE}/register`)).map((r) => r.status)).toEqual([null, 200, 200]);
    expect(await hub.api.agents()).toHaveLength(1);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
