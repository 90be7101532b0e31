// Hub: the log service (spec §7.1, §7.2): start_from, dedupe, gaps, 422 limits, Bearer tokens and
// /refresh, line validation and event-order rules, over real HTTP.
import { afterEach, describe, expect, it } from "vitest";
import { startHub, type Hub, type HubOptions } from "../../hub/hub.js";
import { FakeAgent, rawRequest, sampleEvents } from "../../hub/fake-agent.js";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import { JobLog } from "../../hub/logs.js";

let hub: Hub;
afterEach(async () => {
  await hub?.close();
});

const ts = Math.floor(Date.now() / 1000);

/** Registers an agent, gives it a job and fetches it; returns what a push needs. */
async function setup(options: HubOptions = {}, job: Record<string, unknown> = {}) {
  hub = await startHub({ nextSyncAfter: 0, ...options });
  const agent = new FakeAgent(hub);
  await agent.register();
  const { job_id } = hub.scheduleJob(job);
  expect((await agent.sync("waiting-for-jobs")).json?.action).toBe("run-job");
  const req = await agent.getJob(job_id);
  expect(req.status).toBe(200);
  return { agent, jobId: job_id, url: req.json!.logger.url, token: req.json!.logger.token };
}

const output = (n: number, text = "x"): JobLogEvent[] =>
  Array.from({ length: n }, (_, i) => ({ event: "cmd_output", timestamp: ts, output: `${text}${i}\n` }));
const head: JobLogEvent[] = [
  { event: "job_started", timestamp: ts },
  { event: "cmd_started", timestamp: ts, directive: "echo" },
];

