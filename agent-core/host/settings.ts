// The app's settings: what the official agent's config.yaml holds (minus the keys the app does not
// offer) plus history retention. `settings.json` never contains the token; the token lives in its
// own file, encrypted by the SecretCodec. Validation reuses the agent's own config loader, so a
// setting the app accepts is one the agent (and `semaphore-agent start --config-file`) accepts.
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError, loadAgentConfig } from "../config/load.js";
import { AGENT_CONFIG_KEYS, defaultAgentConfig, findConfigKey } from "../config/keys.js";
import { agentNameProblem, MAX_NAME_BYTES, MIN_NAME_BYTES } from "../config/name.js";
import { suggestConfigKey } from "../config/suggest.js";
import { characterCount } from "../config/text.js";
import type { AgentConfig } from "../config/types.js";
import { renderConfigYaml } from "../config/yaml.js";
import { HostError, SettingsInputSchema, type FieldError, type SaveSettingsResult, type SettingsInput, type SettingsView } from "./contract.js";
import { writeFileAtomic } from "./atomic-file.js";
import { DEFAULT_DEBUG_KEEP_JOBS } from "./env-keeper.js";
import { keepEntryProblem } from "../sandbox/job-home.js";
import { entriesFromSchedule, scheduleFromEntries } from "../policy/schedule.js";
import { plainFileCodec, readSecretFile, writeSecretFile, type SecretCodec } from "./secret-store.js";

export const SETTINGS_FILE = "settings.json";
export const TOKEN_FILE = "registration-token";

/** The settings as stored: SettingsInput without the token, every field present. */
const StoredSettingsSchema = SettingsInputSchema.omit({ token: true }).extend({
  debugKeepJobs: z.number().int().min(0).max(1000),
  sandbox: SettingsInputSchema.shape.sandbox.unwrap(),
  jobHomeCleanup: SettingsInputSchema.shape.jobHomeCleanup.unwrap(),
  jobHomeKeep: SettingsInputSchema.shape.jobHomeKeep.unwrap(),
  sandboxAllowDocker: z.boolean(),
  sandboxReadOnlyPaths: SettingsInputSchema.shape.sandboxReadOnlyPaths.unwrap(),
  sandboxReadWritePaths: SettingsInputSchema.shape.sandboxReadWritePaths.unwrap(),
  diskMinFreeGb: SettingsInputSchema.shape.diskMinFreeGb.unwrap(),
  diskMinFreePercent: SettingsInputSchema.shape.diskMinFreePercent.unwrap(),
  diskHardFloorGb: SettingsInputSchema.shape.diskHardFloorGb.unwrap(),
  lendSchedule: SettingsInputSchema.shape.lendSchedule.unwrap(),
  lendOnBattery: z.boolean(),
  lendIdleMinutes: SettingsInputSchema.shape.lendIdleMinutes.unwrap(),
  lendOwnerCpuPercent: SettingsInputSchema.shape.lendOwnerCpuPercent.unwrap(),
  lendOnRunningJob: SettingsInputSchema.shape.lendOnRunningJob.unwrap(),
  breakerJobs: SettingsInputSchema.shape.breakerJobs.unwrap(),
  notifyJobs: z.boolean(),
  notifyConnection: z.boolean(),
  notifyPauses: z.boolean(),
  startAtLogin: z.boolean(),
  gpuAgents: SettingsInputSchema.shape.gpuAgents.unwrap(),
  gpuGroups: SettingsInputSchema.shape.gpuGroups.unwrap(),
  gpuNotLent: SettingsInputSchema.shape.gpuNotLent.unwrap(),
  gpuMaxTemperatureC: SettingsInputSchema.shape.gpuMaxTemperatureC.unwrap(),
  gpuMaxPowerW: SettingsInputSchema.shape.gpuMaxPowerW.unwrap(),
  gpuOwnerUsePauses: z.boolean(),
});
export type StoredSettings = z.infer<typeof StoredSettingsSchema>;
type StoredKey = keyof StoredSettings;

