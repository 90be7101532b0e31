// The owner's terms through the Host with a real agent and a real hub on 127.0.0.1: pausing drains
// and disconnects (the hub lists no connected agent, a job scheduled meanwhile stays queued and is
// never given out), Resume registers again under the same name and the queued job runs; "finish
// current job, then pause" can be undone; "stop this job" ends the job `stopped` and the agent goes
// on; an idle-time source (a stand-in for the desktop's powerMonitor) pauses on input and resumes
// after N minutes without it, stopping the running job when the owner chose that; a schedule
// window opens and closes under a fake clock. The pause figures (click -> disconnected) are printed.
import { afterEach, describe, expect, it } from "vitest";
import { makeJobRequest, startHub, type Hub } from "../../hub/hub.js";
import type { SettingsInput } from "../../agent-core/host/contract.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import type { LendingSignalSource } from "../../agent-core/policy/signals.js";
import type { KeepAwake } from "../../agent-core/host/keep-awake.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { waitUntil } from "../helpers/jobs.js";
import { FAST_TIMINGS, ROOT, stopAll, tempDir } from "../helpers/processes.js";
import { join } from "node:path";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, lendingPollMs: 100, disconnectDelayMs: 100 };
const NAME = "lending-agent-01";

/** Signals a test sets by hand: idle seconds, battery, the owner's load. */
class StandInSignals implements LendingSignalSource {
  idle: number | null = 3600;
  battery: boolean | null = null;
  cpu: number | null = 0;
  idleSeconds = async () => this.idle;
  onBattery = async () => this.battery;
  ownerCpuPercent = async () => this.cpu;
}

const opened: Array<{ host: Host; hub: Hub }> = [];
afterEach(async () => {
  for (const { host, hub } of opened.splice(0)) {
    await host.close({ timeoutMs: 10_000 });
    await hub.close();
  }
  await stopAll();
});

/** Records what the host asks of keep-awake. */
class RecordingKeepAwake implements KeepAwake {
  readonly method = "test";
  active = false;
  readonly calls: string[] = [];
  start(): void {
    this.calls.push("start");
    this.active = true;
  }
  stop(): void {
    if (this.active) this.calls.push("stop");
    this.active = false;
  }
}

async function setUp(settings: Partial<SettingsInput> = {}, options: { signals?: StandInSignals; now?: () => number; keepAwake?: KeepAwake } = {}) {
  const hub = await startHub({ port: 0, nextSyncAfter: 200 });
  const home = tempDir("sa-lend-home-");
  const signals = options.signals ?? new StandInSignals();
  const host = await Host.open({
    dataDir: tempDir("sa-lend-data-"),
    secretCodec: plainFileCodec(),
    env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LANG: "C.UTF-8" },
    timings: TIMINGS,
    examplesDir: join(ROOT, "examples"),
    watchConnectivity: false,
    signals,
    now: options.now,
    keepAwake: options.keepAwake ?? new RecordingKeepAwake(),
  });
  opened.push({ host, hub });
  const saved = await host.saveSettings({ settings: { ...defaultSettings(), endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken, name: NAME, sandbox: "none", ...settings } });
  expect(saved, JSON.stringify(saved)).toMatchObject({ ok: true });
  return { hub, host, signals };
}

const connected = (hub: Hub) => hub.agents().filter((a) => a.name === NAME && !a.disconnected);
const waitingForJobs = (hub: Hub) => connected(hub).some((a) => a.state === "waiting-for-jobs");
/** The agent left the hub and the host holds it (the hold is set once the agent has exited). */
const gone = (hub: Hub, host: Host) => connected(hub).length === 0 && host.agentSnapshot.hold !== null;
const registrations = (hub: Hub) => hub.agents().filter((a) => a.name === NAME).length;

