// Real processes for integration tests: the local hub and the agent, each started through the CLI
// exactly as a user would, talking HTTP on 127.0.0.1. Every process started here is stopped by
// `stopAll()` (call it in afterEach/afterAll).
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { AgentView, Fault, JobStatus, JobView, Violation } from "../../hub/types.js";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import { inject } from "vitest";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "bin/semaphore-agent");

/** Fast but spec-shaped timings for tests (the real agent uses spec §9.4 values). */
export const FAST_TIMINGS = {
  logPushMinMs: 100,
  logPushMaxMs: 200,
  logFlushMinMs: 50,
  logFlushMaxMs: 100,
  syncIntervalMinMs: 200,
  syncIntervalMaxMs: 400,
  registerDelayMs: 100,
  getJobDelayMs: 200,
  disconnectDelayMs: 100,
};

const started = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function tempDir(prefix = "sa-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise<void>((resolveStop) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
          child.once("exit", () => resolveStop());
          child.kill("SIGKILL");
        }),
    ),
  );
  started.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export class Proc {
  stdout = "";
  stderr = "";
  readonly exited: Promise<number>;

  constructor(readonly child: ChildProcess) {
    started.add(child);
    child.stdout?.on("data", (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolveExit) => {
      child.on("exit", (code, signal) => {
        started.delete(child);
        resolveExit(code ?? (signal ? 128 : -1));
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async waitForExit(timeoutMs: number): Promise<number> {
    return await withTimeout(this.exited, timeoutMs, () => `process did not exit within ${timeoutMs} ms\nstderr:\n${this.stderr}`);
  }

  async waitForOutput(pattern: RegExp, timeoutMs: number, stream: "stdout" | "stderr" = "stderr"): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this[stream].match(pattern);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms:\n${this[stream]}\n---\n${stream === "stdout" ? this.stderr : this.stdout}`);
      await delay(25);
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Proc(child);
}

export interface HubProcess {
  proc: Proc;
  url: string;
  endpoint: string;
  token: string;
  api: HubApi;
}

export async function startHub(args: string[] = []): Promise<HubProcess> {
  const proc = runCli(["hub", "--port", "0", "--next-sync-after", "200", ...args]);
  const m = await proc.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:(\d+))/, 15_000, "stdout");
  const tokenMatch = await proc.waitForOutput(/registration token: (\S+)/, 5_000, "stdout");
  const url = m[1] as string;
  return { proc, url, endpoint: `127.0.0.1:${m[2]}`, token: tokenMatch[1] as string, api: new HubApi(url) };
}

export interface AgentProcessOptions {
  /** Extra CLI flags after the required ones. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** YAML text for --config-file (written to a temp file). */
  configYaml?: string;
  timings?: Record<string, number>;
  /** Leave out --endpoint/--token/--no-https (for config-file tests). */
  bare?: boolean;
  /**
   * `strict`: run jobs in the bubblewrap sandbox, with a job home of their own (--job-home, never the
   * agent's HOME); `home` is then that job home (the jobs' HOME), `ownerHome` the agent's.
   */
  sandbox?: "none" | "strict";
}

export interface AgentProcess extends Proc {
  /** The jobs' HOME: the agent's HOME, or under strict the job home. */
  home: string;
  /** The agent process's own HOME. */
  ownerHome: string;
  tmp: string;
  sandbox: "none" | "strict";
  /**
   * Where the running job's TMPDIR is on this side: the agent's TMPDIR, or under strict the host
   * folder of the job's private /tmp (gone once the job has ended).
   */
  jobTmp(): string;
}

/** The sandbox levels the job-semantics tests run under, with the same expectations. */
export const SANDBOX_LEVELS = ["none", "strict"] as const;

export function startAgent(hub: HubProcess | null, options: AgentProcessOptions = {}): AgentProcess {
  const home = tempDir("sa-home-");
  withToolbox(home);
  const tmp = tempDir("sa-tmp-");
  const sandbox = options.sandbox ?? "none";
  const jobHome = sandbox === "strict" ? tempDir("sa-jobhome-") : home;
  const args = ["start"];
  if (!options.bare && hub) args.push("--endpoint", hub.endpoint, "--token", hub.token, "--no-https");
  // The job home is kept as it is after a job, as HOME is under none: the same tests look at it afterwards.
  if (sandbox === "strict") args.push("--sandbox", "strict", "--job-home", jobHome, "--job-home-cleanup", "keep");
  if (options.configYaml !== undefined) {
    const file = join(tmp, "config.yaml");
    writeFileSync(file, options.configYaml);
    args.push("--config-file", file);
  }
  args.push(...(options.args ?? []));
  const proc = runCli(args, {
    HOME: home,
    TMPDIR: tmp,
    SEMAPHORE_AGENT_TEST_TIMINGS: JSON.stringify({ ...FAST_TIMINGS, ...options.timings }),
    ...options.env,
  }, home) as AgentProcess;
  proc.home = jobHome;
  proc.ownerHome = home;
  proc.tmp = tmp;
  proc.sandbox = sandbox;
  proc.jobTmp = () => {
    if (sandbox === "none") return tmp;
    const work = readdirSync(tmp).filter((n) => n.startsWith("semaphore-agent-"));
    return join(tmp, work[0] ?? "semaphore-agent-missing", "tmp");
  };
  return proc;
}

/**
 * Puts the run's fixture toolbox (tests/global-setup.ts) into `home`, as `toolbox install` would have:
 * every agent of the suite runs its jobs with the toolbox loaded.
 */
export function withToolbox(home: string): void {
  const template = inject("toolboxTemplateHome");
  if (template) cpSync(join(template, ".toolbox"), join(home, ".toolbox"), { recursive: true, verbatimSymlinks: true });
}

export class HubApi {
  constructor(readonly url: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }

  async schedule(job: object): Promise<string> {
    return (await this.call<{ job_id: string }>("POST", "/private/jobs", job)).job_id;
  }
  stop(id: string) {
    return this.call<unknown>("POST", `/private/jobs/${id}/stop`);
  }
  shutdown() {
    return this.call<unknown>("POST", "/private/shutdown", {});
  }
  job(id: string) {
    return this.call<JobView>("GET", `/private/jobs/${id}`);
  }
  events(id: string) {
    return this.call<JobLogEvent[]>("GET", `/private/jobs/${id}/events`);
  }
  agents() {
    return this.call<AgentView[]>("GET", "/private/agents");
  }
  violations() {
    return this.call<Violation[]>("GET", "/private/violations");
  }
  requests() {
    return this.call<Array<{ method: string; path: string; status: number | null; fault?: string }>>("GET", "/private/requests");
  }
  fault(fault: Fault) {
    return this.call<unknown>("POST", "/private/faults", fault);
  }

  async waitForJob(id: string, status: JobStatus, timeoutMs = 30_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(id);
      if (job.status === status) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} is ${job.status}, not ${status}, after ${timeoutMs} ms`);
      await delay(50);
    }
  }

  /** Waits until the job's stored events satisfy `predicate`. */
  async waitForEvents(id: string, predicate: (events: JobLogEvent[]) => boolean, timeoutMs = 30_000): Promise<JobLogEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = await this.events(id).catch(() => [] as JobLogEvent[]);
      if (predicate(events)) return events;
      if (Date.now() > deadline) throw new Error(`events of ${id} never matched within ${timeoutMs} ms: ${JSON.stringify(events).slice(-2000)}`);
      await delay(50);
    }
  }

  async waitForAgent(predicate: (agents: AgentView[]) => boolean, timeoutMs = 15_000): Promise<AgentView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const agents = await this.agents();
      if (predicate(agents)) return agents;
      if (Date.now() > deadline) throw new Error(`agents never matched within ${timeoutMs} ms: ${JSON.stringify(agents)}`);
      await delay(50);
    }
  }
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

