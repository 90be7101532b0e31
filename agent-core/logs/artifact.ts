// Uploading the job log as an artifact (spec §7.4, `upload-job-logs`).
import { spawn } from "node:child_process";
import { accessSync, constants, createReadStream, createWriteStream, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { delimiter, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { UploadJobLogs } from "../config/types.js";
import type { JobLogEvent } from "../job/events.js";

const DEFAULT_COMPRESSION_SIZE = 104_857_600;
const MIN_COMPRESSION_SIZE = 1_048_576;
const MAX_COMPRESSION_SIZE = 1_073_741_824;

export function shouldUpload(setting: UploadJobLogs, trimmed: boolean): boolean {
  return setting === "always" || (setting === "when-trimmed" && trimmed);
}

export function compressionThreshold(env: NodeJS.ProcessEnv): number {
  const raw = env.SEMAPHORE_AGENT_LOGS_COMPRESSION_SIZE;
  if (!raw || !/^\d+$/.test(raw)) return DEFAULT_COMPRESSION_SIZE;
  const n = Number(raw);
  return n >= MIN_COMPRESSION_SIZE && n <= MAX_COMPRESSION_SIZE ? n : DEFAULT_COMPRESSION_SIZE;
}

export function findExecutable(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Plain-text form of the job log: directives and raw output, as the Go agent produces it. */
export function eventsToPlainText(lines: Buffer): string {
  let text = "";
  for (const line of lines.toString("utf8").split("\n")) {
    if (!line) continue;
    const event = JSON.parse(line) as JobLogEvent;
    if (event.event === "cmd_started") text += `${event.directive}\n`;
    else if (event.event === "cmd_output") text += event.output;
  }
  return text;
}

export interface UploadInput {
  eventLines: Buffer;
  jobId: string;
  /** The job's decoded env vars (name -> value), where the artifact token and org URL come from. */
  jobEnv: Map<string, string>;
  agentEnv: NodeJS.ProcessEnv;
  dir: string;
}

/** Returns null on success, or the reason the upload was skipped or failed (only ever logged). */
export async function uploadJobLog(input: UploadInput): Promise<string | null> {
  const token = input.jobEnv.get("SEMAPHORE_ARTIFACT_TOKEN");
  const orgUrl = input.jobEnv.get("SEMAPHORE_ORGANIZATION_URL");
  if (!token) return "SEMAPHORE_ARTIFACT_TOKEN is not in the job's environment";
  if (!orgUrl) return "SEMAPHORE_ORGANIZATION_URL is not in the job's environment";
  const artifact = findExecutable("artifact", input.agentEnv);
  if (!artifact) return "no 'artifact' executable on PATH";

  let file = join(input.dir, `${randomBytes(8).toString("hex")}.txt`);
  writeFileSync(file, eventsToPlainText(input.eventLines), { mode: 0o600 });
  let destination = "agent/job_logs.txt";
  if (statSync(file).size >= compressionThreshold(input.agentEnv)) {
    try {
      await pipeline(createReadStream(file), createGzip(), createWriteStream(`${file}.gz`, { mode: 0o600 }));
      rmSync(file, { force: true });
      file = `${file}.gz`;
      destination = "agent/job_logs.txt.gz";
    } catch {
      rmSync(`${file}.gz`, { force: true }); // fall back to the plain file
    }
  }
  const env = {
    ...input.agentEnv,
    SEMAPHORE_ARTIFACT_TOKEN: token,
    SEMAPHORE_JOB_ID: input.jobId,
    SEMAPHORE_ORGANIZATION_URL: orgUrl,
  };
  return await new Promise<string | null>((resolve) => {
    const child = spawn(artifact, ["push", "job", file, "-d", destination], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", (error) => resolve(`artifact push failed: ${error.message}`));
    child.on("close", (code) => {
      // Unlike the Go agent we remove the generated file: it holds the whole job log.
      rmSync(file, { force: true });
      resolve(code === 0 ? null : `artifact push exited with ${code}: ${output.trim().slice(0, 500)}`);
    });
  });
}
