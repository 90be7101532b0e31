// The settings form's editable copy and its conversion to SettingsInput. Pure (tested without a DOM).
import type { FieldError, SettingsInput, SettingsView } from "../../agent-core/host/contract.js";

export interface EnvRow {
  /** Stable React key. */
  key: number;
  name: string;
  value: string;
}

export interface SettingsDraft {
  endpoint: string;
  /** A new registration token; "" keeps the stored one. */
  token: string;
  name: string;
  noHttps: boolean;
  envVars: EnvRow[];
  /** One SRC:DEST per line. */
  files: string;
  preJobHookPath: string;
  postJobHookPath: string;
  shutdownHookPath: string;
  failOnPreJobHookError: boolean;
  sourcePreJobHook: boolean;
  uploadJobLogs: SettingsInput["uploadJobLogs"];
  disconnectAfterJob: boolean;
  disconnectAfterIdleTimeout: string;
  interruptionGracePeriod: string;
  historyMaxJobs: string;
  historyMaxMegabytes: string;
  /** Keep the env files of this many most recent jobs for debug terminals. */
  debugKeepJobs: string;
}

let rowKey = 0;
export function newEnvRow(name = "", value = ""): EnvRow {
  return { key: ++rowKey, name, value };
}

export function draftFrom(settings: SettingsView): SettingsDraft {
  return {
    endpoint: settings.endpoint,
    token: "",
    name: settings.name,
    noHttps: settings.noHttps,
    envVars: settings.envVars.map((e) => newEnvRow(e.name, e.value)),
    files: settings.files.join("\n"),
    preJobHookPath: settings.preJobHookPath,
    postJobHookPath: settings.postJobHookPath,
    shutdownHookPath: settings.shutdownHookPath,
    failOnPreJobHookError: settings.failOnPreJobHookError,
    sourcePreJobHook: settings.sourcePreJobHook,
    uploadJobLogs: settings.uploadJobLogs,
    disconnectAfterJob: settings.disconnectAfterJob,
    disconnectAfterIdleTimeout: String(settings.disconnectAfterIdleTimeout),
    interruptionGracePeriod: String(settings.interruptionGracePeriod),
    historyMaxJobs: String(settings.historyMaxJobs),
    historyMaxMegabytes: String(settings.historyMaxMegabytes),
    debugKeepJobs: String(settings.debugKeepJobs),
  };
}

/** Whether two drafts say the same thing (row keys aside). */
export function sameDraft(a: SettingsDraft, b: SettingsDraft): boolean {
  const plain = (d: SettingsDraft) => JSON.stringify({ ...d, envVars: d.envVars.map((r) => [r.name, r.value]) });
  return plain(a) === plain(b);
}

export interface DraftConversion {
  input: SettingsInput | null;
  /** Problems found before asking the host (numbers that are not whole numbers). */
  errors: FieldError[];
  /** envVars[i] of the input is the row with key envRowKeys[i] (blank rows are left out). */
  envRowKeys: number[];
  /** files[i] of the input is line fileLines[i] (1-based) of the text. */
  fileLines: number[];
}

/** Whole-number fields: [field, min, max]. The host checks the bounds again (SettingsInputSchema). */
const NUMBER_FIELDS = [
  ["disconnectAfterIdleTimeout", 0, null],
  ["interruptionGracePeriod", 0, null],
  ["historyMaxJobs", 1, null],
  ["historyMaxMegabytes", 1, null],
  ["debugKeepJobs", 0, 1000],
] as const;

export function toSettingsInput(draft: SettingsDraft): DraftConversion {
  const errors: FieldError[] = [];
  const numbers: Record<string, number> = {};
  for (const [field, min, max] of NUMBER_FIELDS) {
    const text = draft[field].trim();
    if (!/^\d+$/.test(text)) {
      errors.push({ field, message: "Enter a whole number" });
    } else if (Number(text) < min) {
      errors.push({ field, message: `Enter ${min} or more` });
    } else if (max !== null && Number(text) > max) {
      errors.push({ field, message: `Enter ${max} or less` });
    } else {
      numbers[field] = Number(text);
    }
  }
  const envRows = draft.envVars.filter((r) => r.name.trim() !== "" || r.value !== "");
  const fileLines: number[] = [];
  const files: string[] = [];
  draft.files.split("\n").forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed !== "") {
      files.push(trimmed);
      fileLines.push(i + 1);
    }
  });
  const conversion: DraftConversion = { input: null, errors, envRowKeys: envRows.map((r) => r.key), fileLines };
  if (errors.length > 0) return conversion;
  const input: SettingsInput = {
    endpoint: draft.endpoint.trim(),
    name: draft.name.trim(),
    noHttps: draft.noHttps,
    envVars: envRows.map((r) => ({ name: r.name.trim(), value: r.value })),
    files,
    preJobHookPath: draft.preJobHookPath.trim(),
    postJobHookPath: draft.postJobHookPath.trim(),
    shutdownHookPath: draft.shutdownHookPath.trim(),
    failOnPreJobHookError: draft.failOnPreJobHookError,
    sourcePreJobHook: draft.sourcePreJobHook,
    uploadJobLogs: draft.uploadJobLogs,
    disconnectAfterJob: draft.disconnectAfterJob,
    disconnectAfterIdleTimeout: numbers.disconnectAfterIdleTimeout!,
    interruptionGracePeriod: numbers.interruptionGracePeriod!,
    historyMaxJobs: numbers.historyMaxJobs!,
    historyMaxMegabytes: numbers.historyMaxMegabytes!,
    debugKeepJobs: numbers.debugKeepJobs!,
  };
  if (draft.token !== "") input.token = draft.token;
  return { ...conversion, input };
}
