// Job files for `semaphore-agent run JOB.yaml`: the job request fields of spec §4, written for
// people. Env values and file contents are plain text here (use `content_base64` / `value_base64`
// for binary data) and are base64-encoded into a wire job request for you. One key is not a field
// of the job request: `git_fixture: demo` asks `run` and the Local demo for a local git repository
// to check out (cli/local-jobs.ts).
import { readFileSync } from "node:fs";
import { parse, YAMLParseError } from "yaml";
import { z } from "zod";

const CommandEntry = z.union(
  [z.string(), z.strictObject({ directive: z.string(), alias: z.string().optional() })],
  // A YAML line like `- echo "a: b"` parses as a mapping; say how to fix it.
  { error: "expected a command string or {directive, alias} (quote a command that contains ': ')" },
);
const Commands = z.array(CommandEntry).optional();

export const JobFileSchema = z.strictObject({
  job_id: z.string().min(1).optional(),
  /** "demo": the job checks out a local bare repository that run / the Local demo create (cli/local-jobs.ts). */
  git_fixture: z.literal("demo").optional(),
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

/** A job file: the wire request, and what else the file asks of the one who schedules it. */
export interface JobDefinition {
  request: WireJobRequest;
  /** `git_fixture: demo`: fill SEMAPHORE_GIT_* from a local bare repository (cli/local-jobs.ts). */
  gitFixture: "demo" | null;
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** The wire job request of a job file (`git_fixture` is not part of it: see parseJobDefinition). */
export function parseJobFile(text: string, fileName: string): WireJobRequest {
  return parseJobDefinition(text, fileName).request;
}

export function parseJobDefinition(text: string, fileName: string): JobDefinition {
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
  return { request, gitFixture: job.git_fixture ?? null };
}

export function readJobFile(path: string): WireJobRequest {
  return readJobDefinition(path).request;
}

export function readJobDefinition(path: string): JobDefinition {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new JobFileError(`${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
  }
  return parseJobDefinition(text, path);
}

const EXPECTED_IN_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "a boolean",
  array: "an array",
  object: "an object",
};

/** One line that names each offending field of the job file, e.g. `commands[1].directive: expected a string`. */
function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
      const words = issue.code === "invalid_type" ? EXPECTED_IN_WORDS[issue.expected] : undefined;
      return `${path || "(root)"}: ${words ? `expected ${words}` : issue.message}`;
    })
    .join("; ");
}
