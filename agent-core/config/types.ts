// The validated configuration of one agent: the official keys of spec §9.2, camel-cased.
export type UploadJobLogs = "never" | "always" | "when-trimmed";

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
}
