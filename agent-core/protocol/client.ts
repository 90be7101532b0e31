// The self-hosted agent API client (spec §1–§3, §7.2): one HTTP attempt per call; the retry
// policies of §1.4 live with the callers, which know what a failure means for them.
import { directTransport, proxyTransport, type ProxySettings, type Transport } from "./transport.js";
import type { GenericSchema, InferOutput } from "valibot";
import { redactSecrets } from "../util/redact.js";
import { USER_AGENT } from "../version.js";
import {
  RefreshResponseSchema,
  RegisterResponseSchema,
  SyncResponseSchema,
  decodeWith,
  type RegisterRequest,
  type RegisterResponse,
  type SyncRequest,
  type SyncResponse,
} from "./types.js";

/** A failed call: network error, timeout, unexpected status, or a body we cannot decode. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly kind: "network" | "timeout" | "status" | "decode",
    /** The system or TLS error code of a network failure (ENOTFOUND, CERT_HAS_EXPIRED, …). */
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface ApiClientOptions {
  endpoint: string;
  noHttps: boolean;
  registrationToken: string;
  timeoutMs: number;
  /** A proxy from the agent's environment (proxySettingsFromEnv), as Go's HTTP client uses one; null: none. */
  proxy?: ProxySettings | null;
  /**
   * An access token obtained elsewhere (by the agent's own register call): a client for a helper
   * thread (the job log worker) that pushes logs and refreshes log tokens without registering.
   */
  accessToken?: string;
}

/** What a second client needs to act for an already registered agent (see ApiClient.forAgent). */
export interface AgentConnection {
  endpoint: string;
  noHttps: boolean;
  accessToken: string;
  timeoutMs: number;
  proxy?: ProxySettings | null;
}

/** HTTP_PROXY / HTTPS_PROXY / NO_PROXY (either case), as Go's ProxyFromEnvironment reads them. */
export type { ProxySettings };

/** The proxy the environment asks for, or null when it names none. */
export function proxySettingsFromEnv(env: NodeJS.ProcessEnv): ProxySettings | null {
  const httpProxy = env.HTTP_PROXY ?? env.http_proxy ?? "";
  const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy ?? "";
  if (httpProxy === "" && httpsProxy === "") return null;
  return { httpProxy, httpsProxy, noProxy: env.NO_PROXY ?? env.no_proxy ?? "" };
}

const MAX_ERROR_BODY = 300;

export function apiBaseUrl(endpoint: string, noHttps: boolean): string {
  return `${noHttps ? "http" : "https"}://${endpoint}/api/v1/self_hosted_agents`;
}

export class ApiClient {
  readonly baseUrl: string;
  private accessToken = "";
  private readonly transport: Transport;

  constructor(private readonly options: ApiClientOptions) {
    this.baseUrl = apiBaseUrl(options.endpoint, options.noHttps);
    this.accessToken = options.accessToken ?? "";
    // Redirects are followed like Go's default client does (spec §1.1). Only the proxy given here:
    // never one read from this process's own environment.
    const proxy = options.proxy ?? null;
    this.transport = proxy === null ? directTransport() : proxyTransport(proxy);
  }

  /** A client that uses a known access token, for calls made after registration (no register). */
  static forAgent(connection: AgentConnection): ApiClient {
    return new ApiClient({ ...connection, registrationToken: "" });
  }

  get hasAccessToken(): boolean {
    return this.accessToken !== "";
  }

  /** The settings a helper thread needs to build its own client with ApiClient.forAgent. */
  get connection(): AgentConnection {
    const { endpoint, noHttps, timeoutMs, proxy } = this.options;
    return { endpoint, noHttps, timeoutMs, accessToken: this.accessToken, proxy: proxy ?? null };
  }

  async register(body: RegisterRequest): Promise<RegisterResponse> {
    const res = await this.send("POST", `${this.baseUrl}/register`, this.options.registrationToken, JSON.stringify(body));
    // Any 2xx is success for register (P-3).
    if (res.status < 200 || res.status > 299) throw statusError("register", res);
    const decoded = decodeJson("register", res.body, RegisterResponseSchema);
    // A missing token still proceeds with an empty one (spec §1.3, reference hub compatibility).
    this.accessToken = decoded.token;
    return decoded;
  }

  async sync(body: SyncRequest): Promise<SyncResponse> {
    const res = await this.send("POST", `${this.baseUrl}/sync`, this.accessToken, JSON.stringify(body));
    if (res.status !== 200) throw statusError("sync", res);
    return decodeJson("sync", res.body, SyncResponseSchema);
  }