const SettingsFileSchema = z.object({
  version: z.literal(1),
  tokenStorage: z.enum(["safe-storage", "file"]).optional(),
  settings: z.record(z.string(), z.unknown()),
});

/** When to lend: any time, on battery too, whether or not the computer is in use; pause after 5 early failures. */
export const DEFAULT_LENDING_SETTINGS = {
  lendSchedule: null,
  lendOnBattery: true,
  lendIdleMinutes: 0,
  lendOwnerCpuPercent: 0,
  lendOnRunningJob: { schedule: "finish", battery: "finish", idle: "finish", load: "finish" },
  breakerJobs: 5,
  notifyJobs: true,
  notifyConnection: true,
  notifyPauses: true,
  startAtLogin: false,
  // One agent for every GPU, all lent; jobs are not accepted on a GPU at 85 °C or more.
  gpuAgents: "one",
  gpuGroups: [],
  gpuNotLent: [],
  gpuMaxTemperatureC: 85,
  gpuMaxPowerW: 0,
  gpuOwnerUsePauses: true,
} as const satisfies Pick<
  StoredSettings,
  | "lendSchedule"
  | "lendOnBattery"
  | "lendIdleMinutes"
  | "lendOwnerCpuPercent"
  | "lendOnRunningJob"
  | "breakerJobs"
  | "notifyJobs"
  | "notifyConnection"
  | "notifyPauses"
  | "startAtLogin"
  | "gpuAgents"
  | "gpuGroups"
  | "gpuNotLent"
  | "gpuMaxTemperatureC"
  | "gpuMaxPowerW"
  | "gpuOwnerUsePauses"
>;

export const DEFAULT_HISTORY_MAX_JOBS = 200;
export const DEFAULT_HISTORY_MAX_MEGABYTES = 500;

/** The agent's own defaults (spec §9.2) for every key the app offers, plus retention. */
export function defaultSettings(): StoredSettings {
  const agent = defaultAgentConfig();
  return {
    ...agentSettingFields(agent),
    // The app's default: the strict sandbox where it is available (the host falls back, saying so).
    sandbox: "strict",
    ...DEFAULT_LENDING_SETTINGS,
    historyMaxJobs: DEFAULT_HISTORY_MAX_JOBS,
    historyMaxMegabytes: DEFAULT_HISTORY_MAX_MEGABYTES,
    debugKeepJobs: DEFAULT_DEBUG_KEEP_JOBS,
  };
}

/** Keys of config.yaml the app has no setting for: an imported file must leave them at their default. */
const UNSUPPORTED_PROPS = [
  "nameFromEnv",
  "jobId",
  "failOnMissingFiles",
  "kubernetesExecutor",
  "kubernetesPodSpec",
  "kubernetesAllowedImages",
  "kubernetesPodStartTimeout",
  "kubernetesLabels",
  "kubernetesDefaultImage",
  // The app's jobs always run in its own job home (in its data folder).
  "jobHome",
  // The app has Snooze and Pause instead.
  "snoozeFile",
] as const satisfies readonly (keyof AgentConfig)[];

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
/** Never handed to the agent's loader: validation must not depend on (or risk echoing) the real token. */
const TOKEN_PLACEHOLDER = "settings-validation-placeholder";
/** The name the rendered settings go by in the agent loader's messages (stripped before showing them). */
const VALIDATION_FILE = "settings";
/** The file the loader is told it reads when importing (its messages start with it). */
const IMPORT_FILE = "config.yaml";

export class SettingsStore {
  private settings: StoredSettings;
  private tokenState: "unset" | "set" | "unreadable";
  /** Problems found while loading (a corrupt file, an undecryptable token), for the activity feed. */
  readonly problems: string[] = [];

  private constructor(
    private readonly dir: string,
    private readonly codec: SecretCodec,
  ) {
    this.settings = defaultSettings();
    this.tokenState = "unset";
  }

  static open(dataDir: string, codec: SecretCodec): SettingsStore {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = new SettingsStore(dataDir, codec);
    store.load();
    return store;
  }

