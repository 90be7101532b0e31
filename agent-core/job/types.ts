import type { AgentConfig } from "../config/types.js";
import type { JobRequest } from "../protocol/types.js";
import type { JobLogEvent, JobResult } from "./events.js";

export type JobHookConfig = Pick<
  AgentConfig,
  "envVars" | "preJobHookPath" | "postJobHookPath" | "failOnPreJobHookError" | "sourcePreJobHook"
>;

export interface JobRunnerOptions {
  request: JobRequest;
  config: JobHookConfig;
  /** Environment for the job's bash (the agent's env minus secrets). */
  shellEnv: Record<string, string>;
  /** Agent's cwd, bash's cwd at spawn. */
  cwd: string;
  /** Private per-agent dir (0700) for current-agent-cmd. */
  workDir: string;
  /** Directory of the `.env-<ns>` debug files: the agent's TMPDIR (spec §6). */
  tmpDir: string;
  /** HOME of the agent process: base of relative and `~` file paths (spec §4.3). */
  home: string;
  /** Receives every log event in order; must not throw. */
  emit: (event: JobLogEvent) => void;
  /**
   * Command output as soon as it is read, before the chunking's hold (spec §5.4 holds short output
   * up to 100 ms): for live views only, never logged. The `cmd_output` events that follow repeat it.
   */
  preview?: (text: string) => void;
  /**
   * Each `.env-*` file right after it was written (spec §6), with its content, so the desktop app can
   * keep a private copy for debugging after the job has ended. Must not throw; never logged.
   */
  onEnvFile?: (path: string, content: Buffer, shellPath: string) => void;
  /** Where the job's shell sees `tmpDir` (the strict sandbox's private /tmp); default tmpDir itself. */
  shellTmpDir?: string;
  /** What starts bash (the sandbox), the command file's two paths, the job marker: see ShellSessionOptions. */
  wrap?: { file: string; args: string[] } | null;
  commandFile?: { host: string; shell: string };
  marker?: string;
  /** Where an injected file goes on the host (see JobSpace.placeFile); default: the path itself. */
  placeFile?: (dest: string) => { host: string; roots: string[] | null } | { error: string };
  /** bash is up: its pid (the crash journal records its session). */
  onShellStarted?: (pid: number) => void;
}

/** Files of §6 that belong to one job, in creation order, so the debug terminal can source them. */
export interface JobEnvFiles {
  jobId: string;
  paths: string[];
}
