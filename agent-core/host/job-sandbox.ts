// The app's side of where jobs run: its private job home (in the data folder), the sandbox the
// settings ask for (bubblewrap checked, the fallback said in words), the crash journal, the disk
// guard's limits and its report of what here uses space, and the sandbox a debug terminal of a
// finished (kept) job opens in.
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { defaultAgentConfig } from "../config/keys.js";
import { spaceUsedBy, thresholdBytes, type DiskGuardSettings, type DiskVerdict } from "../disk/disk-guard.js";
import { probeBubblewrap, type BwrapProbe, type SandboxView } from "../sandbox/bwrap.js";
import { diskGuardFromConfig, placementSettingsFromConfig } from "../sandbox/from-config.js";
import { JobPlacement } from "../sandbox/placement.js";
import type { DiskView, SandboxStatus } from "./contract.js";
import type { StoredSettings } from "./settings.js";

/** How long a bubblewrap check is trusted (installing it takes the owner a minute). */
const PROBE_TTL_MS = 30_000;

/** Where one of several agents puts its jobs, and which GPUs' device nodes they get. */
export interface AgentPlacement {
  jobHome?: string;
  /** null: every GPU; a list: only these /dev/nvidia<minor>. */
  gpuMinors?: readonly number[] | null;
}

export class JobSandbox {
  readonly jobHome: string;
  readonly journalDir: string;
  private probed: { at: number; result: Promise<BwrapProbe> } | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly probe: () => Promise<BwrapProbe> = () => probeBubblewrap(env),
  ) {
    this.jobHome = join(dataDir, "job-home");
    this.journalDir = join(dataDir, "runs");
  }

  private checkBubblewrap(): Promise<BwrapProbe> {
    const now = Date.now();
    if (this.probed === null || now - this.probed.at > PROBE_TTL_MS) this.probed = { at: now, result: this.probe() };
    return this.probed.result;
  }

  /**
   * The placement for the settings. `forAgent`: the agent is starting, so what a crashed run left
   * in the job home is cleaned now (never while a job may be using it).
   */
  async placement(settings: StoredSettings, forAgent: boolean, readWrite: readonly string[] = [], agent: AgentPlacement = {}): Promise<JobPlacement> {
    const config = { ...defaultAgentConfig(), ...settings, jobHome: "" };
    config.sandboxReadWritePaths = [...config.sandboxReadWritePaths, ...readWrite];
    const placement = placementSettingsFromConfig(config, this.env, { defaultJobHome: agent.jobHome ?? this.jobHome, hidden: [this.dataDir] });
    if (agent.gpuMinors !== undefined) placement.gpuMinors = agent.gpuMinors;
    return await JobPlacement.open(placement, () => this.checkBubblewrap(), { cleanHome: forAgent });
  }

  /** An agent of one GPU or group: its own job home and TMPDIR in the data folder. */
  agentDirs(agentId: string): { jobHome: string; tmpDir: string } {
    const base = join(this.dataDir, "agents", agentId);
    const tmpDir = join(base, "tmp");
    mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
    return { jobHome: join(base, "job-home"), tmpDir };
  }

  async status(settings: StoredSettings): Promise<SandboxStatus> {
    return statusOf(await this.placement(settings, false));
  }

  diskGuard(settings: StoredSettings): DiskGuardSettings | null {
    return diskGuardFromConfig(settings);
  }

  /** The verdict for the UI, with what here uses space (measured when the disk is not ok). */
  async diskView(verdict: DiskVerdict, settings: StoredSettings, withUsage: boolean): Promise<DiskView> {
    const guard = this.diskGuard(settings);
    const spaces = verdict.spaces.map((s, i) => ({
      ...s,
      thresholdBytes: verdict.thresholds[i] ?? (guard ? thresholdBytes(s, guard) : 0),
    }));
    let usage: DiskView["usage"] = null;
    if (withUsage) {
      const home = this.env.HOME ?? "";
      const places = [
        { label: "job home", path: this.jobHome },
        { label: "job history", path: join(this.dataDir, "history") },
        { label: "kept env files", path: join(this.dataDir, "debug-env") },
        { label: "toolbox", path: join(home, ".toolbox") },
      ];
      usage = [];
      for (const place of places) usage.push({ ...place, bytes: (await spaceUsedBy(place.path)).bytes });
    }
    return { state: verdict.state, reason: verdict.reason, checkedAt: Date.now(), spaces, usage };
  }

  /**
   * The sandbox of a debug terminal for a finished job: a private /tmp of its own holding copies of
   * the kept env files under their names (the job sourced them as /tmp/.env-<n>), so the shell sees
   * what the job saw. Returns the paths to source inside, and the view; the terminal removes the /tmp.
   */
  keptJobView(placement: JobPlacement, keptCopies: readonly string[], sources: readonly string[]): { view: SandboxView; envFiles: string[] } {
    const privateTmp = mkdtempSync(join(this.env.TMPDIR || tmpdir(), "semaphore-agent-debug-tmp-"));
    const envFiles = keptCopies.map((copy, i) => {
      const name = basename(sources[i] ?? copy);
      copyFileSync(copy, join(privateTmp, name));
      return `/tmp/${name}`;
    });
    return { view: placement.viewFor(privateTmp, [this.env.TMPDIR && this.env.TMPDIR !== "/tmp" ? this.env.TMPDIR : ""]), envFiles };
  }
}

export function statusOf(placement: JobPlacement): SandboxStatus {
  const s = placement.state;
  return {
    requested: s.requested,
    level: s.level,
    notice: s.notice,
    install: s.install,
    jobHome: s.jobHome,
    privateHome: placement.privateHome,
    workspace: s.workspace,
  };
}
