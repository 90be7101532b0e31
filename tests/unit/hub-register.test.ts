// Hub: registration, access-token auth and disconnect (spec §1.3, §2, §3.8) over real HTTP.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_REGISTRATION_TOKEN, startHub, type Hub } from "../../hub/hub.js";
import { FakeAgent, rawRequest } from "../../hub/fake-agent.js";

let hub: Hub;
beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 0 });
});
afterEach(async () => {
  await hub.close();
});

const registerUrl = () => `${hub.url}/api/v1/self_hosted_agents/register`;

describe("hub /register", () => {
  it("listens on 127.0.0.1 and exposes endpoint/url", () => {
    expect(hub.url).toBe(`http://127.0.0.1:${hub.port}`);
    expect(hub.endpoint).toBe(`127.0.0.1:${hub.port}`);
    expect(hub.registrationToken).toBe(DEFAULT_REGISTRATION_TOKEN);
  });

  it("registers with Token auth and answers {name, token}", async () => {
    const agent = new FakeAgent(hub);
    const res = await agent.register({ name: "my-agent-name-1", single_job: true, idle_timeout: 30, job_id: "j-1" });
    expect(res.status).toBe(200);
    expect(res.json?.name).toBe("my-agent-name-1");
    expect(typeof res.json?.token).toBe("string");
    expect(res.json?.token.length).toBeGreaterThan(16);
    const [view] = hub.agents();
    expect(view?.name).toBe("my-agent-name-1");
    expect(view?.register).toMatchObject({ single_job: true, idle_timeout: 30, job_id: "j-1", pid: process.pid, arch: "x86_64" });
    expect(view?.state).toBeNull();
    expect(hub.violations()).toEqual([]);
  });

  it("generates a name when the requested name is a URL", async () => {
    const agent = new FakeAgent(hub);
    const res = await agent.register({ name: "https://example.test/agents/name" });
    expect(res.status).toBe(200);
    expect(res.json?.name).not.toBe("https://example.test/agents/name");
    expect(res.json?.name).toMatch(/^hub-agent-[A-Za-z0-9_-]+$/);
    expect(hub.agents()[0]?.requested_name).toBe("https://example.test/agents/name");
    expect(hub.violations()).toEqual([]);
  });

  it("answers 401 + violation for the Bearer scheme", async () => {
    const res = await new FakeAgent(hub).register({}, { authorization: `Bearer ${hub.registrationToken}` });
    expect(res.status).toBe(401);
    expect(hub.violations()).toHaveLength(1);
    expect(hub.violations()[0]?.message).toMatch(/scheme must be "Token"/);
    expect(hub.agents()).toEqual([]);
  });

  it("answers 401 + violation without Authorization", async () => {
    const agent = new FakeAgent(hub);
    const res = await rawRequest("POST", registerUrl(), {
      headers: { "user-agent": agent.userAgent },
      body: JSON.stringify(agent.registerBody()),
    });
    expect(res.status).toBe(401);
    expect(hub.violations()).toHaveLength(1);
  });

  it("answers 401 without a violation for a wrong registration token, and records the request", async () => {
    const res = await new FakeAgent(hub).register({}, { authorization: "Token not-the-token" });
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ error: "wrong registration token" });
    expect(hub.violations()).toEqual([]);
    const [rec] = hub.requests();
    expect(rec).toMatchObject({ method: "POST", status: 401, note: "wrong registration token" });
    expect(JSON.stringify(hub.requests())).not.toContain("not-the-token");
  });

  it("accepts a custom registration token", async () => {
    const custom = await startHub({ registrationToken: "sekret-123" });
    try {
      expect((await new FakeAgent(custom).register()).status).toBe(200);
      expect((await new FakeAgent({ url: custom.url, registrationToken: DEFAULT_REGISTRATION_TOKEN }).register()).status).toBe(401);
    } finally {
      await custom.close();
    }
  });

  it("rejects a missing or foreign User-Agent with a violation", async () => {
    const agent = new FakeAgent(hub);
    const body = JSON.stringify(agent.registerBody());
    const auth = `Token ${hub.registrationToken}`;
    const missing = await rawRequest("POST", registerUrl(), { headers: { authorization: auth }, body });
    expect(missing.status).toBe(400);
    const foreign = await rawRequest("POST", registerUrl(), { headers: { authorization: auth, "user-agent": "curl/8.0" }, body });
    expect(foreign.status).toBe(400);
    expect(hub.violations().map((v) => v.message)).toEqual([
      expect.stringMatching(/User-Agent must match .* got none/),
      expect.stringMatching(/User-Agent must match .* got "curl\/8.0"/),
    ]);
    expect(hub.agents()).toEqual([]);
  });

  it("honours a custom userAgentPattern", async () => {
    const strict = await startHub({ userAgentPattern: /^SemaphoreAgent\/v2\.4\.0$/ });
    try {
      expect((await new FakeAgent(strict, "v2.4.0").register()).status).toBe(200);
      expect((await new FakeAgent(strict, "v1.0.0").register()).status).toBe(400);
    } finally {
      await strict.close();
    }
  });

  it("answers 422 + violation for missing, mistyped and unknown fields", async () => {
    const agent = new FakeAgent(hub);
    const full = agent.registerBody() as unknown as Record<string, unknown>;
    const { job_id: _omit, ...missing } = full;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [missing, /missing field "job_id"/],
      [{ ...full, pid: "123" }, /field "pid" must be an integer, got string/],
      [{ ...full, idle_timeout: 1.5 }, /field "idle_timeout" must be an integer/],
      [{ ...full, single_job: "false" }, /field "single_job" must be a boolean/],
      [{ ...full, extra: 1 }, /unknown field "extra"/],
      [{ ...full, name: "short" }, /name must be 8\.\.80 bytes/],
    ];
    for (const [body, message] of cases) {
      const res = await agent.register({}, { body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((res.json as unknown as { error: string }).error).toMatch(message);
    }
    expect(hub.violations()).toHaveLength(cases.length);
    expect(hub.agents()).toEqual([]);
  });

  it("answers 400 + violation for malformed JSON and non-object bodies", async () => {
    const agent = new FakeAgent(hub);
    expect((await agent.register({}, { body: "{not json" })).status).toBe(400);
    expect((await agent.register({}, { body: "" })).status).toBe(400);
    expect((await agent.register({}, { body: "[1,2]" })).status).toBe(422);
    expect((await agent.register({}, { body: "null" })).status).toBe(422);
    expect(hub.violations()).toHaveLength(4);
  });

  it("registers but records violations for semantic mistakes (arch, version, job_id without single_job)", async () => {
    const agent = new FakeAgent(hub);
    const res = await agent.register({ arch: "x64", version: "v0.0.1", job_id: "abc" });
    expect(res.status).toBe(200);
    const messages = hub.violations().map((v) => v.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/arch "x64" must be sent as "x86_64"/),
        expect.stringMatching(/version "v0.0.1" differs from the User-Agent version/),
        expect.stringMatching(/job_id is only allowed together with single_job/),
      ]),
    );
    expect(hub.violations().every((v) => v.agent === res.json?.name)).toBe(true);
  });
});

