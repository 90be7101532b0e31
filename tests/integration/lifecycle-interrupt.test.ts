// SIGINT/SIGTERM (spec §3.3, §3.7, P-6, P-8): the agent reports interrupted_at on an immediate sync
// and waits for the server; the grace period is the server's; a second signal is swallowed.
import { afterEach, describe, expect, it } from "vitest";
import { delay, job, stopAll, summarize } from "../helpers/processes.js";
import { expectNoTokenLeak, expectNoViolations, shutdownHook, startPair } from "../helpers/protocol.js";

afterEach(stopAll);

describe("interruption", () => {
  it("--interruption-grace-period 2 with a running job: interrupted_at, stop after the grace period, INTERRUPTED, exit 0", async () => {
    const hook = shutdownHook();
    const { hub, agent } = await startPair([], { args: ["--interruption-grace-period", "2", "--shutdown-hook-path", hook.path] });
    const id = await hub.api.schedule(job({ commands: ["sleep 30"], always: ["echo epilogue"] }));
    await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_started" && e.directive === "sleep 30"), 15_000);

    const t0 = Date.now();
    agent.signal("SIGINT");
    // The next sync (forced, immediate) carries interrupted_at in Unix seconds.
    const [a] = await hub.api.waitForAgent((agents) => (agents[0]?.interrupted_at ?? 0) > 0, 3000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(a!.interrupted_at).toBeGreaterThanOrEqual(Math.floor(t0 / 1000) - 1);
    expect(a!.interrupted_at).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(a!.register.interruption_grace_period).toBe(2);

    // A second Ctrl-C neither kills the agent nor stops the job: only the server decides.
    await delay(Math.max(0, t0 + 600 - Date.now()));
    agent.signal("SIGINT");
    await delay(100);
    expect(agent.child.exitCode).toBeNull();
    const status = (await hub.api.job(id)).status;
    // The stop cannot come before floor(t0) + 2 s > t0 + 1 s (only checkable if we were quick).
    if (Date.now() - t0 < 1000) expect(status).toBe("running");

    const view = await hub.api.waitForJob(id, "finished", 15_000);
    expect(view.result).toBe("stopped");
    // interruptedAt is whole seconds, so the stop comes 1..2 s (+ a sync interval) after the signal.
    expect(Date.parse(view.finished_at!) - t0).toBeGreaterThanOrEqual(1000);
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

    expect(await agent.waitForExit(10_000)).toBe(0);
    const [after] = await hub.api.agents();
    expect(after!.shutdown_reason).toBe("interrupted");
    expect(after!.disconnected).toBe(true);
    expect(hook.read()?.reason).toBe("INTERRUPTED");
    expect(agent.stderr.match(/interrupted: told the server/g)).toHaveLength(1);
    expect(agent.stderr).toMatch(/shut down: INTERRUPTED \(exit code 0\)/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it.each(["SIGINT", "SIGTERM"] as const)("%s while idle: an immediate sync, shutdown INTERRUPTED promptly, exit 0", async (signal) => {
    const hook = shutdownHook();
    // next_sync_after 10 s: only the forced sync of P-6 can make the shutdown prompt.
    const { hub, agent } = await startPair(["--next-sync-after", "10000"], { args: ["--shutdown-hook-path", hook.path] });
    const t0 = Date.now();
    agent.signal(signal);
    expect(await agent.waitForExit(5000)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    const [a] = await hub.api.agents();
    expect(a!.interrupted_at).toBeGreaterThan(0);
    expect(a!.shutdown_reason).toBe("interrupted");
    expect(a!.disconnected).toBe(true);
    expect(hook.read()?.reason).toBe("INTERRUPTED");
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
