// ApiClient wire details against a real HTTP server on 127.0.0.1 that records what it receives.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiClient, ApiError, redactUrl } from "../../agent-core/protocol/client.js";
import { AGENT_VERSION, USER_AGENT } from "../../agent-core/version.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let seen: Seen[];
let reply: (req: Seen) => { status: number; body: string; headers?: Record<string, string> } | "hang";
let endpoint: string;

beforeEach(async () => {
  seen = [];
  reply = () => ({ status: 200, body: "{}" });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const s: Seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(s);
      const r = reply(s);
      if (r === "hang") return;
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const registerBody = {
  name: "agent-name-1",
  version: AGENT_VERSION,
  pid: 1,
  os: "",
  arch: "x86_64",
  hostname: "",
  single_job: false,
  idle_timeout: 0,
  interruption_grace_period: 0,
  job_id: "",
};

describe("ApiClient", () => {
  it("uses the exact paths, Token auth, the User-Agent and JSON bodies", async () => {
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "reg-token", timeoutMs: 2000 });
    reply = (s) =>
      s.url.endsWith("/register")
        ? { status: 201, body: JSON.stringify({ name: "server-name", token: "access-1", extra: true }) }
        : s.url.endsWith("/sync")
          ? { status: 200, body: JSON.stringify({ action: "continue", next_sync_after: 250 }) }
          : { status: 200, body: "{}" };
    expect(await client.register(registerBody)).toMatchObject({ name: "server-name", token: "access-1" });
    expect(await client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 })).toEqual({
      action: "continue",
      job_id: "",
      shutdown_reason: "",
      next_sync_after: 250,
    });
    await client.disconnect();
    expect(seen.map((s) => `${s.method} ${s.url} ${s.headers.authorization}`)).toEqual([
      "POST /api/v1/self_hosted_agents/register Token reg-token",
      "POST /api/v1/self_hosted_agents/sync Token access-1",
      "POST /api/v1/self_hosted_agents/disconnect Token access-1",
    ]);
    for (const s of seen) expect(s.headers["user-agent"]).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^SemaphoreAgent\/v\d+\.\d+\.\d+/);
    expect(JSON.parse(seen[0]!.body)).toEqual(registerBody);
    expect(Object.keys(JSON.parse(seen[1]!.body))).toEqual(["state", "job_id", "job_result", "interrupted_at"]);
    expect(seen[2]!.body).toBe("");
    await client.close();
  });

  it("accepts the reference hub's register answer without name/token and then sends `Token` alone", async () => {
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 2000 });
    reply = (s) => (s.url.endsWith("/register") ? { status: 200, body: '{"access_token":"dsjfaklsd123412341"}' } : { status: 200, body: '{"action":"continue"}' });
    expect(await client.register(registerBody)).toMatchObject({ name: "", token: "" });
    await client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 });
    expect(seen[1]!.headers.authorization).toBe("Token");
    await client.close();
  });

  it("pushes logs with Bearer auth, text/plain and ?start_from appended literally", async () => {
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 2000 });
    const status = await client.pushLogs(`http://${endpoint}/logs/j1?x=1`, "log-token", 42, Buffer.from('{"event":"job_started","timestamp":1}\n'));
    expect(status).toBe(200);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/logs/j1?x=1?start_from=42", body: '{"event":"job_started","timestamp":1}\n' });
    expect(seen[0]!.headers).toMatchObject({ authorization: "Bearer log-token", "content-type": "text/plain", "user-agent": USER_AGENT });
    await client.close();
  });

  it("requires exactly 200 for sync and reports the server's message", async () => {
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 2000 });
    reply = () => ({ status: 201, body: "{}" });
    await expect(client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 })).rejects.toThrow(/sync: HTTP 201/);
    reply = () => ({ status: 500, body: '{"error":"database on fire"}' });
    await expect(client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 })).rejects.toThrow(/HTTP 500: \{"error":"database on fire"\}/);
    reply = () => ({ status: 200, body: "<html>not json" });
    const error = await client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe("decode");
    reply = () => ({ status: 200, body: '{"action": 5}' });
    await expect(client.sync({ state: "waiting-for-jobs", job_id: "", job_result: "", interrupted_at: 0 })).rejects.toThrow(/action/);
    await client.close();
  });

  it("times out a request that never answers", async () => {
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 300 });
    reply = () => "hang";
    const error = (await client.getJob("j").catch((e: unknown) => e)) as ApiError;
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/no answer within 0.3 s/);
    await client.close();
  });

  it("follows redirects and reports connection errors", async () => {
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 2000 });
    reply = (s) =>
      s.url.startsWith("/api/") ? { status: 307, body: "", headers: { location: "/moved" + s.url } } : { status: 200, body: '{"job_id":"j"}' };
    expect(await client.getJob("j")).toEqual({ job_id: "j" });
    await client.close();
    const dead = new ApiClient({ endpoint: "127.0.0.1:1", noHttps: true, registrationToken: "r", timeoutMs: 2000 });
    await expect(dead.disconnect()).rejects.toMatchObject({ kind: "network" });
    await dead.close();
  });

  it("never puts a URL's query (where log tokens may live) into messages", () => {
    expect(redactUrl("https://logs.example/api/v1/logs/1?token=secret")).toBe("https://logs.example/api/v1/logs/1");
  });
});