describe("hub access-token auth", () => {
  it("rejects syncs with an unknown token, the registration token, or the Bearer scheme", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    const good = agent.accessToken;
    agent.accessToken = "nope";
    expect((await agent.sync("waiting-for-jobs")).status).toBe(401);
    agent.accessToken = hub.registrationToken;
    expect((await agent.sync("waiting-for-jobs")).status).toBe(401);
    agent.accessToken = good;
    const bearer = await agent.sync("waiting-for-jobs", "", "", 0, { headers: { authorization: `Bearer ${good}` } });
    expect(bearer.status).toBe(401);
    const messages = hub.violations().map((v) => v.message);
    expect(messages).toEqual([
      expect.stringMatching(/unknown access token/),
      expect.stringMatching(/registration token was used/),
      expect.stringMatching(/scheme must be "Token"/),
    ]);
    expect((await agent.sync("waiting-for-jobs")).status).toBe(200);
  });

  it("accepts `Authorization: Token` with no token only as an (unknown) empty token", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    const res = await agent.sync("waiting-for-jobs", "", "", 0, { headers: { authorization: "Token" } });
    expect(res.status).toBe(401);
    expect(hub.violations()[0]?.message).toMatch(/unknown access token/);
  });

  it("disconnect marks the agent; later syncs are 401 + violation; a repeated disconnect is fine", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    expect((await agent.sync("waiting-for-jobs")).status).toBe(200);
    const d = await agent.disconnect();
    expect(d.status).toBe(200);
    const view = hub.agent(agent.name);
    expect(view?.disconnected).toBe(true);
    expect(view?.disconnected_at).not.toBeNull();
    expect(hub.violations()).toEqual([]);
    expect((await agent.disconnect()).status).toBe(200);
    expect(hub.violations()).toEqual([]);
    const s = await agent.sync("waiting-for-jobs");
    expect(s.status).toBe(401);
    expect(hub.violations()).toHaveLength(1);
    expect(hub.violations()[0]).toMatchObject({ agent: agent.name, message: expect.stringMatching(/already called \/disconnect/) });
  });

  it("flags a /disconnect with a body", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    const res = await rawRequest("POST", `${agent.base}/disconnect`, {
      headers: { authorization: `Token ${agent.accessToken}`, "user-agent": agent.userAgent },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(hub.violations()[0]?.message).toMatch(/empty body/);
  });

  it("never stores token values in requests or violations", async () => {
    const agent = new FakeAgent(hub);
    await agent.register();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    const job = await agent.getJob(job_id);
    await agent.pushLogs(job.json!.logger.url, "wrong-log-token", 0, ["{}"]);
    await agent.refresh();
    const dump = JSON.stringify({ r: hub.requests(), v: hub.violations(), a: hub.agents(), j: hub.jobs() });
    expect(dump).not.toContain(agent.accessToken);
    expect(dump).not.toContain(hub.registrationToken);
    expect(dump).not.toContain(job.json!.logger.token);
    expect(dump).not.toContain("wrong-log-token");
  });
});
