// The tray's content for each agent state (tray-model.ts, what tray.ts shows) and the committed icons
// it points at (scripts/make-icons.mjs): one 16 px and one 32 px PNG per state, and the app icon.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { idleAgentSnapshot, trayStateOf, type AgentSnapshot } from "../../agent-core/host/contract.js";
import { agentsCountText, busiestState, TRAY_STATES, trayIconFile, trayTooltip, trayView, withAgent } from "../../electron/tray-model.js";

const ASSETS = resolve(import.meta.dirname, "../../assets");

const agent = (overrides: Partial<AgentSnapshot> = {}): AgentSnapshot => idleAgentSnapshot(overrides);

const labels = (a: AgentSnapshot, quitting = false) => trayView(a, quitting).menu.map((item) => `${item.label}${item.enabled ? "" : " (disabled)"}`);

describe("trayView", () => {
  it("stopped: Start, and nothing to stop after", () => {
    const view = trayView(agent(), false);
    expect(view.state).toBe("stopped");
    expect(view.icon).toBe("tray/stopped.png");
    expect(view.tooltip).toBe("Semaphore Agent: stopped");
    expect(labels(agent())).toEqual(["Open Semaphore Agent Desktop", "Start agent", "Stop after current job (disabled)", "Quit"]);
    expect(view.menu.find((item) => item.label === "Start agent")?.action).toBe("start");
  });

  it("waiting for jobs: Stop", () => {
    const a = agent({ phase: "waiting-for-jobs", startedAt: 1, name: "gpu-box" });
    const view = trayView(a, false);
    expect(view.state).toBe("waiting");
    expect(view.tooltip).toBe("Semaphore Agent: waiting for jobs");
    expect(labels(a)).toEqual(["Open Semaphore Agent Desktop", "Stop agent", "Stop after current job (disabled)", "Pause", "Snooze 1 hour", "Snooze 3 hours", "Quit"]);
  });

  it("running a job: names it, and offers to stop after it", () => {
    const a = agent({ phase: "running-job", startedAt: 1, jobId: "job-42" });
    const view = trayView(a, false);
    expect(view.state).toBe("running");
    expect(view.tooltip).toBe("Semaphore Agent: running job job-42");
    expect(labels(a)).toEqual([
      "Open Semaphore Agent Desktop",
      "Stop agent",
      "Stop after current job",
      "Stop this job",
      "Pause now (stops the job)",
      "Finish current job, then pause",
      "Snooze 1 hour",
      "Snooze 3 hours",
      "Quit",
    ]);
    expect(view.menu.find((item) => item.action === "stop-after-job")?.enabled).toBe(true);
    expect(view.menu.find((item) => item.label === "Stop this job")?.action).toBe("stop-job");
  });

  it("stop after the job pending: says so and does not offer it twice", () => {
    const a = agent({ phase: "running-job", startedAt: 1, jobId: "job-42", stopAfterJob: true });
    expect(labels(a)).toContain("Stopping after current job (disabled)");
  });

  it("stopping: the stopping icon, no second stop", () => {
    const a = agent({ phase: "waiting-for-jobs", startedAt: 1, stopping: true });
    const view = trayView(a, false);
    expect(view.state).toBe("stopping");
    expect(view.icon).toBe("tray/stopping.png");
    expect(view.tooltip).toBe("Semaphore Agent: stopping");
    expect(labels(a)).toContain("Stopping… (disabled)");
  });

  it("error: the message in the tooltip, shortened to one line", () => {
    const message = `could not register with https://acme.semaphoreci.com:\n401 Unauthorized ${"x".repeat(200)}`;
    const a = agent({ phase: "registering", startedAt: 1, error: { scope: "register", message, at: 1, retryAt: 2 } });
    const view = trayView(a, false);
    expect(view.state).toBe("error");
    expect(view.tooltip).toMatch(/^Semaphore Agent: error — could not register with https:\/\/acme\.semaphoreci\.com: 401 Unauthorized x+…$/);
    expect(view.tooltip.length).toBeLessThan(140);
    const exited = agent({ lastExit: { reason: "UNABLE_TO_SYNC", exitCode: 1, at: 1, message: "lost contact" } });
    expect(trayView(exited, false).state).toBe("error");
    expect(trayTooltip(exited, "error", false)).toBe("Semaphore Agent: error — lost contact");
  });

  it("the local demo: Stop stops the demo", () => {
    const a = agent({ phase: "waiting-for-jobs", mode: "demo", startedAt: 1 });
    expect(trayView(a, false).tooltip).toBe("Semaphore Agent: waiting for jobs (local demo)");
    expect(labels(a)).toContain("Stop local demo");
  });

  it("quitting: the stopping icon whatever the agent does, and a way to quit without waiting", () => {
    const a = agent({ phase: "running-job", startedAt: 1, jobId: "job-42" });
    const view = trayView(a, true);
    expect(view.state).toBe("stopping");
    expect(view.tooltip).toMatch(/quitting/);
    expect(labels(a, true)).toEqual(["Open Semaphore Agent Desktop", "Quitting… (waiting for the agent) (disabled)", "Quit now (do not wait)"]);
    expect(view.menu.at(-1)?.action).toBe("quit-now");
  });

  it("pausing after the job: Resume cancels it", () => {
    const a = agent({ phase: "running-job", startedAt: 1, jobId: "job-42", lending: { ...agent().lending, pauseAfterJob: true, pending: "finish" } });
    const item = trayView(a, false).menu.find((i) => i.action === "resume");
    expect(item?.label).toBe("Pausing after this job — Resume");
    expect(labels(a)).not.toContain("Finish current job, then pause");
  });

  it("held by the owner's terms: the reason in the tooltip and the menu, Resume where it applies", () => {
    const snoozed = agent({
      hold: { kind: "snoozed", reason: "Snoozed until 18:00", since: 1, next: "resumes at 18:00", until: 2 },
      lending: { ...agent().lending, kind: "snoozed", line: "Snoozed until 18:00 (resumes at 18:00)", snoozedUntil: 2 },
    });
    expect(trayView(snoozed, false).tooltip).toBe("Semaphore Agent: Snoozed until 18:00 (resumes at 18:00)");
    expect(labels(snoozed)).toEqual(["Open Semaphore Agent Desktop", "Snoozed until 18:00 (resumes at 18:00) (disabled)", "Resume", "Stop agent", "Quit"]);
    const schedule = agent({
      hold: { kind: "schedule", reason: "Outside your schedule", since: 1, next: "next window Mon 19:00", until: 2 },
      lending: { ...agent().lending, kind: "schedule", line: "Outside your schedule (next window Mon 19:00)" },
    });
    // Nothing to resume: the schedule decides.
    expect(labels(schedule)).toEqual(["Open Semaphore Agent Desktop", "Outside your schedule (next window Mon 19:00) (disabled)", "Stop agent", "Quit"]);
  });

  it("agrees with the contract's trayStateOf", () => {
    for (const a of [agent(), agent({ phase: "running-job", jobId: "j", startedAt: 1 }), agent({ phase: "shutting-down", startedAt: 1 }), agent({ phase: "stopped", lastExit: { reason: "REQUESTED", exitCode: 0, at: 1, message: "" } })]) {
      expect(trayView(a, false).state).toBe(trayStateOf(a));
    }
  });
});

