// `semaphore-agent start` against a hostile control plane on 127.0.0.1: it echoes the request's
// Authorization header (registration token, then access token) in its 4xx/5xx bodies, and hands
// out a job id and an agent name full of terminal escapes (a title change, a line erase + CR that
// would forge a log line). Nothing of that may reach start's stderr or its log file as it came:
// no token, no raw ESC/BEL/CR. And `run` shows a rejected job's reason, escaped, before the result.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, startAgent, stopAll, tempDir } from "../helpers/processes.js";

const REGISTRATION_TOKEN = "regtok0123456789abcdef0123";
const ACCESS_TOKEN = "access-token-fedcba9876543210";
const LOGGER_TOKEN = "logger-token-5555aaaa";
const TITLE = "\x1b]0;pwned\x07";
const FORGED = "\x1b[2K\r2026-12-03 00:00:00Z  job evil passed";
const JOB_ID = `job-${TITLE}-${FORGED}`;

interface Hostile {
  server: Server;
  endpoint: string;
  syncs: number;
  jobFetches: number;
}

/** Echoes what it was sent, headers included, in the bodies of its errors. */
async function startHostileServer(): Promise<Hostile> {
  const state: Hostile = { server: null as unknown as Server, endpoint: "", syncs: 0, jobFetches: 0 };
  let registers = 0;
  const echo = (req: IncomingMessage, res: ServerResponse, status: number) => {
    // Plain text, so the escapes arrive raw (JSON would have encoded them as \u001b).
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(`refused ${TITLE}${FORGED}; you sent authorization: ${req.headers.authorization ?? ""}`);
  };
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  state.server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = req.url ?? "";
      if (path === "/api/v1/self_hosted_agents/register") {
        // Twice refused with the registration token echoed, then accepted. The first time the
        // token straddles the 300 characters of the body that an error message keeps.
        if (++registers === 1) {
          res.writeHead(401, { "content-type": "text/plain" });
          return res.end(`${"x".repeat(284)}${req.headers.authorization ?? ""} is not valid`);
        }
        if (registers === 2) return echo(req, res, 500);
        return json(res, { name: `hostile${TITLE}${FORGED}`, token: ACCESS_TOKEN });
      }
      if (path === "/api/v1/self_hosted_agents/sync") {
        state.syncs++;
        if (state.syncs === 1) return echo(req, res, 500);
        if (state.syncs === 2) return json(res, { action: "run-job", job_id: JOB_ID, next_sync_after: 100 });
        if (state.jobFetches < 2) return json(res, { action: "continue", next_sync_after: 100 });
        if (state.syncs < 12) return state.syncs % 2 === 0 ? echo(req, res, 503) : json(res, { action: "continue", next_sync_after: 100 });
        return json(res, { action: "shutdown", shutdown_reason: "requested" });
      }
      if (path.startsWith("/api/v1/self_hosted_agents/jobs/")) {
        state.jobFetches++;
        return echo(req, res, 500);
      }
      if (path === "/api/v1/self_hosted_agents/disconnect") return json(res, {});
      echo(req, res, 404);
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, "127.0.0.1", resolve));
  state.endpoint = `127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

let hostile: Hostile | null = null;
afterEach(async () => {
  await stopAll();
  if (hostile) await new Promise<void>((resolve) => hostile!.server.close(() => resolve()));
  hostile = null;
});

function expectClean(text: string, where: string): void {
  for (const token of [REGISTRATION_TOKEN, ACCESS_TOKEN, LOGGER_TOKEN]) {
    // Not even the part of one that a cut-off error body would keep.
    expect(text, `${where} holds ${token}`).not.toContain(token.slice(0, 10));
  }
  // The lines' own newlines only: no ESC, BEL, CR or other control character, C1 included.
  expect(text.replaceAll("\n", ""), where).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
}

describe("semaphore-agent start against a server that echoes tokens and sends escapes", () => {
  it("redacts every token and escapes control characters on stderr and in the log file", async () => {
    hostile = await startHostileServer();
    const logFile = join(tempDir(), "agent.log");
    const agent = startAgent(null, {
      args: ["--endpoint", hostile.endpoint, "--token", REGISTRATION_TOKEN, "--no-https"],
      env: { SEMAPHORE_AGENT_LOG_FILE_PATH: logFile },
      timings: { registerDelayMs: 50, getJobAttempts: 2, getJobDelayMs: 50 },
    });
    expect(await agent.waitForExit(30_000)).toBe(0);
    const log = readFileSync(logFile, "utf8");
    for (const [where, text] of [["stderr", agent.stderr], ["log file", log]] as const) {
      expectClean(text, where);
      // What the server said is still there, with the tokens replaced and the escapes visible.
      expect(text).toContain("Token [token]");
      expect(text).toContain("\\x1b]0;pwned\\x07");
      expect(text).toContain("\\x1b[2K\\x0d2026-12-03");
      // The job that could not be fetched says so, naming its (escaped) id.
      expect(text).toMatch(/job job-\\x1b\]0;pwned\\x07-\\x1b\[2K\\x0d2026-12-03 00:00:00Z {2}job evil passed rejected, not run: could not fetch the job: get job: HTTP 500: /);
    }
    // Both tokens were echoed, each more than once: registration twice, access token on syncs and fetches.
    expect(agent.stderr.match(/Token \[token\]/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    expect(agent.stderr).toMatch(/register: HTTP 401: x{284}Token \[token\] is… \(attempt 1\/30\)/);
    expect(hostile.jobFetches).toBe(2);
  });
});

describe("semaphore-agent run", () => {
  it("a job the agent cannot build: the reason, naming the field, before the result; exit 1", async () => {
    const file = join(tempDir(), "k8s.yaml");
    writeFileSync(file, `executor: "k8s${TITLE}"\ncommands:\n  - echo never\n`);
    const run = runCli(["run", file], { HOME: tempDir("sa-run-home-"), NO_COLOR: "1" });
    expect(await run.waitForExit(30_000)).toBe(1);
    expect(run.stderr).toContain("semaphore-agent run: the job was not run: executor: unknown executor 'k8s\\x1b]0;pwned\\x07'");
    expect(run.stdout).toBe("Job failed (not run)\n");
    expectClean(run.stderr, "stderr");
  });

  it("a directive's control characters are escaped in its header; the job's own output is not", async () => {
    const file = join(tempDir(), "escapes.yaml");
    writeFileSync(file, `commands:\n  - "printf '\\\\033[1mbold\\\\033[0m' # \\e[2K\\rforged"\n`);
    const run = runCli(["run", file], { HOME: tempDir("sa-run-home-"), NO_COLOR: "1" });
    expect(await run.waitForExit(30_000)).toBe(0);
    expect(run.stdout).toContain("▶ printf '\\033[1mbold\\033[0m' # \\x1b[2K\\x0dforged\n\x1b[1mbold\x1b[0m\n✔ exit 0");
  });
});
