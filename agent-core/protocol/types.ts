// Wire types of the self-hosted agent API (spec §1–§4). Requests are built by us, so they are plain
// interfaces; responses come from the network, so each has a lenient decoder (unknown fields
// ignored, missing strings "", missing arrays []), as the Go agent decodes them.
import { z } from "zod";

export type AgentState = "waiting-for-jobs" | "starting-job" | "running-job" | "stopping-job" | "finished-job";
export const AGENT_STATES: readonly AgentState[] = [
  "waiting-for-jobs",
  "starting-job",
  "running-job",
  "stopping-job",
  "finished-job",
];

export type SyncAction = "continue" | "run-job" | "stop-job" | "shutdown" | "wait-for-jobs";
export type ServerShutdownReason = "idle" | "job-finished" | "requested" | "interrupted";

/** Body of POST /register (§2.1): all ten fields, always, in this order. */
export interface RegisterRequest {
  name: string;
  version: string;
  pid: number;
  os: string;
  arch: string;
  hostname: string;
  single_job: boolean;
  idle_timeout: number;
  interruption_grace_period: number;
  job_id: string;
}

const str = z.preprocess((v) => (v === null || v === undefined ? "" : v), z.string());
const int = z.preprocess((v) => (v === null || v === undefined ? 0 : v), z.number().int());

export const RegisterResponseSchema = z.looseObject({ name: str, token: str });
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

/** Body of POST /sync (§3.1): all four fields, always. */
export interface SyncRequest {
  state: AgentState;
  job_id: string;
  job_result: "" | "passed" | "failed" | "stopped";
  interrupted_at: number;
}

export const SyncResponseSchema = z.looseObject({
  action: str,
  job_id: str,
  shutdown_reason: str,
  next_sync_after: int,
});
export type SyncResponse = z.infer<typeof SyncResponseSchema>;

export const RefreshResponseSchema = z.looseObject({ token: str });

const arr = <T extends z.ZodTypeAny>(item: T) =>
  z.preprocess((v) => (v === null || v === undefined ? [] : v), z.array(item));

export const CommandSchema = z.looseObject({ directive: str, alias: str });
export const EnvVarSchema = z.looseObject({ name: str, value: str });
export const FileSchema = z.looseObject({ path: str, content: str, mode: str });

/** GET /jobs/<id> response (§4). Structure only; base64 and modes are checked by the job steps. */
export const JobRequestSchema = z.looseObject({
  job_id: str,
  executor: str,
  env_vars: arr(EnvVarSchema),
  files: arr(FileSchema),
  commands: arr(CommandSchema),
  epilogue_always_commands: arr(CommandSchema),
  epilogue_on_pass_commands: arr(CommandSchema),
  epilogue_on_fail_commands: arr(CommandSchema),
  callbacks: z.preprocess(
    (v) => (v === null || v === undefined ? {} : v),
    z.looseObject({ finished: str, teardown_finished: str, token: str }),
  ),
  logger: z.preprocess(
    (v) => (v === null || v === undefined ? {} : v),
    z.looseObject({ method: str, url: str, token: str, max_size_in_bytes: int }),
  ),
});
export type JobRequest = z.infer<typeof JobRequestSchema>;
export type JobCommand = z.infer<typeof CommandSchema>;
export type JobEnvVar = z.infer<typeof EnvVarSchema>;
export type JobFile = z.infer<typeof FileSchema>;

const EXPECTED_IN_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean",
  array: "an array",
  object: "an object",
};

/** What the issue says, in words: a wrong type says what was expected (`expected a string`). */
function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type") {
    const words = EXPECTED_IN_WORDS[issue.expected];
    if (words) return `expected ${words}`;
  }
  return issue.message;
}

/** Turns a zod error into one line that names the offending field, e.g. `commands[1].directive: expected a string`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
        .join("");
      return `${path || "(root)"}: ${issueText(issue)}`;
    })
    .join("; ");
}
