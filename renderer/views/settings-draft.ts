// The settings form's editable copy and its conversion to SettingsInput; which errors an edit
// clears; how an error of config.yaml reads. Pure (tested without a DOM).
import { AGENT_CONFIG_KEYS } from "../../agent-core/config/keys.js";
import type { FieldError, SettingsInput, SettingsView } from "../../agent-core/host/contract.js";
import { gridFromSchedule, scheduleFromGrid, type WeekGrid } from "../schedule-grid.js";

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

  /** Where jobs run. */
  sandbox: SandboxSettings["sandbox"];
  jobHomeCleanup: SandboxSettings["jobHomeCleanup"];
  /** One relative path per line (kept when the job home is cleaned). */
  jobHomeKeep: string;
  sandboxAllowDocker: boolean;
  /** One absolute path per line. */
  sandboxReadOnlyPaths: string;
  sandboxReadWritePaths: string;
  /** The disk guard. */
  diskMinFreeGb: string;
  diskMinFreePercent: string;
  diskHardFloorGb: string;

  /** When to lend this machine: "Only at these times" (off: lendSchedule null, any time). */
  lendScheduleEnabled: boolean;
  /** The weekly grid; saved only while the schedule is on (off: every hour is shown on). */
  lendSchedule: WeekGrid;
  lendOnBattery: boolean;
  lendIdleMinutes: string;
  lendOwnerCpuPercent: string;
  lendOnRunningJob: LendingSettings["lendOnRunningJob"];
  breakerJobs: string;
  /** Notifications (each kind) and start at login. */
  notifyJobs: boolean;
  notifyConnection: boolean;
  notifyPauses: boolean;
  startAtLogin: boolean;

  /** Agents on this machine: one for every lent GPU, one per lent GPU, or one per group. */
  gpuAgents: LendingSettings["gpuAgents"];
  /** With "groups": each GPU's group number (1, 2, …) by UUID; a GPU in none gets an agent of its own. */
  gpuGroupOf: Record<string, number>;
  /** UUIDs of the GPUs the owner keeps (not lent). */
  gpuNotLent: string[];
  /** °C, 0: no limit. */
  gpuMaxTemperatureC: string;
  /** W, 0: no limit. */
  gpuMaxPowerW: string;
  gpuOwnerUsePauses: boolean;
}

/** The settings of where jobs run and of the disk guard, every one present. */
export type SandboxSettings = Required<
  Pick<
    SettingsInput,
    | "sandbox"
    | "jobHomeCleanup"
    | "jobHomeKeep"
    | "sandboxAllowDocker"
    | "sandboxReadOnlyPaths"
    | "sandboxReadWritePaths"
    | "diskMinFreeGb"
    | "diskMinFreePercent"
    | "diskHardFloorGb"
  >
>;

/** The app's defaults (agent-core/host/settings.ts), for a host that does not send them. */
export const SANDBOX_DEFAULTS: SandboxSettings = {
  sandbox: "strict",
  jobHomeCleanup: "clean",
  jobHomeKeep: [],
  sandboxAllowDocker: false,
  sandboxReadOnlyPaths: [],
  sandboxReadWritePaths: [],
  diskMinFreeGb: 10,
  diskMinFreePercent: 10,
  diskHardFloorGb: 1,
};

/** The sandbox and disk settings of a SettingsView, the defaults standing in for any it lacks. */
export function sandboxSettingsOf(settings: SettingsView): SandboxSettings {
  const v = settings as SettingsView & Partial<SandboxSettings>;
  return {
    sandbox: v.sandbox ?? SANDBOX_DEFAULTS.sandbox,
    jobHomeCleanup: v.jobHomeCleanup ?? SANDBOX_DEFAULTS.jobHomeCleanup,
    jobHomeKeep: [...(v.jobHomeKeep ?? SANDBOX_DEFAULTS.jobHomeKeep)],
    sandboxAllowDocker: v.sandboxAllowDocker ?? SANDBOX_DEFAULTS.sandboxAllowDocker,
    sandboxReadOnlyPaths: [...(v.sandboxReadOnlyPaths ?? SANDBOX_DEFAULTS.sandboxReadOnlyPaths)],
    sandboxReadWritePaths: [...(v.sandboxReadWritePaths ?? SANDBOX_DEFAULTS.sandboxReadWritePaths)],
    diskMinFreeGb: v.diskMinFreeGb ?? SANDBOX_DEFAULTS.diskMinFreeGb,
    diskMinFreePercent: v.diskMinFreePercent ?? SANDBOX_DEFAULTS.diskMinFreePercent,
    diskHardFloorGb: v.diskHardFloorGb ?? SANDBOX_DEFAULTS.diskHardFloorGb,
  };
}

