// Job files for `semaphore-agent run JOB.yaml`: the job request fields of spec §4, written for
// people. Env values and file contents are plain text here (use `content_base64` / `value_base64`
// for binary data) and are base64-encoded into a wire job request for you.
import { readFileSync } from "node:fs";
import { parse, YAMLParseError } from "yaml";
import { z } from "zod";
import { describeZodError } from "../protocol/types.js";

const CommandEntry = z.union(
  [z.string(), z.strictObject({ directive: z.string(), alias: z.string().optional() })],
  // A YAML line like `- echo "a: b"` parses as a mapping; say how to fix it.
  { error: "expected a command string or {directive, alias} (quote a command that contains ': ')" },
);
const Commands = z.array(CommandEntry).optional();

export const JobFileSchema = z.strictObject({
  job_id: z.string().min(1).optional(),
  executor: z.string().optional(),
  env_vars: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a shell variable name"),
        value: z.union([z.string(), z.number(), z.boolean()]).optional(),
        value_base64: z.string().optional(),
      }),
    )
    .optional(),
  files: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        content: z.string().optional(),
        content_base64: z.string().optional(),
        mode: z.union([z.string(), z.number()]).optional(),
      }),
    )
    .optional(),
  commands: Commands,
  epilogue_always_commands: Commands,
  epilogue_on_pass_commands: Commands,
  epilogue_on_fail_commands: Commands,
});
export type JobFile = z.infer<typeof JobFileSchema>;

export class JobFileError extends Error {}

/** The wire job request (without `logger`, which the hub fills in). */
export interface WireJobRequest {
  job_id?: string;
  executor: string;
  env_vars: { name: string; value: string }[];
  files: { path: string; content: string; mode: string }[];
  commands: { directive: string; alias?: string }[];
  epilogue_always_commands: { directive: string; alias?: string }[];
  epilogue_on_pass_commands: { directive: string; alias?: string }[];
  epilogue_on_fail_commands: { directive: string; alias?: string }[];
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export function parseJobFile(text: string, fileName: string): WireJobRequest {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` line ${error.linePos[0].line}` : "";
    throw new JobFileError(`${fileName}:${where} ${(error as Error).message.split("\n")[0]}`);
  }
  const parsed = JobFileSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new JobFileError(`${fileName}: ${describeZodError(parsed.error)}`);
  const job = parsed.data;
  const commands = (list: JobFile["commands"]) =>
    (list ?? []).map((c) => (typeof c === "string" ? { directive: c } : c.alias ? { directive: c.directive, alias: c.alias } : { directive: c.directive }));
  const request: WireJobRequest = {
    executor: job.executor ?? "shell",
    env_vars: (job.env_vars ?? []).map((v, i) => {
      if (v.value !== undefined && v.value_base64 !== undefined) {
        throw new JobFileError(`${fileName}: env_vars[${i}]: give either value or value_base64, not both`);
      }
      return { name: v.name, value: v.value_base64 ?? b64(v.value === undefined ? "" : String(v.value)) };
    }),
    files: (job.files ?? []).map((f, i) => {
      if (f.content !== undefined && f.content_base64 !== undefined) {
        throw new JobFileError(`${fileName}: files[${i}]: give either content or content_base64, not both`);
      }
      // An unquoted `mode: 0644` reaches us as the number 644: keep the digits the person wrote.
      const mode = f.mode === undefined ? "0644" : typeof f.mode === "number" ? String(f.mode).padStart(4, "0") : f.mode;
      return { path: f.path, content: f.content_base64 ?? b64(f.content ?? ""), mode };
    }),
    commands: commands(job.commands),
    epilogue_always_commands: commands(job.epilogue_always_commands),
    epilogue_on_pass_commands: commands(job.epilogue_on_pass_commands),
    epilogue_on_fail_commands: commands(job.epilogue_on_fail_commands),
  };
  if (job.job_id) request.job_id = job.job_id;
  return request;
}

export function readJobFile(path: string): WireJobRequest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new JobFileError(`${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  return parseJobFile(text, path);
}
