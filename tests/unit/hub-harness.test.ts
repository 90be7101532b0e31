// Hub: the JSON harness API, the Go reference hub compatibility endpoints (§8.3), the wait helpers,
// and a complete correct agent session leaving no violations.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatHubBanner, makeJobRequest, startHub, type AgentView, type Hub, type JobView } from "../../hub/hub.js";
import { FakeAgent, rawRequest, sampleEvents } from "../../hub/fake-agent.js";

let hub: Hub;
beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 0 });
});
afterEach(async () => {
  await hub.close();
});

const get = (path: string) => rawRequest("GET", `${hub.url}${path}`);
const post = (path: string, body?: unknown) =>
  rawRequest("POST", `${hub.url}${path}`, body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) });

describe("hub JSON harness API", () => {
  it("schedules jobs, fills job_id and logger, and serves job views", async () => {
    const res = await post("/private/jobs", { commands: [{ directive: "echo hi" }], env_vars: [], files: [] });
    expect(res.status).toBe(201);
    const id = (res.json as { job_id: string }).job_id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const stored = hub.jobRequest(id)!;
    expect(stored).toMatchObject({ job_id: id, commands: [{ directive: "echo hi" }], env_vars: [], files: [] });
    expect(stored.logger).toMatchObject({ method: "push", url: hub.logUrl(id) });
    expect(typeof stored.logger?.token).toBe("string");

    const withId = await post("/private/jobs", { job_id: "fixed-id", logger: { method: "push", url: "http://elsewhere/logs", token: "t" } });
    expect(withId.json).toEqual({ job_id: "fixed-id" });
    expect(hub.jobRequest("fixed-id")?.logger).toEqual({ method: "push", url: "http://elsewhere/logs", token: "t" });
    expect((await post("/private/jobs", { job_id: "fixed-id" })).status).toBe(409);

    const view = (await get(`/private/jobs/${id}`)).json as JobView;
    expect(Object.keys(view)).toEqual(
      expect.arrayContaining(["job_id", "status", "result", "agent", "trimmed", "event_count", "bytes", "created_at", "started_at", "finished_at"]),
    );
    expect(view).toMatchObject({ job_id: id, status: "queued", result: null, agent: null, trimmed: false, event_count: 0, bytes: 0, started_at: null, finished_at: null });
    expect(((await get("/private/jobs")).json as JobView[]).map((j) => j.job_id)).toEqual([id, "fixed-id"]);
    expect((await get("/private/jobs/nope")).status).toBe(404);
    expect((await get(`/private/jobs/${id}/request`)).json).toEqual(stored);
  });

  it("stops jobs, requests shutdowns, lists agents, violations and requests", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    const { job_id } = hub.scheduleJob({});
    const stopped = await post(`/private/jobs/${job_id}/stop`);
    expect(stopped.json).toMatchObject({ status: "finished", result: "stopped" });
    expect((await post("/private/jobs/nope/stop")).status).toBe(404);

    expect((await post("/private/shutdown", { agent: "nobody-here" })).status).toBe(404);
    expect((await post("/private/shutdown", { agent: agent.name })).status).toBe(200);
    const agents = (await get("/private/agents")).json as AgentView[];
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ name: agent.name, shutdown_requested: true, disconnected: false });
    expect((await agent.sync("waiting-for-jobs")).json?.shutdown_reason).toBe("requested");

    await agent.sync("waiting-for-jobs", "x");
    expect(((await get("/private/violations")).json as unknown[]).length).toBe(1);
    expect((await rawRequest("DELETE", `${hub.url}/private/violations`)).status).toBe(200);
    expect((await get("/private/violations")).json).toEqual([]);

    const requests = (await get("/private/requests")).json as Array<{ method: string; path: string; status: number; agent?: string; time: string }>;
    const syncs = requests.filter((r) => r.path === "/api/v1/self_hosted_agents/sync");
    expect(syncs).toHaveLength(2);
    expect(syncs[0]).toMatchObject({ method: "POST", status: 200, agent: agent.name });
    expect(Date.parse(syncs[0]!.time)).not.toBeNaN();
  });

  it("serves parsed events and the raw log text", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    const events = sampleEvents([{ directive: "echo a", output: "a\n" }]);
    await agent.pushLogs(hub.logUrl(job_id), hub.logToken(job_id), 0, events);
    expect((await get(`/private/jobs/${job_id}/events`)).json).toEqual(events);
    expect((await get(`/private/jobs/${job_id}/logs`)).text).toBe(events.map((e) => JSON.stringify(e)).join("\n"));
    expect((await get(`/private/jobs/nope/events`)).status).toBe(404);
  });

  it("the expire-log-token endpoint rotates the token", async () => {
    const { job_id } = hub.scheduleJob({});
    const before = hub.logToken(job_id);
    expect((await post(`/private/jobs/${job_id}/expire-log-token`)).status).toBe(200);
    expect(hub.logToken(job_id)).not.toBe(before);
  });

  it("makeJobRequest base64-encodes env values and file contents", () => {
    const req = makeJobRequest({
      commands: ["echo $A", { directive: "make", alias: "Build" }],
      env: { A: "hello world" },
      files: [{ path: "~/f", content: "x", mode: "0600" }],
      epilogueAlways: ["echo bye"],
    });
    expect(req.env_vars).toEqual([{ name: "A", value: "aGVsbG8gd29ybGQ=" }]);
    expect(req.files).toEqual([{ path: "~/f", content: "eA==", mode: "0600" }]);
    expect(req.commands).toEqual([{ directive: "echo $A" }, { directive: "make", alias: "Build" }]);
    expect(req.epilogue_always_commands).toEqual([{ directive: "echo bye" }]);
    expect(req.executor).toBe("shell");
    expect(req.logger).toBeUndefined();
  });

  it("formatHubBanner tells how to point an agent at the hub", () => {
    const banner = formatHubBanner(hub);
    expect(banner).toContain(hub.url);
    expect(banner).toContain(`endpoint: "${hub.endpoint}"`);
    expect(banner).toContain("no-https: true");
    expect(banner).toContain(hub.registrationToken);
  });
});

