// The hub's in-memory model: agents, jobs, the per-agent sync state machine (spec §3.3, §3.7,
// §8.2, §8.5), the log service bookkeeping, faults, violations and the request log. No HTTP here:
// hub/server.ts translates requests into calls on HubCore and replies into responses.
import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type {
  AgentState,
  RegisterRequest,
  ServerShutdownReason,
  SyncAction,
  SyncRequest,
} from "../agent-core/protocol/types.js";
import type { JobLogEvent, JobResult } from "../agent-core/job/events.js";
import { JobLog } from "./logs.js";
import type {
  AgentView,
  Fault,
  FaultMode,
  FaultTarget,
  JobStatus,
  JobView,
  RequestRecord,
  ScheduleJobRequest,
  SyncEvent,
  Violation,
} from "./types.js";
import { FAULT_MODES, FAULT_TARGETS } from "./types.js";
import { isUriName, parseAuthorization, registerWarnings, validateRegisterBody, validateSyncBody } from "./validate.js";

/** An error with the HTTP status the harness API answers for it. */
export class HubError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HubError";
  }
}

/** What a handler wants to answer. `json` is serialised; `text` is sent as text/plain. */
export interface Reply {
  status: number;
  json?: unknown;
  text?: string;
}

/** Per-request context: used to attribute violations and fill the request record. */
export interface RequestContext {
  method: string;
  path: string;
  record: RequestRecord;
  /** Time the request headers arrived (ms). */
  arrivedAt: number;
}

export interface ResolvedOptions {
  registrationToken: string;
  nextSyncAfter: number;
  logMaxEvents: number | undefined;
  logMaxBytes: number | undefined;
  maxRequestRecords: number;
  maxViolations: number;
}

interface AgentRecord {
  key: number;
  name: string;
  requestedName: string;
  token: string;
  register: RegisterRequest;
  userAgent: string;
  registeredAt: number;
  state: AgentState | null;
  /** Assigned job ("" none). Kept until the agent reports waiting-for-jobs after wait-for-jobs. */
  jobId: string;
  /** run-job was answered but the agent has not reported any job state for it yet. */
  runJobPending: boolean;
  waitForJobsSent: boolean;
  lastAction: SyncAction | null;
  idleSince: number;
  interruptedAt: number;
  lastSyncAt: number | null;
  lastSyncRespondedAt: number | null;
  lastSyncStatus: number;
  lastNextSyncAfter: number;
  lastReported: { state: AgentState; job_id: string; interrupted_at: number } | null;
  syncCount: number;
  shutdownRequested: boolean;
  shutdownReason: ServerShutdownReason | null;
  disconnected: boolean;
  disconnectedAt: number | null;
  jobs: string[];
}

interface JobRecord {
  id: string;
  request: ScheduleJobRequest;
  /** The logger points at this hub (filled in by the hub or given with this hub's URL). */
  managedLogger: boolean;
  status: JobStatus;
  result: JobResult | null;
  agentKey: number | null;
  agentName: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  stopRequested: boolean;
  logToken: string;
  expiredTokens: Set<string>;
  log: JobLog;
  fetchCount: number;
  refreshCount: number;
  abandoned: boolean;
}

interface PendingFault {
  target: FaultTarget;
  mode: FaultMode;
  remaining: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));