  /** The settings in force (never the token). */
  get current(): StoredSettings {
    return structuredClone(this.settings);
  }

  get configured(): boolean {
    return this.settings.endpoint !== "" && this.tokenState === "set";
  }

  view(): SettingsView {
    return {
      ...structuredClone(this.settings),
      tokenSet: this.tokenState === "set",
      tokenStorage: this.codec.storage,
      configured: this.configured,
    };
  }

  /** Validates every field (all problems at once, each naming its SettingsInput key), then stores. */
  save(input: SettingsInput): SaveSettingsResult {
    const parsed = SettingsInputSchema.safeParse(input);
    if (!parsed.success) {
      return { ok: false, errors: parsed.error.issues.map((issue) => ({ field: fieldPath(issue.path), message: issue.message })) };
    }
    const candidate = normalise(withStored(parsed.data, this.settings));
    const newToken = candidate.token ?? "";
    const errors = ownChecks(candidate, this.tokenState === "set");
    errors.push(...agentChecks(candidate, errors));
    if (errors.length > 0) return { ok: false, errors };

    const { token: _token, ...rest } = candidate;
    const stored: StoredSettings = { ...rest, debugKeepJobs: rest.debugKeepJobs ?? this.settings.debugKeepJobs };
    // Token first: settings that claim a configured agent must never point at a token not yet written.
    if (newToken !== "") {
      writeSecretFile(this.tokenPath, this.codec, newToken);
      this.tokenState = "set";
    }
    this.settings = stored;
    this.persist();
    return { ok: true, settings: this.view() };
  }

  /**
   * Saves one of the app's own settings (not an agent config key, e.g. a GPU's lend toggle) on its
   * own: validated alone, so it works before the agent is configured.
   */
  setOwn<K extends LendingKey>(key: K, value: StoredSettings[K]): SaveSettingsResult {
    const parsed = StoredSettingsSchema.shape[key].safeParse(value);
    if (!parsed.success) return { ok: false, errors: parsed.error.issues.map((issue) => ({ field: fieldPath([key, ...issue.path]), message: issue.message })) };
    this.settings = { ...this.settings, [key]: parsed.data };
    this.persist();
    return { ok: true, settings: this.view() };
  }

  /** The configuration to start the agent with. */
  toAgentConfig(): AgentConfig {
    if (this.settings.endpoint === "") throw new HostError("invalid-state", "The agent is not configured yet: enter your organization's endpoint and registration token in Settings.");
    const token = this.tokenState === "set" ? this.readToken() : null;
    if (token === null || token === "") {
      throw new HostError("invalid-state", "No usable registration token is stored: enter it again in Settings.");
    }
    return { ...defaultAgentConfig(), ...agentSettingFields(this.settings), token };
  }

