// Loads the agent configuration of spec §9: CLI flags > SEMAPHORE_AGENT_* env vars > YAML file >
// defaults, then validates the merged result. Every check throws a ConfigError whose one-line
// message names the key and where the bad value came from.
//
// Besides the official keys, `--token-file FILE` / SEMAPHORE_AGENT_TOKEN_FILE read the token from a
// file, so that it never has to be on a command line (where `ps` shows it to every local user). It
// is a flag and a variable only, not a config.yaml key (the file can hold `token:` itself), and it
// stands at the level it was given on: `--token-file` like `--token`, the variable like
// SEMAPHORE_AGENT_TOKEN. Giving both on one level is an error.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Document } from "yaml";

// The YAML parser is loaded only when there is a config file to read: an agent configured by flags
// and environment variables does not carry it (about 9 MB of its memory).
type YamlModule = typeof import("yaml");
let yamlModule: YamlModule | null = null;
const yaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)("yaml") as YamlModule);
const isAlias = ((node) => yaml().isAlias(node)) as YamlModule["isAlias"];
const isMap = ((node: unknown) => yaml().isMap(node)) as YamlModule["isMap"];
const isScalar = ((node: unknown) => yaml().isScalar(node)) as YamlModule["isScalar"];
const isSeq = ((node: unknown) => yaml().isSeq(node)) as YamlModule["isSeq"];
import { ConfigError, type ConfigSource } from "./errors.js";
import {
  CONFIG_KEYS,
  defaultAgentConfig,
  envVarName,
  findConfigKey,
  type ConfigKeySpec,
  type ListItemFormat,
  type RawValue,
} from "./keys.js";
import { resolveAgentName } from "./name.js";
import { suggestConfigKey } from "./suggest.js";
import type { AgentConfig, EnvVarSetting } from "./types.js";
import { keepEntryProblem } from "../sandbox/job-home.js";
import { scheduleEntryProblem } from "../policy/schedule.js";

export { ConfigError, type ConfigSource } from "./errors.js";

export interface LoadAgentConfigInput {
  /** The options after `agent start`, e.g. `["--endpoint", "x", "--no-https"]`. */
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Reads `--config-file`; defaults to fs.readFileSync(path, "utf8"). */
  readFile?: (path: string) => string;
}

export interface LoadedAgentConfig {
  config: AgentConfig;
  /** Advice for whoever started the agent (e.g. `--token` given on the command line); never secrets. */
  warnings: string[];
  /** The `--config-file` path as given, or null when no file was read. */
  configFile: string | null;
  /** For every key of §9.2 (including `config-file`): which source its value came from. */
  sources: Record<string, ConfigSource>;
}

type Origin = { source: "flag" | "env" | "default" } | { source: "file"; file: string };

interface Sourced {
  value: RawValue;
  origin: Origin;
}

const BOOL_TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);
const INTEGER = /^[+-]?[0-9]+$/;
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function loadAgentConfig(input: LoadAgentConfigInput): LoadedAgentConfig {
  const readFile = input.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const flags = parseArgv(input.argv);
  const env = readEnv(input.env);
  const warnings: string[] = [];
  if (flags.has("token")) warnings.push(TOKEN_ON_COMMAND_LINE);
  readTokenFile(flags, env, readFile);

  const configFileFlag = flags.get("config-file");
  // `--config-file=` means "no file", as in the Go agent.
  const configFile = configFileFlag && configFileFlag.value !== "" ? String(configFileFlag.value) : null;
  let file = new Map<string, Sourced>();
  if (configFile !== null) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConfigError("config-file", `--config-file: cannot read ${JSON.stringify(configFile)} (${reason})`, "flag");
    }
    file = parseConfigFile(text, configFile);
  }

  const sources: Record<string, ConfigSource> = {};
  const merged = new Map<string, Sourced>();
  for (const spec of CONFIG_KEYS) {
    const chosen = flags.get(spec.key) ??
      env.get(spec.key) ??
      file.get(spec.key) ?? { value: rawDefault(spec), origin: { source: "default" } };
    sources[spec.key] = chosen.origin.source;
    merged.set(spec.key, chosen);
  }

  const config = validate(merged, input.env);
  return { config, configFile, sources, warnings };
}

