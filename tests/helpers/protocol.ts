// Helpers for the protocol / lifecycle / fault / config integration tests (tests/integration/
// protocol*.test.ts, faults*.test.ts, lifecycle*.test.ts, config*.test.ts). Built on processes.ts.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { Fault } from "../../hub/types.js";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import {
  delay,
  startAgent,
  startHub,
  tempDir,
  type AgentProcess,
  type AgentProcessOptions,
  type HubProcess,
} from "./processes.js";

export interface RequestRow {
  time: string;
  method: string;
  path: string;
  status: number | null;
  agent?: string;
  fault?: string;
  note?: string;
  duration_ms?: number;
}

export const BASE = "/api/v1/self_hosted_agents";

/** A hub and an agent that has registered and reported waiting-for-jobs. */
export async function startPair(
  hubArgs: string[] = [],
  agentOptions: AgentProcessOptions = {},
): Promise<{ hub: HubProcess; agent: AgentProcess }> {
  const hub = await startHub(hubArgs);
  const agent = startAgent(hub, agentOptions);
  await waitForIdleAgent(hub, agent);
  return { hub, agent };
}

export async function waitForIdleAgent(hub: HubProcess, agent: AgentProcess, timeoutMs = 15_000): Promise<void> {
  try {
    await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"), timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nagent stderr:\n${agent.stderr}`);
  }
}

async function harness<T>(hub: HubProcess, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${hub.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

export const pendingFaults = (hub: HubProcess) => harness<Fault[]>(hub, "GET", "/private/faults");
export const expireLogToken = (hub: HubProcess, id: string) => harness<unknown>(hub, "POST", `/private/jobs/${id}/expire-log-token`);
export const requests = (hub: HubProcess) => harness<RequestRow[]>(hub, "GET", "/private/requests");

/** Requests whose path (query string excluded) equals `path`. */
export async function requestsTo(hub: HubProcess, path: string): Promise<RequestRow[]> {
  return (await requests(hub)).filter((r) => r.path.split("?")[0] === path);
}

export const logPath = (id: string) => `/api/v1/logs/${encodeURIComponent(id)}`;

export async function expectNoViolations(hub: HubProcess): Promise<void> {
  expect(await hub.api.violations()).toEqual([]);
}

/** The registration token must never be printed by the agent (checked on every run). */
export function expectNoTokenLeak(agent: { stdout: string; stderr: string }, token: string): void {
  expect(token.length).toBeGreaterThan(8);
  expect(agent.stderr).not.toContain(token);
  expect(agent.stdout).not.toContain(token);
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitUntil<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

/**
 * The job events the agent logged locally, as printed on stderr with SEMAPHORE_AGENT_LOG_LEVEL=debug
 * (`[<job id>] {json}`), in order: what the hub must have received, event for event.
 */
export function agentLoggedEvents(agent: AgentProcess, jobId: string): JobLogEvent[] {
  const marker = `[${jobId}] `;
  const events: JobLogEvent[] = [];
  for (const line of agent.stderr.split("\n")) {
    const at = line.indexOf(marker);
    if (at < 0) continue;
    const json = line.slice(at + marker.length);
    if (!json.startsWith("{")) continue;
    events.push(JSON.parse(json) as JobLogEvent);
  }
  return events;
}

/** Event-type histogram, for "exact counts" assertions. */
export function countByType(events: JobLogEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.event] = (counts[e.event] ?? 0) + 1;
  return counts;
}

/** summarize() lines of a passing job whose commands produced no output beyond `body`. */
export function passingJob(body: string[]): string[] {
  return [
    "job_started",
    "started(Exporting environment variables)",
    "finished(Exporting environment variables, 0)",
    "started(Injecting Files)",
    "finished(Injecting Files, 0)",
    ...body,
    "started(Exporting environment variables)",
    'out("Exporting SEMAPHORE_JOB_RESULT\\n")',
    "finished(Exporting environment variables, 0)",
    "job_finished(passed)",
  ];
}

export interface ShutdownHook {
  path: string;
  /** What the hook wrote, or null when it never ran. */
  read(): { reason: string; atMs: number; isShutdown: string } | null;
}

/**
 * A shutdown hook script that records SEMAPHORE_AGENT_SHUTDOWN_REASON, its own start time (ms) and
 * what the hub's Go-compatible /is_shutdown said at that moment (queried with bash's /dev/tcp, so no
 * curl is needed). HUB_PORT must be in the agent's environment for the query ("" without it).
 */
export function shutdownHook(): ShutdownHook {
  const dir = tempDir("sa-hook-");
  const path = join(dir, "hook.sh");
  const out = join(dir, "hook.out");
  writeFileSync(
    path,
    [
      "#!/bin/bash",
      "at=$(date +%s%3N)",
      'answer=""',
      'if [ -n "$HUB_PORT" ] && exec 3<>"/dev/tcp/127.0.0.1/$HUB_PORT"; then',
      "  printf 'GET /api/v1/self_hosted_agents/is_shutdown HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\nUser-Agent: hook\\r\\n\\r\\n' >&3",
      "  answer=$(cat <&3 | tail -n 1)",
      "  exec 3<&-",
      "fi",
      `printf '%s\\n%s\\n%s\\n' "$SEMAPHORE_AGENT_SHUTDOWN_REASON" "$at" "$answer" > ${JSON.stringify(out)}.tmp`,
      `mv ${JSON.stringify(out)}.tmp ${JSON.stringify(out)}`,
      "echo hook done",
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return {
    path,
    read() {
      if (!existsSync(out)) return null;
      const [reason = "", at = "", isShutdown = ""] = readFileSync(out, "utf8").split("\n");
      return { reason, atMs: Number(at), isShutdown: isShutdown.trim() };
    },
  };
}

export function hubPort(hub: HubProcess): string {
  return hub.endpoint.split(":")[1] ?? "";
}

/** A job command that prints for ~2 s: long enough for several faulty syncs to happen meanwhile. */
export const TICKS = 20;
export const TICK_LOOP = `for i in $(seq 1 ${TICKS}); do echo "tick $i"; sleep 0.1; done`;
export const TICK_OUTPUT = Array.from({ length: TICKS }, (_, i) => `tick ${i + 1}\n`).join("");
export const DEBUG_LOG = { SEMAPHORE_AGENT_LOG_LEVEL: "debug" };
