// (gpu) What the GPU sampler costs the agent's process: nvidia-smi -lms 1000 read and parsed for
// `seconds`, plus a --query-compute-apps reading every 5 s, with the stand-in nvidia-smi
// (tests/helpers/bin) reporting 4 GPUs, against the same time with the sampler off, side by side.
// The CPU counted is this process's own (process.cpuUsage): nvidia-smi's own work is the driver
// tool's, not the agent's. Target: at most 0.5 % of one core.
import { join, resolve } from "node:path";
import { NvidiaSmiSampler, readComputeApps } from "../agent-core/gpu/nvidia-smi.js";
import { sleep } from "./util.js";

const ROOT = resolve(import.meta.dirname, "../..");

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function gpuSamplerCost(seconds: number): Promise<Record<string, number>> {
  const command = process.env.NVIDIA_SMI ?? join(ROOT, "tests/helpers/bin/nvidia-smi");
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
    const sampler = new NvidiaSmiSampler((e) => (e.type === "sample" ? samples++ : errors++), { command, env, intervalMs: 1000 });
    sampler.start();
    const apps = setInterval(() => void readComputeApps(command, env), 5000);
    await sleep((seconds * 1000) / 2);
    clearInterval(apps);
    sampler.stop();
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
  const r = { seconds, samples, errors, offPercent, onPercent, addedPercent: onPercent - offPercent };
  console.log(`\n(gpu) the GPU sampler at 1 Hz (4 GPUs, ${command.includes("tests/helpers") ? "the stand-in nvidia-smi" : command}), ${seconds} s each (off and on alternating, twice), this process's CPU`);
  console.log(`    off ${offPercent.toFixed(3)} % of one core, on ${onPercent.toFixed(3)} % (${samples} samples, ${errors} errors): on - off ${r.addedPercent.toFixed(3)} %`);
  console.log(`    upper bound of the sampler's cost: the whole process while it runs, ${onPercent.toFixed(3)} % of one core   (target <= 0.5 %)`);
  return r;
}