const newToken = (): string => randomBytes(24).toString("base64url");

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class HubCore extends EventEmitter {
  private readonly agentsByToken = new Map<string, AgentRecord>();
  private readonly agentList: AgentRecord[] = [];
  private readonly jobsById = new Map<string, JobRecord>();
  private readonly queue: string[] = [];
  private violationList: Violation[] = [];
  private requestList: RequestRecord[] = [];
  private faultList: PendingFault[] = [];
  private globalShutdown = false;
  private nextAgentKey = 1;
  /** Base URL of the hub (http://127.0.0.1:PORT); set once listening. */
  baseUrl = "";

  constructor(readonly options: ResolvedOptions) {
    super();
    this.setMaxListeners(0);
  }

  // ---------------------------------------------------------------------------------------------
  // Bookkeeping: requests, violations, faults

  beginRequest(method: string, path: string): RequestRecord {
    const record: RequestRecord = { time: iso(Date.now()), method, path, status: null };
    this.requestList.push(record);
    if (this.requestList.length > this.options.maxRequestRecords) {
      this.requestList.splice(0, this.requestList.length - this.options.maxRequestRecords);
    }
    return record;
  }

  endRequest(record: RequestRecord): void {
    this.emit("request", record);
    this.changed();
  }

  violation(ctx: Pick<RequestContext, "method" | "path">, message: string, agent?: string | null): void {
    const v: Violation = { time: iso(Date.now()), method: ctx.method, path: ctx.path, message };
    if (agent) v.agent = agent;
    this.violationList.push(v);
    if (this.violationList.length > this.options.maxViolations) {
      this.violationList.splice(0, this.violationList.length - this.options.maxViolations);
    }
    this.emit("violation", v);
    this.changed();
  }

  violations(): Violation[] {
    return this.violationList.slice();
  }

  clearViolations(): void {
    this.violationList = [];
    this.changed();
  }

  requests(): RequestRecord[] {
    return this.requestList.map((r) => ({ ...r }));
  }

  injectFault(f: unknown): void {
    if (!isPlainObject(f)) throw new HubError(400, "fault must be a JSON object {target, mode, count?}");
    const target = f["target"];
    const mode = f["mode"];
    const count = f["count"] ?? 1;
    if (typeof target !== "string" || !(FAULT_TARGETS as readonly string[]).includes(target)) {
      throw new HubError(400, `fault target must be one of ${FAULT_TARGETS.join(", ")}`);
    }
    if (typeof mode !== "string" || !(FAULT_MODES as readonly string[]).includes(mode)) {
      throw new HubError(400, `fault mode must be one of ${FAULT_MODES.join(", ")}`);
    }
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
      throw new HubError(400, "fault count must be a positive integer");
    }
    this.faultList.push({ target: target as FaultTarget, mode: mode as FaultMode, remaining: count });
    this.changed();
  }

  clearFaults(): void {
    this.faultList = [];
    this.changed();
  }

  faults(): Fault[] {
    return this.faultList.map((f) => ({ target: f.target, mode: f.mode, count: f.remaining }));
  }

  /** Consumes one pending fault for `target`, if any. */
  takeFault(target: FaultTarget): FaultMode | null {
    const i = this.faultList.findIndex((f) => f.target === target);
    if (i < 0) return null;
    const f = this.faultList[i] as PendingFault;
    f.remaining--;
    if (f.remaining <= 0) this.faultList.splice(i, 1);
    this.changed();
    return f.mode;
  }

  private changed(): void {
    this.emit("change");
  }

  /** Best-effort agent name for the request log of a request that a fault short-circuited. */
  attributeRequest(ctx: RequestContext, header: string | undefined, logJobId?: string): void {
    if (logJobId !== undefined) {
      const name = this.jobsById.get(logJobId)?.agentName;
      if (name) ctx.record.agent = name;
      return;
    }
    const auth = parseAuthorization(header);
    const agent = auth?.scheme === "Token" ? this.agentsByToken.get(auth.token) : undefined;
    if (agent !== undefined) ctx.record.agent = agent.name;
  }

  // ---------------------------------------------------------------------------------------------
  // Authentication

  /** Resolves `Authorization: Token <access token>`; answers 401 (+ violation) otherwise. */
  authenticateAgent(
    header: string | undefined,
    ctx: RequestContext,
    opts: { allowDisconnected?: boolean } = {},
  ): AgentRecord | Reply {
    const auth = parseAuthorization(header);
    if (auth === null) {
      this.violation(ctx, "missing Authorization header (expected `Token <access token>`, §1.3)");
      return { status: 401, json: { error: "missing Authorization header" } };
    }
    if (auth.scheme !== "Token") {
      this.violation(ctx, `Authorization scheme must be "Token" on the control-plane API, got "${auth.scheme}" (P-1)`);
      return { status: 401, json: { error: `Authorization scheme must be "Token"` } };
    }
    const agent = this.agentsByToken.get(auth.token);
    if (agent === undefined) {
      const reg = auth.token === this.options.registrationToken;
      this.violation(
        ctx,
        reg
          ? "the registration token was used where the access token from /register is required (P-1)"
          : "unknown access token (use the token from the /register response)",
      );
      return { status: 401, json: { error: "unknown access token" } };
    }
    ctx.record.agent = agent.name;
    if (agent.disconnected && !opts.allowDisconnected) {
      this.violation(ctx, "request from an agent that already called /disconnect", agent.name);
      return { status: 401, json: { error: "agent is disconnected" } };
    }
    return agent;
  }

  // ---------------------------------------------------------------------------------------------
  // Agent-facing operations

  /** `body` is the parse result of the request body (auth is checked before a JSON error is reported). */
  register(
    header: string | undefined,
    body: { ok: true; value: unknown } | { ok: false; error: string },
    userAgent: string,
    ctx: RequestContext,
  ): Reply {
    const auth = parseAuthorization(header);
    if (auth === null) {
      this.violation(ctx, "register without Authorization header (expected `Token <registration token>`)");
      return { status: 401, json: { error: "missing Authorization header" } };
    }
    if (auth.scheme !== "Token") {
      this.violation(ctx, `register: Authorization scheme must be "Token", got "${auth.scheme}" (P-1)`);
      return { status: 401, json: { error: `Authorization scheme must be "Token"` } };
    }
    if (auth.token !== this.options.registrationToken) {
      ctx.record.note = "wrong registration token";
      return { status: 401, json: { error: "wrong registration token" } };
    }
    if (!body.ok) {
      this.violation(ctx, body.error);
      return { status: 400, json: { error: body.error } };
    }
    const checked = validateRegisterBody(body.value);
    if (!checked.ok) {
      this.violation(ctx, checked.error);
      return { status: 422, json: { error: checked.error } };
    }
    const reg = checked.value;
    const name = isUriName(reg.name) ? `hub-agent-${randomBytes(9).toString("base64url")}` : reg.name;
    ctx.record.agent = name;
    for (const w of registerWarnings(reg, userAgent)) this.violation(ctx, w, name);
    const now = Date.now();
    const agent: AgentRecord = {
      key: this.nextAgentKey++,
      name,
      requestedName: reg.name,
      token: newToken(),
      register: { ...reg },
      userAgent,
      registeredAt: now,
      state: null,
      jobId: "",
      runJobPending: false,
      waitForJobsSent: false,
      lastAction: null,
      idleSince: now,
      interruptedAt: 0,
      lastSyncAt: null,
      lastSyncRespondedAt: null,
      lastSyncStatus: 0,
      lastNextSyncAfter: 0,
      lastReported: null,
      syncCount: 0,
      shutdownRequested: false,
      shutdownReason: null,
      disconnected: false,
      disconnectedAt: null,
      jobs: [],
    };
    this.agentsByToken.set(agent.token, agent);
    this.agentList.push(agent);
    this.emit("register", this.agentView(agent));
    this.changed();
    return { status: 200, json: { name, token: agent.token } };
  }

  /**
   * One sync. `responseLost` is true when the reply will not reach the agent (fault
   * "drop-after-store"), so the agent will treat the sync as failed.
   */
  sync(agent: AgentRecord, rawBody: unknown, ctx: RequestContext, responseLost = false): Reply {
    const checked = validateSyncBody(rawBody);
    if (!checked.ok) {
      this.violation(ctx, checked.error, agent.name);
      agent.lastSyncStatus = 422;
      agent.lastSyncRespondedAt = Date.now();
      return { status: 422, json: { error: checked.error } };
    }
    const body = checked.value;
    const now = Date.now();
    const nowS = Math.floor(now / 1000);
    const problems: string[] = [];
    let conflict = false;
    const prev: AgentState = agent.state ?? "waiting-for-jobs";

    // Pacing: one sync at a time, and no faster than next_sync_after unless something changed.
    if (agent.lastSyncRespondedAt !== null && agent.lastSyncRespondedAt > ctx.arrivedAt) {
      problems.push("sync sent while the previous sync was still in flight (never more than one, §3)");
    } else if (
      agent.lastSyncStatus === 200 &&
      agent.lastNextSyncAfter > 0 &&
      agent.lastSyncRespondedAt !== null &&
      agent.lastReported !== null &&
      agent.lastReported.state === body.state &&
      agent.lastReported.job_id === body.job_id &&
      agent.lastReported.interrupted_at === body.interrupted_at
    ) {
      const waited = ctx.arrivedAt - agent.lastSyncRespondedAt;
      if (waited < agent.lastNextSyncAfter / 2) {
        problems.push(
          `sync ${waited} ms after the previous one with nothing changed; next_sync_after was ${agent.lastNextSyncAfter} ms (§3.4)`,
        );
      }
    }

    // interrupted_at: Unix seconds, set once.
    if (body.interrupted_at > nowS + 3600) {
      problems.push(`interrupted_at ${body.interrupted_at} is in the future; it is Unix seconds, not milliseconds (P-5)`);
    }
    if (agent.interruptedAt > 0 && body.interrupted_at !== agent.interruptedAt) {
      problems.push(
        `interrupted_at changed from ${agent.interruptedAt} to ${body.interrupted_at}; only the first signal counts (§3.7)`,
      );
    }
    if (agent.interruptedAt === 0 && body.interrupted_at > 0) agent.interruptedAt = body.interrupted_at;

    // Job id consistency.
    const st = body.state;
    if (st === "waiting-for-jobs") {
      if (body.job_id !== "") {
        problems.push(`waiting-for-jobs must carry job_id "" (got "${body.job_id}")`);
        conflict = true;
      }
    } else if (agent.jobId === "") {
      problems.push(`reported ${st} for job "${body.job_id}" but no job was assigned (no run-job was sent)`);
      conflict = true;
    } else if (body.job_id !== agent.jobId) {
      problems.push(`reported ${st} for job "${body.job_id}" but the assigned job is "${agent.jobId}"`);
      conflict = true;
    }
    // Transition from the previously reported state.
    const tp = agent.jobId === "" && st !== "waiting-for-jobs" ? null : transitionProblem(prev, st, agent);
    if (tp) {
      problems.push(tp);
      conflict = true;
    }

    agent.state = st;
    agent.lastSyncAt = now;
    agent.syncCount++;
    agent.lastReported = { state: st, job_id: body.job_id, interrupted_at: body.interrupted_at };
    const jobMatches = !conflict || (agent.jobId !== "" && body.job_id === agent.jobId);
    const job = agent.jobId !== "" ? this.jobsById.get(agent.jobId) : undefined;

    // Bookkeeping driven by the reported state.
    if (st === "waiting-for-jobs") {
      if (job !== undefined && !agent.runJobPending) {
        // The job is over for this agent (wait-for-jobs acknowledged, or the agent dropped it).
        if (job.status !== "finished") this.abandonJob(job);
        this.clearAgentJob(agent);
      }
    } else if (job !== undefined && jobMatches) {
      agent.runJobPending = false;
      if (st === "running-job" && job.status === "starting") this.setJobStatus(job, "running");
      if (st === "stopping-job" && (job.status === "starting" || job.status === "running")) {
        this.setJobStatus(job, "stopping");
      }
      if (st === "finished-job") {
        if (job.status !== "finished") {
          this.finishJob(job, body.job_result as JobResult, ctx, agent.name);
          agent.idleSince = now;
        } else if (job.result !== body.job_result) {
          problems.push(`finished-job result changed from "${job.result}" to "${body.job_result}"`);
        }
      }
    }

    const response = this.decide(agent, body, job, jobMatches, now, nowS);
    agent.lastAction = response.action;

    for (const p of problems) this.violation(ctx, p, agent.name);
    const status = conflict ? 409 : 200;
    const json: Record<string, unknown> = { ...response };
    if (this.options.nextSyncAfter > 0) json["next_sync_after"] = this.options.nextSyncAfter;
    if (conflict) json["error"] = problems.join("; ");

    agent.lastSyncStatus = responseLost ? 0 : status;
    agent.lastNextSyncAfter = this.options.nextSyncAfter;
    agent.lastSyncRespondedAt = Date.now();
    const ev: SyncEvent = {
      agent: agent.name,
      request: { ...body },
      response: { ...response, ...(this.options.nextSyncAfter > 0 ? { next_sync_after: this.options.nextSyncAfter } : {}) },
      status,
    };
    this.emit("sync", ev);
    this.changed();
    return { status, json };
  }

  private decide(
    agent: AgentRecord,
    body: SyncRequest,
    job: JobRecord | undefined,
    jobMatches: boolean,
    now: number,
    nowS: number,
  ): { action: SyncAction; job_id: string; shutdown_reason: string } {
    const reply = (action: SyncAction, jobId = "", reason = "") => ({ action, job_id: jobId, shutdown_reason: reason });
    const shutdown = (reason: ServerShutdownReason) => {
      agent.shutdownReason = reason;
      return reply("shutdown", "", reason);
    };
    const shutdownRequested = this.globalShutdown || agent.shutdownRequested;
    const interrupted = agent.interruptedAt > 0;

    switch (body.state) {
      case "waiting-for-jobs": {
        if (agent.shutdownReason !== null) return reply("shutdown", "", agent.shutdownReason);
        if (job !== undefined && agent.runJobPending) {
          // run-job was answered but the agent still waits: the response got lost.
          if (shutdownRequested || interrupted) {
            this.requeueJob(job);
            this.clearAgentJob(agent);
          } else if (job.stopRequested) {
            this.finishJob(job, "stopped", null, agent.name);
            this.clearAgentJob(agent);
          } else {
            return reply("run-job", job.id);
          }
        }
        if (shutdownRequested) return shutdown("requested");
        if (interrupted) return shutdown("interrupted");
        const idle = agent.register.idle_timeout;
        if (idle > 0 && now - agent.idleSince > idle * 1000) return shutdown("idle");
        const next = this.pickJob(agent);
        if (next !== undefined) {
          this.assignJob(next, agent, now);
          return reply("run-job", next.id);
        }
        return reply("continue");
      }
      case "starting-job":
      case "running-job": {
        if (agent.shutdownReason !== null) return reply("shutdown", "", agent.shutdownReason);
        if (job === undefined || !jobMatches) return reply("continue");
        const graceOver = interrupted && nowS >= agent.interruptedAt + agent.register.interruption_grace_period;
        if (job.stopRequested || shutdownRequested || graceOver) {
          if (job.status === "starting" || job.status === "running") this.setJobStatus(job, "stopping");
          return reply("stop-job", job.id);
        }
        return reply("continue");
      }
      case "stopping-job":
        if (agent.shutdownReason !== null) return reply("shutdown", "", agent.shutdownReason);
        return reply("continue");
      case "finished-job": {
        if (agent.shutdownReason !== null) return reply("shutdown", "", agent.shutdownReason);
        if (jobMatches && job !== undefined) {
          if (agent.register.single_job) return shutdown("job-finished");
          if (shutdownRequested) return shutdown("requested");
          if (interrupted) return shutdown("interrupted");
        }
        agent.waitForJobsSent = true;
        return reply("wait-for-jobs");
      }
    }
  }

  getJob(agent: AgentRecord, id: string, ctx: RequestContext): Reply {
    const job = this.jobsById.get(id);
    if (job === undefined || job.agentKey !== agent.key) {
      this.violation(
        ctx,
        job === undefined ? `GET /jobs/${id}: no such job` : `GET /jobs/${id}: the job was not given to this agent`,
        agent.name,
      );
      return { status: 404, json: { error: "job not found" } };
    }
    job.fetchCount++;
    this.changed();
    return { status: 200, json: job.request };
  }

  refresh(agent: AgentRecord, body: Buffer, ctx: RequestContext): Reply {
    if (body.length > 0) this.violation(ctx, "/refresh must be sent with an empty body (§1.2)", agent.name);
    const job = agent.jobId !== "" ? this.jobsById.get(agent.jobId) : undefined;
    if (job === undefined) {
      this.violation(ctx, "/refresh without a current job", agent.name);
      return { status: 409, json: { error: "agent has no current job" } };
    }
    job.expiredTokens.add(job.logToken);
    job.logToken = newToken();
    job.refreshCount++;
    this.changed();
    return { status: 200, json: { token: job.logToken } };
  }

  disconnect(agent: AgentRecord, body: Buffer, ctx: RequestContext): Reply {
    if (body.length > 0) this.violation(ctx, "/disconnect must be sent with an empty body (§1.2)", agent.name);
    if (!agent.disconnected) {
      agent.disconnected = true;
      agent.disconnectedAt = Date.now();
      const job = agent.jobId !== "" ? this.jobsById.get(agent.jobId) : undefined;
      if (job !== undefined) {
        if (agent.runJobPending) this.requeueJob(job);
        else if (job.status !== "finished") this.abandonJob(job);
      }
      this.emit("disconnect", this.agentView(agent));
      this.changed();
    }
    return { status: 200, json: {} };
  }

  /** Resolves the job of a log push URL; 404 + violation if unknown. */
  logJob(jobId: string, ctx: RequestContext): { job: JobRecord } | { reply: Reply } {
    const job = this.jobsById.get(jobId);
    if (job === undefined) {
      this.violation(ctx, `log push for unknown job "${jobId}"`);
      return { reply: { status: 404, json: { error: "no such job" } } };
    }
    if (job.agentName !== null) ctx.record.agent = job.agentName;
    return { job };
  }

  /** A fault was injected into a log push for this job (it then cannot be blamed for gaps). */
  noteLogFault(jobId: string): void {
    const job = this.jobsById.get(jobId);
    if (job !== undefined) job.log.failures++;
  }

  /** POST /api/v1/logs/:id — auth, start_from, content type and the store itself. */
  ingestLogs(
    job: JobRecord,
    headers: { authorization?: string | undefined; contentType?: string | undefined },
    startFromRaw: string | null,
    body: Buffer,
    ctx: RequestContext,
  ): Reply {
    const agentName = job.agentName;
    const fail = (reply: Reply): Reply => {
      job.log.failures++;
      return reply;
    };
    const auth = parseAuthorization(headers.authorization);
    if (auth === null) {
      this.violation(ctx, "log push without Authorization header (expected `Bearer <logger token>`)", agentName);
      return fail({ status: 401, json: { error: "missing Authorization header" } });
    }
    if (auth.scheme !== "Bearer") {
      this.violation(ctx, `log push: Authorization scheme must be "Bearer", got "${auth.scheme}" (P-1)`, agentName);
      return fail({ status: 401, json: { error: `Authorization scheme must be "Bearer"` } });
    }
    if (auth.token !== job.logToken) {
      if (job.expiredTokens.has(auth.token)) {
        ctx.record.note = "expired log token";
        return fail({ status: 401, json: { error: "log token expired" } });
      }
      this.violation(ctx, "log push with a token that was never issued for this job", agentName);
      return fail({ status: 401, json: { error: "invalid log token" } });
    }
    const ct = headers.contentType;
    if (ct === undefined || ct.split(";")[0]?.trim().toLowerCase() !== "text/plain") {
      this.violation(ctx, `log push Content-Type must be text/plain, got ${ct === undefined ? "none" : `"${ct}"`} (§7.2)`, agentName);
    }
    if (startFromRaw === null || !/^\d+$/.test(startFromRaw)) {
      const msg = `log push needs ?start_from=<non-negative integer>, got ${startFromRaw === null ? "none" : `"${startFromRaw}"`}`;
      this.violation(ctx, msg, agentName);
      return fail({ status: 400, json: { error: msg } });
    }
    const startFrom = Number(startFromRaw);
    if (job.status === "finished" && job.log.failures === 0 && !job.abandoned) {
      this.violation(ctx, "log push after the job was reported finished-job (the logger must be closed first, §3.6)", agentName);
    }
    const result = job.log.ingest(body, startFrom, {
      maxEvents: this.options.logMaxEvents,
      maxBytes: this.options.logMaxBytes,
    });
    for (const v of result.violations) this.violation(ctx, v, agentName);
    if (result.added > 0) this.emit("log", { job_id: job.id, added: result.added, event_count: job.log.eventCount });
    this.changed();
    if (result.status !== 200) return fail({ status: result.status, json: { error: result.error } });
    return { status: 200, json: { event_count: job.log.eventCount } };
  }

  // ---------------------------------------------------------------------------------------------
  // Harness operations

  scheduleJob(input: unknown): { job_id: string } {
    if (!isPlainObject(input)) throw new HubError(400, "job request must be a JSON object");
    const req = { ...input } as ScheduleJobRequest & Record<string, unknown>;
    if (req.job_id !== undefined && (typeof req.job_id !== "string" || req.job_id === "")) {
      throw new HubError(400, "job_id must be a non-empty string");
    }
    const id = req.job_id ?? randomUUID();
    if (this.jobsById.has(id)) throw new HubError(409, `job "${id}" already exists`);
    req.job_id = id;
    for (const key of [
      "env_vars",
      "files",
      "commands",
      "epilogue_always_commands",
      "epilogue_on_pass_commands",
      "epilogue_on_fail_commands",
    ]) {
      const v = req[key];
      if (v !== undefined && v !== null && (!Array.isArray(v) || !v.every(isPlainObject))) {
        throw new HubError(400, `${key} must be an array of objects`);
      }
    }
    if (req.logger !== undefined && req.logger !== null && !isPlainObject(req.logger)) {
      throw new HubError(400, "logger must be an object");
    }
    const ownUrl = `${this.baseUrl}/api/v1/logs/${encodeURIComponent(id)}`;
    const logger: Record<string, unknown> = isPlainObject(req.logger) ? { ...req.logger } : {};
    if (logger["method"] === undefined) logger["method"] = "push";
    if (logger["url"] === undefined) logger["url"] = ownUrl;
    if (typeof logger["token"] !== "string" || logger["token"] === "") logger["token"] = newToken();
    req.logger = logger as ScheduleJobRequest["logger"];
    const givenToken = logger["token"] as string;
    const expiredTokens = new Set<string>();
    let logToken = givenToken;
    if (givenToken === "expired-token") {
      // Go unit-test mock convention: this token is always rejected with 401 (§8.5).
      expiredTokens.add(givenToken);
      logToken = newToken();
    }
    const job: JobRecord = {
      id,
      request: req,
      managedLogger: logger["url"] === ownUrl,
      status: "queued",
      result: null,
      agentKey: null,
      agentName: null,
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      stopRequested: false,
      logToken,
      expiredTokens,
      log: new JobLog(),
      fetchCount: 0,
      refreshCount: 0,
      abandoned: false,
    };
    this.jobsById.set(id, job);
    this.queue.push(id);
    this.emit("job", this.jobView(job));
    this.changed();
    return { job_id: id };
  }

  stopJob(id: string): JobView {
    const job = this.requireJob(id);
    if (job.status === "queued") {
      const i = this.queue.indexOf(id);
      if (i >= 0) this.queue.splice(i, 1);
      job.stopRequested = true;
      this.finishJob(job, "stopped", null, null);
    } else if (job.status !== "finished") {
      job.stopRequested = true;
      if (job.status === "starting" || job.status === "running") this.setJobStatus(job, "stopping");
    }
    this.changed();
    return this.jobView(job);
  }

  /** Rotates the job's log token without telling the agent: its next push gets 401 and must /refresh. */
  expireLogToken(id: string): void {
    const job = this.requireJob(id);
    job.expiredTokens.add(job.logToken);
    job.logToken = newToken();
    this.changed();
  }

  requestShutdown(agentName?: string): void {
    if (agentName === undefined) {
      this.globalShutdown = true;
    } else {
      const matching = this.agentList.filter((a) => a.name === agentName && !a.disconnected);
      if (matching.length === 0) throw new HubError(404, `no connected agent named "${agentName}"`);
      for (const a of matching) a.shutdownRequested = true;
    }
    this.changed();
  }

  get shutdownScheduled(): boolean {
    return this.globalShutdown;
  }

  // ---------------------------------------------------------------------------------------------
  // Views

  agents(): AgentView[] {
    return this.agentList.map((a) => this.agentView(a));
  }

  agent(name: string): AgentView | undefined {
    const list = this.agentList.filter((a) => a.name === name);
    const a = list.find((x) => !x.disconnected) ?? list[list.length - 1];
    return a === undefined ? undefined : this.agentView(a);
  }

  jobs(): JobView[] {
    return [...this.jobsById.values()].map((j) => this.jobView(j));
  }

  job(id: string): JobView | undefined {
    const j = this.jobsById.get(id);
    return j === undefined ? undefined : this.jobView(j);
  }

  /** The stored job request (as served by GET /jobs/:id). */
  jobRequest(id: string): ScheduleJobRequest | undefined {
    return this.jobsById.get(id)?.request;
  }

  events(id: string): JobLogEvent[] {
    return this.requireJob(id).log.events();
  }

  logLines(id: string): string[] {
    return this.requireJob(id).log.lines.slice();
  }

  /** The hub-side valid log token of a job (for tests that push logs themselves). */
  logToken(id: string): string {
    return this.requireJob(id).logToken;
  }

  hasJob(id: string): boolean {
    return this.jobsById.has(id);
  }

  anyRegistered(): boolean {
    return this.agentList.length > 0;
  }

  anyDisconnected(): boolean {
    return this.agentList.some((a) => a.disconnected);
  }

  private requireJob(id: string): JobRecord {
    const job = this.jobsById.get(id);
    if (job === undefined) throw new HubError(404, `no such job "${id}"`);
    return job;
  }

  private agentView(a: AgentRecord): AgentView {
    return {
      name: a.name,
      requested_name: a.requestedName,
      register: { ...a.register },
      user_agent: a.userAgent,
      registered_at: iso(a.registeredAt),
      state: a.state,
      job_id: a.jobId,
      last_sync_at: isoOrNull(a.lastSyncAt),
      sync_count: a.syncCount,
      last_action: a.lastAction,
      interrupted_at: a.interruptedAt,
      shutdown_requested: a.shutdownRequested || this.globalShutdown,
      shutdown_reason: a.shutdownReason,
      disconnected: a.disconnected,
      disconnected_at: isoOrNull(a.disconnectedAt),
      jobs: a.jobs.slice(),
    };
  }

  private jobView(j: JobRecord): JobView {
    return {
      job_id: j.id,
      status: j.status,
      result: j.result,
      agent: j.agentName,
      trimmed: j.log.trimmed,
      event_count: j.log.eventCount,
      bytes: j.log.bytes,
      created_at: iso(j.createdAt),
      started_at: isoOrNull(j.startedAt),
      finished_at: isoOrNull(j.finishedAt),
      stop_requested: j.stopRequested,
      fetch_count: j.fetchCount,
      refresh_count: j.refreshCount,
      abandoned: j.abandoned,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Job lifecycle helpers

  private setJobStatus(job: JobRecord, status: JobStatus): void {
    if (job.status === status) return;
    job.status = status;
    this.emit("job", this.jobView(job));
  }

  private pickJob(agent: AgentRecord): JobRecord | undefined {
    const wanted = agent.register.job_id;
    if (wanted !== "") {
      const job = this.jobsById.get(wanted);
      return job !== undefined && job.status === "queued" ? job : undefined;
    }
    const reserved = new Set(
      this.agentList.filter((a) => a !== agent && !a.disconnected && a.register.job_id !== "").map((a) => a.register.job_id),
    );
    for (const id of this.queue) {
      if (!reserved.has(id)) return this.jobsById.get(id);
    }
    return undefined;
  }

  private assignJob(job: JobRecord, agent: AgentRecord, now: number): void {
    const i = this.queue.indexOf(job.id);
    if (i >= 0) this.queue.splice(i, 1);
    job.agentKey = agent.key;
    job.agentName = agent.name;
    job.startedAt = now;
    agent.jobId = job.id;
    agent.runJobPending = true;
    agent.waitForJobsSent = false;
    agent.jobs.push(job.id);
    this.setJobStatus(job, "starting");
  }

  private requeueJob(job: JobRecord): void {
    job.agentKey = null;
    job.agentName = null;
    job.startedAt = null;
    if (!this.queue.includes(job.id)) this.queue.unshift(job.id);
    for (const a of this.agentList) {
      const k = a.jobs.lastIndexOf(job.id);
      if (k >= 0 && a.jobId === job.id) a.jobs.splice(k, 1);
    }
    this.setJobStatus(job, "queued");
  }

  private clearAgentJob(agent: AgentRecord): void {
    agent.jobId = "";
    agent.runJobPending = false;
    agent.waitForJobsSent = false;
  }

  private abandonJob(job: JobRecord): void {
    job.abandoned = true;
    this.finishJob(job, "failed", null, job.agentName);
  }

  private finishJob(job: JobRecord, result: JobResult, ctx: RequestContext | null, agentName: string | null): void {
    job.result = result;
    job.finishedAt = Date.now();
    job.status = "finished";
    if (ctx !== null && job.managedLogger) {
      const log = job.log;
      if (log.jobFinishedResult !== null && log.jobFinishedResult !== result) {
        this.violation(ctx, `finished-job result "${result}" differs from the logged job_finished result "${log.jobFinishedResult}"`, agentName);
      } else if (log.jobFinishedResult === null && !log.trimmed && log.failures === 0) {
        if (log.eventCount > 0) {
          this.violation(
            ctx,
            "finished-job reported before the job_finished event was pushed (flush the log first, §3.6, P-11)",
            agentName,
          );
        } else if (result === "passed" && job.fetchCount > 0) {
          this.violation(ctx, "job reported passed but no log events were pushed", agentName);
        }
      }
    }
    this.emit("job", this.jobView(job));
  }
}

/** Why `prev -> next` is not a transition a correct agent makes (null when it is fine). */
function transitionProblem(
  prev: AgentState,
  next: AgentState,
  agent: { runJobPending: boolean; waitForJobsSent: boolean },
): string | null {
  if (prev === next) return null;
  const bad = (why: string) => `invalid state transition ${prev} -> ${next}: ${why}`;
  switch (prev) {
    case "waiting-for-jobs":
      if (next === "stopping-job") return bad("no job was started and no stop-job was sent");
      return agent.runJobPending ? null : bad("no run-job was answered");
    case "starting-job":
      return next === "waiting-for-jobs" ? bad("the job never reported finished-job") : null;
    case "running-job":
      return next === "running-job" || next === "stopping-job" || next === "finished-job"
        ? null
        : bad(next === "waiting-for-jobs" ? "the job never reported finished-job" : "a running job cannot start again");
    case "stopping-job":
      return next === "finished-job" ? null : bad("a stopping job can only finish");
    case "finished-job":
      if (next === "waiting-for-jobs") return agent.waitForJobsSent ? null : bad("wait-for-jobs was not sent (keep reporting finished-job, P-7)");
      return bad("a finished job must be followed by waiting-for-jobs after wait-for-jobs");
  }
}
