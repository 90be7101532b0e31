// Local stand-in for Semaphore's control plane and log service, strict enough to catch protocol
// mistakes (spec §1–§3, §7.2, §8). `startHub()` listens on 127.0.0.1 only. The HTTP API is documented
// in hub/README.md; this module adds in-process accessors and wait helpers for tests.
import type { JobLogEvent } from "../agent-core/job/events.js";
import { HubCore } from "./core.js";
import { HubHttpServer } from "./server.js";
import type {
  AgentView,
  Fault,
  HubOptions,
  JobStatus,
  JobView,
  RequestRecord,
  ScheduleJobRequest,
  SyncEvent,
  Violation,
} from "./types.js";
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_LOG_BODY_BYTES,
  DEFAULT_NEXT_SYNC_AFTER_MS,
  DEFAULT_REGISTRATION_TOKEN,
} from "./types.js";

export * from "./types.js";
export { HubError } from "./core.js";
export { makeJobRequest } from "./job-request.js";
export type { CommandSpec, JobSpec } from "./job-request.js";

/** Events emitted by a Hub (listener arguments). "change" fires after every state change. */
export interface HubEventMap {
  change: [];
  violation: [Violation];
  request: [RequestRecord];
  register: [AgentView];
  sync: [SyncEvent];
  job: [JobView];
  log: [{ job_id: string; added: number; event_count: number }];
  disconnect: [AgentView];
}

const DEFAULT_WAIT_MS = 10_000;

function optInt(name: string, v: number | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min) throw new TypeError(`HubOptions.${name} must be an integer >= ${min}`);
  return v;
}

export class Hub {
  /** e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** "127.0.0.1:PORT": the agent config `endpoint` (with `no-https: true`). */
  readonly endpoint: string;
  readonly registrationToken: string;
  private closed = false;
  private closing: Promise<void> | null = null;

