// Wire-level protocol checks against the strict hub (spec §1.3, §2.1, §7.2): User-Agent, the two
// auth schemes, the ten register fields, and the 401 -> /refresh -> re-send path of the log push.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { AGENT_VERSION } from "../../agent-core/version.js";
import { job, stopAll, summarize } from "../helpers/processes.js";
import {
  BASE,
  agentLoggedEvents,
  expectNoTokenLeak,
  expectNoViolations,
  expireLogToken,
  logPath,
  passingJob,
  pendingFaults,
  requests,
  requestsTo,
  startPair,
} from "../helpers/protocol.js";

const DEBUG = { SEMAPHORE_AGENT_LOG_LEVEL: "debug" };

function prettyOsName(): string {
  try {
    const text = readFileSync("/etc/os-release", "utf8");
    const get = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(text)?.[1]?.replace(/^["']|["']$/g, "");
    return get("PRETTY_NAME") || get("NAME") || "";
  } catch {
    return "";
  }
}

afterEach(stopAll);

describe("wire protocol", () => {
  it("sends SemaphoreAgent/<version>, Token on the control plane, Bearer on logs, and all ten register fields", async () => {
    const { hub, agent } = await startPair();
    const id = await hub.api.schedule(job({ commands: ["echo hi"] }));
    const view = await hub.api.waitForJob(id, "finished", 20_000);
    expect(view.result).toBe("passed");
    await hub.api.waitForAgent((agents) => agents[0]?.state === "waiting-for-jobs" && agents[0].job_id === "", 10_000);

    expect(AGENT_VERSION).toMatch(/^v\d+\.\d+\.\d+/);
    const [a] = await hub.api.agents();
    expect(a!.user_agent).toBe(`SemaphoreAgent/${AGENT_VERSION}`);
    // All ten fields, in the Go agent's order, with the right values and JSON types.
    expect(Object.keys(a!.register)).toEqual([
      "name",
      "version",
      "pid",
      "os",
      "arch",
      "hostname",
      "single_job",
      "idle_timeout",
      "interruption_grace_period",
      "job_id",
    ]);
    expect(a!.register).toEqual({
      name: expect.stringMatching(/^[A-Za-z0-9_-]{20}$/), // random: 15 bytes of URL-safe base64 (§2.2)
      version: AGENT_VERSION,
      pid: agent.pid,
      os: prettyOsName(),
      arch: process.arch === "x64" ? "x86_64" : process.arch === "ia32" ? "x86" : process.arch,
      hostname: hostname(),
      single_job: false,
      idle_timeout: 0,
      interruption_grace_period: 0,
      job_id: "",
    });
    expect(a!.name).toBe(a!.register.name);
    expect(agent.stderr).toContain(`registered as ${a!.name}`);

    // Every call the agent made was answered 2xx: the hub answers a wrong scheme, a wrong token or
    // a wrong User-Agent with 4xx and records a violation.
    const all = await requests(hub);
    const agentCalls = all.filter((r) => r.path.startsWith("/api/"));
    for (const path of [`${BASE}/register`, `${BASE}/sync`, `${BASE}/jobs/${id}`, logPath(id)]) {
      expect(agentCalls.some((r) => r.path.split("?")[0] === path), path).toBe(true);
    }
    expect(agentCalls.filter((r) => r.status !== 200)).toEqual([]);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("a 401 on log push makes the agent call /refresh and re-send the batch: nothing lost", async () => {
    const { hub, agent } = await startPair([], { env: DEBUG });
    await hub.api.fault({ target: "logs", mode: "401", count: 2 });
    const id = await hub.api.schedule(job({ commands: ["echo one", "sleep 0.5", "echo two"] }));
    const view = await hub.api.waitForJob(id, "finished", 20_000);
    expect(view.result).toBe("passed");
    expect(view.refresh_count).toBeGreaterThanOrEqual(1);

    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual(
      passingJob([
        "started(echo one)",
        'out("one\\n")',
        "finished(echo one, 0)",
        "started(sleep 0.5)",
        "finished(sleep 0.5, 0)",
        "started(echo two)",
        'out("two\\n")',
        "finished(echo two, 0)",
      ]),
    );
    expect(events).toEqual(agentLoggedEvents(agent, id));
    expect(await pendingFaults(hub)).toEqual([]);
    const refreshes = await requestsTo(hub, `${BASE}/refresh`);
    expect(refreshes.length).toBe(view.refresh_count);
    expect(refreshes.every((r) => r.status === 200)).toBe(true);
    // The 401'd batch is re-sent from the same start_from.
    const pushes = await requestsTo(hub, logPath(id));
    expect(pushes[0]!.status).toBe(401);
    expect(pushes[0]!.path).toMatch(/start_from=0$/);
    expect(pushes.find((r) => r.status === 200)!.path).toMatch(/start_from=0$/);
    expect(agent.stderr).toMatch(/log token refreshed/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });

  it("an expired log token mid-job, with the first /refresh failing: refreshed on the next tick, nothing lost", async () => {
    const { hub, agent } = await startPair([], { env: DEBUG });
    const id = await hub.api.schedule(job({ commands: ["echo before", "sleep 1", "echo after"] }));
    await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_started" && e.directive === "sleep 1"), 15_000);
    await hub.api.fault({ target: "refresh", mode: "500", count: 1 });
    await expireLogToken(hub, id);

    const view = await hub.api.waitForJob(id, "finished", 20_000);
    expect(view.result).toBe("passed");
    expect(view.refresh_count).toBe(1);
    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual(
      passingJob([
        "started(echo before)",
        'out("before\\n")',
        "finished(echo before, 0)",
        "started(sleep 1)",
        "finished(sleep 1, 0)",
        "started(echo after)",
        'out("after\\n")',
        "finished(echo after, 0)",
      ]),
    );
    expect(events).toEqual(agentLoggedEvents(agent, id));
    const refreshes = await requestsTo(hub, `${BASE}/refresh`);
    expect(refreshes.map((r) => r.status)).toEqual([500, 200]);
    const rejected = (await requestsTo(hub, logPath(id))).filter((r) => r.status === 401);
    expect(rejected.length).toBe(2); // one per refresh attempt
    expect(agent.stderr).toMatch(/refreshing the log token failed/);
    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
