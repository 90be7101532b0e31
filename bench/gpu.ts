// (gpu) What the GPU telemetry costs the agent's process: the host's GpuService as the app runs it
// (nvidia-smi -lms 1000 read and parsed, 10 minutes of history kept, the guards evaluated, a tick
// built for the windows each second, a --query-compute-apps reading every 5 s with attribution, the
// machine's CPU and memory sampled at 1 Hz) for `seconds`, with the stand-in nvidia-smi
// (tests/helpers/bin) reporting 4 GPUs, against the same time with it off, side by side. The CPU
// counted is this process's own (process.cpuUsage): nvidia-smi's own work is the driver tool's, not
// the agent's. Target: at most 0.5 % of one core.
//
// (agents) What one more agent costs: the Host on the stand-in's 4 GPUs with one agent for all of
// them, registered at an in-process hub and waiting for jobs, then with one agent per GPU (4), RSS
// and heap measured settled in each state; the difference over 3 is one extra agent.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { GpuService, UsageTracker } from "../agent-core/host/gpu-service.js";
import { Host } from "../agent-core/host/host.js";
import { plainFileCodec } from "../agent-core/host/secret-store.js";
import { defaultSettings } from "../agent-core/host/settings.js";
import { DEFAULT_TIMINGS } from "../agent-core/timings.js";
import { startHub } from "../hub/hub.js";
import { sleep } from "./util.js";

const ROOT = resolve(import.meta.dirname, "../..");

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function gpuSamplerCost(seconds: number): Promise<Record<string, number>> {
  const command = join(ROOT, "tests/helpers/bin/nvidia-smi");
  const env = { ...process.env, FAKE_NVIDIA_GPUS: "4" };
  // Start-up work (module loading, JIT, GC) settles first; then off and on alternate, twice each.
  await sleep(3000);
  let samples = 0;
  let errors = 0;
  const measure = async (on: boolean): Promise<number> => {
    const t0 = Date.now();
    const c0 = cpuMs();
    if (!on) {
      await sleep((seconds * 1000) / 2);
      return ((cpuMs() - c0) / (Date.now() - t0)) * 100;
    }
    let usage: UsageTracker | null = null;
    const service = new GpuService({
      env: { ...env, PATH: `${join(ROOT, "tests/helpers/bin")}:${process.env.PATH}` },
      intervalMs: 1000,
      appsEveryMs: 5000,
      onTick: (tick) => {
        samples++;
        JSON.stringify(tick); // what a window gets, serialised as the bridges do
      },
      onChange: () => errors++,
      machine: () => usage?.machine ?? null,
    });
    usage = new UsageTracker(service, () => undefined);
    service.configure(defaultSettings(), () => null);
    usage.start();
    service.start();
    await sleep((seconds * 1000) / 2);
    service.stop();
    usage.stop();
    return ((cpuMs() - c0) / (Date.now() - t0)) * 100;
  };
  const offs: number[] = [];
  const ons: number[] = [];
  for (let i = 0; i < 2; i++) {
    offs.push(await measure(false));
    ons.push(await measure(true));
  }
  const offPercent = (offs[0]! + offs[1]!) / 2;
  const onPercent = (ons[0]! + ons[1]!) / 2;
  const r = { seconds, samples, changes: errors, offPercent, onPercent, addedPercent: onPercent - offPercent };
  console.log(`\n(gpu) the GPU telemetry at 1 Hz (GpuService + machine sampler; 4 GPUs, ${command.includes("tests/helpers") ? "the stand-in nvidia-smi" : command}), ${seconds} s in all (off and on alternating, twice), this process's CPU`);
  console.log(`    off ${offPercent.toFixed(3)} % of one core, on ${onPercent.toFixed(3)} % (${samples} ticks, ${errors} view changes): on - off ${r.addedPercent.toFixed(3)} %`);
  console.log(`    upper bound of the sampler's cost: the whole process while it runs, ${onPercent.toFixed(3)} % of one core   (target <= 0.5 %)`);
  return r;
}

function settledMemory(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

/** The median of five readings a second apart, after `settleMs`. */
async function memoryNow(settleMs: number): Promise<{ rss: number; heap: number }> {
  await sleep(settleMs);
  const readings: { rss: number; heap: number }[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(settledMemory());
    await sleep(1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[2] as number;
  return { rss: median(readings.map((r) => r.rss)), heap: median(readings.map((r) => r.heap)) };
}

export async function memoryPerAgent(): Promise<Record<string, number>> {
  const hub = await startHub({ nextSyncAfter: 1000 });
  const base = mkdtempSync(join(tmpdir(), "sa-bench-agents-"));
  const host = await Host.open({
    dataDir: join(base, "data"),
    secretCodec: plainFileCodec(),
    env: { PATH: `${join(ROOT, "tests/helpers/bin")}:${process.env.PATH}`, HOME: base, TMPDIR: base, LANG: "C.UTF-8", FAKE_NVIDIA_GPUS: "4" },
    timings: { ...DEFAULT_TIMINGS },
    watchConnectivity: false,
  });
  try {
    const settings = { ...defaultSettings(), endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken, name: "bench-gpu-box", sandbox: "none" as const };
    const waiting = async (n: number) => {
      const deadline = Date.now() + 30_000;
      while (host.agentSnapshots.filter((a) => a.phase === "waiting-for-jobs").length !== n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} agents`);
        await sleep(50);
      }
    };
    await host.saveSettings({ settings: { ...settings, gpuAgents: "one" } });
    await host.startAgent({});
    await waiting(1);
    const one = await memoryNow(5000);
    await host.saveSettings({ settings: { ...settings, gpuAgents: "per-gpu" } });
    await waiting(4);
    const four = await memoryNow(5000);
    const r = {
      oneAgentRssMiB: one.rss / 2 ** 20,
      fourAgentsRssMiB: four.rss / 2 ** 20,
      perExtraAgentRssMiB: (four.rss - one.rss) / 3 / 2 ** 20,
      perExtraAgentHeapMiB: (four.heap - one.heap) / 3 / 2 ** 20,
      gcExposed: (globalThis as { gc?: unknown }).gc ? 1 : 0,
    };
    console.log(`\n(agents) memory per extra agent: the host on 4 GPUs (stand-in nvidia-smi), agents registered at an in-process hub and waiting for jobs`);
    console.log(`    1 agent (one for all GPUs): RSS ${r.oneAgentRssMiB.toFixed(1)} MiB;  4 agents (one per GPU): RSS ${r.fourAgentsRssMiB.toFixed(1)} MiB`);
    console.log(`    per extra agent: RSS +${r.perExtraAgentRssMiB.toFixed(2)} MiB, JS heap +${r.perExtraAgentHeapMiB.toFixed(2)} MiB${r.gcExposed ? "" : " (no --expose-gc: heap figures include garbage)"}`);
    return r;
  } finally {
    await host.close({ timeoutMs: 10_000 });
    await hub.close();
    rmSync(base, { recursive: true, force: true });
  }
}

