// Strict validators for what the agent sends: register and sync bodies (spec §2.1, §3.1), the
// Authorization header (§1.3) and log event lines (§7.1). They return messages, never throw.
import type { AgentState, RegisterRequest, SyncRequest } from "../agent-core/protocol/types.js";
import { AGENT_STATES } from "../agent-core/protocol/types.js";

export type Validated<T> = { ok: true; value: T } | { ok: false; error: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number" && !Number.isInteger(v)) return "non-integer number";
  return typeof v;
}

type FieldKind = "string" | "int" | "bool";

function checkFields(body: unknown, fields: ReadonlyArray<readonly [string, FieldKind]>, what: string): string | null {
  if (!isPlainObject(body)) return `${what} body must be a JSON object, got ${typeName(body)}`;
  const problems: string[] = [];
  for (const [name, kind] of fields) {
    if (!(name in body)) {
      problems.push(`missing field "${name}"`);
      continue;
    }
    const v = body[name];
    const ok =
      kind === "string" ? typeof v === "string" : kind === "bool" ? typeof v === "boolean" : Number.isInteger(v);
    if (!ok) problems.push(`field "${name}" must be ${kind === "int" ? "an integer" : `a ${kind === "bool" ? "boolean" : "string"}`}, got ${typeName(v)}`);
  }
  const known = new Set(fields.map(([n]) => n));
  for (const key of Object.keys(body)) if (!known.has(key)) problems.push(`unknown field "${key}"`);
  return problems.length > 0 ? `${what}: ${problems.join("; ")}` : null;
}

const REGISTER_FIELDS = [
  ["name", "string"],
  ["version", "string"],
  ["pid", "int"],
  ["os", "string"],
  ["arch", "string"],
  ["hostname", "string"],
  ["single_job", "bool"],
  ["idle_timeout", "int"],
  ["interruption_grace_period", "int"],
  ["job_id", "string"],
] as const;

const SYNC_FIELDS = [
  ["state", "string"],
  ["job_id", "string"],
  ["job_result", "string"],
  ["interrupted_at", "int"],
] as const;

/** `<scheme>:…`, a string starting with `/`, or exactly `*` (what Go's url.ParseRequestURI accepts, §2.2). */
export function isUriName(name: string): boolean {
  return name === "*" || name.startsWith("/") || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(name);
}

/**
 * Structural check of the register body: exactly the ten fields with the right JSON types, and a
 * name that a correct agent could have sent (§2.2). Failures are answered 422.
 */
export function validateRegisterBody(body: unknown): Validated<RegisterRequest> {
  const error = checkFields(body, REGISTER_FIELDS, "register");
  if (error) return { ok: false, error };
  const value = body as unknown as RegisterRequest;
  if (!isUriName(value.name)) {
    const len = Buffer.byteLength(value.name, "utf8");
    if (len < 8 || len > 80) {
      return { ok: false, error: `register: name must be 8..80 bytes unless it is a URL (got ${len} bytes)` };
    }
  }
  return { ok: true, value };
}

/**
 * Semantic checks that a correct agent satisfies but that do not make the request unusable; the hub
 * records them as violations and still registers the agent.
 */
export function registerWarnings(body: RegisterRequest, userAgent: string): string[] {
  const out: string[] = [];
  const uaVersion = /^SemaphoreAgent\/(\S+)$/.exec(userAgent)?.[1];
  if (uaVersion !== undefined && uaVersion !== body.version) {
    out.push(`register: version "${body.version}" differs from the User-Agent version "${uaVersion}" (§1.3)`);
  }
  if (body.version === "") out.push(`register: version is empty`);
  const archMap: Record<string, string> = { x64: "x86_64", amd64: "x86_64", ia32: "x86", "386": "x86" };
  const mapped = archMap[body.arch];
  if (mapped !== undefined) out.push(`register: arch "${body.arch}" must be sent as "${mapped}" (§2.1)`);
  if (body.pid <= 0) out.push(`register: pid must be a positive process id, got ${body.pid}`);
  if (body.idle_timeout < 0) out.push(`register: idle_timeout must not be negative (§9.2)`);
  if (body.interruption_grace_period < 0) out.push(`register: interruption_grace_period must not be negative`);
  if (body.job_id !== "" && !body.single_job) {
    out.push(`register: job_id is only allowed together with single_job (disconnect-after-job, §9.2)`);
  }
  return out;
}

