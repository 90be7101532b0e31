// Hub: fault injection (every mode), garbage input, body caps and close() with hung sockets.
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHub, type FaultMode, type FaultTarget, type Hub } from "../../hub/hub.js";
import { FakeAgent, rawRequest, sampleEvents } from "../../hub/fake-agent.js";

let hub: Hub;
beforeEach(async () => {
  hub = await startHub({ nextSyncAfter: 0 });
});
afterEach(async () => {
  await hub.close();
});

/** Sends raw bytes on a fresh TCP connection and returns whatever comes back before close. */
function rawSocket(port: number, payload: string | Buffer, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, timeoutMs);
    socket.on("data", (d) => (data += d.toString()));
    socket.on("error", (e) => {
      clearTimeout(timer);
      if (data) resolve(data);
      else reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.write(payload);
  });
}

async function registered(): Promise<FakeAgent> {
  const agent = new FakeAgent(hub);
  expect((await agent.register()).status).toBe(200);
  return agent;
}

describe("hub fault injection", () => {
  const targets: FaultTarget[] = ["register", "sync", "job", "refresh", "disconnect", "logs"];

  /** Issues one request to `target` and returns the promise of its response. */
  async function hit(target: FaultTarget, agent: FakeAgent, ctx: { jobId: string; url: string; token: string }, timeoutMs = 2000) {
    switch (target) {
      case "register":
        return agent.register({}, { timeoutMs });
      case "sync":
        return agent.sync("starting-job", ctx.jobId, "", 0, { timeoutMs });
      case "job":
        return agent.getJob(ctx.jobId, { timeoutMs });
      case "refresh":
        return agent.refresh({ timeoutMs });
      case "disconnect":
        return agent.disconnect({ timeoutMs });
      case "logs":
        return agent.pushLogs(ctx.url, ctx.token, 0, sampleEvents([]).slice(0, 1), { timeoutMs });
    }
  }

  async function withJob() {
    const agent = await registered();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    const req = hub.jobRequest(job_id)!;
    return { agent, ctx: { jobId: job_id, url: req.logger!.url!, token: req.logger!.token! } };
  }

  for (const target of targets) {
    it(`${target}: 500, 401 and garbage are answered and consumed one per request`, async () => {
      const { agent, ctx } = await withJob();
      hub.injectFault({ target, mode: "500" });
      hub.injectFault({ target, mode: "401" });
      hub.injectFault({ target, mode: "garbage" });
      expect(hub.faults()).toHaveLength(3);
      expect((await hit(target, agent, ctx)).status).toBe(500);
      expect((await hit(target, agent, ctx)).status).toBe(401);
      const garbage = await hit(target, agent, ctx);
      expect(garbage.status).toBe(200);
      expect(garbage.json).toBeUndefined();
      expect(() => JSON.parse(garbage.text)).toThrow();
      expect(hub.faults()).toEqual([]);
      const faulted = hub.requests().filter((r) => r.fault !== undefined);
      expect(faulted.map((r) => [r.fault, r.status])).toEqual([
        ["500", 500],
        ["401", 401],
        ["garbage", 200],
      ]);
      // Faulted requests are still attributed to the agent in the request log.
      if (target !== "register") expect(faulted.every((r) => r.agent === agent.name)).toBe(true);
      // Faults short-circuit the handler: no violations and no state change.
      expect(hub.violations()).toEqual([]);
    });

    it(`${target}: drop destroys the connection; hang never answers`, async () => {
      const { agent, ctx } = await withJob();
      hub.injectFault({ target, mode: "drop" });
      await expect(hit(target, agent, ctx)).rejects.toThrow();
      hub.injectFault({ target, mode: "hang" });
      await expect(hit(target, agent, ctx, 300)).rejects.toThrow(/timeout/i);
      const [dropped, hung] = hub.requests().filter((r) => r.fault !== undefined);
      expect(dropped).toMatchObject({ fault: "drop", status: null });
      expect(hung).toMatchObject({ fault: "hang", status: null });
    });
  }

  it("count applies a fault to several requests", async () => {
    const agent = await registered();
    hub.injectFault({ target: "sync", mode: "500", count: 2 });
    expect((await agent.sync("waiting-for-jobs")).status).toBe(500);
    expect(hub.faults()).toEqual([{ target: "sync", mode: "500", count: 1 }]);
    expect((await agent.sync("waiting-for-jobs")).status).toBe(500);
    expect((await agent.sync("waiting-for-jobs")).status).toBe(200);
  });

  it("drop-after-store on register registers the agent but loses the answer", async () => {
    hub.injectFault({ target: "register", mode: "drop-after-store" });
    await expect(new FakeAgent(hub).register()).rejects.toThrow();
    expect(hub.agents()).toHaveLength(1);
  });

  it("faults are managed over HTTP: POST validates, GET lists, DELETE clears", async () => {
    const post = (body: unknown) => rawRequest("POST", `${hub.url}/private/faults`, { body: JSON.stringify(body) });
    expect((await post({ target: "sync", mode: "hang", count: 3 })).status).toBe(201);
    expect((await post({ target: "nope", mode: "500" })).status).toBe(400);
    expect((await post({ target: "sync", mode: "explode" })).status).toBe(400);
    expect((await post({ target: "sync", mode: "500", count: 0 })).status).toBe(400);
    expect((await rawRequest("GET", `${hub.url}/private/faults`)).json).toEqual([{ target: "sync", mode: "hang", count: 3 }]);
    expect((await rawRequest("DELETE", `${hub.url}/private/faults`)).status).toBe(200);
    expect(hub.faults()).toEqual([]);
    const modes: FaultMode[] = ["500", "401", "hang", "drop", "drop-after-store", "garbage"];
    for (const mode of modes) hub.injectFault({ target: "logs", mode });
    hub.clearFaults();
    expect(hub.faults()).toEqual([]);
  });

  it("close() resolves promptly with hung requests and idle keep-alive sockets open", async () => {
    const agent = await registered();
    hub.injectFault({ target: "sync", mode: "hang", count: 3 });
    const settle = (p: Promise<unknown>) => p.then(
      () => null,
      (e: unknown) => e,
    );
    const pending = [1, 2].map(() => settle(agent.sync("waiting-for-jobs", "", "", 0, { timeoutMs: 60_000 })));
    await hub.waitFor(() => hub.requests().filter((r) => r.fault === "hang").length === 2, 5000, "two hung requests");
    // close() must not wait for the hung requests (the test's timeout bounds it).
    await hub.close();
    for (const p of pending) expect(await p).toBeInstanceOf(Error);
    await hub.close(); // idempotent
  });
});

