// Which agents the machine runs for its GPUs (one, per GPU, groups; the GPUs the owner keeps), what
// their jobs see (CUDA_VISIBLE_DEVICES by UUID), the device minor of a GPU, the GPU guards with their
// hysteresis, the Xid lines of the kernel log, and the CLI's --gpus flag.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { takeGpusFlag, headlessPlans } from "../../agent-core/cli/gpus-flag.js";
import { gpuGuard, parseXidLine, XID_COOL_OFF_MS, type GuardLimits } from "../../agent-core/gpu/guards.js";
import type { GpuSample } from "../../agent-core/gpu/nvidia-smi.js";
import { gpuJobEnv, nvidiaMinorOf, planAgents } from "../../agent-core/gpu/plan.js";

const gpu = (index: number) => ({ uuid: `GPU-${index}aaa`, index, name: "NVIDIA A100" });
const FOUR = [0, 1, 2, 3].map(gpu);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("planAgents", () => {
  const plan = (gpuAgents: "one" | "per-gpu" | "groups", extra: { gpuGroups?: string[][]; gpuNotLent?: string[] } = {}) =>
    planAgents({ gpuAgents, gpuGroups: extra.gpuGroups ?? [], gpuNotLent: extra.gpuNotLent ?? [] }, FOUR, "box");

  it("no GPU tool, or no GPU: one agent that sets nothing about GPUs", () => {
    expect(planAgents({ gpuAgents: "per-gpu", gpuGroups: [], gpuNotLent: [] }, null, "box")).toEqual([{ id: "main", gpus: [], name: null }]);
    expect(planAgents({ gpuAgents: "per-gpu", gpuGroups: [], gpuNotLent: [] }, [], "box")).toEqual([{ id: "main", gpus: [], name: null }]);
  });

  it("one agent for every lent GPU (the default), under the settings' name", () => {
    expect(plan("one")).toEqual([{ id: "main", gpus: FOUR, name: null }]);
    expect(plan("one", { gpuNotLent: [FOUR[1]!.uuid] })).toEqual([{ id: "main", gpus: [FOUR[0], FOUR[2], FOUR[3]], name: null }]);
  });

  it("one agent per lent GPU, named <name>-gpu<index>", () => {
    expect(plan("per-gpu", { gpuNotLent: [FOUR[2]!.uuid] })).toEqual([
      { id: "gpu0", gpus: [FOUR[0]], name: "box-gpu0" },
      { id: "gpu1", gpus: [FOUR[1]], name: "box-gpu1" },
      { id: "gpu3", gpus: [FOUR[3]], name: "box-gpu3" },
    ]);
  });

  it("groups: each group one agent; a lent GPU in no group its own; a GPU kept is in none", () => {
    const groups = [[FOUR[3]!.uuid, FOUR[1]!.uuid], ["GPU-gone"], [FOUR[1]!.uuid]];
    expect(plan("groups", { gpuGroups: groups, gpuNotLent: [FOUR[2]!.uuid] })).toEqual([
      { id: "gpu0", gpus: [FOUR[0]], name: "box-gpu0" },
      { id: "gpu1-3", gpus: [FOUR[1], FOUR[3]], name: "box-gpu1-3" },
    ]);
  });

  it("every GPU kept: one agent whose jobs see no GPU (the CPU is still lent)", () => {
    const plans = plan("per-gpu", { gpuNotLent: FOUR.map((g) => g.uuid) });
    expect(plans).toEqual([{ id: "main", gpus: [], name: null }]);
    expect(gpuJobEnv(plans[0]!.gpus, true, "nvidia")).toEqual({ CUDA_VISIBLE_DEVICES: "", NVIDIA_VISIBLE_DEVICES: "none" });
  });
});