  /** Returns the raw decoded JSON; the job module validates its structure. */
  async getJob(jobId: string): Promise<unknown> {
    const res = await this.send("GET", `${this.baseUrl}/jobs/${encodeURIComponent(jobId)}`, this.accessToken, null);
    if (res.status !== 200) throw statusError("get job", res);
    try {
      return JSON.parse(res.body) as unknown;
    } catch {
      throw new ApiError(`get job: response is not JSON: ${snippet(res.body)}`, res.status, "decode");
    }
  }

  async refreshLogToken(): Promise<string> {
    const res = await this.send("POST", `${this.baseUrl}/refresh`, this.accessToken, null);
    if (res.status !== 200) throw statusError("refresh", res);
    return decodeJson("refresh", res.body, RefreshResponseSchema).token;
  }

  async disconnect(): Promise<void> {
    const res = await this.send("POST", `${this.baseUrl}/disconnect`, this.accessToken, null);
    if (res.status !== 200) throw statusError("disconnect", res);
  }

  /**
   * One log push (spec §7.2). Returns the HTTP status; the pusher decides what it means.
   * `?start_from=N` is appended literally, even when the URL already has a query (P-10).
   */
  async pushLogs(url: string, bearerToken: string, startFrom: number, body: Buffer): Promise<number> {
    const target = `${url}?start_from=${startFrom}`;
    const res = await this.send("POST", target, bearerToken, body, "Bearer", "text/plain");
    return res.status;
  }

  /**
   * Ends the client for good. Requests still in flight (a log push of a job aborted by a shutdown,
   * possibly to a server that never answers) are aborted rather than awaited: a graceful close
   * would hold the agent's exit for up to the 30 s request timeout.
   */
  async close(): Promise<void> {
    await this.transport.close();
  }

  private async send(
    method: "GET" | "POST",
    url: string,
    token: string,
    body: string | Buffer | null,
    scheme: "Token" | "Bearer" = "Token",
    contentType?: string,
  ): Promise<{ status: number; body: string }> {
    // Go trims the trailing space of "Token " when the token is empty (spec §1.3).
    const headers: Record<string, string> = {
      authorization: token === "" ? scheme : `${scheme} ${token}`,
      "user-agent": USER_AGENT,
    };
    if (contentType) headers["content-type"] = contentType;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await this.transport.send(method, url, headers, body, signal);
      // An error body is only shown, never decoded. One that echoes the credential it was sent
      // (the Authorization header) must not carry it into messages, where the snippet's cut could
      // also leave a part of it that no later redaction recognises.
      const failed = res.status < 200 || res.status > 299;
      return { status: res.status, body: failed && token !== "" ? redactSecrets(res.body, [token]) : res.body };
    } catch (error) {
      if (signal.aborted) {
        throw new ApiError(`${method} ${redactUrl(url)}: no answer within ${this.options.timeoutMs / 1000} s`, null, "timeout");
      }
      const err = networkCause(error);
      const detail = err.code ? `${err.code}${err.message ? ` (${err.message})` : ""}` : String(err.message ?? error);
      throw new ApiError(`${method} ${redactUrl(url)}: ${detail}`, null, "network", err.code ?? null);
    }
  }
}

/** A transport may wrap the socket's error (`fetch failed`-style) in `cause`; the code is on the innermost one. */
function networkCause(error: unknown): NodeJS.ErrnoException {
  let err = error as NodeJS.ErrnoException & { cause?: unknown };
  for (let depth = 0; depth < 4 && !err.code && err.cause instanceof Error; depth++) err = err.cause as NodeJS.ErrnoException & { cause?: unknown };
  return err.code ? err : (error as NodeJS.ErrnoException);
}

function statusError(call: string, res: { status: number; body: string }): ApiError {
  const text = res.body.trim();
  return new ApiError(`${call}: HTTP ${res.status}${text ? `: ${snippet(text)}` : ""}`, res.status, "status");
}

function decodeJson<S extends GenericSchema>(call: string, body: string, schema: S): InferOutput<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new ApiError(`${call}: response is not JSON: ${snippet(body)}`, 200, "decode");
  }
  // Go decodes `null` into a zero value; treat it like an empty object.
  const parsed = decodeWith(schema, raw === null ? {} : raw);
  if (!parsed.ok) throw new ApiError(`${call}: unexpected response: ${parsed.error}`, 200, "decode");
  return parsed.value;
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_ERROR_BODY ? `${oneLine.slice(0, MAX_ERROR_BODY)}…` : oneLine || "(empty body)";
}

/** Log URLs can carry credentials in their query; keep only origin and path in messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}
