// The headless agent's (`start`, `run`) job home, sandbox and disk guard, from its configuration.
// Deviation from the official agent, documented in the README: under `sandbox: strict` jobs never
// run in the owner's HOME; without `job-home` they get a private one per agent name.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { AgentConfig } from "../config/types.js";
import type { DiskGuardSettings } from "../disk/disk-guard.js";
import { defaultJournalDir } from "./crash-journal.js";
import { defaultPrivateJobHome } from "./job-home.js";
import type { PlacementSettings } from "./placement.js";

/** Where GPU device nodes are looked for (default /dev): a stand-in folder for tests. */
export const SANDBOX_DEV_DIR_ENV = "SEMAPHORE_AGENT_SANDBOX_DEV_DIR";

type SandboxConfig = Pick<
  AgentConfig,
  | "name"
  | "jobHome"
  | "sandbox"
  | "jobHomeCleanup"
  | "jobHomeKeep"
  | "sandboxAllowDocker"
  | "sandboxReadOnlyPaths"
  | "sandboxReadWritePaths"
  | "preJobHookPath"
  | "postJobHookPath"
>;

export interface PlacementExtras {
  /** The job home when the config does not name one (the app: its data folder's); default see below. */
  defaultJobHome?: string;
  /** More folders to hide from strict jobs (the app's data folder). */
  hidden?: readonly string[];
}

/**
 * `job-home` when set; else under strict a private one (defaultPrivateJobHome), under none the
 * agent's HOME (the official agent's way), unless `extras.defaultJobHome` says otherwise.
 */
export function placementSettingsFromConfig(config: SandboxConfig, env: NodeJS.ProcessEnv, extras: PlacementExtras = {}): PlacementSettings {
  const ownerHome = env.HOME || homedir();
  const jobHome =
    config.jobHome !== ""
      ? resolve(config.jobHome)
      : (extras.defaultJobHome ?? (config.sandbox === "strict" ? defaultPrivateJobHome(env, config.name) : ownerHome));
  // The hooks are the owner's scripts, maybe in their (hidden) HOME: the sandbox shows them read-only.
  const hooks = [config.preJobHookPath, config.postJobHookPath].filter((p) => p.startsWith("/"));
  return {
    sandbox: config.sandbox,
    jobHome,
    workspace: config.jobHomeCleanup,
    keep: [...config.jobHomeKeep],
    allowDocker: config.sandboxAllowDocker,
    readOnlyPaths: [...config.sandboxReadOnlyPaths, ...hooks],
    readWritePaths: [...config.sandboxReadWritePaths],
    hiddenPaths: [join(defaultJournalDir(env), ".."), ...(extras.hidden ?? [])],
    ownerHome,
    toolbox: join(ownerHome, ".toolbox"),
    devDir: env[SANDBOX_DEV_DIR_ENV] || undefined,
    runtimeDir: env.XDG_RUNTIME_DIR || undefined,
  };
}

export function diskGuardFromConfig(config: Pick<AgentConfig, "diskMinFreeGb" | "diskMinFreePercent" | "diskHardFloorGb">): DiskGuardSettings | null {
  const settings = { minFreeGb: config.diskMinFreeGb, minFreePercent: config.diskMinFreePercent, hardFloorGb: config.diskHardFloorGb };
  return settings.minFreeGb === 0 && settings.minFreePercent === 0 && settings.hardFloorGb === 0 ? null : settings;
}