  /**
   * Replaces the settings with an official config.yaml's, read by the agent's own loader. A file
   * without a token keeps the stored one (an exported file has none). Retention is not part of
   * config.yaml and stays as it is. Errors name the SettingsInput key where there is one, else the
   * file's key (an unknown `endpiont`), or `yaml` for a file that is not YAML at all. Like every
   * FieldError, a message does not repeat what its field says (no "config.yaml: 'key'" before it):
   * the UI puts the field's name in front once.
   */
  importConfig(yaml: string): SaveSettingsResult {
    const raw = safeParseYaml(yaml);
    const present = (key: string) => isRecord(raw) && raw[key] !== undefined && raw[key] !== null && String(raw[key]) !== "";
    const hasEndpoint = present("endpoint");
    const hasToken = present("token");
    const argv = ["--config-file", IMPORT_FILE];
    // Flags override the file: placeholders let the loader check everything else when these are missing.
    if (!hasEndpoint) argv.push("--endpoint", "endpoint.invalid");
    if (!hasToken) argv.push("--token", TOKEN_PLACEHOLDER);
    let config: AgentConfig;
    try {
      config = loadAgentConfig({ argv, env: {}, readFile: () => yaml }).config;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { ok: false, errors: [importError(error)] };
    }
    const defaults = defaultAgentConfig();
    const unsupported: FieldError[] = [];
    for (const prop of UNSUPPORTED_PROPS) {
      if (JSON.stringify(config[prop]) === JSON.stringify(defaults[prop])) continue;
      const key = officialKeyOf(prop);
      unsupported.push({ field: key, message: "is not supported by the desktop app: remove it from the file" });
    }
    if (unsupported.length > 0) return { ok: false, errors: unsupported };
    // Our own keys (sandbox, job home, disk guard) that the file does not set keep their values:
    // an official agent's file knows nothing of them.
    const ours = Object.fromEntries(
      AGENT_CONFIG_KEYS.filter(
        (k) => k.extension && k.prop !== "jobHome" && STORED_KEYS.has(k.prop as StoredKey) && !present(k.key) && !(isRecord(raw) && Array.isArray(raw[k.key])),
      )
        .map((k) => [k.prop, this.settings[k.prop as StoredKey]]),
    );
    const input: SettingsInput = {
      ...agentSettingFields(config),
      ...ours,
      endpoint: hasEndpoint ? config.endpoint : "",
      historyMaxJobs: this.settings.historyMaxJobs,
      historyMaxMegabytes: this.settings.historyMaxMegabytes,
      debugKeepJobs: this.settings.debugKeepJobs,
    };
    // The headless lending keys a file sets become the app's lending settings (snooze-file has no
    // place in the app: it has Snooze).
    if (present("lend-schedule") || (isRecord(raw) && Array.isArray(raw["lend-schedule"]))) input.lendSchedule = scheduleFromEntries(config.lendSchedule);
    if (present("lend-on-battery")) input.lendOnBattery = config.lendOnBattery;
    if (present("lend-idle-minutes")) input.lendIdleMinutes = config.lendIdleMinutes;
    if (present("lend-owner-cpu-percent")) input.lendOwnerCpuPercent = config.lendOwnerCpuPercent;
    if (hasToken) input.token = config.token;
    return this.save(input);
  }

  /** The settings as an official config.yaml, without the token (a comment says where it goes). */
  exportConfig(): string {
    const config: AgentConfig = {
      ...defaultAgentConfig(),
      ...agentSettingFields(this.settings),
      // The app's lending settings as the headless agent's keys (Pause and Snooze are the app's own).
      lendSchedule: entriesFromSchedule(this.settings.lendSchedule),
      lendOnBattery: this.settings.lendOnBattery,
      lendIdleMinutes: this.settings.lendIdleMinutes,
      lendOwnerCpuPercent: this.settings.lendOwnerCpuPercent,
      token: "",
    };
    const body = renderConfigYaml(config).replace(
      /^token: ""$/m,
      '# token: "…"  # not exported: add the agent type\'s registration token here, or pass --token / SEMAPHORE_AGENT_TOKEN',
    );
    return [
      "# Semaphore agent configuration, exported from Semaphore Agent Desktop.",
      "# Use it with `semaphore-agent start --config-file config.yaml` or the official agent.",
      "# The registration token is left out on purpose (see the commented `token` line).",
      "# sandbox, job-home-*, sandbox-*, disk-* and lend-* are semaphore-agent's own keys (the owner's machine",
      "# stays the owner's); the official agent does not know them: remove them for it.",
      body,
    ].join("\n");
  }

  private get tokenPath(): string {
    return join(this.dir, TOKEN_FILE);
  }

  private get settingsPath(): string {
    return join(this.dir, SETTINGS_FILE);
  }

  private readToken(): string | null {
    try {
      return readSecretFile(this.tokenPath, this.codec);
    } catch {
      return null;
    }
  }

