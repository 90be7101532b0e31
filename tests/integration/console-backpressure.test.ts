// A browser tab that stops reading must cost the console bounded memory and never slow the agent:
// the real Host (in this process, with the local demo hub and a job that floods its output) behind
// the real console server, with one tab that reads and one that does not. The stalled tab misses
// job output (and notices by `from`), everything else still reaches it, and readJobLog fills the gap.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startConsoleServer, type ConsoleServer } from "../../agent-core/console/server.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import type { HostEvent, JobLogEvent } from "../../agent-core/host/contract.js";
import { delay, FAST_TIMINGS, stopAll, tempDir } from "../helpers/processes.js";
import { DEFAULT_TIMINGS } from "../../agent-core/timings.js";

const FLOOD_BYTES = 48 * 1024 * 1024;
const HIGH_WATER = 512 * 1024;

type Message = { kind: "response"; id: number | null; ok: boolean; result?: unknown; error?: { message: string } } | { kind: "event"; event: HostEvent };

class Tab {
  readonly messages: Message[] = [];
  bytes = 0;
  private nextId = 1;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      this.bytes += data.length;
      this.messages.push(JSON.parse(data.toString("utf8")) as Message);
    });
  }

  static open(server: ConsoleServer): Promise<Tab> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, {
      headers: { Cookie: `sad_console_${server.port}=${server.token}`, Origin: `http://127.0.0.1:${server.port}` },
      perMessageDeflate: false,
    });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new Tab(ws)));
      ws.once("error", reject);
    });
  }

  async call(method: string, params: unknown = {}): Promise<Extract<Message, { kind: "response" }>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return await this.waitFor((m): m is Extract<Message, { kind: "response" }> => m.kind === "response" && m.id === id, 20_000);
  }

  async waitFor<T extends Message>(predicate: (m: Message) => m is T, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms; last: ${JSON.stringify(this.messages.slice(-3)).slice(0, 1000)}`);
      await delay(20);
    }
  }

  events(): HostEvent[] {
    return this.messages.flatMap((m) => (m.kind === "event" ? [m.event] : []));
  }
}

const isFinished = (jobId: string) => (m: Message): m is Extract<Message, { kind: "event" }> =>
  m.kind === "event" && m.event.type === "job-finished" && m.event.job.id === jobId;

let host: Host | null = null;
let server: ConsoleServer | null = null;

afterAll(async () => {
  await server?.close();
  await host?.close({ timeoutMs: 10_000 });
  await stopAll();
});

describe("web console back-pressure", () => {
  it("skips job output to a tab that does not read, keeps the agent at full speed, and the gap can be re-read", async () => {
    const examples = tempDir("sa-flood-examples-");
    mkdirSync(examples, { recursive: true });
    writeFileSync(
      join(examples, "flood.yaml"),
      `commands:\n  - yes 'the quick brown fox jumps over the lazy dog 0123456789 the quick brown fox jumps over the lazy dog' | head -c ${FLOOD_BYTES}\n  - echo flood-done\n`,
    );
    const home = tempDir("sa-flood-home-");
    host = await Host.open({
      dataDir: tempDir("sa-flood-data-"),
      secretCodec: plainFileCodec(),
      env: { ...process.env, HOME: home, TMPDIR: tempDir("sa-flood-tmp-") },
      timings: { ...DEFAULT_TIMINGS, ...FAST_TIMINGS },
      examplesDir: examples,
    });
    server = await startConsoleServer({
      host,
      port: 0,
      rendererDir: tempDir("sa-flood-renderer-"),
      limits: { outputHighWaterBytes: HIGH_WATER, outputLowWaterBytes: HIGH_WATER / 4 },
    });

    const reader = await Tab.open(server);
    const stalled = await Tab.open(server);
    expect((await reader.call("startDemo")).ok).toBe(true);
    await reader.waitFor(
      (m): m is Extract<Message, { kind: "event" }> => m.kind === "event" && m.event.type === "agent" && m.event.agent.phase === "waiting-for-jobs",
      20_000,
    );

    // The stalled tab stops reading its socket; the kernel's buffers fill, then the server's.
    stalled.ws.pause();
    const started = Date.now();
    const run = await reader.call("runExample", { exampleId: "flood" });
    expect(run.ok).toBe(true);
    const jobId = (run.result as { jobId: string }).jobId;
    await reader.waitFor(isFinished(jobId), 120_000);
    const floodMs = Date.now() - started;

    // The reading tab got every event, gap-free.
    const readerOutput = reader.events().filter((e): e is Extract<HostEvent, { type: "job-output" }> => e.type === "job-output" && e.jobId === jobId);
    let next = readerOutput[0]?.from ?? -1;
    expect(next).toBe(0);
    for (const batch of readerOutput) {
      expect(batch.from).toBe(next);
      next = batch.from + batch.events.length;
    }
    const total = next;

    // Now the stalled tab reads again: it gets the events that were sent, with gaps, and the job's end.
    stalled.ws.resume();
    await stalled.waitFor(isFinished(jobId), 30_000);
    const stalledOutput = stalled.events().filter((e): e is Extract<HostEvent, { type: "job-output" }> => e.type === "job-output" && e.jobId === jobId);
    const received = stalledOutput.reduce((n, batch) => n + batch.events.length, 0);
    expect(received).toBeLessThan(total);
    expect(stalled.bytes).toBeLessThan(FLOOD_BYTES / 2);
    const gap = stalledOutput.findIndex((batch, i) => i > 0 && batch.from !== (stalledOutput[i - 1] as typeof batch).from + (stalledOutput[i - 1] as typeof batch).events.length);
    const missingFrom = gap === -1 ? (stalledOutput.length > 0 ? (stalledOutput.at(-1)!.from + stalledOutput.at(-1)!.events.length) : 0) : stalledOutput[gap - 1]!.from + stalledOutput[gap - 1]!.events.length;
    expect(missingFrom).toBeLessThan(total);
    // Non-output events were never skipped.
    expect(stalled.events().some((e) => e.type === "job-started")).toBe(true);

    // What was skipped is in the history: readJobLog from where the gap starts.
    const page = await stalled.call("readJobLog", { jobId, from: missingFrom });
    expect(page.ok).toBe(true);
    const events = (page.result as { events: JobLogEvent[]; from: number }).events;
    expect(events.length).toBeGreaterThan(0);
    expect((page.result as { from: number }).from).toBe(missingFrom);

    // The agent was not held back by the stalled tab: the flood ran at the speed the reader allowed.
    expect(floodMs).toBeLessThan(90_000);
    expect(stalled.ws.readyState).toBe(WebSocket.OPEN);
  });
});
