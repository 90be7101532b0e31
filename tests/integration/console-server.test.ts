// The web console as a user starts it (`semaphore-agent console` in its own process, real Host,
// real sockets on 127.0.0.1): who gets in (token -> cookie, Host header, Origin), what it serves
// (the renderer's files with the security headers, nothing outside them), the WebSocket bridge
// (validated requests, errors that name the problem, events) and a clean stop on SIGTERM.
import { readdirSync, readFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startConsole, type ConsoleProcess } from "../helpers/console.js";
import { delay, runCli, stopAll, tempDir } from "../helpers/processes.js";

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
const INDEX_HTML = "<!doctype html><html><head><title>fixture</title></head><body><div id=root></div><script type=module src=/assets/app.js></script></body></html>\n";
const SECRET = "secret-outside-the-renderer-folder";

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A raw GET: the path goes out byte for byte (no URL normalisation), the Host header as given. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", agent: false, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

type ServerMessage = { kind: "response"; id: number | null; ok: boolean; result?: unknown; error?: { code: string; message: string } } | { kind: "event"; event: { type: string; [key: string]: unknown } };

class Client {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | null = null;
  private nextId = 1;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => this.messages.push(JSON.parse(String(data)) as ServerMessage));
    ws.on("close", (code, reason) => (this.closed = { code, reason: String(reason) }));
  }

  async waitFor<T extends ServerMessage>(predicate: (m: ServerMessage) => m is T, timeoutMs = 10_000, what = "a message"): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(-2000)}`);
      await delay(20);
    }
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  async call(method: string, params: unknown = {}, timeoutMs = 10_000): Promise<Extract<ServerMessage, { kind: "response" }>> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return await this.response(id, timeoutMs);
  }

  response(id: number | null, timeoutMs = 10_000): Promise<Extract<ServerMessage, { kind: "response" }>> {
    return this.waitFor((m): m is Extract<ServerMessage, { kind: "response" }> => m.kind === "response" && m.id === id, timeoutMs, `response ${id}`);
  }

  event(type: string, timeoutMs = 15_000, where: (e: Record<string, unknown>) => boolean = () => true) {
    return this.waitFor(
      (m): m is Extract<ServerMessage, { kind: "event" }> => m.kind === "event" && m.event.type === type && where(m.event),
      timeoutMs,
      `${type} event`,
    );
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === null) {
      if (Date.now() > deadline) throw new Error("the socket stayed open");
      await delay(20);
    }
    return this.closed;
  }
}

interface WsOptions {
  cookie?: string | null;
  origin?: string | null;
  host?: string;
  query?: string;
}

/** Opens the console's WebSocket; resolves with the client, or with the HTTP status the upgrade was refused with. */
function openWs(c: ConsoleProcess, options: WsOptions = {}): Promise<{ client: Client } | { status: number; body: string }> {
  const headers: Record<string, string> = {};
  const cookie = options.cookie === undefined ? `sad_console_${c.port}=${c.token}` : options.cookie;
  if (cookie !== null) headers.Cookie = cookie;
  const origin = options.origin === undefined ? c.origin : options.origin;
  if (origin !== null) headers.Origin = origin;
  if (options.host !== undefined) headers.Host = options.host;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${c.port}/ws${options.query ?? ""}`, { headers, perMessageDeflate: false });
    ws.once("open", () => resolve({ client: new Client(ws) }));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", reject);
  });
}

async function mustOpen(c: ConsoleProcess, options: WsOptions = {}): Promise<Client> {
  const result = await openWs(c, options);
  if (!("client" in result)) throw new Error(`WebSocket refused: HTTP ${result.status} ${result.body}`);
  return result.client;
}

