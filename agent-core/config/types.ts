// The validated configuration of one agent: the official keys of spec §9.2, camel-cased.
export type UploadJobLogs = "never" | "always" | "when-trimmed";
export type SandboxLevelSetting = "none" | "strict";
export type JobHomeCleanup = "clean" | "keep";

export interface EnvVarSetting {
  name: string;
  /** Raw value (agent env-vars are not base64, spec P-12). */
  value: string;
}

export interface AgentConfig {
  endpoint: string;
  token: string;
  name: string;
  nameFromEnv: string;
  noHttps: boolean;
  shutdownHookPath: string;
  preJobHookPath: string;
  postJobHookPath: string;
  failOnPreJobHookError: boolean;
  sourcePreJobHook: boolean;
  disconnectAfterJob: boolean;
  jobId: string;
  disconnectAfterIdleTimeout: number;
  interruptionGracePeriod: number;
  envVars: EnvVarSetting[];
  files: string[];
  failOnMissingFiles: boolean;
  uploadJobLogs: UploadJobLogs;
  kubernetesExecutor: boolean;
  kubernetesPodSpec: string;
  kubernetesAllowedImages: string[];
  kubernetesPodStartTimeout: number;
  kubernetesLabels: string[];
  kubernetesDefaultImage: string;
  // Ours, not the official agent's (the owner's machine stays the owner's; see README):
  /** The job's HOME; "" = the agent's HOME under none, a private one under strict. */
  jobHome: string;
  sandbox: SandboxLevelSetting;
  /** A private job home is emptied after each job (clean) or left as it is (keep). */
  jobHomeCleanup: JobHomeCleanup;
  /** Relative paths in the job home that the clean keeps (caches). */
  jobHomeKeep: string[];
  sandboxAllowDocker: boolean;
  sandboxReadOnlyPaths: string[];
  sandboxReadWritePaths: string[];
  diskMinFreeGb: number;
  diskMinFreePercent: number;
  diskHardFloorGb: number;
  /** When to lend (the app's lending policy, headless): "mon-fri 19-8" entries; [] = any time. */
  lendSchedule: string[];
  lendOnBattery: boolean;
  /** Only after this many minutes without input (logind's idle hint); 0 = off. */
  lendIdleMinutes: number;
  /** Not while the owner's own programs use more than this % of the CPU; 0 = off. */
  lendOwnerCpuPercent: number;
  /** While this file exists, no new jobs (its content may be a time: snoozed until then). "" = none. */
  snoozeFile: string;
}
