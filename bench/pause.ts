// (pause) How long Pause takes, from the click to the hub listing the agent as disconnected, with the
// spec's real timings (DEFAULT_TIMINGS) and the app's Host with a real agent: idle, and with a job
// running (Pause now stops it first, as a stop from Semaphore would). Then Resume to the agent
// waiting for jobs again. Repeated `rounds` times; the median and the spread are printed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Host } from "../agent-core/host/host.js";
import { plainFileCodec } from "../agent-core/host/secret-store.js";
import { defaultSettings } from "../agent-core/host/settings.js";
import { DEFAULT_TIMINGS } from "../agent-core/timings.js";
import { makeJobRequest, startHub } from "../hub/hub.js";
import { quantile, waitFor } from "./util.js";

const ROOT = resolve(import.meta.dirname, "../..");
const NAME = "pause-bench-agent";

export async function pauseBenchmarks(rounds: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), "sa-bench-pause-"));
  const hub = await startHub({ port: 0 });
  const host = await Host.open({
    dataDir: join(dir, "data"),
    secretCodec: plainFileCodec(),
    env: { PATH: process.env.PATH, HOME: dir, TMPDIR: dir, LANG: "C.UTF-8" },
    timings: { ...DEFAULT_TIMINGS },
    examplesDir: join(ROOT, "examples"),
    watchConnectivity: false,
  });
  const idle: number[] = [];
  const withJob: number[] = [];
  const resume: number[] = [];
  try {
    const saved = await host.saveSettings({ settings: { ...defaultSettings(), endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken, name: NAME, sandbox: "none" } });
    if (!saved.ok) throw new Error(JSON.stringify(saved.errors));
    await host.startAgent({});
    const connected = () => hub.agents().filter((a) => a.name === NAME && !a.disconnected);
    const waiting = () => connected().some((a) => a.state === "waiting-for-jobs");
    await waitFor("the agent waiting for jobs", waiting, 60_000, 5);
    for (let i = 0; i < rounds; i++) {
      let t0 = Date.now();
      await host.pause({ when: "now" });
      await waitFor("the paused agent to disconnect", () => connected().length === 0, 60_000, 2);
      idle.push(Date.now() - t0);
      t0 = Date.now();
      await host.resume({});
      await waitFor("the agent back", waiting, 60_000, 2);
      resume.push(Date.now() - t0);

      const { job_id } = hub.scheduleJob(makeJobRequest({ commands: ["sleep 600"] }));
      await waitFor("the job's command", () => hub.events(job_id).some((e) => e.event === "cmd_started" && e.directive === "sleep 600"), 60_000, 5);
      t0 = Date.now();
      await host.pause({ when: "now" });
      await waitFor("the agent to stop its job and disconnect", () => connected().length === 0, 60_000, 2);
      withJob.push(Date.now() - t0);
      await host.resume({});
      await waitFor("the agent back", waiting, 60_000, 5);
    }
  } finally {
    await host.close({ timeoutMs: 10_000 });
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
  const r = {
    rounds,
    idleMedianMs: median(idle),
    idleMaxMs: Math.max(...idle),
    withJobMedianMs: median(withJob),
    withJobMaxMs: Math.max(...withJob),
    resumeMedianMs: median(resume),
    resumeMaxMs: Math.max(...resume),
  };
  console.log(`\n(pause) Pause, click -> disconnected at the hub, the spec's timings, ${rounds} rounds`);
  console.log(`    idle agent:          median ${r.idleMedianMs.toFixed(0)} ms, max ${r.idleMaxMs} ms`);
  console.log(`    with a running job:  median ${r.withJobMedianMs.toFixed(0)} ms, max ${r.withJobMaxMs} ms (the job is stopped first)`);
  console.log(`    Resume -> waiting for jobs again: median ${r.resumeMedianMs.toFixed(0)} ms, max ${r.resumeMaxMs} ms`);
  return r;
}
