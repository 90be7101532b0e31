// For unit tests of the log pipeline: a real ApiClient registered at a real hub, and a job the hub
// has assigned to it and marked running, so its logger URL and token accept pushes.
import { parse } from "valibot";
import type { Hub } from "../../hub/hub.js";
import type { ApiClient } from "../../agent-core/protocol/client.js";
import { JobRequestSchema } from "../../agent-core/protocol/types.js";
import { AGENT_VERSION } from "../../agent-core/version.js";

export async function registerClient(client: ApiClient, name: string): Promise<void> {
  await client.register({
    name,
    version: AGENT_VERSION,
    pid: process.pid,
    os: "",
    arch: "x86_64",
    hostname: "",
    single_job: false,
    idle_timeout: 0,
    interruption_grace_period: 0,
    job_id: "",
  });
}

/** Schedules a job, has the (registered) client take it, and returns its logger settings. */
export async function runningJob(hub: Hub, client: ApiClient): Promise<{ jobId: string; url: string; token: string }> {
  const { job_id } = hub.scheduleJob({ commands: [{ directive: "true" }] });
  const sync = await client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 });
  if (sync.action !== "run-job" || sync.job_id !== job_id) throw new Error(`hub answered ${JSON.stringify(sync)}, not run-job ${job_id}`);
  const request = parse(JobRequestSchema, await client.getJob(job_id));
  await client.sync({ state: "running-job", job_id, job_result: "", interrupted_at: 0 });
  return { jobId: job_id, url: request.logger.url, token: request.logger.token };
}