describe("hub garbage input", () => {
  it("answers protocol garbage on the socket with 400 and keeps serving", async () => {
    const reply = await rawSocket(hub.port, "THIS IS NOT HTTP\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const binary = await rawSocket(hub.port, Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]));
    expect(binary).toMatch(/^HTTP\/1\.1 400/);
    expect((await rawRequest("GET", `${hub.url}/is_alive`)).text).toBe("yes");
  });

  it("answers unknown paths 404, wrong methods 405 (with Allow) and bad encodings 400, with JSON errors", async () => {
    const agent = await registered();
    const unknown = await rawRequest("GET", `${hub.url}/definitely/not/here`);
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: "no such endpoint: GET /definitely/not/here" });
    expect(hub.violations()).toEqual([]); // not an agent path

    const agentUnknown = await rawRequest("POST", `${agent.base}/nonsense`, { headers: { "user-agent": agent.userAgent } });
    expect(agentUnknown.status).toBe(404);
    expect(hub.violations()).toHaveLength(1);

    const wrongMethod = await rawRequest("GET", `${agent.base}/sync`, { headers: { "user-agent": agent.userAgent } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers["allow"]).toBe("POST");
    expect((wrongMethod.json as { error: string }).error).toMatch(/method not allowed/);
    expect(hub.violations()).toHaveLength(2);

    const harnessWrong = await rawRequest("PUT", `${hub.url}/private/jobs`);
    expect(harnessWrong.status).toBe(405);
    expect(harnessWrong.headers["allow"]).toBe("GET, POST");

    const badEncoding = await rawRequest("GET", `${agent.base}/jobs/%E0%A4%A`, { headers: { "user-agent": agent.userAgent } });
    expect(badEncoding.status).toBe(400);
  });

  it("answers malformed harness JSON with 400 and oversized bodies with 413", async () => {
    const bad = await rawRequest("POST", `${hub.url}/private/jobs`, { body: "{oops" });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toMatch(/malformed JSON/);
    expect((await rawRequest("POST", `${hub.url}/private/jobs`, { body: "[1]" })).status).toBe(400);
    expect((await rawRequest("POST", `${hub.url}/private/jobs`, { body: `{"commands": "echo"}` })).status).toBe(400);
    expect((await rawRequest("POST", `${hub.url}/private/jobs`, { body: `{"job_id": 5}` })).status).toBe(400);
    expect((await rawRequest("POST", `${hub.url}/private/shutdown`, { body: `{"agent": 5}` })).status).toBe(400);
    const huge = await rawRequest("POST", `${hub.url}/private/jobs`, { body: Buffer.alloc(2 * 1024 * 1024, 0x20) }).catch(
      (e: Error) => e,
    );
    if (!(huge instanceof Error)) expect(huge.status).toBe(413);
    expect((await rawRequest("GET", `${hub.url}/is_alive`)).text).toBe("yes");
  });

  it("survives random bytes on every agent endpoint", async () => {
    const agent = await registered();
    const { job_id } = hub.scheduleJob({});
    await agent.sync("waiting-for-jobs");
    const token = hub.logToken(job_id);
    const paths = ["register", "sync", "refresh", "disconnect"].map((p) => `${agent.base}/${p}`);
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 40; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)));
      for (const url of paths) {
        const res = await rawRequest("POST", url, {
          headers: { "user-agent": agent.userAgent, authorization: url.endsWith("register") ? `Token ${hub.registrationToken}` : `Token ${agent.accessToken}` },
          body: bytes,
        });
        expect(res.status).toBeLessThan(500);
      }
      const log = await agent.pushLogs(hub.logUrl(job_id), token, Math.floor(rnd() * 3), [], { body: bytes });
      expect(log.status).toBeLessThan(500);
      expect(log.status).not.toBe(200);
    }
    expect((await rawRequest("GET", `${hub.url}/is_alive`)).text).toBe("yes");
  });
});