describe("gpuJobEnv", () => {
  it("names GPUs by UUID for CUDA and the container runtime; ROCm by index; nothing on a machine without GPUs", () => {
    expect(gpuJobEnv([FOUR[1]!, FOUR[3]!], true, "nvidia")).toEqual({ CUDA_VISIBLE_DEVICES: "GPU-1aaa,GPU-3aaa", NVIDIA_VISIBLE_DEVICES: "GPU-1aaa,GPU-3aaa" });
    expect(gpuJobEnv([FOUR[1]!], true, "amd")).toEqual({ ROCR_VISIBLE_DEVICES: "1", HIP_VISIBLE_DEVICES: "1" });
    expect(gpuJobEnv([], false, null)).toEqual({});
  });
});

describe("nvidiaMinorOf", () => {
  it("reads the driver's Device Minor for the bus id, else the index", () => {
    const proc = mkdtempSync(join(tmpdir(), "sa-nvproc-"));
    dirs.push(proc);
    mkdirSync(join(proc, "0000:17:00.0"));
    writeFileSync(join(proc, "0000:17:00.0", "information"), "Model: \t\t NVIDIA A100\nIRQ:   \t\t 143\nGPU UUID: \t GPU-x\nDevice Minor: \t 3\nBus Type: \t PCIe\n");
    expect(nvidiaMinorOf({ index: 0, busId: "00000000:17:00.0" }, proc)).toBe(3);
    expect(nvidiaMinorOf({ index: 2, busId: "00000000:27:00.0" }, proc)).toBe(2);
    expect(nvidiaMinorOf({ index: 1, busId: null }, proc)).toBe(1);
  });
});

describe("gpuGuard", () => {
  const limits: GuardLimits = { maxTemperatureC: 85, maxPowerW: 300, ownerUsePauses: true };
  const input = (patch: Partial<Parameters<typeof gpuGuard>[0]> = {}) => ({ index: 1, temperatureC: 60, powerW: 100, processes: [], lastXid: null, ...patch });

  it("holds a GPU at its temperature limit and lets it go 5 °C under it", () => {
    const hot = gpuGuard(input({ temperatureC: 85 }), limits, null, 0);
    expect(hot).toEqual({ kind: "temperature", reason: "GPU 1 is too hot (85 °C, your limit 85 °C)" });
    expect(gpuGuard(input({ temperatureC: 82 }), limits, hot, 0)?.kind).toBe("temperature");
    expect(gpuGuard(input({ temperatureC: 80 }), limits, hot, 0)).toBeNull();
    expect(gpuGuard(input({ temperatureC: 84 }), limits, null, 0)).toBeNull();
    expect(gpuGuard(input({ temperatureC: 120 }), { ...limits, maxTemperatureC: 0 }, null, 0)).toBeNull();
    expect(gpuGuard(input({ temperatureC: null }), limits, null, 0)).toBeNull();
  });

  it("holds a GPU over the power limit until it draws 10 % less", () => {
    const over = gpuGuard(input({ powerW: 310 }), limits, null, 0);
    expect(over).toEqual({ kind: "power", reason: "GPU 1 draws 310 W (your limit 300 W)" });
    expect(gpuGuard(input({ powerW: 280 }), limits, over, 0)?.kind).toBe("power");
    expect(gpuGuard(input({ powerW: 260 }), limits, over, 0)).toBeNull();
  });

  it("rests a GPU for the cool-off after an Xid error", () => {
    const xid = { at: 1_000, code: 79 };
    expect(gpuGuard(input({ lastXid: xid }), limits, null, 1_000 + XID_COOL_OFF_MS - 1)).toEqual({ kind: "xid", reason: "GPU 1 reported Xid error 79: resting it for 10 min" });
    expect(gpuGuard(input({ lastXid: xid }), limits, null, 1_000 + XID_COOL_OFF_MS)).toBeNull();
  });

  it("the owner's own compute processes hold it (a job's do not), unless the owner turned that off", () => {
    const processes = [
      { pid: 10, name: "train.py", usedMemoryMiB: 4096, jobId: "job-1" },
      { pid: 11, name: "python3", usedMemoryMiB: 2048, jobId: null },
      { pid: 12, name: "blender", usedMemoryMiB: null, jobId: null },
    ];
    expect(gpuGuard(input({ processes }), limits, null, 0)).toEqual({ kind: "owner", reason: "You are using GPU 1 (python3 pid 11, 2048 MiB and 1 more)" });
    expect(gpuGuard(input({ processes: [processes[0]!] }), limits, null, 0)).toBeNull();
    expect(gpuGuard(input({ processes }), { ...limits, ownerUsePauses: false }, null, 0)).toBeNull();
  });
});