/** When to lend this machine and its GPUs, every setting present. */
export type LendingSettings = Required<
  Pick<
    SettingsInput,
    | "lendSchedule"
    | "lendOnBattery"
    | "lendIdleMinutes"
    | "lendOwnerCpuPercent"
    | "lendOnRunningJob"
    | "breakerJobs"
    | "gpuAgents"
    | "gpuGroups"
    | "gpuNotLent"
    | "gpuMaxTemperatureC"
    | "gpuMaxPowerW"
    | "gpuOwnerUsePauses"
  >
>;

/** The app's defaults (agent-core/host/settings.ts DEFAULT_LENDING_SETTINGS), for a host that does not send them. */
export const LENDING_DEFAULTS: LendingSettings = {
  lendSchedule: null,
  lendOnBattery: true,
  lendIdleMinutes: 0,
  lendOwnerCpuPercent: 0,
  lendOnRunningJob: { schedule: "finish", battery: "finish", idle: "finish", load: "finish" },
  breakerJobs: 5,
  gpuAgents: "one",
  gpuGroups: [],
  gpuNotLent: [],
  gpuMaxTemperatureC: 85,
  gpuMaxPowerW: 0,
  gpuOwnerUsePauses: true,
};

/** The lending settings of a SettingsView, the defaults standing in for any it lacks. */
export function lendingSettingsOf(settings: SettingsView): LendingSettings {
  const v = settings as SettingsView & Partial<LendingSettings>;
  const schedule = v.lendSchedule === undefined ? LENDING_DEFAULTS.lendSchedule : v.lendSchedule;
  return {
    lendSchedule: schedule === null ? null : { days: schedule.days.map((hours) => [...hours]) },
    lendOnBattery: v.lendOnBattery ?? LENDING_DEFAULTS.lendOnBattery,
    lendIdleMinutes: v.lendIdleMinutes ?? LENDING_DEFAULTS.lendIdleMinutes,
    lendOwnerCpuPercent: v.lendOwnerCpuPercent ?? LENDING_DEFAULTS.lendOwnerCpuPercent,
    lendOnRunningJob: { ...LENDING_DEFAULTS.lendOnRunningJob, ...v.lendOnRunningJob },
    breakerJobs: v.breakerJobs ?? LENDING_DEFAULTS.breakerJobs,
    gpuAgents: v.gpuAgents ?? LENDING_DEFAULTS.gpuAgents,
    gpuGroups: (v.gpuGroups ?? LENDING_DEFAULTS.gpuGroups).map((group) => [...group]),
    gpuNotLent: [...(v.gpuNotLent ?? LENDING_DEFAULTS.gpuNotLent)],
    gpuMaxTemperatureC: v.gpuMaxTemperatureC ?? LENDING_DEFAULTS.gpuMaxTemperatureC,
    gpuMaxPowerW: v.gpuMaxPowerW ?? LENDING_DEFAULTS.gpuMaxPowerW,
    gpuOwnerUsePauses: v.gpuOwnerUsePauses ?? LENDING_DEFAULTS.gpuOwnerUsePauses,
  };
}

/** Each GPU's group number (group i of the list is number i + 1). */
export function groupAssignment(groups: readonly (readonly string[])[]): Record<string, number> {
  const of: Record<string, number> = {};
  groups.forEach((group, i) => {
    for (const uuid of group) if (of[uuid] === undefined) of[uuid] = i + 1;
  });
  return of;
}

