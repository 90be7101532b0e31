// Streaming HTTP(S) download of a release asset with undici: redirects followed by hand (GitHub
// sends release downloads through one or two of them, and the hop's URL names the tag that
// `latest` stands for), bounded connect/header/idle timeouts, the sha256 computed while writing,
// and a body that ends before its Content-Length (or with a broken chunked encoding) is an error.

import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, request, type Dispatcher } from "undici";

import { ToolboxError } from "./errors.js";

const CONNECT_TIMEOUT_MS = 15_000;
const HEADERS_TIMEOUT_MS = 30_000;
/** Longest silence inside a body before the download is given up. */
const BODY_IDLE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 10;
const USER_AGENT = "semaphore-agent-desktop (toolbox installer)";

export interface DownloadProgress {
  receivedBytes: number;
  /** From Content-Length; null when the server did not say. */
  totalBytes: number | null;
}

export interface DownloadResult {
  /** Every URL requested, the first one first (redirect hops in between). */
  urls: string[];
  sizeBytes: number;
  sha256: string;
}

/** A dispatcher with the installer's timeouts; close it when done. */
export function downloadDispatcher(): Agent {
  return new Agent({
    connect: { timeout: CONNECT_TIMEOUT_MS },
    headersTimeout: HEADERS_TIMEOUT_MS,
    bodyTimeout: BODY_IDLE_TIMEOUT_MS,
  });
}

/** GET with redirects followed; resolves with the final 2xx/4xx/5xx response and the URLs visited. */
async function get(
  url: string,
  dispatcher: Dispatcher,
  signal: AbortSignal | undefined,
): Promise<{ res: Dispatcher.ResponseData; urls: string[] }> {
  const urls: string[] = [];
  let current = url;
  for (let hop = 0; ; hop++) {
    urls.push(current);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(current, {
        method: "GET",
        headers: { "user-agent": USER_AGENT, accept: "application/octet-stream, */*" },
        dispatcher,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw classify(error, current, signal);
    }
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && location !== undefined) {
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new ToolboxError("http", `too many redirects from ${url}`, url);
      const next = new URL(Array.isArray(location) ? (location[0] ?? "") : location, current);
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new ToolboxError("http", `${current} redirected to an unsupported address ${next.href}`, current);
      }
      current = next.href;
      continue;
    }
    return { res, urls };
  }
}

/**
 * Downloads `url` into `file` (created exclusively, 0600). Rejects with a ToolboxError: "network"
 * (unreachable, stalled), "http" (an error status), "size" (fewer or more bytes than announced),
 * "aborted". The caller removes `file` on failure.
 */
export async function downloadToFile(opts: {
  url: string;
  file: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: DownloadProgress) => void) | undefined;
}): Promise<DownloadResult> {
  const { res, urls } = await get(opts.url, opts.dispatcher, opts.signal);
  const finalUrl = urls.at(-1) as string;
  if (res.statusCode !== 200) {
    const said = await bodySnippet(res);
    throw new ToolboxError(
      "http",
      `${finalUrl} answered ${res.statusCode}${res.statusCode === 404 ? " (no such release or asset)" : ""}${said ? `: ${said}` : ""}`,
      finalUrl,
    );
  }
  const lengthHeader = res.headers["content-length"];
  const announced = typeof lengthHeader === "string" && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  const hash = createHash("sha256");
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      hash.update(chunk);
      opts.onProgress?.({ receivedBytes: received, totalBytes: announced });
      done(null, chunk);
    },
  });
  opts.onProgress?.({ receivedBytes: 0, totalBytes: announced });
  try {
    await pipeline(res.body, counter, createWriteStream(opts.file, { flags: "wx", mode: 0o600 }), opts.signal ? { signal: opts.signal } : {});
  } catch (error) {
    if (opts.signal?.aborted) throw new ToolboxError("aborted", "the toolbox install was cancelled", finalUrl);
    const code = errorCode(error);
    if (code === "UND_ERR_BODY_TIMEOUT") {
      throw new ToolboxError("network", `the download from ${finalUrl} stalled: no data for ${BODY_IDLE_TIMEOUT_MS / 1000} s (got ${received} bytes)`, finalUrl);
    }
    if (code !== undefined && (code.startsWith("UND_ERR") || code.startsWith("ECONN") || code === "ERR_STREAM_PREMATURE_CLOSE")) {
      throw new ToolboxError(
        "size",
        `the download from ${finalUrl} was cut off after ${received} bytes${announced !== null ? ` of ${announced}` : ""} (${messageOf(error)})`,
        finalUrl,
      );
    }
    throw new ToolboxError("io", `cannot save the download from ${finalUrl} to ${opts.file}: ${messageOf(error)}`, finalUrl);
  }
  if (announced !== null && received !== announced) {
    throw new ToolboxError("size", `the download from ${finalUrl} has ${received} bytes, the server announced ${announced}`, finalUrl);
  }
  return { urls, sizeBytes: received, sha256: hash.digest("hex") };
}

/** A small text file (checksums.txt): its text, or null on 404. Other statuses reject ("http"). */
export async function fetchSmallText(opts: {
  url: string;
  dispatcher: Dispatcher;
  signal?: AbortSignal | undefined;
  maxBytes?: number;
}): Promise<{ text: string; urls: string[] } | null> {
  const { res, urls } = await get(opts.url, opts.dispatcher, opts.signal);
  const finalUrl = urls.at(-1) as string;
  if (res.statusCode === 404) {
    await res.body.dump().catch(() => undefined);
    return null;
  }
  if (res.statusCode !== 200) {
    const said = await bodySnippet(res);
    throw new ToolboxError("http", `${finalUrl} answered ${res.statusCode}${said ? `: ${said}` : ""}`, finalUrl);
  }
  const limit = opts.maxBytes ?? 1024 * 1024;
  const parts: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.body.destroy();
        throw new ToolboxError("size", `${finalUrl} is larger than ${limit} bytes; not a checksums file`, finalUrl);
      }
      parts.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof ToolboxError) throw error;
    throw classify(error, finalUrl, opts.signal);
  }
  return { text: Buffer.concat(parts).toString("utf8"), urls };
}

async function bodySnippet(res: Dispatcher.ResponseData): Promise<string> {
  try {
    const text = await res.body.text();
    return text.replace(/\s+/g, " ").trim().slice(0, 200);
  } catch {
    return "";
  }
}

function classify(error: unknown, url: string, signal: AbortSignal | undefined): ToolboxError {
  if (error instanceof ToolboxError) return error;
  if (signal?.aborted) return new ToolboxError("aborted", "the toolbox install was cancelled", url);
  return new ToolboxError("network", `cannot download ${url}: ${messageOf(error)}`, url);
}

function errorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (e && typeof e.code === "string") return e.code;
  if (e?.cause && typeof e.cause.code === "string") return e.cause.code;
  return undefined;
}

/** The most telling message of an undici error (its cause often says ECONNREFUSED 127.0.0.1:9). */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message && !error.message.includes(cause.message)) {
    return `${error.message} (${cause.message})`;
  }
  if (cause && typeof cause === "object" && "errors" in cause && Array.isArray((cause as { errors: unknown[] }).errors)) {
    const inner = (cause as { errors: unknown[] }).errors.map((e) => (e instanceof Error ? e.message : String(e)));
    return `${error.message} (${inner.join("; ")})`;
  }
  return error.message || (errorCode(error) ?? "unknown error");
}
