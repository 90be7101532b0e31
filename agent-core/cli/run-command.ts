// `semaphore-agent run JOB.yaml`: one job through an embedded hub and agent, log printed live.
import { randomBytes } from "node:crypto";
import { startHub } from "../../hub/hub.js";
import { Agent } from "../agent/agent.js";
import { defaultAgentConfig } from "../config/keys.js";
import type { JobResult } from "../job/events.js";
import { timingsFromEnv } from "../timings.js";
import { placementSettingsFromConfig } from "../sandbox/from-config.js";
import { JobPlacement, SANDBOX_LEVELS, type SandboxLevel } from "../sandbox/placement.js";
import { terminalLine } from "../util/terminal-text.js";
import { UsageError, parseFlags } from "./args.js";
import { JobFileError, readJobDefinition, type JobDefinition, type WireJobRequest } from "./job-file.js";
import { createDemoGitRepo, LocalJobError, prepareLocalJob, type DemoGitRepo } from "./local-jobs.js";
import { JobLogPrinter, formatAgentEvent, jobIdentityText } from "./printer.js";

export async function runJobFileCommand(argv: string[]): Promise<number> {
  let path: string;
  let definition: JobDefinition;
  let sandbox: SandboxLevel;
  let jobHome: string;
  const fail = (message: string) => {
    process.stderr.write(`${terminalLine(`semaphore-agent run: ${message}`, [])}\n`);
    return 1;
  };
  try {
    const { flags, positional } = parseFlags(argv, { sandbox: "string", "job-home": "string" });
    if (positional.length !== 1) throw new UsageError("usage: semaphore-agent run [--sandbox none|strict] [--job-home DIR] JOB.yaml");
    const level = String(flags.sandbox ?? (process.env.SEMAPHORE_AGENT_SANDBOX || "none"));
    if (!(SANDBOX_LEVELS as readonly string[]).includes(level)) {
      throw new UsageError(`${flags.sandbox !== undefined ? "--sandbox" : "SEMAPHORE_AGENT_SANDBOX"}: must be one of ${SANDBOX_LEVELS.join(", ")} (got ${JSON.stringify(level)})`);
    }
    sandbox = level as SandboxLevel;
    jobHome = String(flags["job-home"] ?? (process.env.SEMAPHORE_AGENT_JOB_HOME || ""));
    path = positional[0] as string;
    definition = readJobDefinition(path);
  } catch (error) {
    if (error instanceof UsageError || error instanceof JobFileError) return fail(error.message);
    throw error;
  }
  // `git_fixture: demo`: a local repository to check out, for this run only (cli/local-jobs.ts).
  let git: DemoGitRepo | Error | null = null;
  if (definition.gitFixture === "demo") git = await createDemoGitRepo().catch((error: Error) => error);
  // A second Ctrl-C exits at once (process.exit): the repository goes then too.
  const removeGit = () => {
    if (git !== null && !(git instanceof Error)) git.remove();
  };
  process.once("exit", removeGit);
  try {
    let request;
    try {
      request = prepareLocalJob(definition, git);
    } catch (error) {
      if (error instanceof LocalJobError) return fail(`${path}: ${error.message}`);
      throw error;
    }
    let placement: JobPlacement;
    try {
      const config = { ...defaultAgentConfig(), sandbox, jobHome, name: "run" };
      placement = await JobPlacement.open(placementSettingsFromConfig(config, process.env));
    } catch (error) {
      return fail((error as Error).message);
    }
    if (placement.state.notice) process.stderr.write(`${terminalLine(`semaphore-agent run: warning: ${placement.state.notice}`, [])}\n`);
    return await runRequest(request, placement);
  } finally {
    process.off("exit", removeGit);
    removeGit();
  }
}

async function runRequest(request: WireJobRequest, placement: JobPlacement): Promise<number> {
  const hub = await startHub({ port: 0, nextSyncAfter: 100 });
  const jobId = hub.scheduleJob(request).job_id;
  const agent = new Agent({
    config: {
      ...defaultAgentConfig(),
      endpoint: hub.endpoint,
      noHttps: true,
      token: hub.registrationToken,
      name: `local-run-${randomBytes(6).toString("hex")}`,
      disconnectAfterJob: true,
    },
    timings: timingsFromEnv(process.env),
    env: process.env,
    placement,
  });
  const printer = new JobLogPrinter(process.stdout);
  // The job's output is printed as it came; run's own lines (the agent's messages, which quote job
  // ids and server text) are redacted and escaped.
  const say = (text: string) => process.stderr.write(`${terminalLine(text, agent.secrets)}\n`);
  let result: JobResult | null = null;
  let rejected = false;
  agent.on((event) => {
    if (event.type === "job-log" && event.jobId === jobId) printer.print(event.event);
    else if (event.type === "job-request" && event.jobId === jobId) {
      // Whose job it is (job/identity.ts), before its log; nothing more than the id when it says nothing.
      const text = jobIdentityText(event.jobId, event.identity);
      if (text !== null) {
        const lines = [text.line, ...(text.url !== null ? [`open: ${text.url}`] : [])];
        printer.header(lines.map((line) => terminalLine(line, agent.secrets)));
      }
    } else if (event.type === "job-rejected" && event.jobId === jobId) {
      // Not run, so no log: the reason is all there is to say, before the result.
      rejected = true;
      say(`semaphore-agent run: the job was not run: ${event.reason}`);
    } else if (event.type === "job-finished" && event.jobId === jobId) {
      result = event.result;
      if (rejected) process.stdout.write(`Job ${event.result} (not run)\n`);
    } else if (event.type === "error") {
      const line = formatAgentEvent(event, "error");
      if (line) say(line);
    }
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write("\nstopping the job (Ctrl-C again to quit at once)\n");
      hub.stopJob(jobId);
    } else process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const exit = await agent.start();
    if (exit.exitCode !== 0 && result === null) {
      say(`semaphore-agent run: the agent stopped before the job finished (${exit.reason})`);
      return 1;
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await hub.close();
  }
  return result === "passed" ? 0 : result === "stopped" ? 2 : 1;
}