/** The groups of an assignment, by number (empty numbers left out); within a group the GPUs keep the saved order, a newly assigned one last. */
export function groupsFromAssignment(of: Readonly<Record<string, number>>): string[][] {
  const byNumber = new Map<number, string[]>();
  for (const [uuid, n] of Object.entries(of)) {
    if (!Number.isInteger(n) || n < 1) continue;
    byNumber.set(n, [...(byNumber.get(n) ?? []), uuid]);
  }
  return [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([, uuids]) => uuids);
}

/** The assignment with one GPU moved to group `n` (0: no group, an agent of its own). */
export function assignGroup(of: Readonly<Record<string, number>>, uuid: string, n: number): Record<string, number> {
  const next = { ...of };
  if (n >= 1) next[uuid] = n;
  else delete next[uuid];
  return next;
}

let rowKey = 0;
export function newEnvRow(name = "", value = ""): EnvRow {
  return { key: ++rowKey, name, value };
}

export function draftFrom(settings: SettingsView): SettingsDraft {
  const sandbox = sandboxSettingsOf(settings);
  const lending = lendingSettingsOf(settings);
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
    sandbox: sandbox.sandbox,
    jobHomeCleanup: sandbox.jobHomeCleanup,
    jobHomeKeep: sandbox.jobHomeKeep.join("\n"),
    sandboxAllowDocker: sandbox.sandboxAllowDocker,
    sandboxReadOnlyPaths: sandbox.sandboxReadOnlyPaths.join("\n"),
    sandboxReadWritePaths: sandbox.sandboxReadWritePaths.join("\n"),
    diskMinFreeGb: String(sandbox.diskMinFreeGb),
    diskMinFreePercent: String(sandbox.diskMinFreePercent),
    diskHardFloorGb: String(sandbox.diskHardFloorGb),
    lendScheduleEnabled: lending.lendSchedule !== null,
    lendSchedule: gridFromSchedule(lending.lendSchedule),
    lendOnBattery: lending.lendOnBattery,
    lendIdleMinutes: String(lending.lendIdleMinutes),
    lendOwnerCpuPercent: String(lending.lendOwnerCpuPercent),
    lendOnRunningJob: { ...lending.lendOnRunningJob },
    breakerJobs: String(lending.breakerJobs),
    // A host without these fields: on, on, on, off (the app's defaults).
    notifyJobs: settings.notifyJobs ?? true,
    notifyConnection: settings.notifyConnection ?? true,
    notifyPauses: settings.notifyPauses ?? true,
    startAtLogin: settings.startAtLogin ?? false,
    gpuAgents: lending.gpuAgents,
    gpuGroupOf: groupAssignment(lending.gpuGroups),
    gpuNotLent: [...lending.gpuNotLent],
    gpuMaxTemperatureC: String(lending.gpuMaxTemperatureC),
    gpuMaxPowerW: String(lending.gpuMaxPowerW),
    gpuOwnerUsePauses: lending.gpuOwnerUsePauses,
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
  /** The same for the one-per-line lists: jobHomeKeep[i] is line lines.jobHomeKeep[i], etc. */
  lines: Record<LineListField, number[]>;
}

/** The settings entered one per line; errors name them with an index, e.g. "jobHomeKeep[2]". */
export const LINE_LIST_FIELDS = ["files", "jobHomeKeep", "sandboxReadOnlyPaths", "sandboxReadWritePaths"] as const;
export type LineListField = (typeof LINE_LIST_FIELDS)[number];

/** The non-blank lines of a text, trimmed, with their (1-based) line numbers. */
export function splitLines(text: string): { values: string[]; lines: number[] } {
  const values: string[] = [];
  const lines: number[] = [];
  text.split("\n").forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed !== "") {
      values.push(trimmed);
      lines.push(i + 1);
    }
  });
  return { values, lines };
}

