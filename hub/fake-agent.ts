// A scripted, protocol-correct agent client for exercising the hub over real HTTP in tests: every
// call is one request exactly as the Go agent would send it (headers of §1.3, bodies of §2/§3/§7.2).
// Each method returns the raw answer, so tests can also assert on error statuses.
import { request } from "undici";
import type { RegisterRequest, SyncRequest } from "../agent-core/protocol/types.js";
import type { JobLogEvent } from "../agent-core/job/events.js";

export interface WireResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, or undefined if the body is not JSON. */
  json: T | undefined;
}

export interface RawRequest {
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Abort waiting for response headers after this many ms (default 10 s). */
  timeoutMs?: number;
}

export interface SyncReply {
  action: string;
  job_id: string;
  shutdown_reason: string;
  next_sync_after?: number;
  error?: string;
}

export const FAKE_AGENT_VERSION = "v9.9.9-test";

/** One HTTP request with undici (no default User-Agent is added). */
export async function rawRequest(method: string, url: string, opts: RawRequest = {}): Promise<WireResponse> {
  const timeout = opts.timeoutMs ?? 10_000;
  const res = await request(url, {
    method: method as "GET",
    headers: opts.headers ?? {},
    body: opts.body,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export class FakeAgent {
  accessToken = "";
  name = "";
  readonly userAgent: string;
  readonly base: string;

  constructor(
    readonly hub: { url: string; registrationToken: string },
    readonly version: string = FAKE_AGENT_VERSION,
  ) {
    this.userAgent = `SemaphoreAgent/${version}`;
    this.base = `${hub.url}/api/v1/self_hosted_agents`;
  }

  /** Register body with every field of §2.1; `overrides` replace single fields. */
  registerBody(overrides: Partial<RegisterRequest> = {}): RegisterRequest {
    return {
      name: `fake-agent-${Math.random().toString(36).slice(2, 10)}`,
      version: this.version,
      pid: process.pid,
      os: "Ubuntu 22.04.4 LTS",
      arch: "x86_64",
      hostname: "test-host",
      single_job: false,
      idle_timeout: 0,
      interruption_grace_period: 0,
      job_id: "",
      ...overrides,
    };
  }

  async register(
    overrides: Partial<RegisterRequest> = {},
    opts: { authorization?: string; body?: string; timeoutMs?: number } = {},
  ): Promise<WireResponse<{ name: string; token: string }>> {
    const res = (await rawRequest("POST", `${this.base}/register`, {
      headers: {
        authorization: opts.authorization ?? `Token ${this.hub.registrationToken}`,
        "user-agent": this.userAgent,
      },
      body: opts.body ?? JSON.stringify(this.registerBody(overrides)),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    })) as WireResponse<{ name: string; token: string }>;
    if (res.status === 200 && res.json) {
      this.accessToken = res.json.token;
      this.name = res.json.name;
    }
    return res;
  }

  private tokenHeaders(): Record<string, string> {
    return { authorization: `Token ${this.accessToken}`, "user-agent": this.userAgent };
  }

  sync(
    state: SyncRequest["state"],
    jobId = "",
    jobResult: SyncRequest["job_result"] = "",
    interruptedAt = 0,
    opts: RawRequest = {},
  ): Promise<WireResponse<SyncReply>> {
    const body: SyncRequest = { state, job_id: jobId, job_result: jobResult, interrupted_at: interruptedAt };
    return rawRequest("POST", `${this.base}/sync`, {
      headers: { ...this.tokenHeaders(), ...opts.headers },
      body: opts.body ?? JSON.stringify(body),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    }) as Promise<WireResponse<SyncReply>>;
  }

  getJob(id: string, opts: RawRequest = {}): Promise<WireResponse<Record<string, unknown> & { logger: { url: string; token: string } }>> {
    return rawRequest("GET", `${this.base}/jobs/${encodeURIComponent(id)}`, {
      headers: { ...this.tokenHeaders(), ...opts.headers },
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    }) as Promise<WireResponse<Record<string, unknown> & { logger: { url: string; token: string } }>>;
  }

  refresh(opts: RawRequest = {}): Promise<WireResponse<{ token: string }>> {
    return rawRequest("POST", `${this.base}/refresh`, {
      headers: { ...this.tokenHeaders(), ...opts.headers },
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    }) as Promise<WireResponse<{ token: string }>>;
  }

  disconnect(opts: RawRequest = {}): Promise<WireResponse> {
    return rawRequest("POST", `${this.base}/disconnect`, {
      headers: { ...this.tokenHeaders(), ...opts.headers },
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }

  /** POST <loggerUrl>?start_from=N with `Bearer` auth and newline-terminated JSON lines (§7.2). */
  pushLogs(
    loggerUrl: string,
    logToken: string,
    startFrom: number,
    events: Array<JobLogEvent | string>,
    opts: RawRequest = {},
  ): Promise<WireResponse> {
    const body = events.map((e) => (typeof e === "string" ? e : JSON.stringify(e)) + "\n").join("");
    return rawRequest("POST", `${loggerUrl}?start_from=${startFrom}`, {
      headers: {
        authorization: `Bearer ${logToken}`,
        "content-type": "text/plain",
        "user-agent": this.userAgent,
        ...opts.headers,
      },
      body: opts.body ?? body,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }
}

/** A well-formed event sequence for one job with the given commands and result. */
export function sampleEvents(
  commands: Array<{ directive: string; output?: string; exit?: number }>,
  result: "passed" | "failed" | "stopped" = "passed",
  ts: number = Math.floor(Date.now() / 1000),
): JobLogEvent[] {
  const out: JobLogEvent[] = [{ event: "job_started", timestamp: ts }];
  for (const c of commands) {
    out.push({ event: "cmd_started", timestamp: ts, directive: c.directive });
    if (c.output !== undefined) out.push({ event: "cmd_output", timestamp: ts, output: c.output });
    out.push({
      event: "cmd_finished",
      timestamp: ts,
      directive: c.directive,
      exit_code: c.exit ?? 0,
      started_at: ts,
      finished_at: ts,
    });
  }
  out.push({ event: "job_finished", timestamp: ts, result });
  return out;
}
