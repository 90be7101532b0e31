// Helpers for the job-semantics integration tests (tests/integration/jobs-*.test.ts): running a job
// through the real hub and agent, picking one command's output out of the recorded events, and
// finding the processes a job left behind.
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, expect } from "vitest";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import type { JobView } from "../../hub/types.js";
import { delay, startAgent, startHub, stopAll, type AgentProcess, type HubProcess } from "./processes.js";

export interface FinishedJob {
  id: string;
  view: JobView;
  events: JobLogEvent[];
}

/** Schedules a job (a wire request, see `job()`), waits until the hub has it `finished`, returns its events. */
export async function runJob(hub: HubProcess, request: object, timeoutMs = 30_000): Promise<FinishedJob> {
  const id = await hub.api.schedule(request);
  const view = await hub.api.waitForJob(id, "finished", timeoutMs);
  const events = await hub.api.events(id);
  return { id, view, events };
}

/** Every test ends with this: the hub saw nothing a correct agent would never send. */
export async function expectNoViolations(hub: HubProcess): Promise<void> {
  expect(await hub.api.violations()).toEqual([]);
}

/**
 * The raw `cmd_output` texts of the `occurrence`-th command (0-based) whose directive is
 * `directive`, between its `cmd_started` and `cmd_finished`. Throws when there is no such command.
 */
export function rawOutputs(events: JobLogEvent[], directive: string, occurrence = 0): string[] {
  let seen = -1;
  let inside = false;
  const out: string[] = [];
  for (const e of events) {
    if (!inside) {
      if (e.event === "cmd_started" && e.directive === directive && ++seen === occurrence) inside = true;
      continue;
    }
    if (e.event === "cmd_output") out.push(e.output);
    else if (e.event === "cmd_finished") return out;
    else throw new Error(`command ${directive} (#${occurrence}) interrupted by ${e.event}`);
  }
  throw new Error(`no complete command ${JSON.stringify(directive)} (#${occurrence}) in ${events.length} events`);
}

/** The concatenated output of one command (chunk boundaries are not part of the contract). */
export function outputOf(events: JobLogEvent[], directive: string, occurrence = 0): string {
  return rawOutputs(events, directive, occurrence).join("");
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** Alive and not a zombie: a zombie is dead already, only not yet reaped by its (new) parent. */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Live processes whose environment says HOME=`home` — with the harness's private HOME per agent,
 * that is the agent process and everything its jobs started — minus the agent itself. Zombies
 * count as gone.
 */
export function processesWithHome(home: string, exclude: readonly number[] = []): Array<{ pid: number; cmdline: string }> {
  const wanted = `HOME=${home}`;
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || exclude.includes(pid)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, "latin1").split("\0");
      if (!environ.includes(wanted)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || state === "X") continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "latin1").replaceAll("\0", " ").trim();
      found.push({ pid, cmdline });
    } catch {
      // Exited meanwhile, or not ours to read.
    }
  }
  return found;
}

/** The processes of the agent's jobs: everything with the agent's HOME except the agent. */
export function jobProcesses(agent: AgentProcess): Array<{ pid: number; cmdline: string }> {
  return processesWithHome(agent.home, [agent.pid]);
}

/** The `.env-*` files in `dir`, sorted; none when the folder is gone (a strict job's /tmp after the job). */
export function envFilesIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.startsWith(".env-")).sort();
  } catch {
    return [];
  }
}

/** Polls `check` every 25 ms until it returns a truthy value. */
export async function waitUntil<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

/** Waits until the hub has seen `directive` start in job `id` (its events reach the hub by push). */
export async function waitForCommandStart(hub: HubProcess, id: string, directive: string, timeoutMs = 15_000): Promise<void> {
  await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_started" && e.directive === directive), timeoutMs);
}

/** Asks the hub to shut one agent down (by its --name) and waits for the process to exit 0. */
export async function shutdownAgent(hub: HubProcess, agent: AgentProcess, name: string): Promise<void> {
  const res = await fetch(`${hub.url}/private/shutdown`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ agent: name }),
  });
  if (!res.ok) throw new Error(`shutdown of ${name}: HTTP ${res.status}: ${await res.text()}`);
  expect(await agent.waitForExit(15_000)).toBe(0);
}

/** Waits until the named agent is registered and waiting for jobs. */
export async function waitForIdleAgent(hub: HubProcess, name: string): Promise<void> {
  await hub.api.waitForAgent((agents) => agents.some((a) => a.name === name && a.state === "waiting-for-jobs" && !a.disconnected));
}

/** The env step and files step with no variables and no files, as every plain job starts. */
export const EMPTY_PREAMBLE = [
  "job_started",
  "started(Exporting environment variables)",
  "finished(Exporting environment variables, 0)",
  "started(Injecting Files)",
  "finished(Injecting Files, 0)",
];

/** The pre-epilogue export of SEMAPHORE_JOB_RESULT (exit code `code`). */
export function resultExport(code = 0): string[] {
  return [
    "started(Exporting environment variables)",
    'out("Exporting SEMAPHORE_JOB_RESULT\\n")',
    `finished(Exporting environment variables, ${code})`,
  ];
}

/** An event without its clock fields, for comparing wire forms whose timestamps are illustrative. */
export function withoutTimes(event: JobLogEvent): Record<string, unknown> {
  const { timestamp: _timestamp, ...rest } = event as unknown as Record<string, unknown>;
  delete rest.started_at;
  delete rest.finished_at;
  return rest;
}

/**
 * One hub and one agent for a whole test file: started before its tests (the agent waiting for
 * jobs), stopped after them, and then nothing any job started may still run.
 */
export function useHubAndAgent(set: (hub: HubProcess, agent: AgentProcess) => void, sandbox: "none" | "strict" = "none"): void {
  let home: string | undefined;
  beforeAll(async () => {
    const hub = await startHub();
    const agent = startAgent(hub, { sandbox });
    home = agent.home;
    set(hub, agent);
    await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));
  });
  afterAll(async () => {
    await stopAll();
    // Nothing any job started may outlive the suite (the agent itself is gone now too).
    if (home) expect(processesWithHome(home)).toEqual([]);
  });
}