/**
 * Where an error of the last save goes: `{list, index, line}` for an entry of a one-per-line list
 * ("sandboxReadOnlyPaths[1]" is its line lines.sandboxReadOnlyPaths[1]), null for any other field.
 */
export function lineOfListError(field: string, lines: DraftConversion["lines"]): { list: LineListField; index: number; line: number | null } | null {
  const match = /^([A-Za-z]+)\[(\d+)\]$/.exec(field);
  if (match === null) return null;
  const list = match[1] as LineListField;
  if (!(LINE_LIST_FIELDS as readonly string[]).includes(list)) return null;
  const index = Number(match[2]);
  return { list, index, line: lines[list][index] ?? null };
}

/** Whole-number fields: [field, min, max]. The host checks the bounds again (SettingsInputSchema). */
const NUMBER_FIELDS = [
  ["disconnectAfterIdleTimeout", 0, null],
  ["interruptionGracePeriod", 0, null],
  ["historyMaxJobs", 1, null],
  ["historyMaxMegabytes", 1, null],
  ["debugKeepJobs", 0, 1000],
  ["diskMinFreeGb", 0, 1_000_000_000],
  ["diskMinFreePercent", 0, 100],
  ["diskHardFloorGb", 0, 1_000_000_000],
  ["lendIdleMinutes", 0, 24 * 60],
  ["lendOwnerCpuPercent", 0, 100],
  ["breakerJobs", 0, 1000],
  ["gpuMaxTemperatureC", 0, 150],
  ["gpuMaxPowerW", 0, 10_000],
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
  const split = {
    files: splitLines(draft.files),
    jobHomeKeep: splitLines(draft.jobHomeKeep),
    sandboxReadOnlyPaths: splitLines(draft.sandboxReadOnlyPaths),
    sandboxReadWritePaths: splitLines(draft.sandboxReadWritePaths),
  };
  const lines = {
    files: split.files.lines,
    jobHomeKeep: split.jobHomeKeep.lines,
    sandboxReadOnlyPaths: split.sandboxReadOnlyPaths.lines,
    sandboxReadWritePaths: split.sandboxReadWritePaths.lines,
  };
  const conversion: DraftConversion = { input: null, errors, envRowKeys: envRows.map((r) => r.key), fileLines: lines.files, lines };
  if (errors.length > 0) return conversion;
  const input: SettingsInput = {
    endpoint: draft.endpoint.trim(),
    name: draft.name.trim(),
    noHttps: draft.noHttps,
    envVars: envRows.map((r) => ({ name: r.name.trim(), value: r.value })),
    files: split.files.values,
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
    sandbox: draft.sandbox,
    jobHomeCleanup: draft.jobHomeCleanup,
    jobHomeKeep: split.jobHomeKeep.values,
    sandboxAllowDocker: draft.sandboxAllowDocker,
    sandboxReadOnlyPaths: split.sandboxReadOnlyPaths.values,
    sandboxReadWritePaths: split.sandboxReadWritePaths.values,
    diskMinFreeGb: numbers.diskMinFreeGb!,
    diskMinFreePercent: numbers.diskMinFreePercent!,
    diskHardFloorGb: numbers.diskHardFloorGb!,
    lendSchedule: draft.lendScheduleEnabled ? scheduleFromGrid(draft.lendSchedule) : null,
    lendOnBattery: draft.lendOnBattery,
    lendIdleMinutes: numbers.lendIdleMinutes!,
    lendOwnerCpuPercent: numbers.lendOwnerCpuPercent!,
    lendOnRunningJob: { ...draft.lendOnRunningJob },
    breakerJobs: numbers.breakerJobs!,
    notifyJobs: draft.notifyJobs,
    notifyConnection: draft.notifyConnection,
    notifyPauses: draft.notifyPauses,
    startAtLogin: draft.startAtLogin,
    gpuAgents: draft.gpuAgents,
    gpuGroups: groupsFromAssignment(draft.gpuGroupOf),
    gpuNotLent: [...draft.gpuNotLent],
    gpuMaxTemperatureC: numbers.gpuMaxTemperatureC!,
    gpuMaxPowerW: numbers.gpuMaxPowerW!,
    gpuOwnerUsePauses: draft.gpuOwnerUsePauses,
  };
  if (draft.token !== "") input.token = draft.token;
  return { ...conversion, input };
}

