// One agent per GPU, against the real hub on 127.0.0.1, on a 4-GPU machine the stand-in nvidia-smi
// on PATH describes (its real CSV format). The host plans 4 agents under 4 names; 4 jobs scheduled
// together run at once, each with its own GPU (CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES by
// UUID, only its /dev/nvidia<N> in the strict sandbox), its own job home and TMPDIR. A job's GPU
// process is attributed to it and what it used is kept; stopping one agent leaves the others
// running; the owner's own process on a GPU pauses that GPU's agent; a GPU taken back removes its
// agent; closing the app stops every agent the spec's way.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJobRequest, startHub, type Hub } from "../../hub/hub.js";
import type { AgentSnapshot, HostEvent, JobSummary, SettingsInput } from "../../agent-core/host/contract.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { waitUntil } from "../helpers/jobs.js";
import { FAST_TIMINGS, ROOT, stopAll, tempDir } from "../helpers/processes.js";
import { removeVarTempDirs, sleepers, uniqueSleepBase, varTempDir, waitForSleepers } from "../helpers/sandbox.js";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, registerAttempts: 3, appRetryFirstMs: 100, appRetryMaxMs: 400, lendingPollMs: 200 };
const uuid = (i: number) => `GPU-${(0x5c3f0000 + i).toString(16)}-1b2c-4d5e-8f90-${String(i).padStart(12, "a")}`;


let hub: Hub;
let host: Host;
const events: HostEvent[] = [];
let dataDir: string;
let gate: string;
let appsFile: string;
let dev: string;
let kmsg: string;
const base = uniqueSleepBase();

const agents = () => host.agentSnapshots;
const agentOf = (id: string): AgentSnapshot => {
  const found = agents().find((a) => a.id === id);
  if (!found) throw new Error(`no agent ${id} (agents: ${agents().map((a) => a.id).join(", ")})`);
  return found;
};
const finished = (jobId: string): JobSummary | undefined =>
  events.flatMap((e) => (e.type === "job-finished" && e.job.id === jobId ? [e.job] : [])).at(-1);
const output = (jobId: string) => hub.logLines(jobId).join("\n");

/** A job that holds its GPU (a `sleep` standing in for the CUDA process) until the test opens its gate. */
function gpuJob(i: number): string {
  return hub.scheduleJob(
    makeJobRequest({
      commands: [
        'echo "CUDA=$CUDA_VISIBLE_DEVICES"',
        'echo "NV=$NVIDIA_VISIBLE_DEVICES"',
        `echo "DEV=$(ls ${dev} | grep '^nvidia' | sort | tr '\\n' ' ')"`,
        'echo "HOME=$HOME TMP=$TMPDIR"',
        `sleep ${base + i} & held=$!; while [ ! -e ${gate}/go-${i} ]; do sleep 0.1; done; kill $held; echo released`,
      ],
    }),
  ).job_id;
}

beforeAll(async () => {
  hub = await startHub({ nextSyncAfter: 100 });
  const home = varTempDir("sa-gpu-home-");
  // Outside /tmp: a strict job's /tmp is its own, and it reads its gate here (read-only).
  gate = varTempDir("sa-gpu-gate-");
  dataDir = varTempDir("sa-gpu-data-");
  // The GPU device nodes, as stand-in files: the sandbox passes in only the agent's own.
  // In the owner's HOME, which a strict job cannot see: it sees only the nodes passed in, at the
  // same paths (SEMAPHORE_AGENT_SANDBOX_DEV_DIR), as /dev/nvidia<N> is passed into the job's /dev.
  dev = join(home, "dev");
  mkdirSync(dev);
  for (const name of ["nvidia0", "nvidia1", "nvidia2", "nvidia3", "nvidiactl", "nvidia-uvm"]) writeFileSync(join(dev, name), "");
  appsFile = join(tempDir("sa-gpu-apps-"), "apps");
  writeFileSync(appsFile, "");
  kmsg = join(tempDir("sa-gpu-kmsg-"), "kmsg");
  writeFileSync(kmsg, "");
  host = await Host.open({
    dataDir,
    secretCodec: plainFileCodec(),
    env: {
      PATH: `${join(ROOT, "tests/helpers/bin")}:${process.env.PATH}`,
      HOME: home,
      TMPDIR: home,
      LANG: "C.UTF-8",
      FAKE_NVIDIA_GPUS: "4",
      FAKE_NVIDIA_APPS_FILE: appsFile,
      FAKE_KMSG_FILE: kmsg,
      SEMAPHORE_AGENT_SANDBOX_DEV_DIR: dev,
    },
    timings: TIMINGS,
    examplesDir: join(ROOT, "examples"),
    watchConnectivity: false,
    gpuIntervalMs: 200,
    gpuAppsEveryMs: 200,
  });
  host.subscribe((e) => events.push(e));
});

afterAll(async () => {
  await host?.close({ timeoutMs: 10_000 });
  await hub?.close();
  removeVarTempDirs();
  await stopAll(); // removes the temp folders
});