const TOKEN_FILE = "token-file";

export const TOKEN_ON_COMMAND_LINE =
  "--token is visible to other users of this machine (ps); use SEMAPHORE_AGENT_TOKEN, --token-file or the config file";

/**
 * Replaces `--token-file` / SEMAPHORE_AGENT_TOKEN_FILE by the token it names, as a `token` entry on
 * the same level (flags or env), so the usual precedence applies. The file is read only when that
 * level is the one that counts (`--token` beats the variable's file).
 */
function readTokenFile(flags: Map<string, Sourced>, env: Map<string, Sourced>, readFile: (path: string) => string): void {
  const fromFlag = flags.get(TOKEN_FILE);
  const fromEnv = env.get(TOKEN_FILE);
  flags.delete(TOKEN_FILE);
  env.delete(TOKEN_FILE);
  if (fromFlag && flags.has("token")) {
    throw new ConfigError(TOKEN_FILE, "--token and --token-file cannot be used together: give the token one way", "flag");
  }
  if (fromEnv && env.has("token")) {
    throw new ConfigError(
      TOKEN_FILE,
      `${envVarName("token")} and ${envVarName(TOKEN_FILE)} cannot both be set: give the token one way`,
      "env",
    );
  }
  const entry = fromFlag ?? (flags.has("token") ? undefined : fromEnv);
  if (!entry) return;
  const level = fromFlag ? flags : env;
  const path = String(entry.value);
  const where = prefix(TOKEN_FILE, entry.origin);
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(TOKEN_FILE, `${where} cannot read ${JSON.stringify(path)} (${reason})`, entry.origin.source as ConfigSource);
  }
  // One trailing newline is how editors and `echo` end a file; anything else is part of the token.
  const token = text.replace(/\r?\n$/, "");
  // The content is never echoed: it is the token, or something that was meant to be.
  if (token === "") {
    throw new ConfigError(TOKEN_FILE, `${where} ${JSON.stringify(path)} is empty (it must hold the agent type's registration token)`, entry.origin.source as ConfigSource);
  }
  if (/[\r\n]/.test(token)) {
    throw new ConfigError(TOKEN_FILE, `${where} ${JSON.stringify(path)} must hold the token on a single line`, entry.origin.source as ConfigSource);
  }
  level.set("token", { value: token, origin: entry.origin });
}

function rawDefault(spec: ConfigKeySpec): RawValue {
  return Array.isArray(spec.default) ? [...spec.default] : (spec.default as RawValue);
}

// ---------------------------------------------------------------------------------------------
// Error text

function prefix(key: string, origin: Origin): string {
  switch (origin.source) {
    case "flag":
      return `--${key}:`;
    case "env":
      return `${envVarName(key)}:`;
    case "file":
      return `${origin.file}: '${key}'`;
    case "default":
      return `'${key}'`;
  }
}

function problem(key: string, origin: Origin, text: string): ConfigError {
  return new ConfigError(key, `${prefix(key, origin)} ${text}`, origin.source);
}

