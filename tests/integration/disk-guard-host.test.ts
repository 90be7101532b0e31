// The disk guard's hard floor through the app's Host and a real agent: a job that fills the disk of
// its job home (a real file, on this machine's real filesystem) below the floor is stopped by the
// agent; the history and the activity say it was the disk guard; once the job home is cleaned the
// space is back and the agent takes jobs again by itself. The floor is set just under the free
// space measured now, so the job writes about 1-2 GB (fallocate: instant where supported).
import { statfsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeJobRequest, startHub, type Hub } from "../../hub/hub.js";
import type { HostEvent } from "../../agent-core/host/contract.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { waitUntil } from "../helpers/jobs.js";
import { FAST_TIMINGS, ROOT, stopAll, tempDir } from "../helpers/processes.js";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, diskPollMs: 100, diskIdleCheckMs: 200 };
const GB = 1e9;

let host: Host | null = null;
let hub: Hub | null = null;
afterAll(async () => {
  await host?.close({ timeoutMs: 10_000 });
  await hub?.close();
  await stopAll();
});

const freeBytes = (path: string) => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};

describe("the disk guard's hard floor (Host, real agent, real filesystem)", () => {
  it("stops a job that fills the disk below the floor, says so in the history, and resumes once the job home is clean", async (ctx) => {
    const dataDir = tempDir("sa-floor-data-");
    const home = tempDir("sa-floor-home-");
    const floorGb = Math.floor(freeBytes(dataDir) / GB) - 1;
    // A machine with under 2 GB free cannot show this without filling itself up.
    if (floorGb < 1) ctx.skip();
    hub = await startHub({ port: 0, nextSyncAfter: 200 });
    host = await Host.open({
      dataDir,
      secretCodec: plainFileCodec(),
      env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LANG: "C.UTF-8" },
      timings: TIMINGS,
      examplesDir: join(ROOT, "examples"),
    });
    const events: HostEvent[] = [];
    host.subscribe((e) => events.push(e));
    const saved = await host.saveSettings({
      settings: {
        ...defaultSettings(),
        endpoint: hub.endpoint,
        noHttps: true,
        token: hub.registrationToken,
        name: "floor-agent",
        diskMinFreeGb: 0,
        diskMinFreePercent: 0,
        diskHardFloorGb: floorGb,
      },
    });
    expect(saved, JSON.stringify(saved)).toMatchObject({ ok: true });
    await host.startAgent({});
    await waitUntil(() => hub!.agents().find((a) => a.name === "floor-agent" && a.state === "waiting-for-jobs"), 30_000, "the agent waiting for jobs");

    // Enough to go 300 MB under the floor, from what is free right now.
    const fill = Math.ceil(freeBytes(dataDir) - floorGb * GB + 300e6);
    const { job_id: id } = hub.scheduleJob(
      makeJobRequest({ commands: [`fallocate -l ${fill} fill.bin 2>/dev/null || head -c ${fill} /dev/zero > fill.bin`, "echo filled; sleep 600"] }),
    );
    await waitUntil(() => hub!.job(id)?.status === "finished", 60_000, `job ${id} stopped`);
    expect(hub.job(id)?.result).toBe("stopped");
    // Semaphore saw a job that ran and finished `stopped`: no state its protocol does not have.
    expect(hub.violations()).toEqual([]);

    const [summary] = await host.listJobs({});
    expect(summary?.id).toBe(id);
    expect(summary?.result).toBe("stopped");
    expect(summary?.stoppedBy, summary?.stoppedBy ?? "").toMatch(/^Stopped by the disk guard: Only .* free on \S*job-home .*under the hard floor of /);
    expect(summary?.problem).toBeNull();
    const activity = events.flatMap((e) => (e.type === "activity" ? [e.message] : []));
    expect(activity.some((m) => m.includes(id) && m.includes("stopped: stopped by the disk guard"))).toBe(true);

    // The job home is cleaned after the job (the default policy): the file is gone, the space is
    // back, and the agent is waiting for jobs again with nothing held.
    const next = hub.scheduleJob(makeJobRequest({ commands: ["echo again"] })).job_id;
    await waitUntil(() => hub!.job(next)?.status === "finished", 60_000, `job ${next} after the space came back`);
    expect(hub.job(next)?.result).toBe("passed");
    expect((await host.getSnapshot({})).agent.hold).toBeNull();
    expect(freeBytes(dataDir)).toBeGreaterThan(floorGb * GB);
  });
});