describe("the owner's terms (Host, real agent, real hub)", () => {
  it("Pause drains and disconnects; a job scheduled meanwhile stays queued; Resume registers again under the same name and runs it", async () => {
    const { hub, host } = await setUp();
    await host.startAgent({});
    await waitUntil(() => waitingForJobs(hub), 15_000, "the agent waiting for jobs");

    const clicked = Date.now();
    await host.pause({ when: "now" });
    await waitUntil(() => gone(hub, host), 15_000, "the agent to leave the hub");
    const idleMs = Date.now() - clicked;
    expect(hub.agents().find((a) => a.name === NAME)?.disconnected).toBe(true);
    expect(host.agentSnapshot.hold).toMatchObject({ kind: "paused", reason: "Paused by you" });
    expect(host.agentSnapshot.lending).toMatchObject({ pausedByHand: true, kind: "paused", line: "Paused by you (until you resume)" });

    const { job_id: queued } = hub.scheduleJob(makeJobRequest({ commands: ["echo ran after resume"] }));
    // Several sync periods of the hub: nobody may take it.
    const until = Date.now() + 1500;
    await waitUntil(() => Date.now() > until, 5_000, "1.5 s");
    expect(hub.job(queued)).toMatchObject({ status: "queued", agent: null });
    // A Start while paused is refused with the reason; the agent is not registered.
    await expect(host.startAgent({})).rejects.toMatchObject({ message: expect.stringMatching(/paused \(Paused by you\)/) });

    await host.resume({});
    await waitUntil(() => hub.job(queued)?.status === "finished", 20_000, "the queued job to run after Resume");
    expect(hub.job(queued)).toMatchObject({ result: "passed", agent: NAME });
    expect(registrations(hub)).toBe(2);
    expect(host.agentSnapshot.hold).toBeNull();
    expect(hub.violations()).toEqual([]);

    // With a job running, Pause stops it (as a stop from Semaphore would) and then disconnects.
    const { job_id: running } = hub.scheduleJob(makeJobRequest({ commands: ["sleep 60"] }));
    await waitUntil(() => hub.events(running).some((e) => e.event === "cmd_started" && e.directive === "sleep 60"), 20_000, "the job's command running");
    const clickedWithJob = Date.now();
    await host.pause({ when: "now" });
    await waitUntil(() => gone(hub, host), 20_000, "the agent to leave the hub after stopping its job");
    const withJobMs = Date.now() - clickedWithJob;
    expect(hub.job(running)?.result).toBe("stopped");
    const [summary] = await host.listJobs({});
    expect(summary).toMatchObject({ id: running, result: "stopped", stoppedBy: "Stopped by you: paused" });
    expect(hub.violations(), JSON.stringify(hub.violations())).toEqual([]);
    console.log(`pause: click -> disconnected at the hub: ${idleMs} ms idle, ${withJobMs} ms with a running job (stopped first)`);
  });

  it("Finish current job, then pause: Resume undoes it while the job runs; done, it pauses once the job has finished", async () => {
    const { hub, host } = await setUp();
    await host.startAgent({});
    await waitUntil(() => waitingForJobs(hub), 15_000, "the agent waiting for jobs");
    const { job_id: first } = hub.scheduleJob(makeJobRequest({ commands: ['while [ ! -f "$HOME/go-1" ]; do sleep 0.05; done'] }));
    await waitUntil(() => hub.job(first)?.status === "running", 20_000, "the first job running");

    await host.pause({ when: "after-job" });
    expect(host.agentSnapshot.lending).toMatchObject({ pauseAfterJob: true, pending: "finish" });
    await host.resume({});
    expect(host.agentSnapshot.lending).toMatchObject({ pauseAfterJob: false, pausedByHand: false });
    await import("node:fs").then((fs) => fs.writeFileSync(join(host.agentSnapshot.sandbox?.jobHome ?? "", "go-1"), ""));
    await waitUntil(() => hub.job(first)?.status === "finished", 20_000, "the first job to finish");
    expect(hub.job(first)?.result).toBe("passed");
    // Undone: the agent goes on taking jobs.
    const { job_id: second } = hub.scheduleJob(makeJobRequest({ commands: ['while [ ! -f "$HOME/go-2" ]; do sleep 0.05; done'] }));
    await waitUntil(() => hub.job(second)?.status === "running", 20_000, "the second job running");
    expect(registrations(hub)).toBe(1);

    await host.pause({ when: "after-job" });
    await import("node:fs").then((fs) => fs.writeFileSync(join(host.agentSnapshot.sandbox?.jobHome ?? "", "go-2"), ""));
    await waitUntil(() => gone(hub, host), 20_000, "the agent to leave once the job finished");
    expect(hub.job(second)?.result).toBe("passed");
    expect(host.agentSnapshot.lending).toMatchObject({ pausedByHand: true, pauseAfterJob: false });
    expect(host.agentSnapshot.hold?.kind).toBe("paused");
    expect(hub.violations()).toEqual([]);
  });

  it("Stop this job ends it stopped, as a stop from Semaphore would; the agent takes the next job", async () => {
    const { hub, host } = await setUp();
    await host.startAgent({});
    await waitUntil(() => waitingForJobs(hub), 15_000, "the agent waiting for jobs");
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["echo press stop; sleep 60", "echo never"], epilogueAlways: ["echo epilogue"] }));
    await waitUntil(() => hub.events(id).some((e) => e.event === "cmd_started" && e.directive.startsWith("echo press stop")), 20_000, "the command running");
    await expect(host.stopJob({ jobId: "not-this-one" })).rejects.toMatchObject({ code: "invalid-state" });
    await host.stopJob({ jobId: id });
    await waitUntil(() => hub.job(id)?.status === "finished", 20_000, "the stopped job");
    expect(hub.job(id)?.result).toBe("stopped");
    const directives = hub.events(id).flatMap((e) => (e.event === "cmd_finished" ? [`${e.directive}=${e.exit_code}`] : []));
    // Semaphore's stop semantics (spec §5.9): the command ends with 1, nothing else runs.
    expect(directives.slice(-1)).toEqual(["echo press stop; sleep 60=1"]);
    expect(hub.events(id).at(-1)).toMatchObject({ event: "job_finished", result: "stopped" });
    const { job_id: next } = hub.scheduleJob(makeJobRequest({ commands: ["echo next"] }));
    await waitUntil(() => hub.job(next)?.status === "finished", 20_000, "the next job");
    expect(hub.job(next)?.result).toBe("passed");
    expect(registrations(hub)).toBe(1);
    expect(hub.violations()).toEqual([]);
  });

  it("only when idle: input pauses (the running job stopped, as chosen), N minutes without it resumes", async () => {
    const signals = new StandInSignals();
    const { hub, host } = await setUp({ lendIdleMinutes: 2, lendOnRunningJob: { schedule: "finish", battery: "finish", idle: "stop", load: "finish" } }, { signals });
    await host.startAgent({});
    await waitUntil(() => waitingForJobs(hub), 15_000, "the agent waiting for jobs");
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ["sleep 60"] }));
    await waitUntil(() => hub.events(id).some((e) => e.event === "cmd_started" && e.directive === "sleep 60"), 20_000, "the job's command running");

    signals.idle = 3; // the owner touched the mouse
    await waitUntil(() => hub.job(id)?.status === "finished", 20_000, "the running job stopped");
    expect(hub.job(id)?.result).toBe("stopped");
    await waitUntil(() => gone(hub, host), 20_000, "the agent to leave the hub");
    expect(host.agentSnapshot.hold?.kind).toBe("idle");
    expect(host.agentSnapshot.lending.line).toBe("Paused — you are using the computer (resumes after 2 min idle)");
    const [summary] = await host.listJobs({});
    expect(summary?.stoppedBy).toBe("Stopped: You are using the computer");

    signals.idle = 119; // not yet
    const until = Date.now() + 600;
    await waitUntil(() => Date.now() > until, 5_000, "0.6 s");
    expect(connected(hub)).toEqual([]);
    signals.idle = 121;
    await waitUntil(() => waitingForJobs(hub), 20_000, "the agent back after 2 min idle");
    expect(host.agentSnapshot.hold).toBeNull();
    expect(registrations(hub)).toBe(2);
    expect(hub.violations()).toEqual([]);
  });

  it("the circuit breaker: after N jobs in a row fail before their first command, it pauses and says why; Resume resets it", async () => {
    const { hub, host } = await setUp({ breakerJobs: 2 });
    await host.startAgent({});
    await waitUntil(() => waitingForJobs(hub), 15_000, "the agent waiting for jobs");
    // A variable name the agent refuses fails the job in its env step: no command of its own ran.
    const broken = () => hub.scheduleJob(makeJobRequest({ env: { "1BAD": "x" }, commands: ["echo never"] })).job_id;
    // A job that ran a command and failed does not count.
    const ranAndFailed = hub.scheduleJob(makeJobRequest({ commands: ["false"] })).job_id;
    await waitUntil(() => hub.job(ranAndFailed)?.status === "finished", 20_000, "the failing job");
    const first = broken();
    await waitUntil(() => hub.job(first)?.status === "finished", 20_000, "the first broken job");
    expect(host.agentSnapshot.hold).toBeNull();
    const second = broken();
    await waitUntil(() => gone(hub, host), 20_000, "the breaker to pause the agent");
    expect(hub.job(second)?.result).toBe("failed");
    expect(host.agentSnapshot.hold).toMatchObject({ kind: "breaker", reason: expect.stringMatching(/^2 jobs in a row failed before their first command finished/) });
    const waiting = hub.scheduleJob(makeJobRequest({ commands: ["echo after resume"] })).job_id;
    await host.resume({});
    await waitUntil(() => hub.job(waiting)?.status === "finished", 20_000, "the job after Resume");
    expect(hub.job(waiting)?.result).toBe("passed");
    expect(hub.violations()).toEqual([]);
  });

  it("keeps the machine awake while a job runs, never on battery", async () => {
    const signals = new StandInSignals();
    const keepAwake = new RecordingKeepAwake();
    const { hub, host } = await setUp({}, { signals, keepAwake });
    await host.startAgent({});
    await waitUntil(() => waitingForJobs(hub), 15_000, "the agent waiting for jobs");
    expect(keepAwake.active).toBe(false);
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ commands: ['while [ ! -f "$HOME/go-awake" ]; do sleep 0.05; done'] }));
    await waitUntil(() => keepAwake.active, 20_000, "keep-awake on while the job runs");
    // Unplugged mid-job: the hold is let go.
    signals.battery = true;
    await waitUntil(() => !keepAwake.active, 10_000, "keep-awake off on battery");
    await import("node:fs").then((fs) => fs.writeFileSync(join(host.agentSnapshot.sandbox?.jobHome ?? "", "go-awake"), ""));
    await waitUntil(() => hub.job(id)?.status === "finished", 20_000, "the job to finish");
    // A job on battery never takes it.
    const { job_id: onBattery } = hub.scheduleJob(makeJobRequest({ commands: ["echo on battery"] }));
    await waitUntil(() => hub.job(onBattery)?.status === "finished", 20_000, "the job on battery");
    expect(keepAwake.calls).toEqual(["start", "stop"]);
    expect(keepAwake.active).toBe(false);
  });

  it("a schedule window opens and closes under a fake clock", async () => {
    // Monday 7 December 2026, 18:59:30 in Berlin; the window is Monday 19:00-20:00.
    let now = Date.parse("2026-12-07T18:59:30+01:00");
    const days = [[19], [], [], [], [], [], []];
    const previousTz = process.env.TZ;
    process.env.TZ = "Europe/Berlin";
    try {
      const { hub, host } = await setUp({ lendSchedule: { days } }, { now: () => now });
      await host.startAgent({});
      expect(host.agentSnapshot.hold).toMatchObject({ kind: "schedule", reason: "Outside your schedule", next: "next window 19:00" });
      expect(registrations(hub)).toBe(0);
      now = Date.parse("2026-12-07T19:00:00+01:00");
      await waitUntil(() => waitingForJobs(hub), 20_000, "the agent registered when the window opened");
      expect(host.agentSnapshot.lending.line).toBe("Lending this machine until 20:00 (your schedule)");
      now = Date.parse("2026-12-07T20:00:01+01:00");
      await waitUntil(() => gone(hub, host), 20_000, "the agent gone when the window closed");
      expect(host.agentSnapshot.hold).toMatchObject({ kind: "schedule", next: "next window Mon 19:00" });
      expect(hub.violations()).toEqual([]);
    } finally {
      if (previousTz === undefined) delete process.env.TZ;
      else process.env.TZ = previousTz;
    }
  });
});
