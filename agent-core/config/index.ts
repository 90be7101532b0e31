export type { AgentConfig, EnvVarSetting, UploadJobLogs } from "./types.js";
export { ConfigError, type ConfigSource } from "./errors.js";
export {
  AGENT_CONFIG_KEYS,
  CONFIG_KEYS,
  UPLOAD_JOB_LOGS_VALUES,
  defaultAgentConfig,
  envVarName,
  findConfigKey,
  type ConfigKey,
  type ConfigKeySpec,
  type KeyType,
} from "./keys.js";
export { loadAgentConfig, type LoadAgentConfigInput, type LoadedAgentConfig } from "./load.js";
export { agentNameProblem, isRequestUri, resolveAgentName, type ResolvedAgentName } from "./name.js";
export { renderConfigYaml } from "./yaml.js";