describe("Go reference hub compatibility (§8.3)", () => {
  it("is_alive, is_registered, schedule_job (double-encoded), status, schedule_stop, schedule_shutdown, is_shutdown", async () => {
    expect((await get("/is_alive")).text).toBe("yes");
    expect((await get("/private/is_registered")).text).toBe("no");
    const agent = new FakeAgent(hub);
    await agent.register();
    expect((await get("/private/is_registered")).text).toBe("yes");

    const jobJson = JSON.stringify({
      job_id: "go-job-1",
      executor: "shell",
      commands: [{ directive: "echo Hello World" }],
      logger: { method: "push", url: `${hub.url}/api/v1/logs/go-job-1`, token: "jwtToken" },
    });
    expect((await post("/private/schedule_job", JSON.stringify(jobJson))).status).toBe(200);
    expect((await post("/private/schedule_job", { job_id: "go-job-2" })).status).toBe(200);
    expect((await post("/private/schedule_job", JSON.stringify("not json"))).status).toBe(400);
    const status = (id: string) => get(`/api/v1/self_hosted_agents/jobs/${id}/status`).then((r) => r.text);
    expect(await status("go-job-1")).toBe("running");

    expect((await agent.sync("waiting-for-jobs")).json?.job_id).toBe("go-job-1");
    await agent.sync("running-job", "go-job-1");
    expect((await post("/private/schedule_stop/go-job-1")).status).toBe(200);
    expect(await status("go-job-1")).toBe("stopping");
    expect((await agent.sync("running-job", "go-job-1")).json?.action).toBe("stop-job");
    const events = sampleEvents([{ directive: "echo Hello World", output: "Hello World\n" }], "stopped");
    expect((await agent.pushLogs(`${hub.url}/api/v1/logs/go-job-1`, "jwtToken", 0, events)).status).toBe(200);
    expect((await get("/private/jobs/go-job-1/logs")).text.split("\n")).toHaveLength(events.length);
    await agent.sync("finished-job", "go-job-1", "stopped");
    expect(await status("go-job-1")).toBe("finished");

    expect((await get("/api/v1/self_hosted_agents/is_shutdown")).text).toBe("false");
    expect((await post("/private/schedule_shutdown")).status).toBe(200);
    await agent.sync("waiting-for-jobs");
    expect((await agent.sync("waiting-for-jobs")).json?.action).toBe("shutdown");
    await agent.disconnect();
    expect((await get("/api/v1/self_hosted_agents/is_shutdown")).text).toBe("true");
    expect(hub.violations()).toEqual([]);
  });
});

