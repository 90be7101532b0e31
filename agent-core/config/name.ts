// Choosing and validating the agent name (spec §2.2).
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { ConfigError } from "./errors.js";
import type { AgentConfig } from "./types.js";

export const MIN_NAME_BYTES = 8;
export const MAX_NAME_BYTES = 80;

export interface ResolvedAgentName {
  /** The name sent in the register body. */
  name: string;
  /**
   * What to prefix agent log lines with until the register response names the agent: the URL's
   * host for URL names (the control plane derives the real name from the URL, so the URL itself is
   * noise), otherwise the name. Go prints `[]` for request URIs without a host (`ci:1`, `/x`, `*`);
   * we use the name itself there, since an empty prefix helps nobody [deviation OK].
   */
  logPrefix: string;
}

const CTL = /[\x00-\x1f\x7f]/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// Go's shouldEscape(c, encodeHost) rejects every other ASCII byte; bytes >= 0x80 pass.
const HOST_CHAR = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"%\u0080-\u{10FFFF}]*$/u;
const USERINFO_CHAR = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@\u0080-\u{10FFFF}]*$/u;

/**
 * Port of Go's `url.ParseRequestURI`, because the Go agent lifts the name length rule for anything
 * it accepts; a looser check (e.g. "contains ://") would accept or reject different names than the
 * official agent does. Returns the host (possibly "") or null when Go would report an error.
 */
function parseRequestUri(s: string): { host: string } | null {
  if (s === "" || CTL.test(s)) return null;
  if (s === "*") return { host: "" };
  if (s.startsWith(":")) return null; // "missing protocol scheme"
  const scheme = SCHEME.exec(s)?.[0];
  let rest = scheme === undefined ? s : s.slice(scheme.length);
  const q = rest.indexOf("?");
  if (q >= 0) rest = rest.slice(0, q); // the query is never validated
  if (!rest.startsWith("/")) return scheme === undefined ? null : { host: "" }; // opaque: "ci:1"
  let host = "";
  let path = rest;
  if (scheme !== undefined && rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    path = slash < 0 ? "" : rest.slice(slash);
    const at = authority.lastIndexOf("@");
    host = authority.slice(at + 1);
    if (!validHost(host)) return null;
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!USERINFO_CHAR.test(userinfo) || BAD_ESCAPE.test(userinfo)) return null;
    }
  }
  if (BAD_ESCAPE.test(path)) return null;
  return { host };
}

function validHost(host: string): boolean {
  let colonPort = "";
  if (host.startsWith("[")) {
    const close = host.lastIndexOf("]");
    if (close < 0) return false; // "missing ']' in host"
    colonPort = host.slice(close + 1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) colonPort = host.slice(colon);
  }
  if (colonPort !== "" && !/^:[0-9]*$/.test(colonPort)) return false;
  if (!HOST_CHAR.test(host) || BAD_ESCAPE.test(host)) return false;
  // %-escapes may not encode ASCII in a host name, except %25 (a literal '%' in an IPv6 zone).
  for (const m of host.matchAll(/%([0-9A-Fa-f]{2})/g)) {
    if (parseInt(m[1] ?? "", 16) < 0x80 && m[0] !== "%25") return false;
  }
  return true;
}

/**
 * True when `s` parses as an HTTP request URI the way Go's `url.ParseRequestURI` does: an absolute
 * URI `<scheme>:…` (also opaque ones such as `ci:1`), an absolute path `/…`, or exactly `*`.
 */
export function isRequestUri(s: string): boolean {
  return parseRequestUri(s) !== null;
}

/** Why `name` is not acceptable as an agent name, or null when it is. */
export function agentNameProblem(name: string): string | null {
  if (isRequestUri(name)) return null;
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes >= MIN_NAME_BYTES && bytes <= MAX_NAME_BYTES) return null;
  return `must be ${MIN_NAME_BYTES} to ${MAX_NAME_BYTES} bytes long unless it is a URL (got ${bytes} bytes: ${JSON.stringify(name)})`;
}

export interface NameErrorLabels {
  /** Prefix for problems with `name`, e.g. `--name:` or `config.yaml: 'name'`. */
  name: string;
  /** Prefix for problems with `name-from-env`. */
  nameFromEnv: string;
}

const PLAIN_LABELS: NameErrorLabels = { name: "'name'", nameFromEnv: "'name-from-env'" };

/**
 * The agent name per spec §2.2: `name`, else the value of the env var named by `name-from-env`,
 * else 15 random bytes as URL-safe base64 (20 characters). Throws ConfigError for an invalid name
 * or a `name-from-env` variable that is unset or empty (the Go agent refuses to start then rather
 * than falling back to a random name).
 */
export function resolveAgentName(
  config: Pick<AgentConfig, "name" | "nameFromEnv">,
  env: NodeJS.ProcessEnv,
  randomBytes: (size: number) => Buffer = nodeRandomBytes,
  labels: NameErrorLabels = PLAIN_LABELS,
): ResolvedAgentName {
  if (config.name !== "") {
    const problem = agentNameProblem(config.name);
    if (problem) throw new ConfigError("name", `${labels.name} ${problem}`);
    return withPrefix(config.name);
  }
  if (config.nameFromEnv !== "") {
    const value = env[config.nameFromEnv];
    if (value === undefined || value === "") {
      throw new ConfigError(
        "name-from-env",
        `${labels.nameFromEnv} refers to environment variable ${JSON.stringify(config.nameFromEnv)}, which is not set or empty`,
      );
    }
    const problem = agentNameProblem(value);
    if (problem) {
      throw new ConfigError(
        "name-from-env",
        `${labels.nameFromEnv} points to $${config.nameFromEnv}, whose value ${problem}`,
      );
    }
    return withPrefix(value);
  }
  const name = randomBytes(15).toString("base64url");
  return { name, logPrefix: name };
}

function withPrefix(name: string): ResolvedAgentName {
  const host = parseRequestUri(name)?.host ?? "";
  return { name, logPrefix: host !== "" ? host : name };
}
