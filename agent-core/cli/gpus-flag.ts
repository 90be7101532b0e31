// `semaphore-agent start --gpus all|per-gpu|UUID,...`: the headless agent lends the machine's GPUs
// as the app's "Agents on this machine" does. `all`: one agent whose jobs see every GPU; `per-gpu`:
// one agent per GPU; a list of UUIDs: one agent for those GPUs (the flag given again: another
// agent, so `--gpus A,B --gpus C` makes a group and a single). Each agent of several gets its own
// name (<name>-gpu<index>), job home and TMPDIR; every job gets CUDA_VISIBLE_DEVICES and
// NVIDIA_VISIBLE_DEVICES set to its agent's GPU UUIDs.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../config/errors.js";
import type { AgentGpu } from "../host/contract.js";
import { GPU_QUERY_FIELDS, parseGpuLine, type GpuSample } from "../gpu/nvidia-smi.js";
import { gpuJobEnv, planAgents, type AgentPlan } from "../gpu/plan.js";
import { defaultPrivateJobHome } from "../sandbox/job-home.js";

export type GpusFlag = { kind: "all" } | { kind: "per-gpu" } | { kind: "groups"; groups: string[][] };

/** Takes every `--gpus V` / `--gpus=V` out of argv (the other flags are the official agent's). */
export function takeGpusFlag(argv: readonly string[]): { argv: string[]; gpus: GpusFlag | null } {
  const rest: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--gpus" || arg === "-gpus") {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith("-")) throw new ConfigError("gpus", "--gpus needs a value: all, per-gpu, or GPU UUIDs separated by commas");
      values.push(value);
      i++;
    } else if (arg.startsWith("--gpus=") || arg.startsWith("-gpus=")) {
      values.push(arg.slice(arg.indexOf("=") + 1));
    } else {
      rest.push(arg);
    }
  }
  if (values.length === 0) return { argv: rest, gpus: null };
  if (values.length === 1 && (values[0] === "all" || values[0] === "per-gpu")) return { argv: rest, gpus: { kind: values[0] } };
  const groups = values.map((v) => v.split(",").map((u) => u.trim()).filter((u) => u !== ""));
  for (const [i, group] of groups.entries()) {
    if (group.length === 0 || group.some((u) => u === "all" || u === "per-gpu")) {
      throw new ConfigError("gpus", `--gpus ${JSON.stringify(values[i])}: expected all, per-gpu, or GPU UUIDs separated by commas (all and per-gpu stand alone)`);
    }
  }
  return { argv: rest, gpus: { kind: "groups", groups } };
}

/** One reading of the machine's GPUs with nvidia-smi; the reason when there is none. */
export function discoverGpus(env: NodeJS.ProcessEnv, command = "nvidia-smi"): Promise<{ gpus: GpuSample[] } | { error: string }> {
  return new Promise((resolve) => {
    execFile(command, [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"], { env, timeout: 15_000 }, (error, stdout) => {
      const gpus = String(stdout ?? "")
        .split("\n")
        .map((line) => parseGpuLine(line, Date.now()))
        .filter((g): g is GpuSample => g !== null);
      if (gpus.length > 0) return resolve({ gpus });
      const code = (error as NodeJS.ErrnoException | null)?.code;
      resolve({ error: code === "ENOENT" ? `${command} is not installed (the NVIDIA driver brings it)` : error ? `${command} failed: ${error.message.split("\n")[0]}` : `${command} reports no GPU` });
    });
  });
}

/** One headless agent of the set: its name, GPUs, and what its jobs get. */
export interface HeadlessAgentPlan {
  plan: AgentPlan;
  /** The agent's name (the config's for a single `all` agent). */
  name: string;
  /** Its job home when there are several agents (else the config's own rules). */
  jobHome: string | null;
  tmpDir: string | null;
  env: Record<string, string>;
}

/** The set of agents `--gpus` asks for on a machine with `found` GPUs. */
export function headlessPlans(flag: GpusFlag, found: readonly GpuSample[], configName: string, env: NodeJS.ProcessEnv): HeadlessAgentPlan[] {
  const gpus: AgentGpu[] = found.map((g) => ({ uuid: g.uuid, index: g.index, name: g.name }));
  const base = configName || hostname();
  let plans: AgentPlan[];
  if (flag.kind === "all") plans = planAgents({ gpuAgents: "one", gpuGroups: [], gpuNotLent: [] }, gpus, base);
  else if (flag.kind === "per-gpu") plans = planAgents({ gpuAgents: "per-gpu", gpuGroups: [], gpuNotLent: [] }, gpus, base);
  else {
    const known = new Set(gpus.map((g) => g.uuid));
    for (const uuid of flag.groups.flat()) {
      if (!known.has(uuid)) throw new ConfigError("gpus", `--gpus: no GPU ${uuid} on this machine (nvidia-smi reports ${gpus.map((g) => `${g.index}: ${g.uuid}`).join(", ")})`);
    }
    const named = new Set(flag.groups.flat());
    // Only the GPUs named are lent; each group is one agent.
    plans = planAgents({ gpuAgents: "groups", gpuGroups: flag.groups, gpuNotLent: gpus.filter((g) => !named.has(g.uuid)).map((g) => g.uuid) }, gpus, base);
  }
  const several = plans.length > 1 || flag.kind === "groups";
  return plans.map((plan) => {
    const name = plan.name ?? configName;
    const own = several ? ownDirs(name || plan.id, env) : null;
    return {
      plan,
      name,
      jobHome: own?.jobHome ?? null,
      tmpDir: own?.tmpDir ?? null,
      env: { ...gpuJobEnv(plan.gpus, true, "nvidia"), ...(own ? { TMPDIR: own.tmpDir } : {}) },
    };
  });
}

/** A job home and TMPDIR of the agent's own, so that agents never share $HOME, $TMPDIR or ~/.toolbox. */
function ownDirs(name: string, env: NodeJS.ProcessEnv): { jobHome: string; tmpDir: string } {
  const tmpDir = join(env.TMPDIR || tmpdir(), `agent-${name.replace(/[^A-Za-z0-9_.-]/g, "_")}`);
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  return { jobHome: defaultPrivateJobHome(env, name), tmpDir };
}
