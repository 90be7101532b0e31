// Decoding and construction checks of a job request (spec §3.5, §4, P-23, P-24). A request that
// fails here is reported `failed` without any log events, so every message names the field.
import { JobRequestSchema, decodeWith, type JobRequest } from "../protocol/types.js";

export type DecodeJobRequestResult = { ok: true; request: JobRequest } | { ok: false; error: string };

export function decodeJobRequest(raw: unknown): DecodeJobRequestResult {
  const parsed = decodeWith(JobRequestSchema, raw);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const request = parsed.value;

  const executorError = checkExecutor(request.executor);
  if (executorError) return { ok: false, error: executorError };

  // P-23: the Go agent turns a missing method into `pull`, which never delivers logs in listen mode.
  const method = request.logger.method;
  if (method === "") return { ok: false, error: "logger.method: missing (only 'push' is supported)" };
  if (method !== "push") {
    return { ok: false, error: `logger.method: '${method}' is not supported (only 'push' is supported)` };
  }

  const urlError = checkLoggerUrl(request.logger.url);
  if (urlError) return { ok: false, error: urlError };

  return { ok: true, request };
}

function checkExecutor(executor: string): string | null {
  if (executor === "" || executor === "shell") return null;
  if (executor === "dockercompose") {
    return "executor: 'dockercompose' is not supported by this shell agent";
  }
  return `executor: unknown executor '${executor}'`;
}

function checkLoggerUrl(url: string): string | null {
  if (url === "") return "logger.url: missing";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `logger.url: not an absolute URL: '${url}'`;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return `logger.url: expected an http(s) URL, got '${url}'`;
  }
  return null;
}

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;

/**
 * Strict standard base64 (RFC 4648 §4) as the Go agent decodes `env_vars[].value` and
 * `files[].content`; Node's own decoder accepts garbage silently (spec §4.2). Null when invalid.
 * Like Go's StdEncoding: \r and \n are skipped anywhere, whole 4-character quanta with padding only
 * at the end, and non-zero trailing bits accepted (StdEncoding is not `.Strict()`).
 */
export function decodeBase64Strict(s: string): Buffer | null {
  // A flat character-class test instead of a quantum-grouping regex: file contents can be large
  // and a repeated group costs the regex engine backtrack stack per quantum.
  const compact = /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, "") : s;
  if (compact.length % 4 !== 0) return null;
  const padding = compact.endsWith("==") ? 2 : compact.endsWith("=") ? 1 : 0;
  if (!BASE64_BODY.test(compact.slice(0, compact.length - padding))) return null;
  return Buffer.from(compact, "base64");
}