describe("trayView with several agents (one per GPU or group)", () => {
  const running = (id: string) => agent({ id, phase: "running-job", startedAt: 1, jobId: `job-${id}` });
  const waiting = (id: string) => agent({ id, phase: "waiting-for-jobs", startedAt: 1 });
  const stopped = (id: string) => agent({ id });
  const failed = (id: string) => agent({ id, phase: "registering", startedAt: 1, error: { scope: "register", message: "401", at: 1, retryAt: 2 } });
  const hot = (id: string) =>
    agent({
      id,
      hold: { kind: "gpu", reason: "GPU 1 is too hot", since: 1, next: null, until: null },
      lending: { ...agent().lending, kind: "gpu", line: "Paused — GPU 1 is too hot" },
    });
  const severalLabels = (agents: AgentSnapshot[], quitting = false) => trayView(agents, quitting).menu.map((item) => `${item.label}${item.enabled ? "" : " (disabled)"}`);

  it("a list of one is that agent's tray", () => {
    const a = running("main");
    expect(trayView([a], false)).toEqual(trayView(a, false));
  });

  it("the busiest state across them: running > stopping > error > waiting > stopped", () => {
    expect(busiestState([stopped("gpu0"), waiting("gpu1"), running("gpu2")])).toBe("running");
    expect(busiestState([waiting("gpu0"), { ...waiting("gpu1"), stopping: true }, failed("gpu2")])).toBe("stopping");
    expect(busiestState([waiting("gpu0"), failed("gpu1")])).toBe("error");
    expect(busiestState([stopped("gpu0"), waiting("gpu1")])).toBe("waiting");
    expect(busiestState([stopped("gpu0"), hot("gpu1")])).toBe("stopped");
    expect(busiestState([])).toBe("stopped");
  });

  it("how many run jobs, with errors and pauses beside", () => {
    expect(agentsCountText([running("gpu0"), running("gpu1"), waiting("gpu2"), stopped("gpu3")])).toBe("2 of 4 agents running jobs");
    expect(agentsCountText([running("gpu0"), failed("gpu1"), hot("gpu2")])).toBe("1 of 3 agents running jobs, 1 with an error, 1 paused");
    expect(agentsCountText([waiting("gpu0"), waiting("gpu1")])).toBe("2 agents waiting for jobs");
    expect(agentsCountText([stopped("gpu0"), stopped("gpu1")])).toBe("2 agents stopped");
    expect(agentsCountText([hot("gpu0"), hot("gpu1")])).toBe("2 agents paused");
  });

  it("running: the count in the tooltip and atop the menu, controls for all", () => {
    const agents = [running("gpu0"), running("gpu1"), waiting("gpu2"), stopped("gpu3")];
    const view = trayView(agents, false);
    expect(view.state).toBe("running");
    expect(view.icon).toBe("tray/running.png");
    expect(view.tooltip).toBe("Semaphore Agent: 2 of 4 agents running jobs");
    expect(severalLabels(agents)).toEqual([
      "Open Semaphore Agent Desktop",
      "2 of 4 agents running jobs (disabled)",
      "Stop all agents",
      "Stop all after their jobs",
      "Pause all now (stops the jobs)",
      "Finish the jobs, then pause all",
      "Snooze all 1 hour",
      "Snooze all 3 hours",
      "Quit",
    ]);
    // No "Stop this job": which one? Each job has its own Stop in the window.
    expect(view.menu.some((item) => item.action === "stop-job")).toBe(false);
    expect(view.menu.find((item) => item.label === "Stop all agents")?.action).toBe("stop");
  });

  it("all stopped: Start all; paused by hand: Resume all", () => {
    expect(severalLabels([stopped("gpu0"), stopped("gpu1")])).toEqual(["Open Semaphore Agent Desktop", "2 agents stopped (disabled)", "Start all agents", "Stop all after their jobs (disabled)", "Quit"]);
    const paused = (id: string) =>
      agent({ id, hold: { kind: "paused", reason: "Paused", since: 1, next: null, until: null }, lending: { ...agent().lending, kind: "paused", pausedByHand: true, line: "Paused by you" } });
    const labels = severalLabels([paused("gpu0"), paused("gpu1")]);
    expect(labels).toContain("Resume all");
    expect(labels).toContain("Stop all agents");
    expect(labels).not.toContain("Pause all");
    expect(trayView([paused("gpu0"), paused("gpu1")], false).menu.find((i) => i.label === "Resume all")?.action).toBe("resume");
  });

  it("stopping after their jobs, and quitting", () => {
    const agents = [{ ...running("gpu0"), stopAfterJob: true }, { ...running("gpu1"), stopAfterJob: true }];
    expect(severalLabels(agents)).toContain("Stopping after their jobs (disabled)");
    const quitting = trayView(agents, true);
    expect(quitting.state).toBe("stopping");
    expect(quitting.tooltip).toMatch(/quitting/);
    expect(severalLabels(agents, true)).toEqual(["Open Semaphore Agent Desktop", "Quitting… (waiting for the agents) (disabled)", "Quit now (do not wait)"]);
  });

  it("an agent event replaces that agent in the list, a new one is added", () => {
    const list = [waiting("gpu0"), waiting("gpu1")];
    expect(withAgent(list, running("gpu1")).map((a) => [a.id, a.jobId])).toEqual([
      ["gpu0", null],
      ["gpu1", "job-gpu1"],
    ]);
    expect(withAgent(list, stopped("gpu2")).map((a) => a.id)).toEqual(["gpu0", "gpu1", "gpu2"]);
  });
});