describe("hub wait helpers and events", () => {
  it("waitForAgent / waitForJobStatus / waitForEvents / waitForDisconnect resolve on changes", async () => {
    const agent = new FakeAgent(hub);
    const seen: string[] = [];
    hub.on("sync", (e) => seen.push(`${e.request.state}->${e.response.action}`));
    const registeredP = hub.waitForAgent();
    await agent.register();
    expect((await registeredP).name).toBe(agent.name);

    const { job_id } = hub.scheduleJob({});
    const runningP = hub.waitForJobStatus(job_id, "running", 5000);
    const eventsP = hub.waitForEvents(job_id, (ev) => ev.some((e) => e.event === "job_finished"), 5000);
    const finishedP = hub.waitForJobStatus(job_id, "finished", 5000);
    const disconnectP = hub.waitForDisconnect(agent.name, 5000);

    await agent.sync("waiting-for-jobs");
    const job = (await agent.getJob(job_id)).json!;
    await agent.sync("running-job", job_id);
    expect((await runningP).status).toBe("running");
    await agent.pushLogs(job.logger.url, job.logger.token, 0, sampleEvents([{ directive: "true" }]));
    expect((await eventsP).at(-1)).toMatchObject({ event: "job_finished", result: "passed" });
    await agent.sync("finished-job", job_id, "passed");
    expect(await finishedP).toMatchObject({ status: "finished", result: "passed" });
    await agent.disconnect();
    expect((await disconnectP).disconnected).toBe(true);
    expect(seen).toEqual(["waiting-for-jobs->run-job", "running-job->continue", "finished-job->wait-for-jobs"]);
    expect(hub.violations()).toEqual([]);
  });

  it("waitFor rejects on timeout with a useful message, and when the hub closes", async () => {
    const { job_id } = hub.scheduleJob({});
    await expect(hub.waitForJobStatus(job_id, "finished", 100)).rejects.toThrow(`job ${job_id} to be finished (now queued)`);
    const pending = hub.waitForViolation(/never/, 5000);
    await hub.close();
    await expect(pending).rejects.toThrow(/hub closed/);
  });

  it("waitForViolation resolves on a matching violation", async () => {
    const p = hub.waitForViolation("User-Agent", 2000);
    await rawRequest("POST", `${hub.url}/api/v1/self_hosted_agents/sync`);
    expect((await p).message).toMatch(/User-Agent must match/);
  });
});

describe("a correct agent session", () => {
  it("leaves no violations across jobs, a refresh, a lost response, a stop and a shutdown", async () => {
    const agent = new FakeAgent(hub);
    await agent.register({ idle_timeout: 0, interruption_grace_period: 10 });
    expect((await agent.sync("waiting-for-jobs")).json?.action).toBe("continue");

    // Job 1: passes; the first log push hits an expired token and the agent refreshes.
    const j1 = hub.scheduleJob(makeJobRequest({ commands: ["echo one"] })).job_id;
    expect((await agent.sync("waiting-for-jobs")).json?.action).toBe("run-job");
    const req1 = (await agent.getJob(j1)).json!;
    await agent.sync("starting-job", j1);
    await agent.sync("running-job", j1);
    const ev1 = sampleEvents([{ directive: "echo one", output: "one\n" }]);
    hub.expireLogToken(j1);
    expect((await agent.pushLogs(req1.logger.url, req1.logger.token, 0, ev1.slice(0, 3))).status).toBe(401);
    const t1 = (await agent.refresh()).json!.token;
    expect((await agent.pushLogs(req1.logger.url, t1, 0, ev1.slice(0, 3))).status).toBe(200);
    hub.injectFault({ target: "logs", mode: "drop-after-store" });
    await expect(agent.pushLogs(req1.logger.url, t1, 3, ev1.slice(3))).rejects.toThrow();
    expect((await agent.pushLogs(req1.logger.url, t1, 3, ev1.slice(3))).status).toBe(200);
    expect((await agent.sync("finished-job", j1, "passed")).json?.action).toBe("wait-for-jobs");
    expect((await agent.sync("waiting-for-jobs")).json?.action).toBe("continue");

    // Job 2: stopped from the harness.
    const j2 = hub.scheduleJob(makeJobRequest({ commands: ["sleep 60"] })).job_id;
    hub.injectFault({ target: "sync", mode: "500" });
    expect((await agent.sync("waiting-for-jobs")).status).toBe(500);
    expect((await agent.sync("waiting-for-jobs")).json).toMatchObject({ action: "run-job", job_id: j2 });
    const req2 = (await agent.getJob(j2)).json!;
    await agent.sync("running-job", j2);
    hub.stopJob(j2);
    expect((await agent.sync("running-job", j2)).json?.action).toBe("stop-job");
    await agent.sync("stopping-job", j2);
    const ev2 = sampleEvents([{ directive: "sleep 60", exit: 1 }], "stopped");
    expect((await agent.pushLogs(req2.logger.url, req2.logger.token, 0, ev2)).status).toBe(200);
    expect((await agent.sync("finished-job", j2, "stopped")).json?.action).toBe("wait-for-jobs");
    await agent.sync("waiting-for-jobs");

    // Interrupted while idle: shutdown/interrupted, disconnect.
    const at = Math.floor(Date.now() / 1000);
    expect((await agent.sync("waiting-for-jobs", "", "", at)).json?.shutdown_reason).toBe("interrupted");
    expect((await agent.disconnect()).status).toBe(200);

    expect(hub.violations()).toEqual([]);
    expect(hub.job(j1)).toMatchObject({ status: "finished", result: "passed", event_count: ev1.length, refresh_count: 1 });
    expect(hub.job(j2)).toMatchObject({ status: "finished", result: "stopped", event_count: ev2.length });
    expect(hub.agent(agent.name)).toMatchObject({ disconnected: true, shutdown_reason: "interrupted", jobs: [j1, j2] });
  });
});