/** `--x: expected …` reads naturally after a flag name; `file: 'x' must be …` after a YAML key. */
function typeError(key: string, origin: Origin, what: string, got: unknown): ConfigError {
  // The token must never be echoed, not even when it has the wrong type.
  const shown = key === "token" ? "" : ` (got ${describe(got)})`;
  const verb = origin.source === "file" ? "must be" : "expected";
  return problem(key, origin, `${verb} ${what}${shown}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  if (value === null || value === undefined) return "null";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

const WHAT: Record<ConfigKeySpec["type"], string> = {
  string: "a string",
  enum: "a string",
  bool: "true or false",
  int: "a whole number",
  list: "a list (YAML sequence)",
};

/** "a whole number of seconds" / "of GB" / "(a percentage)". */
function whatInt(spec: ConfigKeySpec): string {
  const unit = spec.type === "int" && "unit" in spec ? spec.unit : "seconds";
  return unit === "percent" ? "a whole number (a percentage)" : `a whole number of ${unit ?? "seconds"}`;
}

function parseInteger(s: string): number | undefined {
  if (!INTEGER.test(s)) return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n)) return undefined;
  return n === 0 ? 0 : n; // no -0
}

// ---------------------------------------------------------------------------------------------
// Command line (pflag semantics)

function parseArgv(argv: readonly string[]): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  const origin: Origin = { source: "flag" };
  let previousBool: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      const extra = argv[i + 1];
      if (extra !== undefined) throw unexpectedArgument(extra, null);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") throw unexpectedArgument(arg, previousBool);
    previousBool = null;

    // Only the part before '=' is ever echoed: `--tokn=<secret>` must not leak the value.
    const body = arg.startsWith("--") ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    const spec = name === TOKEN_FILE ? TOKEN_FILE_FLAG : findConfigKey(name);
    if (!arg.startsWith("--")) {
      const hint = spec ? ` (write --${name})` : "";
      throw new ConfigError(name, `unknown flag: -${name}${hint}`, "flag");
    }
    if (!spec) throw new ConfigError(name, `unknown flag: --${name}`, "flag");

    if (spec.type === "bool") {
      // A bool flag never consumes the next argument (pflag NoOptDefVal), so `--no-https false`
      // leaves "false" as a stray argument.
      if (inline === undefined) {
        out.set(spec.key, { value: true, origin });
        previousBool = spec.key;
        continue;
      }
      const value = BOOL_TRUE.has(inline) ? true : BOOL_FALSE.has(inline) ? false : undefined;
      if (value === undefined) throw typeError(spec.key, origin, WHAT.bool, inline);
      out.set(spec.key, { value, origin });
      continue;
    }

    let text = inline;
    if (text === undefined) {
      // Like pflag, the next argument is taken even when it starts with '-'.
      text = argv[++i];
      if (text === undefined) throw problem(spec.key, origin, "flag needs an argument");
    }
    if (spec.type === "int") {
      const n = parseInteger(text);
      if (n === undefined) throw typeError(spec.key, origin, whatInt(spec), text);
      out.set(spec.key, { value: n, origin });
    } else if (spec.type === "list") {
      const items = splitCommaList(text);
      if (items === null) {
        throw problem(spec.key, origin, 'expected comma-separated entries; a "quoted" entry must be closed and followed by "," or the end');
      }
      // pflag's StringSlice: the first occurrence replaces the default, later ones append.
      const before = out.get(spec.key)?.value;
      out.set(spec.key, { value: Array.isArray(before) ? [...before, ...items] : items, origin });
    } else {
      out.set(spec.key, { value: text, origin });
    }
  }
  return out;
}

/** `--token-file` is parsed like a string key, but is none of §9.2 (see readTokenFile). */
const TOKEN_FILE_FLAG: ConfigKeySpec = { key: TOKEN_FILE, type: "string", prop: null, default: "", cliOnly: true };

function unexpectedArgument(arg: string, previousBool: string | null): ConfigError {
  const hint = previousBool ? ` (a boolean flag takes its value only as --${previousBool}=${arg})` : "";
  return new ConfigError(previousBool ?? "argv", `unexpected argument ${JSON.stringify(arg)}${hint}`, "flag");
}

/**
 * pflag reads list flags as one CSV record, so `--files "a,b:/c",d:/e` can carry a comma inside
 * quotes. Bare quotes inside an unquoted entry are taken literally (Go's csv rejects them; that
 * would only make `--env-vars 'A="x"'` fail for no benefit). Returns null for a malformed record.
 */
function splitCommaList(s: string): string[] | null {
  if (s === "") return [];
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (s[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        if (i >= s.length) return null;
        const c = s[i];
        if (c === '"') {
          if (s[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += c;
        i++;
      }
      out.push(value);
      if (i === s.length) return out;
      if (s[i] !== ",") return null;
      i++;
    } else {
      const comma = s.indexOf(",", i);
      if (comma < 0) {
        out.push(s.slice(i));
        return out;
      }
      out.push(s.slice(i, comma));
      i = comma + 1;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Environment

function readEnv(env: NodeJS.ProcessEnv): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  const origin: Origin = { source: "env" };
  for (const spec of CONFIG_KEYS) {
    if (spec.cliOnly) continue; // SEMAPHORE_AGENT_CONFIG_FILE does not load a file (§9.2)
    const text = env[envVarName(spec.key)];
    // viper ignores empty variables (AllowEmptyEnv is off), so `X=` falls through to the file.
    if (text === undefined || text === "") continue;
    let value: RawValue;
    switch (spec.type) {
      case "bool":
        // §9.1: anything outside the true-set reads as false, without an error.
        value = BOOL_TRUE.has(text);
        break;
      case "int": {
        // Go silently reads a non-number as 0; a typo in a timeout deserves an error [deviation].
        const n = parseInteger(text);
        if (n === undefined) throw typeError(spec.key, origin, whatInt(spec), text);
        value = n;
        break;
      }
      case "list":
        value = text.split(/\s+/).filter((item) => item !== "");
        break;
      default:
        value = text;
    }
    out.set(spec.key, { value, origin });
  }
  const tokenFile = env[envVarName(TOKEN_FILE)];
  if (tokenFile !== undefined && tokenFile !== "") out.set(TOKEN_FILE, { value: tokenFile, origin });
  return out;
}

// ---------------------------------------------------------------------------------------------
// YAML file

function parseConfigFile(text: string, file: string): Map<string, Sourced> {
  const doc = yaml().parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    // The first line only: later lines quote the file, which may contain the token.
    const message = (err.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new ConfigError("config-file", `${where}: invalid YAML: ${message}`, "file");
  }
  const out = new Map<string, Sourced>();
  const contents = doc.contents;
  if (contents === null) return out; // an empty file sets nothing, as with viper
  if (!isMap(contents)) {
    const got = isSeq(contents) ? "a list" : "a single value";
    throw new ConfigError("config-file", `${file}: expected a mapping of "option: value" lines at the top level (got ${got})`, "file");
  }

  const keyOf = (node: unknown): string => (isScalar(node) ? String(node.value) : String(node));
  // Unknown keys first, so a typo is reported even when another key also has a bad value.
  for (const pair of contents.items) {
    const key = keyOf(pair.key);
    if (!findConfigKey(key)) {
      const near = suggestConfigKey(key);
      throw new ConfigError(key, `${file}: Unrecognized option '${key}'${near !== null ? ` (did you mean '${near}'?)` : ""}`, "file");
    }
  }

  const origin: Origin = { source: "file", file };
  for (const pair of contents.items) {
    const spec = findConfigKey(keyOf(pair.key));
    // config-file is a valid key in the Go agent's list, but a file cannot chain another file.
    if (!spec || spec.cliOnly) continue;
    const node = resolveNode(pair.value, doc, spec.key, file);
    // viper treats `key:` / `key: ~` as unset, so the default applies (and source is "default").
    if (node === null || (isScalar(node) && node.value === null)) continue;
    out.set(spec.key, { value: yamlValue(spec, node, origin, doc), origin });
  }
  return out;
}

function resolveNode(node: unknown, doc: Document, key: string, file: string): unknown {
  if (!isAlias(node)) return node ?? null;
  const target = node.resolve(doc);
  if (target === undefined) {
    throw new ConfigError(key, `${file}: '${key}' refers to an undefined YAML anchor *${node.source}`, "file");
  }
  return target;
}

/** What a scalar says as text: the source for `name: 0123`, so numbers keep their spelling. */
function scalarText(node: { value: unknown; source?: string }): string {
  return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
}

function yamlValue(spec: ConfigKeySpec, node: unknown, origin: Origin, doc: Document): RawValue {
  const plain = isScalar(node) ? node.value : isSeq(node) ? [] : {};
  switch (spec.type) {
    case "string":
    case "enum":
      if (!isScalar(node)) throw typeError(spec.key, origin, WHAT.string, plain);
      return scalarText(node);
    case "bool": {
      if (!isScalar(node)) throw typeError(spec.key, origin, WHAT.bool, plain);
      if (typeof node.value === "boolean") return node.value;
      // viper also accepts strconv.ParseBool spellings such as "true" or 1 here.
      const text = scalarText(node);
      if (BOOL_TRUE.has(text)) return true;
      if (BOOL_FALSE.has(text)) return false;
      throw typeError(spec.key, origin, WHAT.bool, node.value);
    }
    case "int": {
      if (!isScalar(node)) throw typeError(spec.key, origin, whatInt(spec), plain);
      const v = node.value;
      if (typeof v === "number" && Number.isSafeInteger(v)) return v === 0 ? 0 : v;
      const n = typeof v === "string" ? parseInteger(v) : undefined;
      if (n === undefined) throw typeError(spec.key, origin, whatInt(spec), v);
      return n;
    }
    case "list": {
      // Go would split a scalar at whitespace; a scalar here is almost always a forgotten `- `.
      if (!isSeq(node)) throw typeError(spec.key, origin, WHAT.list, plain);
      return node.items.map((item, index) => {
        const resolved = resolveNode(item, doc, spec.key, origin.source === "file" ? origin.file : "");
        if (isScalar(resolved) && resolved.value !== null) return scalarText(resolved);
        const got = isScalar(resolved) ? "null" : isSeq(resolved) ? "a list" : "a mapping";
        throw problem(spec.key, origin, `must be a list of strings (item ${index + 1} is ${got})`);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation of the merged values

function validate(merged: ReadonlyMap<string, Sourced>, env: NodeJS.ProcessEnv): AgentConfig {
  const config = defaultAgentConfig() as unknown as Record<string, unknown>;
  const at = (key: string): Sourced => {
    const entry = merged.get(key);
    if (!entry) throw new Error(`internal: no value for ${key}`);
    return entry;
  };

  for (const spec of CONFIG_KEYS) {
    if (spec.prop === null) continue;
    const { value, origin } = at(spec.key);

    if (spec.required && value === "") {
      if (origin.source === "default") {
        throw new ConfigError(
          spec.key,
          `'${spec.key}' is required: pass --${spec.key}, set ${envVarName(spec.key)} or add '${spec.key}' to the config file`,
          "default",
        );
      }
      throw problem(spec.key, origin, `must not be empty ('${spec.key}' is required)`);
    }
    if (spec.key === "endpoint") {
      const why = endpointProblem(String(value));
      if (why) throw problem(spec.key, origin, why);
    }
    if (spec.type === "int" && spec.nonNegative && typeof value === "number" && value < 0) {
      throw problem(spec.key, origin, `must not be negative (got ${value})`);
    }
    if (spec.type === "int" && "unit" in spec && spec.unit === "percent" && typeof value === "number" && value > 100) {
      throw problem(spec.key, origin, `is a percentage: at most 100 (got ${value})`);
    }
    if (spec.type === "enum" && !(spec.values as readonly string[]).includes(String(value))) {
      throw problem(spec.key, origin, `must be one of ${spec.values.join(", ")} (got ${JSON.stringify(value)})`);
    }
    if (spec.type === "list" && spec.itemFormat) {
      config[spec.prop] = checkItems(spec.key, spec.itemFormat, value as string[], origin);
      continue;
    }
    config[spec.prop] = value;
  }

  const result = config as unknown as AgentConfig;

  if (result.jobId !== "" && !result.disconnectAfterJob) {
    throw problem("job-id", at("job-id").origin, "requires disconnect-after-job to be true (or leave job-id empty)");
  }

  if (result.name !== "" || result.nameFromEnv !== "") {
    // Validation only: the name itself is chosen again when the agent starts.
    resolveAgentName(result, env, (size) => Buffer.alloc(size), {
      name: prefix("name", at("name").origin),
      nameFromEnv: prefix("name-from-env", at("name-from-env").origin),
    });
  }
  return result;
}

function checkItems(key: string, format: ListItemFormat, items: string[], origin: Origin): EnvVarSetting[] | string[] {
  if (format === "relative-path") {
    items.forEach((item, index) => {
      const why = keepEntryProblem(item);
      if (why) throw problem(key, origin, `entry ${index + 1} ${why}`);
    });
    return items;
  }
  if (format === "schedule") {
    items.forEach((item, index) => {
      const why = scheduleEntryProblem(item);
      if (why) throw problem(key, origin, `entry ${index + 1} (${JSON.stringify(item)}) ${why}`);
    });
    return items;
  }
  if (format === "absolute-path") {
    items.forEach((item, index) => {
      if (!item.startsWith("/")) throw problem(key, origin, `entry ${index + 1} must be an absolute path (got ${JSON.stringify(item)})`);
    });
    return items;
  }
  if (format === "host-file") {
    items.forEach((item, index) => {
      if (item.split(":").length !== 2) {
        throw problem(key, origin, `entry ${index + 1} (${JSON.stringify(item)}) must be HOSTPATH:DEST with exactly one ':'`);
      }
    });
    return items;
  }
  return items.map((item, index): EnvVarSetting => {
    // P-28 deviation: the Go agent rejects values containing '='; we split at the FIRST '=' so
    // `JAVA_OPTS=-Dx=y` works. Only the name is echoed in errors: values are often secrets.
    const eq = item.indexOf("=");
    if (eq < 0) {
      throw problem(
        key,
        origin,
        `entry ${index + 1} (${JSON.stringify(item)}) must be NAME=VALUE (split at the first '=', so the value may itself contain '=')`,
      );
    }
    const name = item.slice(0, eq);
    if (!SHELL_NAME.test(name)) {
      // The name goes unquoted into `export NAME=…` in the .env file (§5.5): a bad one breaks the job.
      throw problem(
        key,
        origin,
        `entry ${index + 1} has the name ${JSON.stringify(name)}, which is not a valid shell variable name (letters, digits and '_', not starting with a digit)`,
      );
    }
    return { name, value: item.slice(eq + 1) };
  });
}

const SCHEME_PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9._~-]+)?\]|[A-Za-z0-9_.-]+)(?::([0-9]+))?$/;

/** The endpoint is pasted into `<scheme>://<endpoint>/api/v1/…` (§1.1), so anything but host[:port] breaks every call. */
function endpointProblem(endpoint: string): string | null {
  const scheme = SCHEME_PREFIX.exec(endpoint);
  if (scheme) {
    const host = endpoint.slice(scheme[0].length).split(/[/?#]/)[0] ?? "";
    const use = host !== "" ? `use ${JSON.stringify(host)}` : "give only host[:port]";
    const http = (scheme[1] ?? "").toLowerCase() === "http" ? " and set no-https for plain HTTP" : "";
    return `must be host[:port] without a scheme: drop ${JSON.stringify(scheme[0])} (${use}${http})`;
  }
  const match = HOST_PORT.exec(endpoint);
  if (!match) {
    if (/[/?#]/.test(endpoint)) return `must be host[:port] without a path (got ${JSON.stringify(endpoint)})`;
    return `must be host[:port], e.g. myorg.semaphoreci.com or localhost:4567 (got ${JSON.stringify(endpoint)})`;
  }
  const port = match[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    return `port must be between 1 and 65535 (got ${JSON.stringify(endpoint)})`;
  }
  return null;
}