const settings = (patch: Partial<SettingsInput> = {}): SettingsInput => ({
  ...defaultSettings(),
  endpoint: hub.endpoint,
  noHttps: true,
  token: hub.registrationToken,
  name: "gpu-box-7",
  sandbox: "strict",
  sandboxReadOnlyPaths: [gate],
  ...patch,
});

describe("one agent per GPU", () => {
  it("finds the 4 GPUs and, with one agent per GPU, plans 4 agents under 4 names", async () => {
    const gpus = await host.getGpus({});
    expect(gpus.available).toBe(true);
    expect(gpus.gpus.map((g) => g.uuid)).toEqual([0, 1, 2, 3].map(uuid));
    // The default: one agent for every GPU.
    expect(agents().map((a) => [a.id, a.gpus.length])).toEqual([["main", 4]]);

    const saved = await host.saveSettings({ settings: settings({ gpuAgents: "per-gpu" }) });
    expect(saved).toMatchObject({ ok: true });
    expect(agents().map((a) => a.id)).toEqual(["gpu0", "gpu1", "gpu2", "gpu3"]);
    expect(agents().map((a) => a.gpus.map((g) => g.uuid))).toEqual([0, 1, 2, 3].map((i) => [uuid(i)]));
    expect(events.some((e) => e.type === "agents" && e.agents.length === 4)).toBe(true);

    await host.startAgent({});
    for (let i = 0; i < 4; i++) await hub.waitForAgent(`gpu-box-7-gpu${i}`, 20_000);
    await waitUntil(() => agents().every((a) => a.phase === "waiting-for-jobs"), 20_000, "4 agents waiting for jobs");
    expect(agents().map((a) => a.name)).toEqual([0, 1, 2, 3].map((i) => `gpu-box-7-gpu${i}`));
  });

  let jobs: string[] = [];

  it("runs 4 jobs at once, each with its own GPU, job home and TMPDIR; a job's GPU process is its own", async () => {
    jobs = [0, 1, 2, 3].map(gpuJob);
    // All four at the same time.
    await waitUntil(() => agents().every((a) => a.jobId !== null), 30_000, "4 jobs running at once");
    const pids = await waitForSleepers([0, 1, 2, 3].map((i) => base + i), "the 4 jobs' GPU processes");
    expect(pids).toHaveLength(4);
    const byJob = new Map(agents().map((a) => [a.id, a.jobId]));
    // Which host pid is which job's: the hub knows which agent has which job; the sleeps' numbers say which i.
    const found = sleepers([0, 1, 2, 3].map((i) => base + i));
    writeFileSync(appsFile, [0, 1, 2, 3].map((i) => `${(found.get(base + i) as number[])[0]}:python3:${1024 * (i + 1)}:${i}`).join(";"));
    // Each job's "CUDA process" is attributed to it, on its own GPU.
    await waitUntil(
      async () => {
        const view = await host.getGpus({});
        return view.gpus.every((g) => g.processes.length === 1 && g.processes[0]?.jobId === byJob.get(`gpu${g.index}`));
      },
      20_000,
      "every GPU's process attributed to its job",
    );
    for (let i = 0; i < 4; i++) {
      await waitUntil(() => output(byJob.get(`gpu${i}`) as string).includes("TMP="), 20_000, `job on gpu${i} to print its env`);
      const text = output(byJob.get(`gpu${i}`) as string);
      expect(text).toContain(`CUDA=${uuid(i)}`);
      expect(text).toContain(`NV=${uuid(i)}`);
      // Only its own GPU's device node (the control nodes are shared).
      expect([...text.matchAll(/DEV=(nvidia[^"\\]*)/g)].map((m) => m[1])).toEqual([`nvidia-uvm nvidia${i} nvidiactl `]);
      expect(text).toContain(`HOME=${join(dataDir, "agents", `gpu${i}`, "job-home")}`);
    }
    const homes = new Set([0, 1, 2, 3].map((i) => /HOME=(\/[^\s"\\]+)/.exec(output(byJob.get(`gpu${i}`) as string))?.[1]));
    expect(homes.size).toBe(4);
    jobs = [0, 1, 2, 3].map((i) => byJob.get(`gpu${i}`) as string);
  });

  it("stopping one agent leaves the other three running their jobs", async () => {
    await host.stopAgent({ when: "now", agentId: "gpu1" });
    await waitUntil(() => agentOf("gpu1").phase === "idle" && finished(jobs[1] as string) !== undefined, 30_000, "gpu1's agent to stop");
    expect(finished(jobs[1] as string)?.result).toBe("stopped");
    for (const id of ["gpu0", "gpu2", "gpu3"]) expect(agentOf(id).jobId).not.toBeNull();
    for (const i of [0, 2, 3]) expect(hub.job(jobs[i] as string)?.status).toBe("running");

    // Released, they finish passed, each with what it used on its GPU.
    for (const i of [0, 2, 3]) writeFileSync(join(gate, `go-${i}`), "");
    for (const i of [0, 2, 3]) await waitUntil(() => finished(jobs[i] as string), 30_000, `job ${i} to finish`);
    for (const i of [0, 2, 3]) {
      const summary = finished(jobs[i] as string) as JobSummary;
      expect(summary).toMatchObject({ result: "passed", agentId: `gpu${i}`, agentName: `gpu-box-7-gpu${i}` });
      expect(summary.usage).not.toBeNull();
      const usage = summary.usage!;
      expect(usage.wallMs).toBeGreaterThan(0);
      expect(usage.cpuMs).not.toBeNull();
      expect(usage.peakRssBytes).toBeGreaterThan(0);
      expect(usage.gpus).toHaveLength(1);
      expect(usage.gpus[0]).toMatchObject({ uuid: uuid(i), index: i, peakMemoryMiB: 1024 * (i + 1) });
      expect(usage.gpus[0]?.energyWh).toBeGreaterThan(0);
      expect(usage.gpus[0]?.meanUtilization).not.toBeNull();
    }
    // Kept in the history, and filtered by agent.
    const ofGpu2 = await host.listJobs({ agentId: "gpu2" });
    expect(ofGpu2.map((j) => j.id)).toEqual([jobs[2]]);
    expect(ofGpu2[0]?.usage?.gpus[0]?.uuid).toBe(uuid(2));
    const given = await host.getGiven({});
    expect(given.gpuHours).toBeGreaterThan(0);
    expect(given.energyWh).toBeGreaterThan(0);
  });

  it("the owner's own process on a lent GPU pauses that GPU's agent, and it resumes once the process is gone", async () => {
    writeFileSync(appsFile, `${process.pid}:python3:512:2`);
    await waitUntil(() => agentOf("gpu2").hold?.kind === "gpu", 20_000, "gpu2's agent held by the GPU guard");
    expect(agentOf("gpu2").hold?.reason).toBe(`You are using GPU 2 (python3 pid ${process.pid}, 512 MiB)`);
    await hub.waitForDisconnect("gpu-box-7-gpu2", 20_000);
    for (const id of ["gpu0", "gpu3"]) expect(agentOf(id).hold).toBeNull();
    const view = await host.getGpus({});
    expect(view.gpus[2]?.guard).toMatchObject({ kind: "owner" });
    expect(view.gpus[2]?.processes[0]).toMatchObject({ pid: process.pid, jobId: null });

    writeFileSync(appsFile, "");
    await waitUntil(() => agentOf("gpu2").hold === null && agentOf("gpu2").phase === "waiting-for-jobs", 20_000, "gpu2's agent back");
  });

  it("an Xid error in the kernel log rests that GPU: its agent leaves Semaphore, the others stay", async () => {
    // The stand-in journalctl follows the file as `journalctl -k -f` follows the kernel log.
    appendFileSync(kmsg, "[ 9001.123] NVRM: Xid (PCI:0000:37:00): 79, pid=4321, name=python3, GPU has fallen off the bus.\n");
    await waitUntil(() => agentOf("gpu2").hold?.kind === "gpu", 20_000, "gpu2 (bus 37) held after its Xid");
    expect(agentOf("gpu2").hold?.reason).toBe("GPU 2 reported Xid error 79: resting it for 10 min");
    expect((await host.getGpus({})).gpus[2]?.guard).toMatchObject({ kind: "xid" });
    for (const id of ["gpu0", "gpu3"]) expect(agentOf(id).hold).toBeNull();
  });

  it("a GPU taken back removes its agent; lent again, the agent comes back", async () => {
    await host.setGpuLent({ uuid: uuid(3), lent: false });
    await waitUntil(() => !agents().some((a) => a.id === "gpu3"), 20_000, "gpu3's agent gone");
    await hub.waitForDisconnect("gpu-box-7-gpu3", 20_000);
    expect((await host.getGpus({})).gpus[3]).toMatchObject({ lent: false, agentId: null });
    await host.setGpuLent({ uuid: uuid(3), lent: true });
    await waitUntil(() => agents().some((a) => a.id === "gpu3" && a.phase === "waiting-for-jobs"), 20_000, "gpu3's agent back");
  });

  it("closing the app stops every agent cleanly, the spec's way", async () => {
    await host.startAgent({ agentId: "gpu1" });
    // gpu2 rests after its Xid error; the other three take jobs.
    await waitUntil(() => agents().length === 4 && agents().filter((a) => a.phase === "waiting-for-jobs").length === 3, 20_000, "3 agents waiting");
    expect(agentOf("gpu2").hold?.kind).toBe("gpu");
    const running = jobs.length;
    expect(running).toBe(4);
    await host.close({ timeoutMs: 10_000 });
    for (let i = 0; i < 4; i++) {
      const view = await hub.waitForDisconnect(`gpu-box-7-gpu${i}`, 10_000);
      expect(view.disconnected).toBe(true);
    }
    expect(host.agentSnapshots.every((a) => a.phase === "idle")).toBe(true);
    expect(hub.violations()).toEqual([]);
    mkdirSync(gate, { recursive: true });
  });
});
