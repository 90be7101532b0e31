// The agent's observable stream: everything the CLI prints and the desktop app shows comes from here.
import type { JobLogEvent, JobResult } from "../job/events.js";
import type { JobIdentity } from "../job/identity.js";
import type { JobPlan } from "../job/plan.js";
import type { AgentState, SyncRequest, SyncResponse } from "../protocol/types.js";
import type { DiskVerdict } from "../disk/disk-guard.js";

/** Lifecycle of the agent process around the protocol states of spec §3.2. */
export type AgentPhase = "registering" | AgentState | "shutting-down" | "stopped";

export type ShutdownReason = "IDLE" | "JOB_FINISHED" | "REQUESTED" | "INTERRUPTED" | "UNKNOWN" | "UNABLE_TO_SYNC" | "UNABLE_TO_REGISTER";

export type ErrorScope = "register" | "sync" | "job" | "logs" | "disconnect" | "hook" | "artifact";

export type AgentEvent =
  | { type: "phase"; at: number; phase: AgentPhase; jobId: string }
  | { type: "registered"; at: number; name: string; url: string }
  | {
      type: "sync";
      at: number;
      request: SyncRequest;
      response: SyncResponse | null;
      error: string | null;
      /** When the next sync is due (epoch ms), as decided from next_sync_after or the error back-off. */
      nextSyncAt: number;
    }
  | { type: "job-assigned"; at: number; jobId: string }
  /**
   * The job request was fetched and decoded. Names only: values may be secrets and never leave the
   * agent, except the identity variables (project, branch, commit, author; job/identity.ts). `plan`:
   * the directives of its commands and epilogues (null when a list is too long to keep), for the UI.
   */
  | { type: "job-request"; at: number; jobId: string; envVarNames: string[]; identity: JobIdentity | null; plan: JobPlan | null }
  | { type: "job-log"; at: number; jobId: string; index: number; event: JobLogEvent }
  /** Output read from the PTY but still held by the chunking (spec §5.4): the next job-log outputs repeat it. For live views. */
  | { type: "job-output-preview"; at: number; jobId: string; text: string }
  | { type: "job-finished"; at: number; jobId: string; result: JobResult; trimmed: boolean; unsentEvents: number }
  /**
   * The job never ran: it could not be fetched (`could not fetch the job: <last error>`) or built
   * (`executor: unknown executor 'k8s'`, `commands[1].directive: expected a string`, …). Semaphore
   * gets no log events for it (spec §3.5), so this reason, which names the field, is the only word
   * of what was wrong. Comes just before the job's job-finished (`failed`, or `stopped`).
   */
  | { type: "job-rejected"; at: number; jobId: string; reason: string }
  | { type: "interrupted"; at: number; interruptedAt: number }
  /**
   * The disk guard's verdict changed (checked before each sync that could bring a job, and every few
   * seconds during a job). `low`: the agent takes no more jobs and drains (interrupts itself once no
   * job runs); `critical`: a running job is stopped as well.
   */
  | { type: "disk"; at: number; verdict: DiskVerdict }
  /** The job's shell started (its pid on this machine: bubblewrap's under strict): the root of the job's process tree. */
  | { type: "job-shell"; at: number; jobId: string; pid: number }
  /** The agent itself stopped its job (the disk guard), saying why; the job ends `stopped`. */
  | { type: "job-stopped-by-agent"; at: number; jobId: string; reason: string }
  /** The server's sync said stop-job for the running job (and no stop of the agent's own came first). */
  | { type: "job-stopped-by-server"; at: number; jobId: string }
  | {
      type: "error";
      at: number;
      scope: ErrorScope;
      message: string;
      retryAt: number | null;
      /** For a failed call to the server: what kind of failure, for words a person understands. */
      problem?: CallProblem;
    }
  | { type: "log"; at: number; level: "info" | "warn"; message: string }
  | { type: "shutdown"; at: number; reason: ShutdownReason; exitCode: number };

/** What went wrong with a call to the server (protocol/client.ts's ApiError, without its text). */
export interface CallProblem {
  kind: "network" | "timeout" | "status" | "decode";
  /** The HTTP status, for kind "status" (and "decode" of a 2xx). */
  status: number | null;
  /** The system or TLS error code (ENOTFOUND, ECONNREFUSED, CERT_HAS_EXPIRED, …), for kind "network". */
  code: string | null;
}

export type AgentEventListener = (event: AgentEvent) => void;

/** Maps the server's shutdown_reason (spec §3.8 table) to SEMAPHORE_AGENT_SHUTDOWN_REASON. */
export function shutdownReasonFromServer(reason: string): ShutdownReason {
  switch (reason) {
    case "idle":
      return "IDLE";
    case "job-finished":
      return "JOB_FINISHED";
    case "requested":
      return "REQUESTED";
    case "interrupted":
      return "INTERRUPTED";
    default:
      return "UNKNOWN";
  }
}
