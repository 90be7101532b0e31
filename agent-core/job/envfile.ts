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

/** Variables of one export step; names are written unquoted and unvalidated (spec §5.5). */
export type EnvVars = ReadonlyMap<string, EnvValue>;

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

/** One `export NAME=<quoted>\n` line per variable, sorted by name. */
export function renderEnvFile(vars: EnvVars): Buffer {
  const lines: Buffer[] = [];
  for (const name of sortEnvNames(vars.keys())) {
    lines.push(Buffer.from(`export ${name}=`, "utf8"), quoteEnvValueBytes(vars.get(name) ?? ""), Buffer.from("\n"));
  }
  return Buffer.concat(lines);
}

/**
 * Environment of the first export step: job variables (base64) in order, then the agent's
 * `env-vars` (raw), later entries winning (spec §5.5, P-12). Null when any job value is not valid
 * base64, which fails the step before anything is exported.
 */
export function buildJobEnvironment(
  jobVars: readonly JobEnvVar[],
  agentVars: readonly EnvVarSetting[],
): Map<string, EnvValue> | null {
  const env = new Map<string, EnvValue>();
  for (const v of jobVars) {
    const decoded = decodeBase64Strict(v.value);
    if (decoded === null) return null;
    env.set(v.name, decoded);
  }
  for (const v of agentVars) env.set(v.name, v.value);
  return env;
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