/** The pids of `root`'s descendants, from /proc (Linux). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const result: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

afterAll(stopAll);

describe("web console: access and files", () => {
  let c: ConsoleProcess;

  beforeAll(async () => {
    // A renderer folder of our own, with a secret beside it (not in it) and a symlink pointing out.
    const fixture = tempDir("sa-console-fixture-");
    const renderer = join(fixture, "renderer");
    mkdirSync(join(renderer, "assets"), { recursive: true });
    writeFileSync(join(renderer, "index.html"), INDEX_HTML);
    writeFileSync(join(renderer, "assets", "app.js"), "console.log('fixture');\n");
    writeFileSync(join(renderer, "assets", "style.css"), "body{}\n");
    writeFileSync(join(fixture, "secret.txt"), SECRET);
    symlinkSync(join(fixture, "secret.txt"), join(renderer, "escape.txt"));
    c = await startConsole({ env: { SEMAPHORE_AGENT_DESKTOP_RENDERER_DIR: renderer } });
  });

  it("prints exactly one line on stdout: the URL with a 256-bit token", async () => {
    await delay(200);
    expect(c.proc.stdout).toMatch(/^Web console: http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}\n$/);
    expect(c.proc.stderr).not.toContain(c.token);
  });

  it("lets nobody in without the token", async () => {
    const bare = await get(c.port, "/");
    expect(bare.status).toBe(401);
    expect(bare.body).toContain("Open the URL that `semaphore-agent console` printed");
    expect(bare.body).not.toContain(c.token);
    expect(bare.headers["content-security-policy"]).toBe(CSP);
    expect((await get(c.port, "/?token=wrong")).status).toBe(401);
    expect((await get(c.port, `/?token=${c.token.slice(0, -1)}`)).status).toBe(401);
    expect((await get(c.port, "/", { Cookie: `sad_console_${c.port}=wrong` })).status).toBe(401);
    expect((await get(c.port, "/", { Cookie: `sad_console_1=${c.token}` })).status).toBe(401); // another port's cookie name
    expect((await get(c.port, "/assets/app.js")).status).toBe(401);
  });

  it("trades the token in the URL for an HttpOnly, SameSite=Strict cookie, then serves the UI with the security headers", async () => {
    const entry = await get(c.port, `/?token=${c.token}`);
    expect(entry.status).toBe(303);
    expect(entry.headers.location).toBe("/");
    expect(entry.headers["set-cookie"]).toEqual([`sad_console_${c.port}=${c.token}; HttpOnly; SameSite=Strict; Path=/`]);

    const cookie = { Cookie: `other=1; sad_console_${c.port}=${c.token}` };
    const index = await get(c.port, "/", cookie);
    expect(index.status).toBe(200);
    expect(index.body).toBe(INDEX_HTML);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["content-security-policy"]).toBe(CSP);
    expect(index.headers["x-content-type-options"]).toBe("nosniff");
    expect(index.headers["referrer-policy"]).toBe("no-referrer");
    expect(index.headers["x-frame-options"]).toBe("DENY");
    expect(index.headers["cache-control"]).toBe("no-store");

    const script = await get(c.port, "/assets/app.js", cookie);
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.headers["content-security-policy"]).toBe(CSP);
    expect((await get(c.port, "/assets/style.css", cookie)).headers["content-type"]).toBe("text/css; charset=utf-8");
    expect((await get(c.port, "/assets/missing.js", cookie)).status).toBe(404);
  });

  it("serves nothing outside the renderer folder", async () => {
    const cookie = { Cookie: `sad_console_${c.port}=${c.token}` };
    for (const path of [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/assets%5c..%5c..%5csecret.txt",
      "/%00/../secret.txt",
      "//secret.txt",
      "/escape.txt",
      "/%",
    ]) {
      const answer = await get(c.port, path, cookie);
      expect([400, 404], `${path} -> ${answer.status}`).toContain(answer.status);
      expect(answer.body).not.toContain(SECRET);
    }
  });

  it("answers only to its own host name (DNS rebinding)", async () => {
    const cookie = { Cookie: `sad_console_${c.port}=${c.token}` };
    for (const host of ["evil.com", `evil.com:${c.port}`, `127.0.0.1:${c.port + 1}`, "127.0.0.1"]) {
      const answer = await get(c.port, "/", { ...cookie, Host: host });
      expect(answer.status, host).toBe(421);
      expect(answer.body).not.toContain("fixture");
    }
    expect((await get(c.port, "/", { ...cookie, Host: `localhost:${c.port}` })).status).toBe(200);
    // With a foreign Host, not even the token URL sets a cookie.
    const rebound = await get(c.port, `/?token=${c.token}`, { Host: "evil.com" });
    expect(rebound.status).toBe(421);
    expect(rebound.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses WebSocket upgrades without the cookie, from another origin or for another host", async () => {
    expect(await openWs(c, { cookie: null })).toMatchObject({ status: 401 });
    expect(await openWs(c, { cookie: `sad_console_${c.port}=nope` })).toMatchObject({ status: 401 });
    expect(await openWs(c, { origin: "http://evil.com" })).toMatchObject({ status: 403 });
    expect(await openWs(c, { origin: `http://127.0.0.1:${c.port + 1}` })).toMatchObject({ status: 403 });
    expect(await openWs(c, { origin: "null" })).toMatchObject({ status: 403 });
    expect(await openWs(c, { origin: null })).toMatchObject({ status: 403 });
    expect(await openWs(c, { host: "evil.com" })).toMatchObject({ status: 403 });
    // The token in the query works like the cookie.
    const byQuery = await mustOpen(c, { cookie: null, query: `?token=${c.token}` });
    byQuery.ws.close();
    const fromLocalhost = await mustOpen(c, { origin: `http://localhost:${c.port}`, host: `localhost:${c.port}` });
    fromLocalhost.ws.close();
  });

  it("answers requests over the WebSocket; garbage, unknown methods and bad params get errors that name the problem", async () => {
    const client = await mustOpen(c);
    const snapshot = await client.call("getSnapshot");
    expect(snapshot.ok).toBe(true);
    expect(snapshot.result).toMatchObject({ agent: { phase: "idle" }, settings: { configured: false, tokenStorage: "file" } });

    client.sendRaw("{not json");
    const garbage = await client.response(null);
    expect(garbage).toMatchObject({ ok: false, error: { code: "invalid-request" } });
    expect(garbage.error?.message).toMatch(/not valid JSON/);

    client.sendRaw(JSON.stringify({ id: 41, method: "formatDisk", params: {} }));
    const unknown = await client.response(41);
    expect(unknown).toMatchObject({ ok: false, error: { code: "invalid-request" } });
    expect(unknown.error?.message).toMatch(/method/);

    const bad = await client.call("readJobLog", { jobId: "x", from: -1 });
    expect(bad).toMatchObject({ ok: false, error: { code: "invalid-request" } });
    expect(bad.error?.message).toContain("params.from");

    const extra = await client.call("stopAgent", { when: "now", rm: "-rf" });
    expect(extra.error?.message).toMatch(/rm/);

    const state = await client.call("stopAgent", { when: "now" });
    expect(state).toMatchObject({ ok: false, error: { code: "invalid-state" } });

    const missing = await client.call("getJob", { jobId: "no-such-job" });
    expect(missing).toMatchObject({ ok: false, error: { code: "not-found" } });

    // Still usable after all that.
    expect((await client.call("getSettings")).ok).toBe(true);
    expect(client.closed).toBeNull();
    client.ws.close();
  });

  it("limits the request rate per connection without closing it", async () => {
    const client = await mustOpen(c);
    for (let i = 0; i < 400; i++) client.sendRaw(JSON.stringify({ id: 1000 + i, method: "getSettings", params: {} }));
    // Every one of the 400 is answered. Not "the last id": a refused request is answered at once,
    // while accepted ones still wait their turn, so the last id can come back first (seen under load).
    for (let i = 0; i < 400; i++) await client.response(1000 + i);
    const answers = client.messages.filter((m): m is Extract<ServerMessage, { kind: "response" }> => m.kind === "response");
    // A burst of 200 passes (pipelined requests wait for their turn), the rest is refused by name.
    const limited = answers.filter((m) => !m.ok && m.error?.message === "too many requests: slow down");
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((m) => m.ok).length).toBeGreaterThanOrEqual(200);
    expect(limited.length + answers.filter((m) => m.ok).length).toBe(400);
    expect(client.closed).toBeNull();
    client.ws.close();
  });

  it("serves at most 8 tabs at once", async () => {
    await delay(300); // the sockets of the tests above finish closing
    const open: Client[] = [];
    let refused: { status: number; body: string } | null = null;
    for (let i = 0; i < 12 && refused === null; i++) {
      const result = await openWs(c);
      if ("client" in result) open.push(result.client);
      else refused = result;
    }
    expect(open).toHaveLength(8);
    expect(refused).toMatchObject({ status: 503 });
    expect(refused?.body).toMatch(/Too many open consoles/);
    open.pop()?.ws.close();
    await delay(300);
    const again = await mustOpen(c);
    for (const client of [...open, again]) client.ws.close();
    await delay(300);
  });

  it("closes the connection on a binary frame", async () => {
    const client = await mustOpen(c);
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.waitClosed()).code).toBe(1003);
  });
});

describe("web console: events and stopping", () => {
  it("refuses a second console on the same data dir while the first runs, and allows it after", async () => {
    const first = await startConsole();
    const second = runCli(["console", "--port", "0", "--data-dir", first.dataDir]);
    expect(await second.waitForExit(20_000)).toBe(1);
    expect(second.stderr).toContain(`Another Semaphore Agent Desktop (pid ${first.proc.pid}) is already using ${first.dataDir}`);
    expect(second.stdout).toBe("");
    first.proc.signal("SIGTERM");
    expect(await first.proc.waitForExit(30_000)).toBe(0);
    const third = await startConsole({ dataDir: first.dataDir });
    expect(third.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  });

  it("streams the host's events, and on SIGTERM stops the agent and exits 0 leaving no process behind", async () => {
    const c = await startConsole();
    const client = await mustOpen(c);
    expect((await client.call("startDemo", {}, 20_000)).ok).toBe(true);
    await client.event("demo", 15_000, (e) => (e.demo as { running: boolean }).running);
    await client.event("agent", 20_000, (e) => (e.agent as { phase: string }).phase === "waiting-for-jobs");

    const hello = await client.call("runExample", { exampleId: "hello-world" });
    expect(hello.ok).toBe(true);
    const helloId = (hello.result as { jobId: string }).jobId;
    await client.event("job-started", 20_000, (e) => (e.job as { summary: { id: string } }).summary.id === helloId);
    await client.event("job-finished", 30_000, (e) => (e.job as { id: string }).id === helloId);
    const output = client.messages.filter((m) => m.kind === "event" && m.event.type === "job-output" && m.event.jobId === helloId);
    expect(output.length).toBeGreaterThan(0);

    // A job that runs for minutes, with a process of its own.
    const long = await client.call("runExample", { exampleId: "long-running" });
    const longId = (long.result as { jobId: string }).jobId;
    await client.event("job-output", 30_000, (e) => e.jobId === longId && JSON.stringify(e.events).includes("tick 2"));
    const tree = descendants(c.proc.pid);
    expect(tree.length).toBeGreaterThan(0);

    c.proc.signal("SIGTERM");
    expect(await c.proc.waitForExit(45_000)).toBe(0);
    expect(c.proc.stderr).toContain("stopped");
    const deadline = Date.now() + 5000;
    while (tree.some(alive) && Date.now() < deadline) await delay(50);
    expect(tree.filter(alive)).toEqual([]);
    expect(client.closed?.code).toBeDefined();
  });
});
