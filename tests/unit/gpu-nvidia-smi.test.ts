// nvidia-smi's CSV query output read as a stream: real-format lines (a data-centre board, a consumer
// board with [N/A] power, a name with a comma, a truncated line, a warning), the compute processes,
// energy from power samples, and the long-lived `-lms` reader against the stand-in nvidia-smi
// (tests/helpers/bin), including one that dies and is restarted.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { energyWh, NvidiaSmiSampler, parseComputeApps, parseGpuLine, readComputeApps, type SamplerEvent } from "../../agent-core/gpu/nvidia-smi.js";
import { ROOT } from "../helpers/processes.js";

const STAND_IN = join(ROOT, "tests/helpers/bin/nvidia-smi");

describe("parseGpuLine", () => {
  it("reads a data-centre GPU's line", () => {
    expect(parseGpuLine("0, GPU-5c3f1a2b-1111-2222-3333-444455556666, 00000000:17:00.0, NVIDIA A100-SXM4-40GB, 87, 30215, 40960, 61, 312.45, 400.00", 5)).toEqual({
      at: 5,
      index: 0,
      uuid: "GPU-5c3f1a2b-1111-2222-3333-444455556666",
      busId: "00000000:17:00.0",
      name: "NVIDIA A100-SXM4-40GB",
      utilization: 87,
      memoryUsed: 30215,
      memoryTotal: 40960,
      temperature: 61,
      powerDraw: 312.45,
      powerLimit: 400,
    });
  });

  it("turns [N/A], [Not Supported] and missing columns into null; keeps a name with a comma; units tolerated", () => {
    const consumer = parseGpuLine("1, GPU-aa, 00000000:65:00.0, NVIDIA GeForce RTX 3090, 3, 512, 24576, 45, [N/A], [Not Supported]", 1);
    expect(consumer).toMatchObject({ index: 1, powerDraw: null, powerLimit: null, temperature: 45 });
    const short = parseGpuLine("2, GPU-bb, 00000000:B3:00.0, Tesla T4, 10", 1);
    expect(short).toMatchObject({ index: 2, utilization: 10, memoryUsed: null, powerLimit: null });
    const comma = parseGpuLine("3, MIG-cc, 00000000:CA:00.0, Grid, vGPU 8Q, 1, 2, 3, 4, 5.5 W, 6", 1);
    expect(comma).toMatchObject({ uuid: "MIG-cc", name: "Grid, vGPU 8Q", utilization: 1, powerDraw: 5.5, powerLimit: 6 });
  });

  it("skips what is not a GPU line", () => {
    expect(parseGpuLine("", 1)).toBeNull();
    expect(parseGpuLine("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 1)).toBeNull();
    expect(parseGpuLine("0, GPU-5c3f1a2", 1)).toMatchObject({ uuid: "GPU-5c3f1a2", name: null });
    expect(parseGpuLine("x, GPU-1, a", 1)).toBeNull();
    expect(parseGpuLine("0, not-a-uuid, a", 1)).toBeNull();
  });
});

describe("parseComputeApps", () => {
  it("reads pid, name (commas kept), memory and GPU; skips the rest", () => {
    expect(
      parseComputeApps("4242, python3, 2048, GPU-aa\n77, /usr/bin/my, app, [N/A], GPU-bb\n\nNo running processes found\n0, x, 1, GPU-aa\n"),
    ).toEqual([
      { pid: 4242, name: "python3", usedMemory: 2048, gpuUuid: "GPU-aa" },
      { pid: 77, name: "/usr/bin/my, app", usedMemory: null, gpuUuid: "GPU-bb" },
    ]);
  });
});

describe("energyWh", () => {
  it("integrates power over time (trapezoids), skipping unknown readings and long gaps", () => {
    // 300 W for an hour in 1 s steps: 300 Wh.
    const hour = Array.from({ length: 3601 }, (_, i) => ({ at: i * 1000, powerDraw: 300 }));
    expect(energyWh(hour)).toBeCloseTo(300, 6);
    // 100 W then 200 W over one second: 150 J.
    expect(energyWh([{ at: 0, powerDraw: 100 }, { at: 1000, powerDraw: 200 }])).toBeCloseTo(150 / 3600, 9);
    expect(energyWh([{ at: 0, powerDraw: null }, { at: 1000, powerDraw: 200 }])).toBe(0);
    expect(energyWh([{ at: 0, powerDraw: 100 }, { at: 60_000, powerDraw: 100 }])).toBe(0);
  });
});

async function collect(sampler: NvidiaSmiSampler, events: SamplerEvent[], until: (e: SamplerEvent[]) => boolean, timeoutMs = 10_000): Promise<void> {
  sampler.start();
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(events)) {
      if (Date.now() > deadline) throw new Error(`timed out; events: ${JSON.stringify(events).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    sampler.stop();
  }
}

describe("NvidiaSmiSampler (the stand-in nvidia-smi)", () => {
  it("streams one sample per round with every GPU, values changing", async () => {
    const events: SamplerEvent[] = [];
    const sampler = new NvidiaSmiSampler((e) => events.push(e), { command: STAND_IN, intervalMs: 50, env: { ...process.env, FAKE_NVIDIA_GPUS: "4", FAKE_NVIDIA_NA: "power.limit" } });
    await collect(sampler, events, (e) => e.filter((x) => x.type === "sample").length >= 3);
    const samples = events.flatMap((e) => (e.type === "sample" ? [e.gpus] : []));
    for (const round of samples) expect(round.map((g) => g.index)).toEqual([0, 1, 2, 3]);
    expect(samples[0]![0]).toMatchObject({ name: "NVIDIA A100-SXM4-40GB", memoryTotal: 40960, powerLimit: null });
    expect(samples[0]![0]!.utilization).not.toBe(samples[1]![0]!.utilization);
    expect(events.filter((e) => e.type === "error")).toEqual([]);
  });

  it("restarts a dying nvidia-smi, saying why; a run that gave good lines resets the backoff", async () => {
    const events: SamplerEvent[] = [];
    const sampler = new NvidiaSmiSampler((e) => events.push(e), { command: STAND_IN, intervalMs: 30, backoffMs: 50, maxBackoffMs: 400, env: { ...process.env, FAKE_NVIDIA_DIE_AFTER: "1" } });
    await collect(sampler, events, (e) => e.filter((x) => x.type === "error").length >= 2 && e.filter((x) => x.type === "sample").length >= 2);
    const errors = events.flatMap((e) => (e.type === "error" ? [e] : []));
    expect(errors[0]!.message).toMatch(/exited \(code 1\): Unable to determine the device handle/);
    // A good line resets the backoff: each run gives one round, so every restart waits the first delay.
    expect(errors.map((e) => e.restartInMs).slice(0, 2)).toEqual([50, 50]);
  });

  it("without nvidia-smi it says so, and keeps trying with a backoff", async () => {
    const events: SamplerEvent[] = [];
    const sampler = new NvidiaSmiSampler((e) => events.push(e), { command: "/nonexistent/nvidia-smi", backoffMs: 20, maxBackoffMs: 80 });
    await collect(sampler, events, (e) => e.length >= 3);
    expect(events[0]).toEqual({ type: "error", message: "/nonexistent/nvidia-smi is not installed (not found on PATH)", restartInMs: 20 });
    expect(events.map((e) => (e.type === "error" ? e.restartInMs : 0))).toEqual([20, 40, 80]);
  });
});

describe("readComputeApps", () => {
  it("lists the processes on each GPU; null when nvidia-smi cannot run", async () => {
    const apps = await readComputeApps(STAND_IN, { ...process.env, FAKE_NVIDIA_APPS: "4242:python3:2048:1;99:train.py:512:0" });
    expect(apps).toEqual([
      { pid: 4242, name: "python3", usedMemory: 2048, gpuUuid: "GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1" },
      { pid: 99, name: "train.py", usedMemory: 512, gpuUuid: "GPU-5c3f0000-1b2c-4d5e-8f90-aaaaaaaaaaa0" },
    ]);
    expect(await readComputeApps(STAND_IN, { ...process.env, FAKE_NVIDIA_APPS: "" })).toEqual([]);
    expect(await readComputeApps("/nonexistent/nvidia-smi")).toBeNull();
  });
});

describe("attribution of GPU processes to jobs", () => {
  it("a process in a job's tree is the job's; one outside is the owner's (real processes, the stand-in's reading)", async () => {
    const { spawn } = await import("node:child_process");
    const { attribute } = await import("../../agent-core/gpu/attribution.js");
    // A "job": a shell whose grandchild holds the GPU; and a process of the owner's beside it.
    const job = spawn("bash", ["-c", "sleep 30 & echo $!; wait"], { stdio: ["ignore", "pipe", "ignore"] });
    const owner = spawn("sleep", ["30"], { stdio: "ignore" });
    let grandchild = 0;
    try {
      grandchild = await new Promise<number>((resolve) => job.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))));
      const apps = await readComputeApps(STAND_IN, { ...process.env, FAKE_NVIDIA_APPS: `${grandchild}:train.py:4096:0;${owner.pid}:blender:1024:1;999999999:gone:1:0` });
      const attributed = attribute(apps!, new Map([[job.pid!, "job-7"]]));
      expect(attributed.map((p) => [p.name, p.jobId])).toEqual([
        ["train.py", "job-7"],
        ["blender", null],
        ["gone", null],
      ]);
    } finally {
      if (grandchild > 0) process.kill(grandchild, "SIGKILL");
      job.kill("SIGKILL");
      owner.kill("SIGKILL");
    }
  });
});

describe("GpuMonitor", () => {
  it("keeps each GPU's samples and credits a job with the GPU its process holds: peak memory, mean use, energy", async () => {
    const { spawn } = await import("node:child_process");
    const { GpuMonitor } = await import("../../agent-core/gpu/monitor.js");
    const job = spawn("bash", ["-c", "sleep 30 & echo $!; wait"], { stdio: ["ignore", "pipe", "ignore"] });
    let grandchild = 0;
    let monitor: InstanceType<typeof GpuMonitor> | null = null;
    try {
      grandchild = await new Promise<number>((resolve) => job.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))));
      monitor = new GpuMonitor({ command: STAND_IN, intervalMs: 50, appsEveryMs: 50, env: { ...process.env, FAKE_NVIDIA_GPUS: "2", FAKE_NVIDIA_APPS: `${grandchild}:train.py:4096:1` } });
      monitor.jobStarted("job-9", job.pid!);
      monitor.start();
      const m = monitor;
      const gpu1 = () => m.samples().get("GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1")?.length ?? 0;
      const waitFor = async (what: string, ok: () => boolean) => {
        const deadline = Date.now() + 15_000;
        while (!ok()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      // Once the job's process is seen on GPU 1, a few more rounds are the job's.
      await waitFor("the job's process on GPU 1", () => m.gpuProcesses().length > 0);
      const seen = gpu1();
      await waitFor("four more rounds", () => gpu1() >= seen + 4);
      expect(m.status).toEqual({ available: true, reason: null, install: null });
      expect([...m.samples().keys()]).toHaveLength(2);
      expect(m.gpuProcesses()).toEqual([{ pid: grandchild, name: "train.py", usedMemory: 4096, gpuUuid: "GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1", jobId: "job-9" }]);
      const used = m.jobFinished("job-9");
      expect(used).toHaveLength(1);
      expect(used[0]).toMatchObject({ uuid: "GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1", peakMemory: 4096 });
      expect(used[0]!.meanUtilization).toBeGreaterThanOrEqual(0);
      expect(used[0]!.energyWh).toBeGreaterThan(0);
    } finally {
      monitor?.stop();
      if (grandchild > 0) process.kill(grandchild, "SIGKILL");
      job.kill("SIGKILL");
    }
  });

  it("without nvidia-smi it says so, with what to install", async () => {
    const { GpuMonitor } = await import("../../agent-core/gpu/monitor.js");
    const m = new GpuMonitor({ command: "/nonexistent/nvidia-smi", amdCommand: "/nonexistent/amd-smi" });
    m.start();
    try {
      await m.ready(5000);
      expect(m.status).toMatchObject({ available: false, reason: "No GPU tool found: neither nvidia-smi nor amd-smi is installed", install: expect.stringMatching(/NVIDIA driver.*ROCm, which brings amd-smi/) });
    } finally {
      m.stop();
    }
  });

  it("without nvidia-smi, an AMD machine's amd-smi answers: its GPUs and processes, vendor amd", async () => {
    const { GpuMonitor } = await import("../../agent-core/gpu/monitor.js");
    const m = new GpuMonitor({
      command: "/nonexistent/nvidia-smi",
      amdCommand: join(ROOT, "tests/helpers/bin/amd-smi"),
      intervalMs: 50,
      appsEveryMs: 50,
      env: { ...process.env, FAKE_AMD_GPUS: "2", FAKE_AMD_APPS: `${process.pid}:blender:2048:1` },
    });
    m.start();
    try {
      await m.ready(10_000);
      expect(m.vendor).toBe("amd");
      expect(m.status.available).toBe(true);
      expect(m.latest().map((g) => g.index)).toEqual([0, 1]);
      const deadline = Date.now() + 15_000;
      while (m.gpuProcesses().length === 0) {
        if (Date.now() > deadline) throw new Error("no AMD processes read");
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(m.gpuProcesses()[0]).toMatchObject({ pid: process.pid, name: "blender", usedMemory: 2048, gpuUuid: m.latest()[1]?.uuid, jobId: null });
    } finally {
      m.stop();
    }
  });
});
