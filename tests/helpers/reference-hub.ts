// A faithful re-creation of the Go agent's reference test hub (spec §8): no authentication, the
// register answer {"access_token": …} with neither name nor token, no next_sync_after, one global
// log list, start_from ignored, and the private harness endpoints. The official end-to-end harness
// drives an agent through exactly this, so passing against it is what interoperability means.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

interface RefJob {
  id: string;
  request: unknown;
  state: "running" | "stopping" | "finished";
}

export class ReferenceHub {
  private server: Server;
  registered = false;
  disconnected = false;
  shutdownScheduled = false;
  readonly logs: string[] = [];
  private queue: string[] = [];
  private jobs = new Map<string, RefJob>();
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        try {
          const [status, text] = this.handle(req.method ?? "", req.url ?? "", body);
          res.writeHead(status, { "content-type": "text/plain" });
          res.end(text);
        } catch (error) {
          res.writeHead(500);
          res.end(String(error));
        }
      });
    });
  }

  async start(): Promise<this> {
    // The Ruby hub binds 0.0.0.0; tests reach it as localhost.
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get endpoint(): string {
    return `localhost:${this.port}`;
  }

  logUrl(id: string): string {
    return `http://localhost:${this.port}/api/v1/logs/${id}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  schedule(request: { job_id: string; [field: string]: unknown }): void {
    // The harness double-encodes the body; this re-creation takes the object directly.
    this.scheduleRaw(request.job_id, request);
  }

  /** Queues `id` with whatever GET /jobs/<id> should answer (`null` for an unknown job). */
  scheduleRaw(id: string, request: unknown): void {
    this.jobs.set(id, { id, request, state: "running" });
    this.queue.push(id);
  }

  scheduleStop(id: string): void {
    const job = this.jobs.get(id);
    if (job) job.state = "stopping";
  }

  status(id: string): string {
    return this.jobs.get(id)?.state ?? "";
  }

  private handle(method: string, url: string, body: string): [number, string] {
    const path = url.split("?")[0] ?? "";
    const base = "/api/v1/self_hosted_agents";
    if (method === "POST" && path === `${base}/register`) {
      this.registered = true;
      return [200, JSON.stringify({ access_token: "dsjfaklsd123412341" })];
    }
    if (method === "POST" && path === `${base}/sync`) {
      const request = JSON.parse(body) as { state: string; job_id: string };
      switch (request.state) {
        case "waiting-for-jobs": {
          if (this.shutdownScheduled) return [200, JSON.stringify({ action: "shutdown" })];
          const next = this.queue.shift();
          return [200, JSON.stringify(next ? { action: "run-job", job_id: next } : { action: "continue" })];
        }
        case "starting-job":
        case "stopping-job":
          return [200, JSON.stringify({ action: "continue" })];
        case "running-job": {
          const job = this.jobs.get(request.job_id);
          if (this.shutdownScheduled || job?.state === "stopping") {
            return [200, JSON.stringify({ action: "stop-job", job_id: request.job_id })];
          }
          return [200, JSON.stringify({ action: "continue" })];
        }
        case "finished-job": {
          const job = this.jobs.get(request.job_id);
          if (job) job.state = "finished";
          return [200, JSON.stringify({ action: this.shutdownScheduled ? "shutdown" : "wait-for-jobs" })];
        }
        default:
          throw new Error(`unknown state ${request.state}`);
      }
    }
    const jobMatch = /^\/api\/v1\/self_hosted_agents\/jobs\/([^/]+)$/.exec(path);
    if (method === "GET" && jobMatch) {
      if (jobMatch[1] === "bad-job-id") return [500, "error"];
      const job = this.jobs.get(decodeURIComponent(jobMatch[1] ?? ""));
      return [200, job ? JSON.stringify(job.request) : "null"];
    }
    if (method === "POST" && path === `${base}/disconnect`) {
      this.disconnected = true;
      return [200, ""];
    }
    if (method === "POST" && path.startsWith("/api/v1/logs/")) {
      for (const line of body.split("\n")) if (line !== "") this.logs.push(line);
      return [200, ""];
    }
    return [404, "not found"];
  }
}

/**
 * The official harness's comparison (§8.4): keys must match exactly, values too unless the
 * expectation says "*", and a `*** LONG_OUTPUT ***` entry swallows consecutive cmd_output lines.
 */
export function compareLikeHarness(actualLines: string[], expected: Array<Record<string, unknown> | "*** LONG_OUTPUT ***">): string | null {
  let a = 0;
  for (let e = 0; e < expected.length; e++) {
    const want = expected[e];
    if (want === "*** LONG_OUTPUT ***") {
      while (a < actualLines.length && (JSON.parse(actualLines[a] as string) as { event: string }).event === "cmd_output") a++;
      continue;
    }
    const line = actualLines[a];
    if (line === undefined) return `missing line ${a}: expected ${JSON.stringify(want)}`;
    const got = JSON.parse(line) as Record<string, unknown>;
    const wantKeys = Object.keys(want as object).sort();
    const gotKeys = Object.keys(got).sort();
    if (JSON.stringify(wantKeys) !== JSON.stringify(gotKeys)) return `line ${a}: keys ${gotKeys} != ${wantKeys}: ${line}`;
    for (const key of wantKeys) {
      const w = (want as Record<string, unknown>)[key];
      if (w !== "*" && w !== got[key]) return `line ${a}: ${key} is ${JSON.stringify(got[key])}, expected ${JSON.stringify(w)}`;
    }
    a++;
  }
  return a === actualLines.length ? null : `unexpected extra lines from ${a}: ${actualLines.slice(a).join("\n")}`;
}
