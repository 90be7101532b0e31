// amd-smi's JSON read into GPU samples and processes: real-format documents (ROCm <= 6.3's
// top-level array, 6.4+'s {"gpu_data": [...]}, "N/A" leaves and sections, missing keys, garbage),
// and the polling sampler against the stand-in amd-smi on PATH (tests/helpers/bin): readings that
// change, "N/A" fields, a failing amd-smi, one missing, a slow one, reads that never overlap.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AmdSmiSampler, parseAmdList, parseAmdMetrics, parseAmdProcesses, readAmdProcesses, type AmdGpuInfo, type GpuSampler } from "../../agent-core/gpu/amd-smi.js";
import { NvidiaSmiSampler, type SamplerEvent } from "../../agent-core/gpu/nvidia-smi.js";
import { ROOT } from "../helpers/processes.js";

const BIN = join(ROOT, "tests/helpers/bin");
const onPath = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ""}`, ...extra });
const UUID0 = "a1ff74a1-0000-1000-8000-ccccccccccc0";
const UUID1 = "a1ff75a1-0000-1000-8001-ccccccccccc1";

// `amd-smi list --json` (same shape on every version).
const LIST = JSON.stringify([
  { gpu: 0, bdf: "0000:0c:00.0", uuid: "08ff74a1-0000-1000-8053-3d2b1c0a9e8f", kfd_id: 45412, node_id: 2, partition_id: 0 },
  { gpu: 1, bdf: "0000:22:00.0", uuid: "AMDSMI_STATUS_NOT_SUPPORTED - Feature not supported", kfd_id: 46412, node_id: 3, partition_id: 0 },
]);
// `amd-smi static --json`, ROCm 6.4+ (gpu_data, limit.ppt0) and <= 6.3 (array, limit.socket_power).
const STATIC_NEW = JSON.stringify({
  gpu_data: [
    {
      gpu: 0,
      asic: { market_name: "AMD Instinct MI300X", vendor_id: "0x1002", device_id: "0x74a1" },
      limit: { ppt0: { max_power_limit: { value: 750, unit: "W" }, min_power_limit: { value: 0, unit: "W" }, socket_power_limit: { value: 700, unit: "W" } }, ppt1: { socket_power_limit: "N/A" } },
    },
    { gpu: 1, asic: { market_name: "N/A" }, limit: "N/A" },
  ],
});
const STATIC_OLD = JSON.stringify([{ gpu: 0, asic: { market_name: "Radeon RX 7900 XTX" }, bus: { bdf: "0000:03:00.0" }, limit: { max_power: { value: 339, unit: "W" }, socket_power: { value: 303, unit: "W" } } }]);

// One `amd-smi metric --json` GPU as ROCm 6.x prints it (trimmed of clock/pcie/ecc sections).
const metricGpu = (gpu: number, over: Record<string, unknown> = {}) => ({
  gpu,
  usage: { gfx_activity: { value: 87, unit: "%" }, umc_activity: { value: 12, unit: "%" }, mm_activity: "N/A", vcn_activity: [{ value: 0, unit: "%" }, "N/A"] },
  power: { socket_power: { value: 312, unit: "W" }, gfx_voltage: "N/A", throttle_status: "UNTHROTTLED", power_management: "ENABLED" },
  temperature: { edge: { value: 45, unit: "C" }, hotspot: { value: 61, unit: "C" }, mem: { value: 50, unit: "C" } },
  mem_usage: { total_vram: { value: 196592, unit: "MB" }, used_vram: { value: 30215, unit: "MB" }, free_vram: { value: 166377, unit: "MB" }, total_gtt: { value: 257757, unit: "MB" } },
  ...over,
});

describe("parseAmdList", () => {
  it("takes UUID and PCI address from list, name and power cap from static (both versions); a failed UUID becomes AMD-GPU-<index>", () => {
    expect(parseAmdList(LIST, STATIC_NEW)).toEqual([
      { index: 0, uuid: "08ff74a1-0000-1000-8053-3d2b1c0a9e8f", busId: "0000:0c:00.0", name: "AMD Instinct MI300X", powerLimit: 700 },
      { index: 1, uuid: "AMD-GPU-1", busId: "0000:22:00.0", name: null, powerLimit: null },
    ]);
    expect(parseAmdList("[]", STATIC_OLD)).toEqual([{ index: 0, uuid: "AMD-GPU-0", busId: "0000:03:00.0", name: "Radeon RX 7900 XTX", powerLimit: 303 }]);
    expect(parseAmdList(JSON.parse(LIST))[0]).toMatchObject({ index: 0, name: null, powerLimit: null });
  });

  it("is empty for garbage", () => {
    for (const bad of ["", "not json", "{}", "null", '{"gpu_data": 3}', '[{"gpu": "x"}, {"gpu": -1}, 7]', 42, undefined]) expect(parseAmdList(bad, bad)).toEqual([]);
  });
});

describe("parseAmdMetrics", () => {
  const list: AmdGpuInfo[] = parseAmdList(LIST, STATIC_NEW);

  it("reads the ROCm 6.4+ {gpu_data} document, with identities from the list", () => {
    expect(parseAmdMetrics(JSON.stringify({ gpu_data: [metricGpu(0)] }), 5, list)).toEqual([
      {
        at: 5,
        index: 0,
        uuid: "08ff74a1-0000-1000-8053-3d2b1c0a9e8f",
        busId: "0000:0c:00.0",
        name: "AMD Instinct MI300X",
        utilization: 87,
        memoryUsed: 30215,
        memoryTotal: 196592,
        temperature: 45,
        powerDraw: 312,
        powerLimit: 700,
      },
    ]);
  });

  it("reads the older top-level array, in index order; without a list the id is AMD-GPU-<index>", () => {
    const gpus = parseAmdMetrics([metricGpu(1), metricGpu(0)], 1);
    expect(gpus.map((g) => [g.index, g.uuid, g.name])).toEqual([
      [0, "AMD-GPU-0", null],
      [1, "AMD-GPU-1", null],
    ]);
  });

  it('turns "N/A" leaves and sections, missing keys and odd units into null; edge N/A falls back to hotspot', () => {
    const [mi300, rx, bare] = parseAmdMetrics(
      [
        metricGpu(0, { temperature: { edge: "N/A", hotspot: { value: 61, unit: "C" } }, power: { socket_power: "N/A" }, usage: "N/A" }),
        metricGpu(1, { mem_usage: { total_vram: { value: 24, unit: "GB" }, used_vram: { value: 1073741824, unit: "B" } }, temperature: "N/A" }),
        { gpu: 2 },
      ],
      1,
    );
    expect(mi300).toMatchObject({ temperature: 61, powerDraw: null, utilization: null, memoryUsed: 30215 });
    expect(rx).toMatchObject({ memoryTotal: 24576, memoryUsed: 1024, temperature: null, powerDraw: 312 });
    expect(bare).toMatchObject({ index: 2, utilization: null, memoryUsed: null, memoryTotal: null, temperature: null, powerDraw: null, powerLimit: null });
    const odd = parseAmdMetrics([metricGpu(0, { mem_usage: { used_vram: { value: 5, unit: "furlongs" }, total_vram: 4096 }, power: { socket_power: "87 W" } })], 1);
    expect(odd[0]).toMatchObject({ memoryUsed: null, memoryTotal: 4096, powerDraw: 87 });
  });

  it("skips what is not a GPU; garbage is no sample, never a throw", () => {
    expect(parseAmdMetrics([{ cpu: 0 }, { gpu: "zero" }, metricGpu(0), metricGpu(0)], 1)).toHaveLength(1);
    for (const bad of ["", "ERROR: Driver not loaded (amdgpu not found in modules)", "[", "{}", '{"gpu_data": [null, 1]}', null, 3, { gpu_data: "N/A" }]) expect(parseAmdMetrics(bad, 1)).toEqual([]);
    // A warning printed ahead of the document.
    expect(parseAmdMetrics(`WARNING: User is missing the following required groups: render\n${JSON.stringify([metricGpu(0)])}`, 1)).toHaveLength(1);
  });
});

describe("parseAmdProcesses", () => {
  const list = parseAmdList(LIST);
  const B = (value: number) => ({ value, unit: "B" });
  const info = (pid: unknown, name: unknown, vram: unknown, mem?: unknown) => ({
    process_info: { name, pid, memory_usage: { gtt_mem: B(2097152), cpu_mem: B(0), vram_mem: vram }, mem_usage: mem ?? B(0), usage: { gfx: { value: 0, unit: "ns" }, enc: { value: 0, unit: "ns" } } },
  });

  it("lists each GPU's processes with their VRAM in MiB, skipping 'No running processes detected'", () => {
    const json = JSON.stringify([
      { gpu: 0, process_list: [info(4242, "python3", B(2147483648)), info(77, "N/A", "N/A", B(536870912))] },
      { gpu: 1, process_list: [{ process_info: "No running processes detected" }] },
      { gpu: 2, process_list: [] },
    ]);
    expect(parseAmdProcesses(json, list)).toEqual([
      { pid: 4242, name: "python3", usedMemory: 2048, gpuUuid: "08ff74a1-0000-1000-8053-3d2b1c0a9e8f" },
      { pid: 77, name: "", usedMemory: 512, gpuUuid: "08ff74a1-0000-1000-8053-3d2b1c0a9e8f" },
    ]);
    expect(parseAmdProcesses([{ gpu: 3, process_list: [info(5, "x", "N/A", "N/A")] }])).toEqual([{ pid: 5, name: "x", usedMemory: null, gpuUuid: "AMD-GPU-3" }]);
  });

  it("garbage is []", () => {
    for (const bad of ["", "nope", "{}", "[1,2]", '[{"gpu":0,"process_list":"N/A"}]', '[{"gpu":0,"process_list":[{"process_info":{"pid":"x"}},{"process_info":{"pid":0}},null]}]', null, { gpu_data: 1 }])
      expect(parseAmdProcesses(bad)).toEqual([]);
  });
});

// The sampler under test, stopped after each test whatever happened.
let running: GpuSampler | null = null;
afterEach(() => {
  running?.stop();
  running = null;
});

/** Starts an AmdSmiSampler and resolves once `until` holds for its events (vitest's timeout bounds the wait). */
function sample(options: ConstructorParameters<typeof AmdSmiSampler>[1], until: (events: SamplerEvent[]) => boolean): Promise<SamplerEvent[]> {
  return new Promise((resolve) => {
    const events: SamplerEvent[] = [];
    const sampler = new AmdSmiSampler((e) => {
      events.push(e);
      if (until(events)) {
        sampler.stop();
        resolve(events);
      }
    }, options);
    running = sampler;
    sampler.start();
  });
}
const samplesOf = (events: SamplerEvent[]) => events.flatMap((e) => (e.type === "sample" ? [e.gpus] : []));
const errorsOf = (events: SamplerEvent[]) => events.flatMap((e) => (e.type === "error" ? [e] : []));

describe("AmdSmiSampler (the stand-in amd-smi on PATH)", () => {
  it("emits a sample of every GPU each interval, readings changing, identities from list and static", { timeout: 20_000 }, async () => {
    const events = await sample({ intervalMs: 30, env: onPath({ FAKE_AMD_GPUS: "3" }) }, (e) => samplesOf(e).length >= 4);
    expect(errorsOf(events)).toEqual([]);
    const rounds = samplesOf(events);
    for (const round of rounds) expect(round.map((g) => g.index)).toEqual([0, 1, 2]);
    expect(rounds[0]![1]).toMatchObject({ uuid: UUID1, busId: "0000:1c:00.0", name: "AMD Instinct MI300X", memoryTotal: 196592, powerLimit: 750 });
    expect(new Set(rounds.map((r) => `${r[0]!.utilization}/${r[0]!.memoryUsed}/${r[0]!.powerDraw}`)).size).toBeGreaterThan(1);
  });

  it("reads the older array form and its limit; N/A fields are null", { timeout: 20_000 }, async () => {
    const events = await sample({ intervalMs: 30, env: onPath({ FAKE_AMD_LEGACY: "1", FAKE_AMD_NA: "edge,socket_power,uuid,market_name" }) }, (e) => samplesOf(e).length >= 1);
    const [gpu0] = samplesOf(events)[0]!;
    expect(gpu0).toMatchObject({ uuid: "AMD-GPU-0", name: null, powerDraw: null, powerLimit: 750 });
    expect(gpu0!.temperature).toBeGreaterThan(30); // the hotspot, edge being N/A
  });

  it("a failing amd-smi is an error with a restart delay that doubles; a good read resets it; list is read again after an error", { timeout: 20_000 }, async () => {
    const failing = await sample({ backoffMs: 20, maxBackoffMs: 50, env: onPath({ FAKE_AMD_FAIL: "1" }) }, (e) => e.length >= 3);
    expect(failing).toEqual([
      { type: "error", message: "amd-smi list exited (code 1): ERROR: Driver not loaded (amdgpu not found in modules)", restartInMs: 20 },
      { type: "error", message: expect.stringContaining("Driver not loaded"), restartInMs: 40 },
      { type: "error", message: expect.stringContaining("Driver not loaded"), restartInMs: 50 },
    ]);

    const dir = mkdtempSync(join(tmpdir(), "amd-smi-"));
    try {
      const log = join(dir, "calls");
      writeFileSync(log, "");
      // Every second metric call fails: each error follows a good read, so each waits the first delay.
      const flaky = await sample({ intervalMs: 10, backoffMs: 30, env: onPath({ FAKE_AMD_LOG: log, FAKE_AMD_FAIL_EVERY: "2" }) }, (e) => errorsOf(e).length >= 2);
      expect(flaky.map((e) => e.type)).toEqual(["sample", "error", "sample", "error"]);
      expect(errorsOf(flaky).map((e) => [e.message, e.restartInMs])).toEqual([
        ["amd-smi metric exited (code 1): ERROR: GPU metrics table could not be read | AMDSMI_STATUS_UNEXPECTED_DATA", 30],
        ["amd-smi metric exited (code 1): ERROR: GPU metrics table could not be read | AMDSMI_STATUS_UNEXPECTED_DATA", 30],
      ]);
      const begun = readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith("begin "));
      expect(begun).toEqual(["begin list", "begin static", "begin metric", "begin metric", "begin list", "begin static", "begin metric", "begin metric"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without amd-smi it says it is not installed, and keeps trying", { timeout: 20_000 }, async () => {
    const events = await sample({ command: "/nonexistent/amd-smi", backoffMs: 20, maxBackoffMs: 80 }, (e) => e.length >= 3);
    expect(events[0]).toEqual({ type: "error", message: "/nonexistent/amd-smi is not installed (not found on PATH)", restartInMs: 20 });
    expect(events.map((e) => (e.type === "error" ? e.restartInMs : 0))).toEqual([20, 40, 80]);
  });

  it("never runs two reads at once, however short the interval", { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "amd-smi-"));
    try {
      const log = join(dir, "calls");
      writeFileSync(log, "");
      const events = await sample({ intervalMs: 1, env: onPath({ FAKE_AMD_LOG: log, FAKE_AMD_DELAY_MS: "80" }) }, (e) => samplesOf(e).length >= 3);
      expect(errorsOf(events)).toEqual([]);
      const calls = readFileSync(log, "utf8").split("\n").filter(Boolean);
      // Strictly begin/end pairs of the same call: no call started while another ran.
      for (let i = 0; i + 1 < calls.length; i += 2) expect([calls[i], calls[i + 1]]).toEqual([calls[i], calls[i]!.replace("begin", "end")]);
      expect(calls.slice(0, 6)).toEqual(["begin list", "end list", "begin static", "end static", "begin metric", "end metric"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a read that hangs past timeoutMs is an error", { timeout: 20_000 }, async () => {
    const events = await sample({ timeoutMs: 300, backoffMs: 10_000, env: onPath({ FAKE_AMD_DELAY_MS: "5000" }) }, (e) => e.length >= 1);
    expect(events).toEqual([{ type: "error", message: "amd-smi list timed out after 300 ms", restartInMs: 10_000 }]);
  });

  it("emits nothing after stop(), not even for the read it cut short", { timeout: 20_000 }, async () => {
    const events: SamplerEvent[] = [];
    const stopped = new AmdSmiSampler((e) => events.push(e), { intervalMs: 10, env: onPath({ FAKE_AMD_DELAY_MS: "100" }) });
    stopped.start();
    stopped.stop();
    // A twin started at the same moment: once it has a sample, the stopped one's read would have ended too.
    await sample({ intervalMs: 10, env: onPath({ FAKE_AMD_DELAY_MS: "100" }) }, (e) => samplesOf(e).length >= 1);
    expect(events).toEqual([]);
  });

  it("both samplers satisfy GpuSampler", () => {
    const samplers: GpuSampler[] = [new AmdSmiSampler(() => {}), new NvidiaSmiSampler(() => {})];
    expect(samplers.every((s) => typeof s.start === "function" && typeof s.stop === "function")).toBe(true);
  });
});

describe("readAmdProcesses", () => {
  it("lists the processes on each GPU by the list's UUIDs; null when amd-smi cannot run or fails", { timeout: 20_000 }, async () => {
    expect(await readAmdProcesses("amd-smi", onPath({ FAKE_AMD_APPS: "4242:python3:2048:1;99:train.py:512:0" }))).toEqual([
      { pid: 99, name: "train.py", usedMemory: 512, gpuUuid: UUID0 },
      { pid: 4242, name: "python3", usedMemory: 2048, gpuUuid: UUID1 },
    ]);
    expect(await readAmdProcesses("amd-smi", onPath({ FAKE_AMD_APPS: "", FAKE_AMD_LEGACY: "1" }))).toEqual([]);
    // A list already read is used as it is.
    expect(await readAmdProcesses("amd-smi", onPath({ FAKE_AMD_APPS: "7:x:1:0" }), [])).toEqual([{ pid: 7, name: "x", usedMemory: 1, gpuUuid: "AMD-GPU-0" }]);
    expect(await readAmdProcesses("amd-smi", onPath({ FAKE_AMD_FAIL: "1" }))).toBeNull();
    expect(await readAmdProcesses("/nonexistent/amd-smi")).toBeNull();
  });
});
