// Public types of the local hub: options, the records it keeps, and the harness API shapes.
// Everything here is JSON-serialisable as served by the harness API (see hub/README.md).
import type { AgentState, RegisterRequest, ServerShutdownReason, SyncAction } from "../agent-core/protocol/types.js";
import type { JobResult } from "../agent-core/job/events.js";

/** Registration token the hub expects when none is configured (documented in hub/README.md). */
export const DEFAULT_REGISTRATION_TOKEN = "semaphore-hub-registration-token";
/** Default `next_sync_after` in every sync response, in milliseconds. */
export const DEFAULT_NEXT_SYNC_AFTER_MS = 1000;
/** Default cap for non-log request bodies. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default cap for log push bodies. */
export const DEFAULT_MAX_LOG_BODY_BYTES = 256 * 1024 * 1024;
/** The agent pushes at most this many lines per request (spec §7.2, §9.4). */
export const MAX_LINES_PER_PUSH = 2000;

export interface HubOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. The hub never listens on other interfaces. */
  port?: number;
  /** Expected registration token (`Authorization: Token <it>` on /register). Default DEFAULT_REGISTRATION_TOKEN. */
  registrationToken?: string;
  /** `next_sync_after` in ms sent in every sync response; 0 omits the field. Default 1000. */
  nextSyncAfter?: number;
  /** Answer 422 once a job has this many events stored (default: unlimited). */
  logMaxEvents?: number;
  /** Answer 422 once a job has this many log bytes stored (line bytes + 1 per newline; default: unlimited). */
  logMaxBytes?: number;
  /** Accepted User-Agent values for agent-facing requests. Default /^SemaphoreAgent\/\S+$/. */
  userAgentPattern?: RegExp;
  /** Cap for control-plane / harness request bodies (413 above). Default 1 MiB. */
  maxBodyBytes?: number;
  /** Cap for log push bodies (413 above). Default 256 MiB. */
  maxLogBodyBytes?: number;
  /** How many request records `requests()` keeps (oldest dropped first). Default 10000. */
  maxRequestRecords?: number;
  /** How many violations are kept (oldest dropped first). Default 10000. */
  maxViolations?: number;
}

export type JobStatus = "queued" | "starting" | "running" | "stopping" | "finished";

/** A request from the agent that breaks the protocol contract. */
export interface Violation {
  /** ISO-8601 time the hub saw it. */
  time: string;
  /** Agent name, when the request could be attributed to a registered agent. */
  agent?: string;
  method: string;
  /** Request path (with query string). */
  path: string;
  message: string;
}

/** One HTTP request the hub received. Token values are never recorded. */
export interface RequestRecord {
  time: string;
  method: string;
  path: string;
  /** HTTP status answered; null while pending, for hung requests and for dropped connections. */
  status: number | null;
  agent?: string;
  /** Fault mode applied to this request, if any. */
  fault?: FaultMode;
  /** Short explanation for non-2xx answers (e.g. "wrong registration token"). */
  note?: string;
  duration_ms?: number;
}

export type FaultTarget = "register" | "sync" | "job" | "refresh" | "disconnect" | "logs";
/**
 * - "500": answer 500 with a JSON error.
 * - "401": answer 401 with a JSON error.
 * - "hang": never answer (the socket is closed by hub.close()).
 * - "drop": destroy the socket without answering, before processing.
 * - "drop-after-store": process the request normally (store logs, advance the sync state
 *   machine, ...), then destroy the socket instead of answering — a lost response.
 * - "garbage": answer 200 with a non-JSON body, without processing (for "logs": the batch is
 *   stored first, since the agent ignores the log service's answer body).
 */
export type FaultMode = "500" | "401" | "hang" | "drop" | "drop-after-store" | "garbage";
export const FAULT_TARGETS: readonly FaultTarget[] = ["register", "sync", "job", "refresh", "disconnect", "logs"];
export const FAULT_MODES: readonly FaultMode[] = ["500", "401", "hang", "drop", "drop-after-store", "garbage"];

export interface Fault {
  target: FaultTarget;
  mode: FaultMode;
  /** How many matching requests it applies to (one consumed per request). Default 1. */
  count?: number;
}

/** Harness view of an agent. */
export interface AgentView {
  /** Definitive name (as answered by /register). */
  name: string;
  /** Name the agent asked for in /register. */
  requested_name: string;
  /** The register body exactly as received (all ten fields of §2.1). */
  register: RegisterRequest;
  user_agent: string;
  registered_at: string;
  /** Last state the agent reported in /sync; null before its first sync. */
  state: AgentState | null;
  /** Job currently assigned to the agent ("" when none). */
  job_id: string;
  last_sync_at: string | null;
  sync_count: number;
  /** Last action the hub answered. */
  last_action: SyncAction | null;
  /** First non-zero interrupted_at reported (Unix seconds), 0 if never. */
  interrupted_at: number;
  shutdown_requested: boolean;
  /** Shutdown reason sent in a `shutdown` action, null if none was sent. */
  shutdown_reason: ServerShutdownReason | null;
  disconnected: boolean;
  disconnected_at: string | null;
  /** Jobs this agent was given, in order. */
  jobs: string[];
}

/** Harness view of a job. */
export interface JobView {
  job_id: string;
  status: JobStatus;
  /** Result reported in finished-job (null until then). */
  result: JobResult | null;
  /** Name of the agent the job was assigned to. */
  agent: string | null;
  /** True once the hub refused events with 422 (log limit). */
  trimmed: boolean;
  event_count: number;
  /** Stored log bytes (each line's UTF-8 bytes + 1 for its newline). */
  bytes: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  stop_requested: boolean;
  /** GET /jobs/:id answered 200 this many times. */
  fetch_count: number;
  /** POST /refresh issued a new log token this many times. */
  refresh_count: number;
  /** True when the agent disconnected without reporting the job finished (result is then "failed"). */
  abandoned: boolean;
}

/**
 * Job request accepted by scheduleJob / POST /private/jobs (spec §4; stored and served as given,
 * unknown fields included). Only `job_id` and `logger` are filled in by the hub when missing.
 */
export interface ScheduleJobRequest {
  job_id?: string;
  executor?: string;
  env_vars?: Array<{ name: string; value: string }>;
  files?: Array<{ path: string; content: string; mode: string }>;
  commands?: Array<{ directive: string; alias?: string }>;
  epilogue_always_commands?: Array<{ directive: string; alias?: string }>;
  epilogue_on_pass_commands?: Array<{ directive: string; alias?: string }>;
  epilogue_on_fail_commands?: Array<{ directive: string; alias?: string }>;
  callbacks?: { finished?: string; teardown_finished?: string; token?: string };
  logger?: { method?: string; url?: string; token?: string; max_size_in_bytes?: number };
  ssh_public_keys?: string[];
  compose?: unknown;
}

/** Emitted as "sync" after every processed sync. */
export interface SyncEvent {
  agent: string;
  request: { state: AgentState; job_id: string; job_result: string; interrupted_at: number };
  response: { action: SyncAction; job_id: string; shutdown_reason: string; next_sync_after?: number };
  status: number;
}
