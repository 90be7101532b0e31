import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll, summarize, type AgentProcess, type HubProcess } from "../helpers/processes.js";

describe("hello world through the real hub and agent processes", () => {
  let hub: HubProcess;
  let agent: AgentProcess;

  beforeAll(async () => {
    hub = await startHub();
    agent = startAgent(hub);
    await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));
  });
  afterAll(stopAll);

  it("runs a job and the hub receives the exact event sequence, with no protocol violation", async () => {
    const id = await hub.api.schedule(job({ commands: ["echo Hello World"] }));
    const view = await hub.api.waitForJob(id, "finished");
    expect(view.result).toBe("passed");
    const events = await hub.api.events(id);
    expect(summarize(events)).toEqual([
      "job_started",
      "started(Exporting environment variables)",
      "finished(Exporting environment variables, 0)",
      "started(Injecting Files)",
      "finished(Injecting Files, 0)",
      "started(echo Hello World)",
      'out("Hello World\\n")',
      "finished(echo Hello World, 0)",
      "started(Exporting environment variables)",
      'out("Exporting SEMAPHORE_JOB_RESULT\\n")',
      "finished(Exporting environment variables, 0)",
      "job_finished(passed)",
    ]);
    // The reference harness counts events: a short output is one cmd_output event.
    expect(events.filter((e) => e.event === "cmd_output").map((e) => (e as { output: string }).output)).toEqual([
      "Hello World\n",
      "Exporting SEMAPHORE_JOB_RESULT\n",
    ]);
    for (const e of events) expect(Number.isInteger(e.timestamp)).toBe(true);
    expect(await hub.api.violations()).toEqual([]);
    expect(agent.stderr).toMatch(/registered as/);
  });
});