  private persist(): void {
    const file = { version: 1, tokenStorage: this.codec.storage, settings: this.settings };
    writeFileAtomic(this.settingsPath, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  }

  private load(): void {
    let storedWith: SecretCodec["storage"] = this.codec.storage;
    if (existsSync(this.settingsPath)) {
      try {
        const file = SettingsFileSchema.parse(JSON.parse(readFileSync(this.settingsPath, "utf8")));
        // Settings written by an older version lack newer keys: those take their defaults.
        const merged = StoredSettingsSchema.safeParse({ ...defaultSettings(), ...file.settings });
        if (!merged.success) throw new Error(merged.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`).join("; "));
        this.settings = merged.data;
        storedWith = file.tokenStorage ?? storedWith;
      } catch (error) {
        const aside = `${this.settingsPath}.invalid-${Date.now()}`;
        renameSync(this.settingsPath, aside);
        this.problems.push(`The settings file could not be read (${(error as Error).message}); it was moved to ${aside} and the defaults apply.`);
      }
    }
    if (!existsSync(this.tokenPath)) return;
    // A token kept in a plain file before the keychain was available moves into the keychain.
    const reader = storedWith === "file" && this.codec.storage !== "file" ? plainFileCodec() : this.codec;
    try {
      const token = readSecretFile(this.tokenPath, reader);
      if (token === null || token === "") return;
      if (reader !== this.codec) {
        writeSecretFile(this.tokenPath, this.codec, token);
        this.persist();
      }
      this.tokenState = "set";
    } catch {
      this.tokenState = "unreadable";
      this.problems.push("The stored registration token cannot be decrypted on this system; enter it again in Settings.");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Mapping between settings, AgentConfig and the official keys

/** The settings that are agent config keys; they have the same names and types in AgentConfig. */
type AgentSettingFields = Omit<StoredSettings, "historyMaxJobs" | "historyMaxMegabytes" | "debugKeepJobs" | LendingKey>;
/** The app's own lending settings (not agent config keys). */
type LendingKey = keyof typeof DEFAULT_LENDING_SETTINGS;

/** The optional fields of a SettingsInput that were left out take their stored values. */
function withStored(input: SettingsInput, stored: StoredSettings): SettingsInput & AgentSettingFields & Pick<StoredSettings, LendingKey> {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return {
    sandbox: stored.sandbox,
    jobHomeCleanup: stored.jobHomeCleanup,
    jobHomeKeep: [...stored.jobHomeKeep],
    sandboxAllowDocker: stored.sandboxAllowDocker,
    sandboxReadOnlyPaths: [...stored.sandboxReadOnlyPaths],
    sandboxReadWritePaths: [...stored.sandboxReadWritePaths],
    diskMinFreeGb: stored.diskMinFreeGb,
    diskMinFreePercent: stored.diskMinFreePercent,
    diskHardFloorGb: stored.diskHardFloorGb,
    lendSchedule: stored.lendSchedule === null ? null : { days: stored.lendSchedule.days.map((d) => [...d]) },
    lendOnBattery: stored.lendOnBattery,
    lendIdleMinutes: stored.lendIdleMinutes,
    lendOwnerCpuPercent: stored.lendOwnerCpuPercent,
    lendOnRunningJob: { ...stored.lendOnRunningJob },
    breakerJobs: stored.breakerJobs,
    notifyJobs: stored.notifyJobs,
    notifyConnection: stored.notifyConnection,
    notifyPauses: stored.notifyPauses,
    startAtLogin: stored.startAtLogin,
    gpuAgents: stored.gpuAgents,
    gpuGroups: stored.gpuGroups.map((g) => [...g]),
    gpuNotLent: [...stored.gpuNotLent],
    gpuMaxTemperatureC: stored.gpuMaxTemperatureC,
    gpuMaxPowerW: stored.gpuMaxPowerW,
    gpuOwnerUsePauses: stored.gpuOwnerUsePauses,
    ...defined,
  } as SettingsInput & AgentSettingFields & Pick<StoredSettings, LendingKey>;
}

/**
 * Copies the agent-config settings out of an AgentConfig, StoredSettings or SettingsInput: one
 * mapping for both directions, since the names and types are the same on both sides.
 */
function agentSettingFields(c: AgentSettingFields): AgentSettingFields {
  return {
    endpoint: c.endpoint,
    name: c.name,
    noHttps: c.noHttps,
    envVars: c.envVars.map((v) => ({ name: v.name, value: v.value })),
    files: [...c.files],
    preJobHookPath: c.preJobHookPath,
    postJobHookPath: c.postJobHookPath,
    shutdownHookPath: c.shutdownHookPath,
    failOnPreJobHookError: c.failOnPreJobHookError,
    sourcePreJobHook: c.sourcePreJobHook,
    uploadJobLogs: c.uploadJobLogs,
    disconnectAfterJob: c.disconnectAfterJob,
    disconnectAfterIdleTimeout: c.disconnectAfterIdleTimeout,
    interruptionGracePeriod: c.interruptionGracePeriod,
    sandbox: c.sandbox,
    jobHomeCleanup: c.jobHomeCleanup,
    jobHomeKeep: [...c.jobHomeKeep],
    sandboxAllowDocker: c.sandboxAllowDocker,
    sandboxReadOnlyPaths: [...c.sandboxReadOnlyPaths],
    sandboxReadWritePaths: [...c.sandboxReadWritePaths],
    diskMinFreeGb: c.diskMinFreeGb,
    diskMinFreePercent: c.diskMinFreePercent,
    diskHardFloorGb: c.diskHardFloorGb,
  };
}

const STORED_KEYS = new Set<string>(Object.keys(StoredSettingsSchema.shape));

/** `env-vars` -> `envVars`: the official key's AgentConfig property, when the app has that setting. */
function settingsKeyOf(officialKey: string): StoredKey | null {
  const spec = AGENT_CONFIG_KEYS.find((k) => k.key === officialKey);
  return spec?.prop && STORED_KEYS.has(spec.prop) ? (spec.prop as StoredKey) : null;
}

function officialKeyOf(prop: keyof AgentConfig): string {
  return AGENT_CONFIG_KEYS.find((k) => k.prop === prop)?.key ?? prop;
}

function importField(officialKey: string): string {
  if (officialKey === "config-file") return "yaml";
  return settingsKeyOf(officialKey) ?? officialKey;
}

/**
 * A loader error of an imported file as a FieldError whose message does not say again what the
 * field says: `config.yaml: 'interruption-grace-period' must be …` is `must be …` under
 * interruptionGracePeriod; an unknown key suggests the nearest official one; a YAML syntax error
 * says where, in words.
 */
export function importError(error: ConfigError): FieldError {
  const field = importField(error.field);
  if (error.field === "config-file") {
    const syntax = /^config\.yaml:(\d+):(\d+): invalid YAML: (.*)$/s.exec(error.message);
    const message = syntax !== null ? `is not valid YAML at line ${syntax[1]}, column ${syntax[2]}: ${syntax[3]}` : error.message.replace(/^config\.yaml: /, "");
    return { field, message };
  }
  if (findConfigKey(error.field) === undefined) {
    const near = suggestConfigKey(error.field);
    return { field, message: near !== null ? `is not a config.yaml option: did you mean \`${near}\`?` : "is not a config.yaml option" };
  }
  const own = `${IMPORT_FILE}: '${error.field}' `;
  const message = error.message.startsWith(own) ? error.message.slice(own.length) : error.message.replace(/^config\.yaml: /, "");
  return { field, message };
}

/**
 * The agent name's rule (spec §2.2: 8 to 80 bytes) in the words of the settings form: characters for
 * a name of plain ASCII, where both are the same; otherwise why its bytes count.
 */
function nameProblem(name: string): string | null {
  if (agentNameProblem(name) === null) return null;
  const characters = characterCount(name);
  const bytes = Buffer.byteLength(name, "utf8");
  const random = "leave it empty for a random name";
  if (bytes === characters) return `must be ${MIN_NAME_BYTES} to ${MAX_NAME_BYTES} characters long (it has ${characters}); ${random}`;
  return `must be ${MIN_NAME_BYTES} to ${MAX_NAME_BYTES} bytes long, and letters such as “é” and emoji take 2 to 4 bytes each (it has ${characters} characters, ${bytes} bytes); ${random}`;
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("") || "settings";
}

function safeParseYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return null; // the agent's loader reports the syntax error with its position
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Surrounding blanks come from copy and paste; they are never meant. Values stay as typed. */
function normalise<T extends SettingsInput & AgentSettingFields>(input: T): T {
  const out: T = {
    ...input,
    endpoint: input.endpoint.trim(),
    name: input.name.trim(),
    envVars: input.envVars.map((v) => ({ name: v.name.trim(), value: v.value })),
    files: input.files.map((f) => f.trim()),
    preJobHookPath: input.preJobHookPath.trim(),
    postJobHookPath: input.postJobHookPath.trim(),
    shutdownHookPath: input.shutdownHookPath.trim(),
    jobHomeKeep: input.jobHomeKeep.map((k) => k.trim()).filter((k) => k !== ""),
    sandboxReadOnlyPaths: input.sandboxReadOnlyPaths.map((k) => k.trim()).filter((k) => k !== ""),
    sandboxReadWritePaths: input.sandboxReadWritePaths.map((k) => k.trim()).filter((k) => k !== ""),
  };
  if (input.token !== undefined) out.token = input.token.trim();
  return out;
}

/** The app's own checks: every problem at once, with messages written for the settings form. */
function ownChecks(s: SettingsInput & AgentSettingFields, tokenStored: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const add = (field: string, message: string) => errors.push({ field, message });

  const scheme = SCHEME.exec(s.endpoint);
  if (s.endpoint === "") {
    add("endpoint", "is required: your organization's host, e.g. acme.semaphoreci.com (or 127.0.0.1:8000 for a local server)");
  } else if (scheme) {
    const host = s.endpoint.slice(scheme[0].length).split(/[/?#]/)[0] ?? "";
    const plain = (scheme[1] ?? "").toLowerCase() === "http" ? ", and turn on \"No HTTPS\" for plain HTTP" : "";
    add("endpoint", `must be a host like acme.semaphoreci.com or 127.0.0.1:8000, without a scheme: drop "${scheme[0]}"${host ? ` (use "${host}")` : ""}${plain}`);
  }

  const token = s.token ?? "";
  if (token === "" && !tokenStored) add("token", "is required: paste the registration token of your agent type (Semaphore: Self-hosted agents)");
  else if (/\s/.test(token)) add("token", "must be a single word, without spaces or line breaks");

  if (s.name !== "") {
    const problem = nameProblem(s.name);
    if (problem) add("name", problem);
  }

  const firstByName = new Map<string, number>();
  s.envVars.forEach((v, i) => {
    const field = `envVars[${i}].name`;
    if (v.name === "") add(field, "is required: a shell variable name such as GPU_COUNT");
    else if (!SHELL_NAME.test(v.name)) {
      add(field, `"${v.name}" is not a valid shell variable name: use letters, digits and _, not starting with a digit`);
    } else {
      const first = firstByName.get(v.name);
      if (first !== undefined) add(field, `"${v.name}" is already set by envVars[${first}]`);
      else firstByName.set(v.name, i);
    }
  });

  s.files.forEach((entry, i) => {
    const field = `files[${i}]`;
    const parts = entry.split(":");
    if (parts.length !== 2) {
      add(field, `must be SRC:DEST with exactly one ':' (got ${JSON.stringify(entry)})`);
      return;
    }
    const [src = "", dest = ""] = parts;
    if (src === "") add(field, "must be SRC:DEST: the source path (on this machine) is missing");
    else if (!dest.startsWith("/")) add(field, `must be SRC:DEST with an absolute DEST, e.g. /etc/app.conf (got ${JSON.stringify(dest)})`);
  });

  s.jobHomeKeep.forEach((entry, i) => {
    const why = keepEntryProblem(entry);
    if (why) add(`jobHomeKeep[${i}]`, why);
  });
  for (const key of ["sandboxReadOnlyPaths", "sandboxReadWritePaths"] as const) {
    s[key].forEach((entry, i) => {
      if (!entry.startsWith("/")) add(`${key}[${i}]`, `must be an absolute path, e.g. /data/datasets (got ${JSON.stringify(entry)})`);
    });
  }

  for (const key of ["preJobHookPath", "postJobHookPath", "shutdownHookPath"] as const) {
    const path = s[key];
    if (path !== "" && !path.startsWith("/")) add(key, `must be an absolute path (the app does not run in a fixed folder); got ${JSON.stringify(path)}`);
  }
  return errors;
}

/**
 * The agent's own rules, through its config loader on the rendered config.yaml. The loader stops
 * at the first problem, so a field it rejects is replaced by a harmless value and the rest is checked
 * again, until it passes: every problem is reported, not only the first. Fields the app's own checks
 * already flagged are neutralised up front.
 */
/** A valid value for one entry of a list field, put in place of an entry already reported. */
const LIST_PLACEHOLDERS = {
  files: "/placeholder:/placeholder",
  sandboxReadOnlyPaths: "/placeholder",
  sandboxReadWritePaths: "/placeholder",
  jobHomeKeep: "placeholder",
} as const;

function agentChecks(s: SettingsInput & AgentSettingFields, known: FieldError[]): FieldError[] {
  const errors: FieldError[] = [];
  const flagged = new Set(known.map((e) => e.field));
  const config: AgentConfig = {
    ...defaultAgentConfig(),
    ...agentSettingFields(s),
    token: TOKEN_PLACEHOLDER,
  };
  const neutralise = (field: string): boolean => {
    const entry = /^(envVars|files|sandboxReadOnlyPaths|sandboxReadWritePaths|jobHomeKeep)\[(\d+)\]/.exec(field);
    if (entry) {
      const index = Number(entry[2]);
      const list = entry[1] as keyof typeof LIST_PLACEHOLDERS | "envVars";
      if (list === "envVars") {
        if (!config.envVars[index]) return false;
        config.envVars[index] = { name: "PLACEHOLDER", value: "" };
        return true;
      }
      const values = config[list];
      if (values[index] === undefined) return false;
      values[index] = LIST_PLACEHOLDERS[list];
      return true;
    }
    switch (field) {
      case "endpoint":
        config.endpoint = "endpoint.invalid";
        return true;
      case "name":
        config.name = "";
        return true;
      case "envVars":
        config.envVars = [];
        return true;
      case "files":
        config.files = [];
        return true;
      case "token":
        return true; // the placeholder is always valid
      default: {
        const key = field as keyof AgentConfig;
        if (!(key in config)) return false;
        (config as unknown as Record<string, unknown>)[key] = defaultAgentConfig()[key];
        return true;
      }
    }
  };
  for (const field of flagged) neutralise(field);

  const entries = s.envVars.length + s.files.length + config.sandboxReadOnlyPaths.length + config.sandboxReadWritePaths.length + config.jobHomeKeep.length;
  for (let round = 0; round <= AGENT_CONFIG_KEYS.length + entries; round++) {
    const yaml = renderConfigYaml(config);
    try {
      loadAgentConfig({ argv: ["--config-file", VALIDATION_FILE], env: {}, readFile: () => yaml });
      return errors;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const key = settingsKeyOf(error.field);
      const entry = /entry (\d+)/.exec(error.message);
      const field =
        key === "envVars" && entry
          ? `envVars[${Number(entry[1]) - 1}].name`
          : key !== null && key in LIST_PLACEHOLDERS && entry
            ? `${key}[${Number(entry[1]) - 1}]`
            : (key ?? error.field);
      if (!flagged.has(field)) errors.push({ field, message: agentMessage(error) });
      flagged.add(field);
      if (!neutralise(field)) return errors;
    }
  }
  return errors;
}

/** `settings: 'endpoint' must be …` -> `must be …`: the form shows the field already. */
function agentMessage(error: ConfigError): string {
  const prefix = `${VALIDATION_FILE}: '${error.field}' `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}
