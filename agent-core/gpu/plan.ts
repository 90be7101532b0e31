// Which agents the machine runs, and what each one's jobs see of the GPUs: one agent for every lent
// GPU (the default), one agent per lent GPU, or one per group of GPUs. Pure, so the rules are
// unit-tested without a GPU; the host turns a plan into running agents.
import { readFileSync } from "node:fs";
import type { AgentGpu } from "../host/contract.js";

export interface GpuPlanSettings {
  gpuAgents: "one" | "per-gpu" | "groups";
  gpuGroups: readonly (readonly string[])[];
  gpuNotLent: readonly string[];
}

export interface AgentPlan {
  /** "main", "gpu<index>", or "gpu<i>-<j>-…" for a group. */
  id: string;
  gpus: AgentGpu[];
  /** The name it registers under; null: the settings' name (or a random one, as the official agent does). */
  name: string | null;
}

/** The machine's GPUs as discovered (null: no GPU tool works here, so nothing about GPUs is set). */
export function planAgents(settings: GpuPlanSettings, gpus: readonly AgentGpu[] | null, baseName: string): AgentPlan[] {
  if (gpus === null || gpus.length === 0) return [{ id: "main", gpus: [], name: null }];
  const lent = [...gpus].filter((g) => !settings.gpuNotLent.includes(g.uuid)).sort((a, b) => a.index - b.index);
  // With no GPU lent there is still the machine's CPU to lend: one agent whose jobs see no GPU.
  if (settings.gpuAgents === "one" || lent.length === 0) return [{ id: "main", gpus: lent, name: null }];
  const groups: AgentGpu[][] = [];
  const placed = new Set<string>();
  if (settings.gpuAgents === "groups") {
    for (const group of settings.gpuGroups) {
      const members = lent.filter((g) => group.includes(g.uuid) && !placed.has(g.uuid));
      if (members.length === 0) continue;
      members.forEach((g) => placed.add(g.uuid));
      groups.push(members);
    }
  }
  // Per GPU, and a lent GPU no group names: an agent of its own.
  for (const g of lent) if (!placed.has(g.uuid)) groups.push([g]);
  groups.sort((a, b) => (a[0] as AgentGpu).index - (b[0] as AgentGpu).index);
  return groups.map((members) => {
    const suffix = `gpu${members.map((g) => g.index).join("-")}`;
    return { id: suffix, gpus: members, name: `${baseName}-${suffix}` };
  });
}

/**
 * What a job of an agent lending `gpus` sees: CUDA and the NVIDIA container runtime by UUID (indices
 * can differ between CUDA's order and nvidia-smi's), ROCm by index. `machineHasGpus` false: nothing
 * is set, as on a machine without GPUs.
 */
export function gpuJobEnv(gpus: readonly AgentGpu[], machineHasGpus: boolean, vendor: "nvidia" | "amd" | null): Record<string, string> {
  if (!machineHasGpus) return {};
  const uuids = gpus.map((g) => g.uuid).join(",");
  if (vendor === "amd") {
    const indices = gpus.map((g) => g.index).join(",");
    return { ROCR_VISIBLE_DEVICES: indices, HIP_VISIBLE_DEVICES: indices };
  }
  // An empty CUDA_VISIBLE_DEVICES hides every GPU; "none" is the container runtime's word for it.
  return { CUDA_VISIBLE_DEVICES: uuids, NVIDIA_VISIBLE_DEVICES: gpus.length === 0 ? "none" : uuids };
}

/**
 * The minor number of an NVIDIA GPU's device node (`/dev/nvidia<minor>`), which the driver reports
 * per bus id in /proc/driver/nvidia/gpus/<bus>/information; falls back to the index.
 */
export function nvidiaMinorOf(gpu: { index: number; busId: string | null }, procDriver = "/proc/driver/nvidia/gpus"): number {
  if (gpu.busId) {
    // nvidia-smi says 00000000:17:00.0; the driver's folder is 0000:17:00.0.
    const bus = gpu.busId.toLowerCase().replace(/^0000(?=[0-9a-f]{4}:)/, "");
    try {
      const info = readFileSync(`${procDriver}/${bus}/information`, "utf8");
      const m = /^Device Minor:\s*(\d+)/m.exec(info);
      if (m) return Number(m[1]);
    } catch {
      // No driver folder (a stand-in, another vendor): the index.
    }
  }
  return gpu.index;
}
