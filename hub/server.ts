// HTTP front of the hub (node:http, no framework): routing, User-Agent checks, body caps, fault
// injection, JSON parsing, and translation of HubCore replies into responses. Never throws out of a
// request handler: anything unexpected is answered 500 with a JSON error.
import http from "node:http";
import type { Socket } from "node:net";
import type { HubCore, Reply, RequestContext } from "./core.js";
import { HubError } from "./core.js";
import type { FaultMode, FaultTarget } from "./types.js";

export interface ServerOptions {
  userAgentPattern: RegExp;
  maxBodyBytes: number;
  maxLogBodyBytes: number;
}

const AGENT_BASE = ["api", "v1", "self_hosted_agents"] as const;

class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body too large (limit ${limit} bytes)`);
  }
}

/** Reads the whole body, or throws TooLarge past `limit` bytes (checked against Content-Length first). */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      reject(new TooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      if (done) return;
      total += chunk.length;
      if (total > limit) {
        done = true;
        chunks.length = 0;
        req.off("data", onData);
        reject(new TooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    });
    req.once("error", (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
    req.once("aborted", () => {
      if (done) return;
      done = true;
      reject(new Error("request aborted"));
    });
  });
}

type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

function parseJson(body: Buffer, what: string): JsonParse {
  const text = body.toString("utf8");
  if (text.trim() === "") return { ok: false, error: `${what}: empty body, expected JSON` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `${what}: malformed JSON (${(err as Error).message})` };
  }
}

function methodNotAllowed(allowed: string[]): Reply & { allow: string[] } {
  return { status: 405, json: { error: `method not allowed; use ${allowed.join(" or ")}` }, allow: allowed };
}

export class HubHttpServer {
  readonly server: http.Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly core: HubCore,
    private readonly opts: ServerOptions,
  ) {
    this.server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Last resort; handle() already catches everything it knows about.
        try {
          this.send(res, { status: 500, json: { error: `internal error: ${(err as Error)?.message ?? String(err)}` } }, null);
        } catch {
          res.destroy();
        }
      });
    });
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    // Garbage on the wire (bad request line, oversized headers): answer 400 and close.
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && !socket.destroyed) {
        const body = JSON.stringify({ error: `bad request: ${err.code ?? err.message}` });
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else {
        socket.destroy();
      }
    });
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === "string") reject(new Error("unexpected server address"));
        else resolve(addr.port);
      });
    });
  }

  /** Closes the listener and every socket, including hung requests and idle keep-alive ones. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
    });
  }

  private send(res: http.ServerResponse, reply: Reply & { allow?: string[] }, ctx: RequestContext | null): void {
    if (ctx) ctx.record.status = reply.status;
    if (res.headersSent || res.destroyed) return;
    let body: string;
    let type: string;
    if (reply.text !== undefined) {
      body = reply.text;
      type = "text/plain; charset=utf-8";
    } else {
      body = JSON.stringify(reply.json ?? {});
      type = "application/json";
    }
    const headers: http.OutgoingHttpHeaders = { "content-type": type, "content-length": Buffer.byteLength(body) };
    if (reply.allow) headers["allow"] = reply.allow.join(", ");
    if (reply.status === 413) headers["connection"] = "close";
    if (ctx && reply.status >= 400 && ctx.record.note === undefined) {
      const err = (reply.json as { error?: unknown } | undefined)?.error;
      if (typeof err === "string") ctx.record.note = err.length > 200 ? `${err.slice(0, 200)}…` : err;
    }
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrivedAt = Date.now();
    const method = req.method ?? "GET";
    const rawUrl = req.url ?? "/";
    const record = this.core.beginRequest(method, rawUrl);
    const ctx: RequestContext = { method, path: rawUrl, record, arrivedAt };
    res.once("close", () => {
      record.duration_ms = Date.now() - arrivedAt;
      this.core.endRequest(record);
    });
    try {
      await this.route(req, res, ctx);
    } catch (err) {
      if (err instanceof HubError) this.send(res, { status: err.status, json: { error: err.message } }, ctx);
      else if (err instanceof TooLarge) this.send(res, { status: 413, json: { error: err.message } }, ctx);
      else this.send(res, { status: 500, json: { error: `internal error: ${(err as Error)?.message ?? String(err)}` } }, ctx);
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext): Promise<void> {
    const q = ctx.path.indexOf("?");
    const pathname = q >= 0 ? ctx.path.slice(0, q) : ctx.path;
    const query = new URLSearchParams(q >= 0 ? ctx.path.slice(q + 1) : "");
    let seg: string[];
    try {
      seg = pathname.split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s));
    } catch {
      this.maybeAgentViolation(pathname, ctx, "malformed percent-encoding in the path");
      this.send(res, { status: 400, json: { error: "malformed percent-encoding in the path" } }, ctx);
      return;
    }
    const m = ctx.method;
    const isAgentApi = seg[0] === "api" && seg[1] === "v1";

    if (isAgentApi && seg[2] === AGENT_BASE[2]) {
      const rest = seg.slice(3);
      const [a, b, c] = rest;
      if (rest.length === 1 && a === "register") return this.agentPost(req, res, ctx, "register", ["POST"]);
      if (rest.length === 1 && a === "sync") return this.agentPost(req, res, ctx, "sync", ["POST"]);
      if (rest.length === 1 && a === "refresh") return this.agentPost(req, res, ctx, "refresh", ["POST"]);
      if (rest.length === 1 && a === "disconnect") return this.agentPost(req, res, ctx, "disconnect", ["POST"]);
      if (rest.length === 2 && a === "jobs" && b !== undefined) return this.agentGetJob(req, res, ctx, b);
      // Go reference hub harness endpoints that live under the agent base path (§8.3).
      if (rest.length === 3 && a === "jobs" && b !== undefined && c === "status") {
        if (m !== "GET") return this.send(res, methodNotAllowed(["GET"]), ctx);
        const job = this.core.job(b);
        if (job === undefined) return this.send(res, { status: 404, text: "unknown" }, ctx);
        const text = job.status === "finished" ? "finished" : job.status === "stopping" ? "stopping" : "running";
        return this.send(res, { status: 200, text }, ctx);
      }
      if (rest.length === 1 && a === "is_shutdown") {
        if (m !== "GET") return this.send(res, methodNotAllowed(["GET"]), ctx);
        return this.send(res, { status: 200, text: this.core.anyDisconnected() ? "true" : "false" }, ctx);
      }
      return this.unknownAgentPath(res, ctx);
    }
    if (isAgentApi && seg[2] === "logs") {
      if (seg.length !== 4 || seg[3] === undefined) return this.unknownAgentPath(res, ctx);
      return this.logs(req, res, ctx, seg[3], query.get("start_from"));
    }
    if (isAgentApi) return this.unknownAgentPath(res, ctx);

    if (seg.length === 1 && seg[0] === "is_alive") {
      if (m !== "GET") return this.send(res, methodNotAllowed(["GET"]), ctx);
      return this.send(res, { status: 200, text: "yes" }, ctx);
    }
    if (seg[0] === "private") return this.harness(req, res, ctx, seg.slice(1));
    this.send(res, { status: 404, json: { error: `no such endpoint: ${m} ${pathname}` } }, ctx);
  }

  private maybeAgentViolation(pathname: string, ctx: RequestContext, message: string): void {
    if (pathname.startsWith("/api/")) this.core.violation(ctx, message);
  }

  private unknownAgentPath(res: http.ServerResponse, ctx: RequestContext): void {
    const message = `no such endpoint: ${ctx.method} ${ctx.path.split("?")[0]}`;
    this.core.violation(ctx, `${message} (not part of the agent protocol, §1.2)`);
    this.send(res, { status: 404, json: { error: message } }, ctx);
  }

  /** Common prefix of agent-facing requests: method, User-Agent and fault handling. */
  private agentPrelude(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    target: FaultTarget,
    allowed: string[],
    logJobId?: string,
  ): { proceed: false } | { proceed: true; fault: FaultMode | null } {
    if (!allowed.includes(ctx.method)) {
      this.core.violation(ctx, `${ctx.method} is not allowed here; the agent uses ${allowed.join("/")} (§1.2)`);
      this.send(res, methodNotAllowed(allowed), ctx);
      return { proceed: false };
    }
    const ua = req.headers["user-agent"];
    if (ua === undefined || !this.opts.userAgentPattern.test(ua)) {
      const msg = `User-Agent must match ${String(this.opts.userAgentPattern)} (SemaphoreAgent/<version>, §1.3), got ${ua === undefined ? "none" : JSON.stringify(ua)}`;
      this.core.violation(ctx, msg);
      this.send(res, { status: 400, json: { error: msg } }, ctx);
      return { proceed: false };
    }
    const fault = this.core.takeFault(target);
    if (fault !== null) {
      ctx.record.fault = fault;
      this.core.attributeRequest(ctx, req.headers["authorization"], logJobId);
      // The log service's answer body is ignored by the agent (spec §7.2): a garbage 200 there is
      // an accepted batch, so the batch is stored and only the body is garbage.
      const processFirst = fault === "drop-after-store" || (fault === "garbage" && target === "logs");
      if (!processFirst) {
        this.applyFault(req, res, ctx, fault);
        return { proceed: false };
      }
    }
    return { proceed: true, fault };
  }

  private applyFault(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, fault: FaultMode): void {
    switch (fault) {
      case "500":
        this.send(res, { status: 500, json: { error: "injected fault: 500" } }, ctx);
        return;
      case "401":
        this.send(res, { status: 401, json: { error: "injected fault: 401" } }, ctx);
        return;
      case "garbage":
        ctx.record.status = 200;
        if (!res.headersSent) {
          const body = "<html><body>this is not JSON {{{</body></html>";
          res.writeHead(200, { "content-type": "text/html", "content-length": Buffer.byteLength(body) });
          res.end(body);
        }
        return;
      case "hang":
        // Never answered; keep reading the body so the client is not stuck on backpressure.
        req.resume();
        return;
      case "drop":
      case "drop-after-store":
        ctx.record.status = null;
        req.socket.destroy();
        return;
    }
  }

  private async agentPost(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    target: "register" | "sync" | "refresh" | "disconnect",
    allowed: string[],
  ): Promise<void> {
    const pre = this.agentPrelude(req, res, ctx, target, allowed);
    if (!pre.proceed) return;
    const body = await this.readAgentBody(req, res, ctx, this.opts.maxBodyBytes);
    if (body === null) return;
    const authorization = req.headers["authorization"];
    let reply: Reply;
    if (target === "register") {
      reply = this.core.register(authorization, parseJson(body, "register"), String(req.headers["user-agent"]), ctx);
    } else {
      const agent = this.core.authenticateAgent(authorization, ctx, { allowDisconnected: target === "disconnect" });
      if ("status" in agent) {
        reply = agent;
      } else if (target === "sync") {
        const parsed = parseJson(body, "sync");
        if (!parsed.ok) {
          this.core.violation(ctx, parsed.error, agent.name);
          reply = { status: 400, json: { error: parsed.error } };
        } else {
          reply = this.core.sync(agent, parsed.value, ctx, pre.fault === "drop-after-store");
        }
      } else if (target === "refresh") {
        reply = this.core.refresh(agent, body, ctx);
      } else {
        reply = this.core.disconnect(agent, body, ctx);
      }
    }
    this.finish(req, res, ctx, reply, pre.fault);
  }

  private async agentGetJob(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, id: string): Promise<void> {
    const pre = this.agentPrelude(req, res, ctx, "job", ["GET"]);
    if (!pre.proceed) return;
    const body = await this.readAgentBody(req, res, ctx, this.opts.maxBodyBytes);
    if (body === null) return;
    const agent = this.core.authenticateAgent(req.headers["authorization"], ctx);
    const reply = "status" in agent ? agent : this.core.getJob(agent, id, ctx);
    this.finish(req, res, ctx, reply, pre.fault);
  }

  private async logs(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    jobId: string,
    startFrom: string | null,
  ): Promise<void> {
    const pre = this.agentPrelude(req, res, ctx, "logs", ["POST"], jobId);
    if (!pre.proceed) {
      if (ctx.record.fault !== undefined) this.core.noteLogFault(jobId);
      return;
    }
    const body = await this.readAgentBody(req, res, ctx, this.opts.maxLogBodyBytes);
    if (body === null) return;
    const found = this.core.logJob(jobId, ctx);
    let reply: Reply;
    if ("reply" in found) {
      reply = found.reply;
    } else {
      reply = this.core.ingestLogs(
        found.job,
        { authorization: req.headers["authorization"], contentType: req.headers["content-type"] },
        startFrom,
        body,
        ctx,
      );
    }
    if (pre.fault === "drop-after-store") this.core.noteLogFault(jobId);
    this.finish(req, res, ctx, reply, pre.fault);
  }

  /** Reads an agent request body; answers 413 (+ violation) when it is over the cap. */
  private async readAgentBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    limit: number,
  ): Promise<Buffer | null> {
    try {
      return await readBody(req, limit);
    } catch (err) {
      if (err instanceof TooLarge) {
        this.core.violation(ctx, `request body over ${limit} bytes`);
        this.send(res, { status: 413, json: { error: `request body too large (limit ${limit} bytes)` } }, ctx);
        return null;
      }
      ctx.record.note = `body read failed: ${(err as Error).message}`;
      res.destroy();
      return null;
    }
  }

  private finish(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, reply: Reply, fault: FaultMode | null): void {
    if (fault === "drop-after-store") {
      ctx.record.note = `processed (would have answered ${reply.status}), response dropped`;
      ctx.record.status = null;
      req.socket.destroy();
      return;
    }
    if (fault === "garbage" && reply.status === 200) {
      this.applyFault(req, res, ctx, "garbage");
      return;
    }
    this.send(res, reply, ctx);
  }

  // -----------------------------------------------------------------------------------------------
  // Harness API (no auth; loopback only)

  private async harness(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, seg: string[]): Promise<void> {
    const m = ctx.method;
    const core = this.core;
    const send = (reply: Reply & { allow?: string[] }) => this.send(res, reply, ctx);
    const only = (allowed: string[]) => {
      if (allowed.includes(m)) return true;
      send(methodNotAllowed(allowed));
      return false;
    };
    const body = async (): Promise<Buffer> => readBody(req, this.opts.maxBodyBytes);
    const json = async (optional = false): Promise<unknown> => {
      const b = await body();
      if (optional && b.toString("utf8").trim() === "") return undefined;
      const parsed = parseJson(b, "request");
      if (!parsed.ok) throw new HubError(400, parsed.error);
      return parsed.value;
    };
    const [a, b, c] = seg;
    const n = seg.length;

    if (n === 1 && a === "jobs") {
      if (!only(["GET", "POST"])) return;
      if (m === "GET") return send({ status: 200, json: core.jobs() });
      return send({ status: 201, json: core.scheduleJob(await json()) });
    }
    if (n >= 2 && a === "jobs" && b !== undefined) {
      if (n === 2) {
        if (!only(["GET"])) return;
        const job = core.job(b);
        return send(job === undefined ? { status: 404, json: { error: `no such job "${b}"` } } : { status: 200, json: job });
      }
      if (n === 3 && c === "events") {
        if (!only(["GET"])) return;
        return send({ status: 200, json: core.events(b) });
      }
      if (n === 3 && c === "logs") {
        if (!only(["GET"])) return;
        return send({ status: 200, text: core.logLines(b).join("\n") });
      }
      if (n === 3 && c === "request") {
        if (!only(["GET"])) return;
        const r = core.jobRequest(b);
        return send(r === undefined ? { status: 404, json: { error: `no such job "${b}"` } } : { status: 200, json: r });
      }
      if (n === 3 && c === "stop") {
        if (!only(["POST"])) return;
        await body();
        return send({ status: 200, json: core.stopJob(b) });
      }
      if (n === 3 && c === "expire-log-token") {
        if (!only(["POST"])) return;
        await body();
        core.expireLogToken(b);
        return send({ status: 200, json: {} });
      }
    }
    if (n === 1 && a === "shutdown") {
      if (!only(["POST"])) return;
      const v = await json(true);
      if (v !== undefined && (typeof v !== "object" || v === null || Array.isArray(v))) {
        throw new HubError(400, `body must be empty or {"agent": "<name>"}`);
      }
      const agent = (v as { agent?: unknown } | undefined)?.agent;
      if (agent !== undefined && typeof agent !== "string") throw new HubError(400, `"agent" must be a string`);
      core.requestShutdown(agent);
      return send({ status: 200, json: {} });
    }
    if (n === 1 && a === "agents") {
      if (!only(["GET"])) return;
      return send({ status: 200, json: core.agents() });
    }
    if (n === 1 && a === "violations") {
      if (!only(["GET", "DELETE"])) return;
      if (m === "DELETE") {
        core.clearViolations();
        return send({ status: 200, json: {} });
      }
      return send({ status: 200, json: core.violations() });
    }
    if (n === 1 && a === "requests") {
      if (!only(["GET"])) return;
      return send({ status: 200, json: core.requests() });
    }
    if (n === 1 && a === "faults") {
      if (!only(["GET", "POST", "DELETE"])) return;
      if (m === "GET") return send({ status: 200, json: core.faults() });
      if (m === "DELETE") {
        core.clearFaults();
        return send({ status: 200, json: {} });
      }
      core.injectFault(await json());
      return send({ status: 201, json: core.faults() });
    }
    // Go reference hub compatibility (§8.3).
    if (n === 1 && a === "is_registered") {
      if (!only(["GET"])) return;
      return send({ status: 200, text: core.anyRegistered() ? "yes" : "no" });
    }
    if (n === 1 && a === "schedule_job") {
      if (!only(["POST"])) return;
      let v = await json();
      if (typeof v === "string") {
        // The Go harness JSON-encodes the job request a second time.
        try {
          v = JSON.parse(v) as unknown;
        } catch (err) {
          throw new HubError(400, `schedule_job: the JSON string does not contain JSON (${(err as Error).message})`);
        }
      }
      return send({ status: 200, json: core.scheduleJob(v) });
    }
    if (n === 2 && a === "schedule_stop" && b !== undefined) {
      if (!only(["POST"])) return;
      await body();
      core.stopJob(b);
      return send({ status: 200, json: {} });
    }
    if (n === 1 && a === "schedule_shutdown") {
      if (!only(["POST"])) return;
      await body();
      core.requestShutdown();
      return send({ status: 200, json: {} });
    }
    send({ status: 404, json: { error: `no such endpoint: ${m} ${ctx.path.split("?")[0]}` } });
  }
}
