// Hub: the server-side sync state machine (spec §3.3, §3.7, §8.2, §8.5) over real HTTP.
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startHub, type Hub, type HubOptions } from "../../hub/hub.js";
import { FakeAgent, sampleEvents, type SyncReply } from "../../hub/fake-agent.js";

let hub: Hub;
afterEach(async () => {
  await hub?.close();
});

async function setup(options: HubOptions = { nextSyncAfter: 0 }, register: Parameters<FakeAgent["register"]>[0] = {}) {
  hub = await startHub(options);
  const agent = new FakeAgent(hub);
  const res = await agent.register(register);
  expect(res.status).toBe(200);
  return agent;
}

const action = (r: { json: SyncReply | undefined }) => r.json?.action;
const nowS = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a job through starting/running with a complete pushed log, up to (not including) finished-job. */
async function runJob(agent: FakeAgent, jobId: string, result: "passed" | "failed" | "stopped" = "passed") {
  const job = await agent.getJob(jobId);
  expect(job.status).toBe(200);
  expect(action(await agent.sync("starting-job", jobId))).toBe("continue");
  const events = sampleEvents([{ directive: "echo hi", output: "hi\n" }], result);
  const push = await agent.pushLogs(job.json!.logger.url, job.json!.logger.token, 0, events);
  expect(push.status).toBe(200);
  return job.json!;
}

