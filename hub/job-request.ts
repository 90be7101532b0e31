// Convenience builder for job requests (spec §4): raw env values and file contents are base64-encoded
// as the wire format requires, commands may be given as plain strings.
import type { ScheduleJobRequest } from "./types.js";

export type CommandSpec = string | { directive: string; alias?: string };

export interface JobSpec {
  job_id?: string;
  executor?: string;
  commands?: CommandSpec[];
  /** Raw values; encoded as standard base64. Insertion order is kept. */
  env?: Record<string, string>;
  files?: Array<{ path: string; content: string | Buffer; mode: string }>;
  epilogueAlways?: CommandSpec[];
  epilogueOnPass?: CommandSpec[];
  epilogueOnFail?: CommandSpec[];
  logger?: ScheduleJobRequest["logger"];
}

function cmds(list: CommandSpec[] | undefined): Array<{ directive: string; alias?: string }> {
  return (list ?? []).map((c) => (typeof c === "string" ? { directive: c } : { ...c }));
}

/** Builds a complete §4 job request (logger left out: the hub fills it in when scheduling). */
export function makeJobRequest(spec: JobSpec = {}): ScheduleJobRequest {
  const req: ScheduleJobRequest = {
    executor: spec.executor ?? "shell",
    env_vars: Object.entries(spec.env ?? {}).map(([name, value]) => ({
      name,
      value: Buffer.from(value, "utf8").toString("base64"),
    })),
    files: (spec.files ?? []).map((f) => ({
      path: f.path,
      content: (typeof f.content === "string" ? Buffer.from(f.content, "utf8") : f.content).toString("base64"),
      mode: f.mode,
    })),
    commands: cmds(spec.commands),
    epilogue_always_commands: cmds(spec.epilogueAlways),
    epilogue_on_pass_commands: cmds(spec.epilogueOnPass),
    epilogue_on_fail_commands: cmds(spec.epilogueOnFail),
    callbacks: { finished: "", teardown_finished: "", token: "" },
    ssh_public_keys: [],
  };
  if (spec.job_id !== undefined) req.job_id = spec.job_id;
  if (spec.logger !== undefined) req.logger = spec.logger;
  return req;
}
