// The `.env-<nanoseconds>` files of spec §5.5 and §6: the job shell sources them, and a debug
// terminal sources them again to reproduce the job's environment, so name and format stay those of
// the Go agent. Values are bytes: a base64 job variable may decode to anything but NUL-free UTF-8.
import { open, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { EnvVarSetting } from "../config/types.js";
import type { JobEnvVar } from "../protocol/types.js";
import { decodeBase64Strict } from "./request.js";
import { wallClockNanoseconds } from "../util/clock.js";

export type EnvValue = string | Uint8Array;

/**
 * Variables of one export step. Names are written unquoted (spec §5.5), so every name must be a
 * shell identifier: unlike the Go agent, which writes them unvalidated, a job whose variable is
 * named `X=1; touch /tmp/pwned; Y` fails its env step instead of running that command.
 */
export type EnvVars = ReadonlyMap<string, EnvValue>;

const SHELL_VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for a name `export NAME=…` can take as it is: letters, digits and `_`, not starting with a digit. */
export function isShellVariableName(name: string): boolean {
  return SHELL_VARIABLE_NAME.test(name);
}

/** The reason a name is refused, naming the field it came from; JSON quoting shows any control character escaped. */
function badName(field: string, name: string): string {
  return `${field}: ${JSON.stringify(name)} is not a valid shell variable name`;
}

const SAFE_BYTES = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-") {
  SAFE_BYTES[c.charCodeAt(0)] = 1;
}
const QUOTE = 0x27;
const ESCAPED_QUOTE = Buffer.from(`'"'"'`);

function toBytes(value: EnvValue): Buffer {
  return typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
}

/** Shell quoting of an env-file value, byte for byte as the Go agent writes it. */
export function quoteEnvValueBytes(value: EnvValue): Buffer {
  const bytes = toBytes(value);
  if (bytes.length === 0) return Buffer.from("''");
  if (bytes.every((b) => SAFE_BYTES[b] === 1)) return bytes;
  const parts: Buffer[] = [Buffer.from("'")];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== QUOTE) continue;
    parts.push(bytes.subarray(start, i), ESCAPED_QUOTE);
    start = i + 1;
  }
  parts.push(bytes.subarray(start), Buffer.from("'"));
  return Buffer.concat(parts);
}

/** String form of {@link quoteEnvValueBytes} for text values (also used to quote paths we generate). */
export function quoteEnvValue(value: string): string {
  return quoteEnvValueBytes(value).toString("utf8");
}

/** Go sorts the names as byte strings; JS's default sort compares UTF-16 units, which differs. */
export function sortEnvNames(names: Iterable<string>): string[] {
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
}

/** One `export NAME=<quoted>\n` line per variable, sorted by name. Throws for a name that is not a shell identifier. */
export function renderEnvFile(vars: EnvVars): Buffer {
  const lines: Buffer[] = [];
  for (const name of sortEnvNames(vars.keys())) {
    if (!isShellVariableName(name)) throw new Error(badName("env file", name));
    lines.push(Buffer.from(`export ${name}=`, "utf8"), quoteEnvValueBytes(vars.get(name) ?? ""), Buffer.from("\n"));
  }
  return Buffer.concat(lines);
}

export type JobEnvironment = { ok: true; env: Map<string, EnvValue> } | { ok: false; reason: string };

/**
 * Environment of the first export step: job variables (base64) in order, then the agent's
 * `env-vars` (raw), later entries winning (spec §5.5, P-12). Fails, with a reason naming the first
 * bad field, when a job value is not valid base64 or a name is not a shell identifier: either
 * fails the step before anything is exported or written. (Config validation already refuses bad
 * `env-vars` names; they are checked again for configs built in code.)
 */
export function buildJobEnvironment(jobVars: readonly JobEnvVar[], agentVars: readonly EnvVarSetting[]): JobEnvironment {
  const env = new Map<string, EnvValue>();
  for (const [index, v] of jobVars.entries()) {
    if (!isShellVariableName(v.name)) return { ok: false, reason: badName(`env_vars[${index}].name`, v.name) };
    const decoded = decodeBase64Strict(v.value);
    if (decoded === null) return { ok: false, reason: `env_vars[${index}].value (${v.name}): not valid base64` };
    env.set(v.name, decoded);
  }
  for (const [index, v] of agentVars.entries()) {
    if (!isShellVariableName(v.name)) return { ok: false, reason: badName(`env-vars[${index}]`, v.name) };
    env.set(v.name, v.value);
  }
  return { ok: true, env };
}

/**
 * Writes `<tmpDir>/.env-<unix-nanoseconds>` and returns its path. Mode 0600 instead of Go's 0644
 * (P-27: it holds secrets); `wx` creates it with that mode, so it is never readable by others even
 * for a moment, and never reuses a file another agent sharing the TMPDIR has just created.
 */
export async function writeEnvFile(tmpDir: string, vars: EnvVars): Promise<string> {
  return writeEnvFileContent(tmpDir, renderEnvFile(vars));
}

/** {@link writeEnvFile} for content already rendered by {@link renderEnvFile}. */
export async function writeEnvFileContent(tmpDir: string, content: Buffer): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const path = join(tmpDir, `.env-${wallClockNanoseconds()}`);
    let handle;
    try {
      handle = await open(path, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && attempt < 100) continue;
      throw err;
    }
    try {
      await handle.writeFile(content);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
    await handle.close();
    return path;
  }
}