describe("hub sync state machine", () => {
  it("run-job -> running -> finished-job -> wait-for-jobs -> continue, with no violations", async () => {
    const agent = await setup();
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");
    const { job_id } = hub.scheduleJob({ commands: [{ directive: "echo hi" }] });
    expect(hub.job(job_id)?.status).toBe("queued");

    const s1 = await agent.sync("waiting-for-jobs");
    expect(s1.status).toBe(200);
    expect(s1.json).toEqual({ action: "run-job", job_id, shutdown_reason: "" });
    expect(hub.job(job_id)).toMatchObject({ status: "starting", agent: agent.name });
    expect(hub.agent(agent.name)?.job_id).toBe(job_id);

    await runJob(agent, job_id);
    expect(action(await agent.sync("running-job", job_id))).toBe("continue");
    expect(hub.job(job_id)?.status).toBe("running");

    const fin = await agent.sync("finished-job", job_id, "passed");
    expect(fin.json).toEqual({ action: "wait-for-jobs", job_id: "", shutdown_reason: "" });
    expect(hub.job(job_id)).toMatchObject({ status: "finished", result: "passed", event_count: 5 });
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");
    expect(hub.agent(agent.name)).toMatchObject({ state: "waiting-for-jobs", job_id: "", jobs: [job_id] });
    expect(hub.violations()).toEqual([]);
  });

  it("includes next_sync_after (default 1000) and omits it when configured 0", async () => {
    const agent = await setup({});
    const res = await agent.sync("waiting-for-jobs");
    expect(res.json).toEqual({ action: "continue", job_id: "", shutdown_reason: "", next_sync_after: 1000 });
    await hub.close();
    const other = await setup({ nextSyncAfter: 0 });
    expect((await other.sync("waiting-for-jobs")).json).not.toHaveProperty("next_sync_after");
  });

  it("flags a sync sent long before next_sync_after with nothing changed", async () => {
    const agent = await setup({ nextSyncAfter: 1000 });
    await agent.sync("waiting-for-jobs");
    await agent.sync("waiting-for-jobs");
    expect(hub.violations()).toHaveLength(1);
    expect(hub.violations()[0]?.message).toMatch(/next_sync_after was 1000 ms/);
  });

  it("flags a sync sent while another one is in flight", async () => {
    const agent = await setup();
    const body = JSON.stringify({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 });
    // Sync A: headers now, body later.
    const socket = connect(hub.port, "127.0.0.1");
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const answered = new Promise<string>((r) => {
      let data = "";
      socket.on("data", (d) => {
        data += d.toString();
        if (data.includes("\r\n\r\n")) r(data);
      });
    });
    socket.write(
      `POST /api/v1/self_hosted_agents/sync HTTP/1.1\r\nHost: x\r\nUser-Agent: ${agent.userAgent}\r\n` +
        `Authorization: Token ${agent.accessToken}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await sleep(30);
    // Sync B overtakes it.
    expect((await agent.sync("waiting-for-jobs")).status).toBe(200);
    await sleep(5);
    socket.write(body);
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    socket.destroy();
    expect(hub.violations().map((v) => v.message)).toEqual([expect.stringMatching(/previous sync was still in flight/)]);
  });

  it("a fast job may go waiting-for-jobs -> finished-job between two syncs", async () => {
    const agent = await setup();
    const { job_id } = hub.scheduleJob({});
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("run-job");
    await runJob(agent, job_id);
    expect(action(await agent.sync("finished-job", job_id, "passed"))).toBe("wait-for-jobs");
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");
    // The second job jumps straight from waiting-for-jobs to finished-job (fetch failed, say).
    const second = hub.scheduleJob({}).job_id;
    expect((await agent.sync("waiting-for-jobs")).json?.job_id).toBe(second);
    expect(action(await agent.sync("finished-job", second, "failed"))).toBe("wait-for-jobs");
    expect(hub.job(second)).toMatchObject({ status: "finished", result: "failed" });
    expect(hub.violations()).toEqual([]);
  });

  it("re-sends run-job when the agent still reports waiting-for-jobs (lost response)", async () => {
    const agent = await setup();
    const { job_id } = hub.scheduleJob({});
    hub.injectFault({ target: "sync", mode: "drop-after-store" });
    await expect(agent.sync("waiting-for-jobs")).rejects.toThrow();
    expect(hub.job(job_id)?.status).toBe("starting");
    const again = await agent.sync("waiting-for-jobs");
    expect(again.json).toMatchObject({ action: "run-job", job_id });
    expect(hub.violations()).toEqual([]);
  });

  it("stop-job for a stop requested while running; stopping-job -> continue; finished stopped", async () => {
    const agent = await setup();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await agent.getJob(job_id);
    await agent.sync("running-job", job_id);
    const view = hub.stopJob(job_id);
    expect(view).toMatchObject({ status: "stopping", stop_requested: true });
    expect((await agent.sync("running-job", job_id)).json).toEqual({ action: "stop-job", job_id, shutdown_reason: "" });
    expect(action(await agent.sync("stopping-job", job_id))).toBe("continue");
    const events = sampleEvents([{ directive: "sleep 60", exit: 1 }], "stopped");
    const job = hub.jobRequest(job_id)!;
    expect((await agent.pushLogs(job.logger!.url!, job.logger!.token!, 0, events)).status).toBe(200);
    expect(action(await agent.sync("finished-job", job_id, "stopped"))).toBe("wait-for-jobs");
    expect(hub.job(job_id)).toMatchObject({ status: "finished", result: "stopped" });
    expect(hub.violations()).toEqual([]);
  });

  it("also sends stop-job while the agent reports starting-job", async () => {
    const agent = await setup();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await agent.sync("starting-job", job_id);
    hub.stopJob(job_id);
    expect(action(await agent.sync("starting-job", job_id))).toBe("stop-job");
    expect(action(await agent.sync("finished-job", job_id, "stopped"))).toBe("wait-for-jobs");
    expect(hub.violations()).toEqual([]);
  });

  it("stopping a queued job finishes it as stopped without giving it out; stopping a lost run-job cancels it", async () => {
    const agent = await setup();
    const queued = hub.scheduleJob({}).job_id;
    hub.stopJob(queued);
    expect(hub.job(queued)).toMatchObject({ status: "finished", result: "stopped", agent: null });
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");

    const lost = hub.scheduleJob({}).job_id;
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("run-job");
    hub.stopJob(lost);
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");
    expect(hub.job(lost)).toMatchObject({ status: "finished", result: "stopped" });
    expect(hub.violations()).toEqual([]);
  });

  it("single_job: finished-job is answered shutdown/job-finished (again on a repeated sync)", async () => {
    const agent = await setup({ nextSyncAfter: 0 }, { single_job: true });
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await runJob(agent, job_id);
    const fin = await agent.sync("finished-job", job_id, "passed");
    expect(fin.json).toEqual({ action: "shutdown", job_id: "", shutdown_reason: "job-finished" });
    expect(hub.agent(agent.name)?.shutdown_reason).toBe("job-finished");
    expect(action(await agent.sync("finished-job", job_id, "passed"))).toBe("shutdown");
    expect((await agent.disconnect()).status).toBe(200);
    expect(hub.violations()).toEqual([]);
  });

  it("job-id agents get only their job; other agents skip it", async () => {
    hub = await startHub({ nextSyncAfter: 0 });
    const generic = new FakeAgent(hub);
    const special = new FakeAgent(hub);
    await special.register({ single_job: true, job_id: "the-job" });
    await generic.register();
    const other = hub.scheduleJob({}).job_id;
    expect(action(await special.sync("waiting-for-jobs"))).toBe("continue");
    hub.scheduleJob({ job_id: "the-job" });
    expect((await generic.sync("waiting-for-jobs")).json?.job_id).toBe(other);
    expect((await special.sync("waiting-for-jobs")).json).toMatchObject({ action: "run-job", job_id: "the-job" });
    expect(hub.violations()).toEqual([]);
  });

  it("idle timeout: shutdown/idle once waiting longer than idle_timeout seconds", async () => {
    const agent = await setup({ nextSyncAfter: 0 }, { idle_timeout: 1 });
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");
    await sleep(1100);
    const res = await agent.sync("waiting-for-jobs");
    expect(res.json).toEqual({ action: "shutdown", job_id: "", shutdown_reason: "idle" });
    expect(hub.violations()).toEqual([]);
  });

  it("idle time restarts when a job ends", async () => {
    const agent = await setup({ nextSyncAfter: 0 }, { idle_timeout: 1 });
    await sleep(700);
    const { job_id } = hub.scheduleJob({});
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("run-job");
    await runJob(agent, job_id);
    await sleep(500);
    await agent.sync("finished-job", job_id, "passed");
    await sleep(500);
    expect(action(await agent.sync("waiting-for-jobs"))).toBe("continue");
    await sleep(700);
    expect((await agent.sync("waiting-for-jobs")).json?.shutdown_reason).toBe("idle");
  });

  it("interrupted while waiting: shutdown/interrupted", async () => {
    const agent = await setup();
    await agent.sync("waiting-for-jobs");
    const res = await agent.sync("waiting-for-jobs", "", "", nowS());
    expect(res.json).toEqual({ action: "shutdown", job_id: "", shutdown_reason: "interrupted" });
    expect(hub.agent(agent.name)?.interrupted_at).toBeGreaterThan(0);
    expect(hub.violations()).toEqual([]);
  });

  it("interrupted while running: stop-job once the grace period is over, then shutdown/interrupted", async () => {
    const agent = await setup({ nextSyncAfter: 0 }, { interruption_grace_period: 2 });
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await runJob(agent, job_id, "stopped");
    const at = nowS();
    expect(action(await agent.sync("running-job", job_id, "", at))).toBe("continue");
    await sleep(Math.max(0, (at + 2) * 1000 - Date.now()) + 20);
    expect((await agent.sync("running-job", job_id, "", at)).json).toEqual({ action: "stop-job", job_id, shutdown_reason: "" });
    expect(hub.job(job_id)?.status).toBe("stopping");
    expect(action(await agent.sync("stopping-job", job_id, "", at))).toBe("continue");
    const fin = await agent.sync("finished-job", job_id, "stopped", at);
    expect(fin.json).toEqual({ action: "shutdown", job_id: "", shutdown_reason: "interrupted" });
    expect(hub.violations()).toEqual([]);
  });

  it("interruption with grace 0 stops at once; a changing or millisecond interrupted_at is flagged", async () => {
    const agent = await setup();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await agent.sync("running-job", job_id);
    const at = nowS();
    expect(action(await agent.sync("running-job", job_id, "", at))).toBe("stop-job");
    expect(hub.violations()).toEqual([]);
    await agent.sync("stopping-job", job_id, "", at + 5);
    expect(hub.violations()[0]?.message).toMatch(/interrupted_at changed/);

    const other = new FakeAgent(hub);
    await other.register();
    await other.sync("waiting-for-jobs", "", "", Date.now());
    expect(hub.violations()[1]?.message).toMatch(/not milliseconds/);
  });

  it("requested shutdown: waiting -> shutdown/requested; running -> stop-job, then shutdown/requested", async () => {
    hub = await startHub({ nextSyncAfter: 0 });
    const idle = new FakeAgent(hub);
    const busy = new FakeAgent(hub);
    await idle.register();
    await busy.register();
    const { job_id } = hub.scheduleJob({});
    await busy.sync("waiting-for-jobs");
    await runJob(busy, job_id, "stopped");
    await busy.sync("running-job", job_id);
    hub.requestShutdown();
    expect((await idle.sync("waiting-for-jobs")).json).toEqual({ action: "shutdown", job_id: "", shutdown_reason: "requested" });
    expect(action(await busy.sync("running-job", job_id))).toBe("stop-job");
    expect(action(await busy.sync("stopping-job", job_id))).toBe("continue");
    expect((await busy.sync("finished-job", job_id, "stopped")).json?.shutdown_reason).toBe("requested");
    // Agents registering after a global shutdown request are shut down too (like the Go hub).
    const late = new FakeAgent(hub);
    await late.register();
    expect((await late.sync("waiting-for-jobs")).json?.shutdown_reason).toBe("requested");
    expect(hub.violations()).toEqual([]);
  });

  it("a per-agent shutdown request only affects that agent; a lost run-job is requeued", async () => {
    hub = await startHub({ nextSyncAfter: 0 });
    const a = new FakeAgent(hub);
    const b = new FakeAgent(hub);
    await a.register();
    await b.register();
    const { job_id } = hub.scheduleJob({});
    expect(action(await a.sync("waiting-for-jobs"))).toBe("run-job");
    hub.requestShutdown(a.name);
    expect(() => hub.requestShutdown("no-such-agent")).toThrow(/no connected agent/);
    expect((await a.sync("waiting-for-jobs")).json?.shutdown_reason).toBe("requested");
    expect(hub.job(job_id)?.status).toBe("queued");
    expect((await b.sync("waiting-for-jobs")).json).toMatchObject({ action: "run-job", job_id });
  });

  it("disconnecting with an unfinished job marks it abandoned/failed", async () => {
    const agent = await setup();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await agent.sync("running-job", job_id);
    await agent.disconnect();
    expect(hub.job(job_id)).toMatchObject({ status: "finished", result: "failed", abandoned: true });
  });
});

describe("hub sync validation and transition violations", () => {
  it("answers 422 + violation for malformed sync bodies", async () => {
    const agent = await setup();
    const bodies: Array<[unknown, RegExp]> = [
      [{ state: "waiting-for-jobs", job_id: "", job_result: "" }, /missing field "interrupted_at"/],
      [{ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0, extra: true }, /unknown field "extra"/],
      [{ state: "sleeping", job_id: "", job_result: "", interrupted_at: 0 }, /unknown state "sleeping"/],
      [{ state: "finished-job", job_id: "x", job_result: "", interrupted_at: 0 }, /finished-job needs job_result/],
      [{ state: "running-job", job_id: "x", job_result: "passed", interrupted_at: 0 }, /job_result must be ""/],
      [{ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: "0" }, /must be an integer/],
      [{ state: "waiting-for-jobs", job_id: null, job_result: "", interrupted_at: 0 }, /"job_id" must be a string/],
      [[], /must be a JSON object/],
    ];
    for (const [body, message] of bodies) {
      const res = await agent.sync("waiting-for-jobs", "", "", 0, { body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((res.json as unknown as { error: string }).error).toMatch(message);
    }
    const bad = await agent.sync("waiting-for-jobs", "", "", 0, { body: "{" });
    expect(bad.status).toBe(400);
    expect(hub.violations()).toHaveLength(bodies.length + 1);
  });

  it("answers 409 + violation for job states without a run-job, wrong job ids and bad transitions", async () => {
    const agent = await setup();
    const r1 = await agent.sync("finished-job", "ghost", "passed");
    expect(r1.status).toBe(409);
    expect(r1.json).toMatchObject({ action: "wait-for-jobs", error: expect.stringMatching(/no job was assigned/) });
    await agent.sync("waiting-for-jobs");

    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    const r2 = await agent.sync("running-job", "other-job");
    expect(r2.status).toBe(409);
    expect(r2.json?.error).toMatch(/assigned job is/);
    await agent.sync("running-job", job_id);
    const r3 = await agent.sync("starting-job", job_id);
    expect(r3.status).toBe(409);
    expect(r3.json?.error).toMatch(/running-job -> starting-job/);
    const r4 = await agent.sync("waiting-for-jobs");
    expect(r4.status).toBe(409);
    expect(r4.json?.error).toMatch(/never reported finished-job/);
    expect(hub.job(job_id)).toMatchObject({ status: "finished", abandoned: true });
    expect(hub.violations()).toHaveLength(4);
  });

  it("flags waiting-for-jobs with a job id and finished -> waiting without wait-for-jobs", async () => {
    const agent = await setup({ nextSyncAfter: 0 }, { single_job: true });
    const res = await agent.sync("waiting-for-jobs", "some-job");
    expect(res.status).toBe(409);
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    await runJob(agent, job_id);
    expect(action(await agent.sync("finished-job", job_id, "passed"))).toBe("shutdown");
    const back = await agent.sync("waiting-for-jobs");
    expect(back.status).toBe(409);
    expect(back.json?.error).toMatch(/wait-for-jobs was not sent/);
    expect(back.json?.action).toBe("shutdown");
  });

  it("GET /jobs/:id answers 404 + violation for jobs that were not given to the agent", async () => {
    hub = await startHub({ nextSyncAfter: 0 });
    const a = new FakeAgent(hub);
    const b = new FakeAgent(hub);
    await a.register();
    await b.register();
    const { job_id } = hub.scheduleJob({});
    expect((await a.getJob(job_id)).status).toBe(404);
    await a.sync("waiting-for-jobs");
    expect((await b.getJob(job_id)).status).toBe(404);
    expect((await a.getJob("nope")).status).toBe(404);
    const ok = await a.getJob(job_id);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ job_id, logger: { method: "push", url: hub.logUrl(job_id) } });
    expect(hub.violations()).toHaveLength(3);
    expect(hub.job(job_id)?.fetch_count).toBe(1);
  });
});