describe("hub log ingest: start_from", () => {
  it("appends batches when start_from equals the stored count", async () => {
    const { agent, jobId, url, token } = await setup();
    expect(url).toBe(hub.logUrl(jobId));
    expect((await agent.pushLogs(url, token, 0, head)).status).toBe(200);
    const second = await agent.pushLogs(url, token, 2, output(3));
    expect(second.status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(5);
    expect(hub.events(jobId).map((e) => e.event)).toEqual(["job_started", "cmd_started", "cmd_output", "cmd_output", "cmd_output"]);
    const lines = [...head, ...output(3)].map((e) => JSON.stringify(e));
    expect(hub.logLines(jobId)).toEqual(lines);
    expect(hub.job(jobId)?.bytes).toBe(lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
    expect(hub.violations()).toEqual([]);
  });

  it("dedupes a re-sent batch and an overlapping batch without a violation", async () => {
    const { agent, jobId, url, token } = await setup();
    const batch = [...head, ...output(2)];
    expect((await agent.pushLogs(url, token, 0, batch)).status).toBe(200);
    expect((await agent.pushLogs(url, token, 0, batch)).status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(4);
    const more = [...output(2), ...output(2, "y")];
    expect((await agent.pushLogs(url, token, 2, more)).status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(6);
    expect(hub.violations()).toEqual([]);
  });

  it("answers 409 + violation for a gap and for a re-sent batch with different content", async () => {
    const { agent, jobId, url, token } = await setup();
    expect((await agent.pushLogs(url, token, 0, head)).status).toBe(200);
    const gap = await agent.pushLogs(url, token, 5, output(1));
    expect(gap.status).toBe(409);
    const changed = await agent.pushLogs(url, token, 1, [{ event: "cmd_started", timestamp: ts, directive: "other" }]);
    expect(changed.status).toBe(409);
    expect(hub.job(jobId)?.event_count).toBe(2);
    expect(hub.violations().map((v) => v.message)).toEqual([
      expect.stringMatching(/start_from=5 but only 2 events are stored/),
      expect.stringMatching(/re-sent line 1 differs/),
    ]);
  });

  it("a fault drop-after-store stores the batch; the agent's re-send is deduped", async () => {
    const { agent, jobId, url, token } = await setup();
    hub.injectFault({ target: "logs", mode: "drop-after-store" });
    await expect(agent.pushLogs(url, token, 0, head)).rejects.toThrow();
    expect(hub.job(jobId)?.event_count).toBe(2);
    expect((await agent.pushLogs(url, token, 0, [...head, ...output(1)])).status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(3);
    expect(hub.violations()).toEqual([]);
  });
});

describe("hub log ingest: limits (422)", () => {
  it("stores up to logMaxEvents, answers 422, marks trimmed; a push after 422 is a violation", async () => {
    const { agent, jobId, url, token } = await setup({ logMaxEvents: 5 });
    expect((await agent.pushLogs(url, token, 0, [...head, output(1)[0]!])).status).toBe(200);
    const over = await agent.pushLogs(url, token, 3, output(4));
    expect(over.status).toBe(422);
    expect(hub.job(jobId)).toMatchObject({ event_count: 5, trimmed: true });
    expect(hub.violations()).toEqual([]);
    expect((await agent.pushLogs(url, token, 5, output(1))).status).toBe(422);
    expect(hub.violations()).toHaveLength(1);
    expect(hub.violations()[0]?.message).toMatch(/after the hub answered 422/);
  });

  it("a push that exactly fills the limit is 200; the next one is 422 without a violation", async () => {
    const { agent, jobId, url, token } = await setup({ logMaxEvents: 2 });
    expect((await agent.pushLogs(url, token, 0, head)).status).toBe(200);
    expect((await agent.pushLogs(url, token, 2, output(1))).status).toBe(422);
    expect(hub.job(jobId)).toMatchObject({ event_count: 2, trimmed: true });
    expect(hub.violations()).toEqual([]);
  });

  it("enforces logMaxBytes", async () => {
    const lines = [...head, ...output(3)].map((e) => JSON.stringify(e));
    const firstThree = lines.slice(0, 3).reduce((n, l) => n + l.length + 1, 0);
    const { agent, jobId, url, token } = await setup({ logMaxBytes: firstThree + 5 });
    expect((await agent.pushLogs(url, token, 0, lines)).status).toBe(422);
    expect(hub.job(jobId)).toMatchObject({ event_count: 3, bytes: firstThree, trimmed: true });
  });
});

describe("hub log ingest: tokens", () => {
  it("after /refresh the old token gets 401 without a violation and the new one works", async () => {
    const { agent, jobId, url, token } = await setup();
    expect((await agent.pushLogs(url, token, 0, head)).status).toBe(200);
    const refreshed = await agent.refresh();
    expect(refreshed.status).toBe(200);
    const fresh = refreshed.json!.token;
    expect(fresh).not.toBe(token);
    const old = await agent.pushLogs(url, token, 2, output(1));
    expect(old.status).toBe(401);
    expect(hub.violations()).toEqual([]);
    expect((await agent.pushLogs(url, fresh, 2, output(1))).status).toBe(200);
    expect(hub.job(jobId)).toMatchObject({ event_count: 3, refresh_count: 1 });
    expect(hub.requests().find((r) => r.status === 401)?.note).toBe("expired log token");
  });

  it("expireLogToken() and the Go mock's `expired-token` force a refresh", async () => {
    const { agent, jobId, url, token } = await setup();
    hub.expireLogToken(jobId);
    expect((await agent.pushLogs(url, token, 0, head)).status).toBe(401);
    const t2 = (await agent.refresh()).json!.token;
    expect((await agent.pushLogs(url, t2, 0, head)).status).toBe(200);

    await hub.close();
    const s = await setup({}, { logger: { method: "push", token: "expired-token" } });
    expect(s.token).toBe("expired-token");
    expect((await s.agent.pushLogs(s.url, s.token, 0, head)).status).toBe(401);
    const t3 = (await s.agent.refresh()).json!.token;
    expect((await s.agent.pushLogs(s.url, t3, 0, head)).status).toBe(200);
    expect(hub.violations()).toEqual([]);
  });

  it("answers 401 + violation for a missing header, the Token scheme, or a foreign token", async () => {
    const { agent, url, token } = await setup();
    const noAuth = await rawRequest("POST", `${url}?start_from=0`, {
      headers: { "user-agent": agent.userAgent, "content-type": "text/plain" },
      body: `${JSON.stringify(head[0])}\n`,
    });
    expect(noAuth.status).toBe(401);
    expect((await agent.pushLogs(url, token, 0, head, { headers: { authorization: `Token ${token}` } })).status).toBe(401);
    expect((await agent.pushLogs(url, "made-up", 0, head)).status).toBe(401);
    expect(hub.violations().map((v) => v.message)).toEqual([
      expect.stringMatching(/without Authorization/),
      expect.stringMatching(/must be "Bearer"/),
      expect.stringMatching(/never issued for this job/),
    ]);
  });

  it("/refresh without a current job is 409 + violation", async () => {
    hub = await startHub({ nextSyncAfter: 0 });
    const agent = new FakeAgent(hub);
    await agent.register();
    expect((await agent.refresh()).status).toBe(409);
    expect(hub.violations()[0]?.message).toMatch(/without a current job/);
  });
});

describe("hub log ingest: body and event validation", () => {
  it("rejects malformed bodies with 400 + violation and stores nothing", async () => {
    const { agent, jobId, url, token } = await setup();
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify(head[0]), /must end with a newline/],
      [`${JSON.stringify(head[0])}\n\n`, /blank line at index 1/],
      [`${JSON.stringify(head[0])}\nnot json\n`, /line 1 is not valid JSON/],
      [`${JSON.stringify({ ...head[0], extra: 1 })}\n`, /unexpected key "extra"/],
      [`${JSON.stringify({ event: "job_started", timestamp: 1.5 })}\n`, /timestamp must be a non-negative integer/],
      [`${JSON.stringify({ event: "job_started", timestamp: "1" })}\n`, /timestamp must be a non-negative integer/],
      [`${JSON.stringify({ event: "cmd_started", timestamp: ts })}\n`, /missing key\(s\) "directive"/],
      [`${JSON.stringify({ event: "cmd_finished", timestamp: ts, directive: "x", exit_code: "0", started_at: ts, finished_at: ts })}\n`, /exit_code must be an integer/],
      [`${JSON.stringify({ event: "job_finished", timestamp: ts, result: "ok" })}\n`, /result must be passed\|failed\|stopped/],
      [`${JSON.stringify({ event: "bogus", timestamp: ts })}\n`, /unknown event type "bogus"/],
      [`[1]\n`, /must be a JSON object/],
      ["", /empty log push body/],
    ];
    for (const [body, message] of cases) {
      const res = await agent.pushLogs(url, token, 0, [], { body });
      expect(res.status, body).toBe(400);
      expect((res.json as { error: string }).error).toMatch(message);
    }
    const invalidUtf8 = await agent.pushLogs(url, token, 0, [], { body: Buffer.from([0x7b, 0xff, 0x7d, 0x0a]) });
    expect(invalidUtf8.status).toBe(400);
    expect(hub.violations()).toHaveLength(cases.length + 1);
    expect(hub.job(jobId)?.event_count).toBe(0);
  });

  it("answers 400 + violation without a valid start_from", async () => {
    const { agent, url, token } = await setup();
    const body = `${JSON.stringify(head[0])}\n`;
    const headers = { authorization: `Bearer ${token}`, "content-type": "text/plain", "user-agent": agent.userAgent };
    expect((await rawRequest("POST", url, { headers, body })).status).toBe(400);
    expect((await rawRequest("POST", `${url}?start_from=-1`, { headers, body })).status).toBe(400);
    expect((await rawRequest("POST", `${url}?start_from=abc`, { headers, body })).status).toBe(400);
    expect(hub.violations()).toHaveLength(3);
  });

  it("records a violation for a wrong Content-Type but stores the events", async () => {
    const { agent, jobId, url, token } = await setup();
    const res = await agent.pushLogs(url, token, 0, head, { headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(2);
    expect(hub.violations()[0]?.message).toMatch(/Content-Type must be text\/plain/);
  });

  it("accepts text/plain with parameters", async () => {
    const { agent, url, token } = await setup();
    await agent.pushLogs(url, token, 0, head, { headers: { "content-type": "text/plain; charset=utf-8" } });
    expect(hub.violations()).toEqual([]);
  });

  it("flags more than 2000 lines in one request", async () => {
    const { agent, jobId, url, token } = await setup();
    expect((await agent.pushLogs(url, token, 0, [...head, ...output(1999)])).status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(2001);
    expect(hub.violations()).toHaveLength(1);
    expect(hub.violations()[0]?.message).toMatch(/2001 lines; at most 2000/);
  });

  it("records event-order violations but stores the events", async () => {
    const { agent, jobId, url, token } = await setup();
    const events: JobLogEvent[] = [
      { event: "cmd_output", timestamp: ts, output: "early" },
      { event: "job_started", timestamp: ts },
      { event: "cmd_started", timestamp: ts, directive: "a" },
      { event: "cmd_started", timestamp: ts, directive: "b" },
      { event: "cmd_finished", timestamp: ts, directive: "a", exit_code: 0, started_at: ts + 1, finished_at: ts },
      { event: "cmd_output", timestamp: ts, output: "orphan" },
      { event: "cmd_started", timestamp: ts, directive: "c" },
      { event: "job_finished", timestamp: ts * 1000, result: "passed" },
      { event: "job_finished", timestamp: ts, result: "passed" },
      { event: "cmd_output", timestamp: ts, output: "late" },
    ];
    expect((await agent.pushLogs(url, token, 0, events)).status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(events.length);
    const messages = hub.violations().map((v) => v.message);
    expect(messages).toEqual([
      expect.stringMatching(/event 0 \(cmd_output\): job_started must be the first event; cmd_output outside/),
      expect.stringMatching(/event 3 \(cmd_started\): cmd_started while "a" has not finished/),
      expect.stringMatching(/event 4 \(cmd_finished\): cmd_finished directive "a" differs .* "b"; started_at .* after finished_at/),
      expect.stringMatching(/event 5 \(cmd_output\): cmd_output outside/),
      expect.stringMatching(/event 7 \(job_finished\): timestamp .* not milliseconds.*; job_finished while "c" has not finished/),
      expect.stringMatching(/event 8 \(job_finished\): job_finished logged twice/),
      expect.stringMatching(/event 9 \(cmd_output\): comes after job_finished/),
    ]);
  });

  it("flags finished-job before job_finished was pushed, and a result that differs from the log", async () => {
    const { agent, jobId, url, token } = await setup();
    await agent.pushLogs(url, token, 0, head);
    await agent.sync("running-job", jobId);
    await agent.sync("finished-job", jobId, "passed");
    expect(hub.violations()[0]?.message).toMatch(/before the job_finished event was pushed/);

    const second = hub.scheduleJob({}).job_id;
    await agent.sync("waiting-for-jobs");
    const r2 = (await agent.sync("waiting-for-jobs")).json;
    expect(r2?.job_id).toBe(second);
    const j2 = (await agent.getJob(second)).json!;
    await agent.pushLogs(j2.logger.url, j2.logger.token, 0, sampleEvents([], "failed"));
    await agent.sync("finished-job", second, "passed");
    expect(hub.violations()[1]?.message).toMatch(/differs from the logged job_finished result "failed"/);
  });

  it("flags a log push after finished-job", async () => {
    const { agent, jobId, url, token } = await setup();
    const events = sampleEvents([{ directive: "true" }]);
    await agent.pushLogs(url, token, 0, events);
    await agent.sync("finished-job", jobId, "passed");
    expect(hub.violations()).toEqual([]);
    await agent.pushLogs(url, token, events.length, output(1));
    expect(hub.violations().map((v) => v.message)).toEqual([
      expect.stringMatching(/after the job was reported finished-job/),
      expect.stringMatching(/comes after job_finished/),
    ]);
  });

  it("answers 404 + violation for an unknown job and 413 for an oversized body", async () => {
    const { agent, url, token } = await setup({ maxLogBodyBytes: 1000 });
    expect((await agent.pushLogs(`${hub.url}/api/v1/logs/nope`, token, 0, head)).status).toBe(404);
    const big = await agent.pushLogs(url, token, 0, output(100));
    expect(big.status).toBe(413);
    expect(hub.violations()).toHaveLength(2);
  });

  it("serves a large multi-batch log intact (lines up to 256 KiB)", async () => {
    const { agent, jobId, url, token } = await setup();
    const bigText = "é".repeat(128 * 1024) + "\n";
    const batch: JobLogEvent[] = [...head, { event: "cmd_output", timestamp: ts, output: bigText }, ...output(500)];
    expect((await agent.pushLogs(url, token, 0, batch)).status).toBe(200);
    expect((await agent.pushLogs(url, token, batch.length, output(2000, "z"))).status).toBe(200);
    expect(hub.job(jobId)?.event_count).toBe(batch.length + 2000);
    const events = hub.events(jobId);
    expect(events[2]).toEqual({ event: "cmd_output", timestamp: ts, output: bigText });
    const logs = await rawRequest("GET", `${hub.url}/private/jobs/${jobId}/logs`);
    expect(logs.text.split("\n")).toHaveLength(batch.length + 2000);
    expect(hub.violations()).toEqual([]);
  });
});

describe("JobLog (in-process)", () => {
  it("ingests ~20 MB of small lines in 2000-line batches, counting every event", () => {
    const log = new JobLog();
    const line = JSON.stringify({ event: "cmd_output", timestamp: ts, output: "x".repeat(60) + "\n" });
    const first = Buffer.from(head.map((e) => JSON.stringify(e) + "\n").join(""));
    expect(log.ingest(first, 0, {}).status).toBe(200);
    const batch = Buffer.from(`${line}\n`.repeat(2000));
    let bytes = 0;
    for (let i = 0; bytes < 20e6; i++) {
      const r = log.ingest(batch, 2 + i * 2000, {});
      expect(r.status).toBe(200);
      bytes += batch.length;
    }
    // Speed is measured by `npm run bench`, never asserted here.
    expect(log.eventCount).toBe(2 + (bytes / batch.length) * 2000);
  });
});