// ---------------------------------------------------------------------------------------------
// Errors of the form: which ones an edit clears, and how one reads on its own.

/** Where the errors of the last save belong: envVars[i] was the row with key envRowKeys[i], list entries their lines. */
export type DraftMapping = Pick<DraftConversion, "envRowKeys" | "lines">;

export const EMPTY_MAPPING: DraftMapping = { envRowKeys: [], lines: { files: [], jobHomeKeep: [], sandboxReadOnlyPaths: [], sandboxReadWritePaths: [] } };

/** Draft fields whose errors come back under another SettingsInput key. */
const ERROR_KEY_OF: Partial<Record<keyof SettingsDraft, string>> = {
  lendScheduleEnabled: "lendSchedule",
  gpuGroupOf: "gpuGroups",
};

/** `field` is `name` or one of its parts: "files" holds "files[2]", "envVars" holds "envVars[0].name". */
function within(field: string, name: string): boolean {
  return field === name || field.startsWith(`${name}[`) || field.startsWith(`${name}.`);
}

/**
 * The errors an edit of `key` (from `before` to `after`) makes obsolete: those of the field it
 * changes, and only those. An environment variable row is a field of its own: editing a row's name
 * clears that row's name error, not the errors of the other rows.
 */
export function errorsClearedBy(key: keyof SettingsDraft, before: SettingsDraft, after: SettingsDraft, mapping: DraftMapping): (field: string) => boolean {
  if (key !== "envVars") {
    const name = ERROR_KEY_OF[key] ?? key;
    return (field) => within(field, name);
  }
  const cleared = new Set<string>(["envVars"]);
  const now = new Map(after.envVars.map((row) => [row.key, row]));
  for (const row of before.envVars) {
    const i = mapping.envRowKeys.indexOf(row.key);
    if (i < 0) continue;
    const edited = now.get(row.key);
    const nameChanged = edited === undefined || edited.name !== row.name;
    const valueChanged = edited === undefined || edited.value !== row.value;
    if (nameChanged) cleared.add(`envVars[${i}].name`);
    if (valueChanged) cleared.add(`envVars[${i}].value`);
    if (nameChanged || valueChanged) cleared.add(`envVars[${i}]`);
  }
  return (field) => cleared.has(field);
}

/**
 * What an error's field is called in config.yaml, for errors of an imported file: the official key
 * (interruptionGracePeriod is `interruption-grace-period`, envVars[1].name is `env-vars` entry 2),
 * "config.yaml" for the file as a whole, the field itself for a key of the file the agent does not
 * know (`endpiont`) or a setting of the app's own (historyMaxJobs).
 */
export function configLabelOf(field: string): string {
  if (field === "yaml") return "config.yaml";
  const match = /^([A-Za-z]+)(?:\[(\d+)\](?:\.[A-Za-z]+)?)?$/.exec(field);
  if (match === null) return field;
  const spec = AGENT_CONFIG_KEYS.find((k) => k.prop === match[1]);
  if (spec === undefined) return field;
  return match[2] !== undefined ? `${spec.key} entry ${Number(match[2]) + 1}` : spec.key;
}

/**
 * How an error reads with the name of its field in front, said once: "`token` is required: …",
 * "`endpiont` is not a config.yaml option: did you mean `endpoint`?", "`env-vars`: entry 2 …". A
 * message that goes on from its field (is, must, …) follows it as a sentence; any other after a colon.
 */
export function errorSentence(label: string, message: string): { label: string; joiner: " " | ": "; message: string } {
  return { label, joiner: /^(is|are|must|has|have|cannot|needs?|should)\b/.test(message) ? " " : ": ", message };
}

/** The essentials the first-run setup asks for; every other field is under Advanced. */
export const ESSENTIAL_FIELDS: ReadonlySet<string> = new Set(["endpoint", "token"]);
