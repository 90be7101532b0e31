// The official configuration keys of spec §9.2. Every loader (CLI flags, environment, YAML file)
// and the YAML renderer walk this table, so adding or changing a key happens here and only here.
import type { AgentConfig } from "./types.js";

export type KeyType = "string" | "bool" | "int" | "list" | "enum";

/** A value as read from a source, before it is turned into an AgentConfig property. */
export type RawValue = string | boolean | number | string[];

type PropsOf<T> = { [K in keyof AgentConfig]-?: AgentConfig[K] extends T ? K : never }[keyof AgentConfig];

/**
 * How the entries of a list are checked after merging: `env-var` = NAME=VALUE split at the first
 * `=` (P-28 deviation) with a shell-identifier name; `host-file` = HOSTPATH:DEST.
 */
export type ListItemFormat = "env-var" | "host-file" | "relative-path" | "absolute-path" | "schedule";

interface KeyBase {
  /** The key exactly as in §9.2: the YAML key, `--<key>` flag, and `SEMAPHORE_AGENT_<KEY>` variable. */
  readonly key: string;
  /** Settable only with `--config-file` on the command line; no env var, ignored in the file (§9.2). */
  readonly cliOnly?: boolean;
  /** An empty value after merging is fatal. */
  readonly required?: boolean;
  /**
   * Not one of §9.2: a key of ours. The official agent refuses unknown keys, so renderConfigYaml
   * writes an extension key only when it differs from its default.
   */
  readonly extension?: boolean;
}

export interface StringKey extends KeyBase {
  readonly type: "string";
  /** `null` only for `config-file`, which selects the file and is not part of AgentConfig. */
  readonly prop: Exclude<PropsOf<string>, EnumProp> | null;
  readonly default: string;
}
export interface BoolKey extends KeyBase {
  readonly type: "bool";
  readonly prop: PropsOf<boolean>;
  readonly default: boolean;
}
export interface IntKey extends KeyBase {
  readonly type: "int";
  readonly prop: PropsOf<number>;
  readonly default: number;
  /** A negative value is fatal for every int key. */
  readonly nonNegative: true;
  /** What the number counts, for messages (default "seconds"). */
  readonly unit?: "seconds" | "GB" | "percent";
}
export interface ListKey extends KeyBase {
  readonly type: "list";
  readonly prop: PropsOf<string[]> | "envVars";
  readonly default: readonly string[];
  readonly itemFormat?: ListItemFormat;
}
type EnumProp = "uploadJobLogs" | "sandbox" | "jobHomeCleanup";
export interface EnumKey extends KeyBase {
  readonly type: "enum";
  readonly prop: EnumProp;
  readonly default: string;
  readonly values: readonly string[];
}

export type ConfigKeySpec = StringKey | BoolKey | IntKey | ListKey | EnumKey;

export const UPLOAD_JOB_LOGS_VALUES = ["never", "always", "when-trimmed"] as const;
export const SANDBOX_VALUES = ["none", "strict"] as const;
export const JOB_HOME_CLEANUP_VALUES = ["clean", "keep"] as const;