describe("parseXidLine", () => {
  it("reads the driver's Xid lines, as nvidia-smi spells the bus id", () => {
    expect(parseXidLine("[ 1234.5678] NVRM: Xid (PCI:0000:17:00): 79, pid=1234, GPU has fallen off the bus.")).toEqual({ busId: "00000000:17:00.0", code: 79 });
    expect(parseXidLine("kernel: NVRM: Xid (PCI:0000:b1:00.0): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit error")).toEqual({ busId: "00000000:B1:00.0", code: 48 });
    expect(parseXidLine("NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.14")).toBeNull();
    expect(parseXidLine("")).toBeNull();
  });
});

describe("--gpus", () => {
  const found = [0, 1, 2].map((i) => ({ index: i, uuid: `GPU-${i}aaa`, name: "A100", busId: null }) as unknown as GpuSample);
  const env = { HOME: mkdtempSync(join(tmpdir(), "sa-gpus-home-")), TMPDIR: mkdtempSync(join(tmpdir(), "sa-gpus-tmp-")) };
  dirs.push(env.HOME, env.TMPDIR);

  it("is taken out of the official flags; all and per-gpu stand alone; UUID lists are agents", () => {
    expect(takeGpusFlag(["--name", "x", "--gpus", "per-gpu", "--no-https"])).toEqual({ argv: ["--name", "x", "--no-https"], gpus: { kind: "per-gpu" } });
    expect(takeGpusFlag(["--gpus=all"]).gpus).toEqual({ kind: "all" });
    expect(takeGpusFlag(["--gpus", "GPU-0aaa,GPU-2aaa", "--gpus", "GPU-1aaa"]).gpus).toEqual({ kind: "groups", groups: [["GPU-0aaa", "GPU-2aaa"], ["GPU-1aaa"]] });
    expect(takeGpusFlag(["--name", "x"]).gpus).toBeNull();
    expect(() => takeGpusFlag(["--gpus"])).toThrow(/--gpus needs a value/);
    expect(() => takeGpusFlag(["--gpus", "all", "--gpus", "per-gpu"])).toThrow(/all and per-gpu stand alone/);
  });

  it("all is one agent under the config's name; per-gpu and lists get names, homes and TMPDIRs of their own", () => {
    const all = headlessPlans({ kind: "all" }, found, "box-name", env);
    expect(all.map((p) => [p.name, p.jobHome, p.env.CUDA_VISIBLE_DEVICES])).toEqual([["box-name", null, "GPU-0aaa,GPU-1aaa,GPU-2aaa"]]);
    const per = headlessPlans({ kind: "per-gpu" }, found, "box-name", env);
    expect(per.map((p) => p.name)).toEqual(["box-name-gpu0", "box-name-gpu1", "box-name-gpu2"]);
    expect(new Set(per.map((p) => p.jobHome)).size).toBe(3);
    expect(per[1]!.env).toMatchObject({ CUDA_VISIBLE_DEVICES: "GPU-1aaa", NVIDIA_VISIBLE_DEVICES: "GPU-1aaa", TMPDIR: join(env.TMPDIR, "agent-box-name-gpu1") });
    const groups = headlessPlans({ kind: "groups", groups: [["GPU-2aaa", "GPU-0aaa"]] }, found, "box-name", env);
    expect(groups.map((p) => [p.name, p.env.CUDA_VISIBLE_DEVICES])).toEqual([["box-name-gpu0-2", "GPU-0aaa,GPU-2aaa"]]);
    expect(() => headlessPlans({ kind: "groups", groups: [["GPU-9zzz"]] }, found, "box-name", env)).toThrow(/no GPU GPU-9zzz on this machine \(nvidia-smi reports 0: GPU-0aaa, 1: GPU-1aaa, 2: GPU-2aaa\)/);
  });
});