/** Width, height, bit depth and colour type from a PNG's IHDR; throws if it is not a PNG. */
function pngInfo(path: string): { width: number; height: number; depth: number; colorType: number } {
  const data = readFileSync(path);
  expect(data.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(data.subarray(12, 16).toString("ascii")).toBe("IHDR");
  expect(data.subarray(-8, -4).toString("ascii")).toBe("IEND");
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20), depth: data[24] as number, colorType: data[25] as number };
}

describe("icons", () => {
  it.each(TRAY_STATES)("%s has a 16 px and a 32 px (@2x) RGBA PNG", (state) => {
    const file = join(ASSETS, trayIconFile(state));
    expect(pngInfo(file)).toEqual({ width: 16, height: 16, depth: 8, colorType: 6 });
    expect(pngInfo(file.replace(/\.png$/, "@2x.png"))).toEqual({ width: 32, height: 32, depth: 8, colorType: 6 });
  });

  it("the states' icons differ from each other", () => {
    const contents = TRAY_STATES.map((state) => readFileSync(join(ASSETS, trayIconFile(state))).toString("base64"));
    expect(new Set(contents).size).toBe(TRAY_STATES.length);
  });

  it("the app icon is 512 px (electron-builder makes .icns and .ico from it)", () => {
    expect(pngInfo(join(ASSETS, "icon.png"))).toMatchObject({ width: 512, height: 512 });
  });
});