  /** Use startHub(). */
  constructor(
    private readonly core: HubCore,
    private readonly http: HubHttpServer,
    port: number,
  ) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.endpoint = `127.0.0.1:${port}`;
    this.registrationToken = core.options.registrationToken;
    core.baseUrl = this.url;
  }

  /** Stops listening and destroys every socket (hung requests included). Idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closed = true;
      this.core.emit("closed");
      this.closing = this.http.close();
    }
    return this.closing;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Push URL of a job's log (what the hub puts into `logger.url`). */
  logUrl(jobId: string): string {
    return `${this.url}/api/v1/logs/${encodeURIComponent(jobId)}`;
  }

  // ---- mirrors of the JSON harness API ----------------------------------------------------------

  violations(): Violation[] {
    return this.core.violations();
  }
  clearViolations(): void {
    this.core.clearViolations();
  }
  jobs(): JobView[] {
    return this.core.jobs();
  }
  job(id: string): JobView | undefined {
    return this.core.job(id);
  }
  /** The job request as stored and served by GET /jobs/:id (with the filled-in logger). */
  jobRequest(id: string): ScheduleJobRequest | undefined {
    return this.core.jobRequest(id);
  }
  /** Parsed log events of a job. Throws HubError(404) for an unknown job. */
  events(id: string): JobLogEvent[] {
    return this.core.events(id);
  }
  /** Raw stored log lines of a job (without newlines). */
  logLines(id: string): string[] {
    return this.core.logLines(id);
  }
  /** The currently valid log token of a job (to push logs from a test). */
  logToken(id: string): string {
    return this.core.logToken(id);
  }
  agents(): AgentView[] {
    return this.core.agents();
  }
  /** The connected agent with this name (or the last one that had it). */
  agent(name: string): AgentView | undefined {
    return this.core.agent(name);
  }
  /**
   * Queues a job (like POST /private/jobs); returns `{job_id}` (generated when missing). Throws
   * HubError(400/409) on bad input. Unknown fields are stored and served as given.
   */
  scheduleJob(req: ScheduleJobRequest | Record<string, unknown> = {}): { job_id: string } {
    return this.core.scheduleJob(req);
  }
  /** Requests a stop: queued jobs finish as stopped at once; running ones get stop-job on the next sync. */
  stopJob(id: string): JobView {
    return this.core.stopJob(id);
  }
  /** Invalidates the job's log token behind the agent's back (its next push gets 401 → /refresh). */
  expireLogToken(id: string): void {
    this.core.expireLogToken(id);
  }
  /** Without a name: every agent, including ones that register later (like the Go hub). */
  requestShutdown(agentName?: string): void {
    this.core.requestShutdown(agentName);
  }
  injectFault(f: Fault): void {
    this.core.injectFault(f);
  }
  clearFaults(): void {
    this.core.clearFaults();
  }
  faults(): Fault[] {
    return this.core.faults();
  }
  requests(): RequestRecord[] {
    return this.core.requests();
  }

  // ---- events and waiting ------------------------------------------------------------------------

  on<K extends keyof HubEventMap>(event: K, listener: (...args: HubEventMap[K]) => void): this {
    this.core.on(event, listener as (...args: unknown[]) => void);
    return this;
  }
  once<K extends keyof HubEventMap>(event: K, listener: (...args: HubEventMap[K]) => void): this {
    this.core.once(event, listener as (...args: unknown[]) => void);
    return this;
  }
  off<K extends keyof HubEventMap>(event: K, listener: (...args: HubEventMap[K]) => void): this {
    this.core.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /**
   * Resolves with the first value of `check()` that is not undefined/null/false; `check` is
   * re-evaluated after every hub state change and every 50 ms. Rejects on timeout (the message
   * includes `description`) and when the hub closes.
   */
  waitFor<T>(
    check: () => T | undefined | null | false,
    timeoutMs: number = DEFAULT_WAIT_MS,
    description: string | (() => string) = "condition",
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const describe = () => (typeof description === "function" ? description() : description);
      const finish = () => {
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.core.off("change", attempt);
        this.core.off("closed", onClose);
      };
      const attempt = () => {
        if (done) return;
        let v: T | undefined | null | false;
        try {
          v = check();
        } catch (err) {
          finish();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (v !== undefined && v !== null && v !== false) {
          finish();
          resolve(v);
        }
      };
      const onClose = () => {
        if (done) return;
        finish();
        reject(new Error(`hub closed while waiting for ${describe()}`));
      };
      const timer = setTimeout(() => {
        if (done) return;
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`));
      }, timeoutMs);
      const poll = setInterval(attempt, 50);
      this.core.on("change", attempt);
      this.core.on("closed", onClose);
      if (this.closed) onClose();
      else attempt();
    });
  }

  /** Waits until the job has `status` (for "finished", any result). */
  waitForJobStatus(id: string, status: JobStatus, timeoutMs: number = DEFAULT_WAIT_MS): Promise<JobView> {
    return this.waitFor(
      () => {
        const j = this.core.job(id);
        return j !== undefined && j.status === status ? j : undefined;
      },
      timeoutMs,
      () => `job ${id} to be ${status} (now ${this.core.job(id)?.status ?? "unknown"})`,
    );
  }

  /** Waits until `predicate(events)` holds for the job's parsed log events; resolves with them. */
  waitForEvents(
    id: string,
    predicate: (events: JobLogEvent[]) => boolean,
    timeoutMs: number = DEFAULT_WAIT_MS,
  ): Promise<JobLogEvent[]> {
    return this.waitFor(
      () => {
        if (!this.core.hasJob(id)) return undefined;
        const events = this.core.events(id);
        return predicate(events) ? events : undefined;
      },
      timeoutMs,
      () => `log events of job ${id} (${this.core.job(id)?.event_count ?? 0} stored)`,
    );
  }

  /** Waits for an agent matching `match` (a name, a predicate, or any agent when omitted). */
  waitForAgent(match?: string | ((a: AgentView) => boolean), timeoutMs: number = DEFAULT_WAIT_MS): Promise<AgentView> {
    const pred = typeof match === "string" ? (a: AgentView) => a.name === match : (match ?? (() => true));
    return this.waitFor(
      () => this.core.agents().find(pred),
      timeoutMs,
      () => `an agent${typeof match === "string" ? ` named ${match}` : ""} (${this.core.agents().length} registered)`,
    );
  }

  /** Waits until an agent (the named one, or any) called /disconnect. */
  waitForDisconnect(agentName?: string, timeoutMs: number = DEFAULT_WAIT_MS): Promise<AgentView> {
    return this.waitForAgent((a) => a.disconnected && (agentName === undefined || a.name === agentName), timeoutMs);
  }

  /** Waits for a violation whose message matches `match` (any violation when omitted). */
  waitForViolation(match?: RegExp | string, timeoutMs: number = DEFAULT_WAIT_MS): Promise<Violation> {
    const test = (v: Violation) =>
      match === undefined ? true : typeof match === "string" ? v.message.includes(match) : match.test(v.message);
    return this.waitFor(() => this.core.violations().find(test), timeoutMs, `a violation matching ${String(match ?? "anything")}`);
  }
}

/** Starts a hub on 127.0.0.1 (random port unless `options.port`). */
export async function startHub(options: HubOptions = {}): Promise<Hub> {
  const port = optInt("port", options.port, 0) ?? 0;
  if (port > 65535) throw new TypeError("HubOptions.port must be <= 65535");
  const registrationToken = options.registrationToken ?? DEFAULT_REGISTRATION_TOKEN;
  if (typeof registrationToken !== "string" || registrationToken === "") {
    throw new TypeError("HubOptions.registrationToken must be a non-empty string");
  }
  const core = new HubCore({
    registrationToken,
    nextSyncAfter: optInt("nextSyncAfter", options.nextSyncAfter, 0) ?? DEFAULT_NEXT_SYNC_AFTER_MS,
    logMaxEvents: optInt("logMaxEvents", options.logMaxEvents, 0),
    logMaxBytes: optInt("logMaxBytes", options.logMaxBytes, 0),
    maxRequestRecords: optInt("maxRequestRecords", options.maxRequestRecords, 1) ?? 10_000,
    maxViolations: optInt("maxViolations", options.maxViolations, 1) ?? 10_000,
  });
  const http = new HubHttpServer(core, {
    userAgentPattern: options.userAgentPattern ?? /^SemaphoreAgent\/\S+$/,
    maxBodyBytes: optInt("maxBodyBytes", options.maxBodyBytes, 1) ?? DEFAULT_MAX_BODY_BYTES,
    maxLogBodyBytes: optInt("maxLogBodyBytes", options.maxLogBodyBytes, 1) ?? DEFAULT_MAX_LOG_BODY_BYTES,
  });
  const actualPort = await http.listen(port);
  return new Hub(core, http, actualPort);
}

/** A few lines telling a human how to point an agent at this hub. */
export function formatHubBanner(hub: Hub): string {
  return [
    `Semaphore hub listening on ${hub.url} (loopback only)`,
    `  agent config:  endpoint: "${hub.endpoint}"`,
    `                 no-https: true`,
    `                 token: "${hub.registrationToken}"`,
    `  harness API:   ${hub.url}/private/jobs  (POST a job request to schedule it; see hub/README.md)`,
    `  violations:    ${hub.url}/private/violations`,
  ].join("\n");
}