export interface JobSpec {
  env?: Record<string, string>;
  files?: Array<{ path: string; content: string; mode: string }>;
  commands?: Array<string | { directive: string; alias: string }>;
  always?: string[];
  onPass?: string[];
  onFail?: string[];
  [extra: string]: unknown;
}

/** Builds a wire job request (base64 env values and file contents). */
export function job(spec: JobSpec): Record<string, unknown> {
  const cmd = (c: string | { directive: string; alias: string }) => (typeof c === "string" ? { directive: c } : c);
  const { env, files, commands, always, onPass, onFail, ...extra } = spec;
  return {
    executor: "shell",
    env_vars: Object.entries(env ?? {}).map(([name, value]) => ({ name, value: b64(value) })),
    files: (files ?? []).map((f) => ({ ...f, content: b64(f.content) })),
    commands: (commands ?? []).map(cmd),
    epilogue_always_commands: (always ?? []).map(cmd),
    epilogue_on_pass_commands: (onPass ?? []).map(cmd),
    epilogue_on_fail_commands: (onFail ?? []).map(cmd),
    ...extra,
  };
}

/** Compact view of events for exact comparisons: consecutive outputs are joined. */
export function summarize(events: JobLogEvent[]): string[] {
  const lines: string[] = [];
  let output: string | null = null;
  const flush = () => {
    if (output !== null) lines.push(`out(${JSON.stringify(output)})`);
    output = null;
  };
  for (const e of events) {
    if (e.event === "cmd_output") {
      output = (output ?? "") + e.output;
      continue;
    }
    flush();
    if (e.event === "job_started") lines.push("job_started");
    else if (e.event === "cmd_started") lines.push(`started(${e.directive})`);
    else if (e.event === "cmd_finished") lines.push(`finished(${e.directive}, ${e.exit_code})`);
    else if (e.event === "job_finished") lines.push(`job_finished(${e.result})`);
  }
  flush();
  return lines;
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