/** Exactly the four fields of §3.1, a known state, and job_result non-empty only in finished-job. */
export function validateSyncBody(body: unknown): Validated<SyncRequest> {
  const error = checkFields(body, SYNC_FIELDS, "sync");
  if (error) return { ok: false, error };
  const v = body as unknown as SyncRequest;
  if (!(AGENT_STATES as readonly string[]).includes(v.state)) {
    return { ok: false, error: `sync: unknown state "${v.state}" (expected one of ${AGENT_STATES.join(", ")})` };
  }
  if (v.state === "finished-job") {
    if (v.job_result !== "passed" && v.job_result !== "failed" && v.job_result !== "stopped") {
      return { ok: false, error: `sync: finished-job needs job_result passed|failed|stopped, got "${v.job_result}"` };
    }
  } else if (v.job_result !== "") {
    return { ok: false, error: `sync: job_result must be "" in state ${v.state}, got "${v.job_result}"` };
  }
  if (v.interrupted_at < 0) return { ok: false, error: `sync: interrupted_at must not be negative` };
  return { ok: true, value: { ...v, state: v.state as AgentState } };
}

export interface ParsedAuth {
  scheme: string;
  token: string;
}

/**
 * Splits an Authorization header into scheme and token. `Token` alone (Go trims the trailing space
 * of `Token `) yields an empty token (§1.3). Returns null when the header is missing or empty.
 */
export function parseAuthorization(header: string | undefined): ParsedAuth | null {
  if (header === undefined || header === "") return null;
  const space = header.indexOf(" ");
  if (space < 0) return { scheme: header, token: "" };
  return { scheme: header.slice(0, space), token: header.slice(space + 1) };
}

const EVENT_KEYS: Record<string, readonly string[]> = {
  job_started: ["event", "timestamp"],
  cmd_started: ["event", "timestamp", "directive"],
  cmd_output: ["event", "timestamp", "output"],
  cmd_finished: ["event", "timestamp", "directive", "exit_code", "started_at", "finished_at"],
  job_finished: ["event", "timestamp", "result"],
};

function nonNegInt(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/**
 * Validates one parsed log line against §7.1: exact key set, string/integer types, integer Unix
 * seconds. Returns an error message or null.
 */
export function validateEventShape(v: unknown): string | null {
  if (!isPlainObject(v)) return `event must be a JSON object, got ${typeName(v)}`;
  const kind = v["event"];
  if (typeof kind !== "string") return `"event" must be a string`;
  const keys = EVENT_KEYS[kind];
  if (keys === undefined) return `unknown event type "${kind}"`;
  let count = 0;
  for (const key in v) {
    count++;
    if (!keys.includes(key)) return `${kind}: unexpected key "${key}"`;
  }
  if (count !== keys.length) {
    const missing = keys.filter((k) => !(k in v));
    return `${kind}: missing key(s) ${missing.map((k) => `"${k}"`).join(", ")}`;
  }
  if (!nonNegInt(v["timestamp"])) return `${kind}: timestamp must be a non-negative integer (Unix seconds), got ${JSON.stringify(v["timestamp"])}`;
  switch (kind) {
    case "cmd_started":
      if (typeof v["directive"] !== "string") return `cmd_started: directive must be a string`;
      break;
    case "cmd_output":
      if (typeof v["output"] !== "string") return `cmd_output: output must be a string`;
      break;
    case "cmd_finished":
      if (typeof v["directive"] !== "string") return `cmd_finished: directive must be a string`;
      if (!(typeof v["exit_code"] === "number" && Number.isInteger(v["exit_code"]))) return `cmd_finished: exit_code must be an integer`;
      if (!nonNegInt(v["started_at"])) return `cmd_finished: started_at must be a non-negative integer (Unix seconds)`;
      if (!nonNegInt(v["finished_at"])) return `cmd_finished: finished_at must be a non-negative integer (Unix seconds)`;
      break;
    case "job_finished": {
      const r = v["result"];
      if (r !== "passed" && r !== "failed" && r !== "stopped") return `job_finished: result must be passed|failed|stopped, got ${JSON.stringify(r)}`;
      break;
    }
  }
  return null;
}
