// Wire types of the self-hosted agent API (spec §1–§4). Requests are built by us, so they are plain
// interfaces; responses come from the network, so each has a lenient decoder (unknown fields
// ignored, missing strings "", missing arrays []), as the Go agent decodes them.
// valibot, not zod: the headless agent loads this module, and valibot costs it about 3 MB where zod
// costs 14 (the app's contract keeps zod).
import * as v from "valibot";

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

const str = v.nullish(v.string(), "");
const int = v.nullish(v.pipe(v.number(), v.integer()), 0);

export const RegisterResponseSchema = v.looseObject({ name: str, token: str });
export type RegisterResponse = v.InferOutput<typeof RegisterResponseSchema>;

/** Body of POST /sync (§3.1): all four fields, always. */
export interface SyncRequest {
  state: AgentState;
  job_id: string;
  job_result: "" | "passed" | "failed" | "stopped";
  interrupted_at: number;
}

export const SyncResponseSchema = v.looseObject({
  action: str,
  job_id: str,
  shutdown_reason: str,
  next_sync_after: int,
});
export type SyncResponse = v.InferOutput<typeof SyncResponseSchema>;

export const RefreshResponseSchema = v.looseObject({ token: str });

// null and missing are empty (as Go decodes them); the default goes through the schema, so an
// empty object gets its fields' defaults.
const arr = <T extends v.GenericSchema>(item: T) => v.nullish(v.array(item), () => []);

export const CommandSchema = v.looseObject({ directive: str, alias: str });
export const EnvVarSchema = v.looseObject({ name: str, value: str });
export const FileSchema = v.looseObject({ path: str, content: str, mode: str });

/** GET /jobs/<id> response (§4). Structure only; base64 and modes are checked by the job steps. */
export const JobRequestSchema = v.looseObject({
  job_id: str,
  executor: str,
  env_vars: arr(EnvVarSchema),
  files: arr(FileSchema),
  commands: arr(CommandSchema),
  epilogue_always_commands: arr(CommandSchema),
  epilogue_on_pass_commands: arr(CommandSchema),
  epilogue_on_fail_commands: arr(CommandSchema),
  callbacks: v.nullish(v.looseObject({ finished: str, teardown_finished: str, token: str }), () => ({})),
  logger: v.nullish(v.looseObject({ method: str, url: str, token: str, max_size_in_bytes: int }), () => ({})),
});
export type JobRequest = v.InferOutput<typeof JobRequestSchema>;
export type JobCommand = v.InferOutput<typeof CommandSchema>;
export type JobEnvVar = v.InferOutput<typeof EnvVarSchema>;
export type JobFile = v.InferOutput<typeof FileSchema>;

/** What a failed check expected, in words, by the schema that failed. */
const EXPECTED_IN_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "a boolean",
  array: "an array",
  object: "an object",
  loose_object: "an object",
};

function issueText(issue: v.BaseIssue<unknown>): string {
  const words = EXPECTED_IN_WORDS[issue.type];
  return words ? `expected ${words}` : issue.message;
}

/** One line that names each offending field, e.g. `commands[1].directive: expected a string`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((item, i) => {
          const key = item.key as unknown;
          return typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`;
        })
        .join("");
      return `${path || "(root)"}: ${issueText(issue)}`;
    })
    .join("; ");
}

/** Decodes `raw` with `schema`: the value, or one line naming every bad field. */
export function decodeWith<S extends v.GenericSchema>(schema: S, raw: unknown): { ok: true; value: v.InferOutput<S> } | { ok: false; error: string } {
  const parsed = v.safeParse(schema, raw);
  return parsed.success ? { ok: true, value: parsed.output } : { ok: false, error: describeIssues(parsed.issues) };
}