const KEY_TABLE = [
  { key: "config-file", type: "string", prop: null, default: "", cliOnly: true },
  { key: "endpoint", type: "string", prop: "endpoint", default: "", required: true },
  { key: "token", type: "string", prop: "token", default: "", required: true },
  { key: "name", type: "string", prop: "name", default: "" },
  { key: "name-from-env", type: "string", prop: "nameFromEnv", default: "" },
  { key: "no-https", type: "bool", prop: "noHttps", default: false },
  { key: "shutdown-hook-path", type: "string", prop: "shutdownHookPath", default: "" },
  { key: "pre-job-hook-path", type: "string", prop: "preJobHookPath", default: "" },
  { key: "post-job-hook-path", type: "string", prop: "postJobHookPath", default: "" },
  { key: "fail-on-pre-job-hook-error", type: "bool", prop: "failOnPreJobHookError", default: false },
  { key: "source-pre-job-hook", type: "bool", prop: "sourcePreJobHook", default: false },
  { key: "disconnect-after-job", type: "bool", prop: "disconnectAfterJob", default: false },
  { key: "job-id", type: "string", prop: "jobId", default: "" },
  { key: "disconnect-after-idle-timeout", type: "int", prop: "disconnectAfterIdleTimeout", default: 0, nonNegative: true },
  { key: "interruption-grace-period", type: "int", prop: "interruptionGracePeriod", default: 0, nonNegative: true },
  { key: "env-vars", type: "list", prop: "envVars", default: [], itemFormat: "env-var" },
  { key: "files", type: "list", prop: "files", default: [], itemFormat: "host-file" },
  { key: "fail-on-missing-files", type: "bool", prop: "failOnMissingFiles", default: false },
  { key: "upload-job-logs", type: "enum", prop: "uploadJobLogs", default: "never", values: UPLOAD_JOB_LOGS_VALUES },
  { key: "kubernetes-executor", type: "bool", prop: "kubernetesExecutor", default: false },
  { key: "kubernetes-pod-spec", type: "string", prop: "kubernetesPodSpec", default: "" },
  { key: "kubernetes-allowed-images", type: "list", prop: "kubernetesAllowedImages", default: [] },
  { key: "kubernetes-pod-start-timeout", type: "int", prop: "kubernetesPodStartTimeout", default: 300, nonNegative: true },
  { key: "kubernetes-labels", type: "list", prop: "kubernetesLabels", default: [] },
  { key: "kubernetes-default-image", type: "string", prop: "kubernetesDefaultImage", default: "" },
  { key: "job-home", type: "string", prop: "jobHome", default: "", extension: true },
  { key: "sandbox", type: "enum", prop: "sandbox", default: "none", values: SANDBOX_VALUES, extension: true },
  { key: "job-home-cleanup", type: "enum", prop: "jobHomeCleanup", default: "clean", values: JOB_HOME_CLEANUP_VALUES, extension: true },
  { key: "job-home-keep", type: "list", prop: "jobHomeKeep", default: [], itemFormat: "relative-path", extension: true },
  { key: "sandbox-allow-docker", type: "bool", prop: "sandboxAllowDocker", default: false, extension: true },
  { key: "sandbox-read-only-paths", type: "list", prop: "sandboxReadOnlyPaths", default: [], itemFormat: "absolute-path", extension: true },
  { key: "sandbox-read-write-paths", type: "list", prop: "sandboxReadWritePaths", default: [], itemFormat: "absolute-path", extension: true },
  { key: "disk-min-free-gb", type: "int", prop: "diskMinFreeGb", default: 10, nonNegative: true, unit: "GB", extension: true },
  { key: "disk-min-free-percent", type: "int", prop: "diskMinFreePercent", default: 10, nonNegative: true, unit: "percent", extension: true },
  { key: "disk-hard-floor-gb", type: "int", prop: "diskHardFloorGb", default: 1, nonNegative: true, unit: "GB", extension: true },
  { key: "lend-schedule", type: "list", prop: "lendSchedule", default: [], itemFormat: "schedule", extension: true },
  { key: "lend-on-battery", type: "bool", prop: "lendOnBattery", default: true, extension: true },
  { key: "lend-idle-minutes", type: "int", prop: "lendIdleMinutes", default: 0, nonNegative: true, extension: true },
  { key: "lend-owner-cpu-percent", type: "int", prop: "lendOwnerCpuPercent", default: 0, nonNegative: true, extension: true },
  { key: "snooze-file", type: "string", prop: "snoozeFile", default: "", extension: true },
] as const satisfies readonly ConfigKeySpec[];

/** In the order of the §9.2 table, which is also the order renderConfigYaml writes. */
export const CONFIG_KEYS: readonly ConfigKeySpec[] = KEY_TABLE;

export type ConfigKey = (typeof KEY_TABLE)[number]["key"];

// Compile-time guard: every AgentConfig property is fed by exactly one key. A property with no key
// shows up in `missing`, one claimed by two keys in `duplicated`.
type Row = (typeof KEY_TABLE)[number];
type Missing = Exclude<keyof AgentConfig, Row["prop"]>;
type KeysFor<P> = Extract<Row, { prop: P }>["key"];
type IsUnion<T, U = T> = [T] extends [never] ? false : T extends unknown ? ([U] extends [T] ? false : true) : never;
type Duplicated = { [P in keyof AgentConfig]: true extends IsUnion<KeysFor<P>> ? P : never }[keyof AgentConfig];
const coverageCheck: [Missing, Duplicated] extends [never, never] ? true : { missing: Missing; duplicated: Duplicated } = true;
void coverageCheck;

const BY_KEY: ReadonlyMap<string, ConfigKeySpec> = new Map(CONFIG_KEYS.map((spec) => [spec.key, spec]));

export function findConfigKey(key: string): ConfigKeySpec | undefined {
  return BY_KEY.get(key);
}

/** The keys that end up in AgentConfig (all but `config-file`). */
export const AGENT_CONFIG_KEYS: readonly ConfigKeySpec[] = CONFIG_KEYS.filter((spec) => spec.prop !== null);

/** `disconnect-after-job` → `SEMAPHORE_AGENT_DISCONNECT_AFTER_JOB` (§9.1). */
export function envVarName(key: string): string {
  return `SEMAPHORE_AGENT_${key.toUpperCase().replaceAll("-", "_")}`;
}

/** The built-in defaults of §9.2 (endpoint and token are empty; they are required later). */
export function defaultAgentConfig(): AgentConfig {
  const config: Record<string, unknown> = {};
  for (const spec of AGENT_CONFIG_KEYS) {
    if (spec.prop === null) continue;
    // env-vars has no default entries, so the raw [] is also the structured default.
    config[spec.prop] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return config as unknown as AgentConfig;
}