describe("a proxy from the agent's environment (as Go's ProxyFromEnvironment)", () => {
  /** A CONNECT proxy on 127.0.0.1 that records the tunnels it opens, or answers `refuse` instead. */
  async function startProxy(refuse: number | null): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
    const { connect } = await import("node:net");
    const tunnels: string[] = [];
    const proxy = createServer((_req, res) => res.writeHead(501).end());
    proxy.on("connect", (req, client) => {
      tunnels.push(req.url ?? "");
      if (refuse !== null) {
        client.end(`HTTP/1.1 ${refuse} Refused\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n`);
        return;
      }
      const [host, port] = (req.url ?? "").split(":");
      const upstream = connect(Number(port), host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    return {
      url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      tunnels,
      close: async () => {
        proxy.closeAllConnections();
        await new Promise((r) => proxy.close(r));
      },
    };
  }

  it("reads HTTP_PROXY / HTTPS_PROXY / NO_PROXY in either case, and nothing when none is set", async () => {
    const { proxySettingsFromEnv } = await import("../../agent-core/protocol/client.js");
    expect(proxySettingsFromEnv({})).toBeNull();
    expect(proxySettingsFromEnv({ https_proxy: "http://p:3128", no_proxy: "localhost" })).toEqual({ httpProxy: "", httpsProxy: "http://p:3128", noProxy: "localhost" });
    expect(proxySettingsFromEnv({ HTTP_PROXY: "http://p:8080" })).toEqual({ httpProxy: "http://p:8080", httpsProxy: "", noProxy: "" });
  });

  it("goes through the proxy, and says plainly when the proxy wants credentials", async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ name: "via-proxy", token: "t" }) });
    const proxy = await startProxy(null);
    const client = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 5000, proxy: { httpProxy: proxy.url, httpsProxy: "", noProxy: "" } });
    try {
      expect((await client.register(registerBody)).name).toBe("via-proxy");
      expect(proxy.tunnels).toEqual([endpoint]);
    } finally {
      await client.close();
      await proxy.close();
    }

    const refusing = await startProxy(407);
    const blocked = new ApiClient({ endpoint, noHttps: true, registrationToken: "r", timeoutMs: 5000, proxy: { httpProxy: refusing.url, httpsProxy: "", noProxy: "" } });
    try {
      const error = (await blocked.register(registerBody).catch((e: unknown) => e)) as ApiError;
      expect(error).toBeInstanceOf(ApiError);
      const { explainCallProblem } = await import("../../agent-core/protocol/explain.js");
      const words = explainCallProblem({ kind: error.kind, status: error.status, code: error.code }, error.message, { host: endpoint, scope: "register", settingsPlace: "Settings" });
      expect(words).toMatch(/proxy .* asks for credentials \(HTTP 407\)/);
    } finally {
      await blocked.close();
      await refusing.close();
    }
  });
});
