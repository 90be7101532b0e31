// The renderer's store against a stand-in for the transport: a Bridge whose HostApi answers from
// in-memory job logs, paged like the host's readJobLog. Everything above the bridge is the real code.
import { gpuSnapshot, gpuUuid, gpuView as fixtureGpu } from "../helpers/fixtures.js";
import { describe, expect, it } from "vitest";
import { GPU_HISTORY_MS, idleAgentSnapshot } from "../../agent-core/host/contract.js";
import type {
  AgentSnapshot,
  GivenSummary,
  GpuSnapshot,
  GpuTick,
  GpuView,
  HostApi,
  HostEvent,
  HostEventListener,
  HostSnapshot,
  JobDetail,
  JobLogEvent,
  JobLogPage,
  JobSummary,
} from "../../agent-core/host/contract.js";
import { HostCallError, type ConnectionState, type RendererBridge } from "../../renderer/bridge/types.js";
import { JobLogInterpreter, type FormatContext } from "../../renderer/job-format.js";
import { JobLog } from "../../renderer/log/job-log.js";
import { createAppStore, fieldErrorsOf, MAX_ACTIVITY, type AppStore } from "../../renderer/store/app-store.js";
import type { LogFeed } from "../../renderer/store/log-feed.js";
import { settingsView } from "../helpers/settings-view.js";

// ---------------------------------------------------------------------------------------------
// Fixtures

const agent = (patch: Partial<AgentSnapshot> = {}): AgentSnapshot => idleAgentSnapshot({ endpoint: "acme.semaphoreci.com", ...patch });

const settings = settingsView;

const summary = (id: string, patch: Partial<JobSummary> = {}): JobSummary => ({
  id,
  mode: "semaphore",
  result: "running",
  startedAt: 1_000,
  finishedAt: null,
  durationMs: null,
  events: 0,
  bytes: 0,
  identity: null,
  problem: null,
  stoppedBy: null,
  agentId: "main",
  agentName: "gpu-box",
  usage: null,
  ...patch,
});

const detail = (id: string, patch: Partial<JobSummary> = {}): JobDetail => ({ summary: summary(id, patch), envVarNames: ["A", "B"], plan: null, stop: null });

/** A job's log: job_started, then `commands` commands of `lines` output lines each, then (when finished) job_finished. */
function jobLog(commands: number, lines: number, finished: boolean): JobLogEvent[] {
  const events: JobLogEvent[] = [{ event: "job_started", timestamp: 1 }];
  for (let c = 0; c < commands; c++) {
    events.push({ event: "cmd_started", timestamp: 1, directive: `step ${c}` });
    for (let l = 0; l < lines; l++) events.push({ event: "cmd_output", timestamp: 1, output: `command ${c} line ${l}\n` });
    events.push({ event: "cmd_finished", timestamp: 2, directive: `step ${c}`, exit_code: c % 3 === 2 ? 1 : 0, started_at: 1, finished_at: 2 });
  }
  if (finished) events.push({ event: "job_finished", timestamp: 3, result: "passed" });
  return events;
}

/** The log a view shows of `events`, read straight through an interpreter: what the store's path must match. */
function formatted(events: readonly JobLogEvent[], context: Partial<FormatContext> = {}): string {
  const log = new JobLog();
  const interpreter = new JobLogInterpreter(log, context);
  for (const e of events) interpreter.read(e);
  return log.text();
}

// ---------------------------------------------------------------------------------------------
// The stand-in transport

class FakeHost {
  /** What the local history has stored per job (it may lag behind what was sent live). */
  readonly stored = new Map<string, JobLogEvent[]>();
  readonly finished = new Set<string>();
  readonly calls: { method: string; params: unknown }[] = [];
  snapshot: HostSnapshot = {
    agent: agent(),
    agents: [agent()],
    settings: settings(),
    demo: { running: false, hubUrl: null, examples: [{ id: "hello", title: "Hello", description: "Says hello" }] },
    history: [],
    currentJob: null,
    version: "0.1.0",
  };
  connection: ConnectionState = { status: "connected" };
  /** While set, readJobLog waits for it. */
  gate: Promise<void> | null = null;
  private readonly listeners = new Set<HostEventListener>();
  private readonly connectionListeners = new Set<(s: ConnectionState) => void>();
  answers: Partial<Record<keyof HostApi, (params: never) => unknown>> = {};

  readsOf(jobId: string): number[] {
    return this.calls.filter((c) => c.method === "readJobLog" && (c.params as { jobId: string }).jobId === jobId).map((c) => (c.params as { from: number }).from);
  }

  emit(event: HostEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  setConnection(state: ConnectionState): void {
    this.connection = state;
    for (const l of [...this.connectionListeners]) l(state);
  }

  /** Stores `events` and sends them live as one job-output from `from`. */
  output(jobId: string, from: number, events: JobLogEvent[], store = true): void {
    if (store) {
      const log = this.stored.get(jobId) ?? [];
      for (let i = 0; i < events.length; i++) log[from + i] = events[i]!;
      this.stored.set(jobId, log);
    }
    this.emit({ type: "job-output", jobId, from, events });
  }

  readJobLog({ jobId, from, maxBytes = 1024 * 1024 }: { jobId: string; from: number; maxBytes?: number }): JobLogPage {
    const log = this.stored.get(jobId);
    if (log === undefined) throw new HostCallError("not-found", `readJobLog: no job ${jobId}`);
    const events: JobLogEvent[] = [];
    let bytes = 0;
    for (let i = from; i < log.length && log[i] !== undefined; i++) {
      if (events.length > 0 && bytes >= maxBytes) break;
      events.push(log[i]!);
      bytes += JSON.stringify(log[i]).length;
    }
    const next = from + events.length;
    return { jobId, from, events, next, done: this.finished.has(jobId) && next >= log.length };
  }

  bridge(): RendererBridge {
    const answer = async (method: keyof HostApi, params: unknown): Promise<unknown> => {
      this.calls.push({ method, params });
      if (method === "readJobLog" && this.gate !== null) await this.gate;
      const custom = this.answers[method];
      if (custom !== undefined) return custom(params as never);
      switch (method) {
        case "getSnapshot":
          return structuredClone(this.snapshot);
        case "readJobLog":
          return this.readJobLog(params as { jobId: string; from: number; maxBytes?: number });
        case "getJob": {
          const id = (params as { jobId: string }).jobId;
          if (!this.stored.has(id)) throw new HostCallError("not-found", `getJob: no job ${id}`);
          return detail(id);
        }
        case "listJobs":
          return this.snapshot.history.filter((j) => j.result === (params as { result?: string }).result);
        case "startAgent":
          return agent({ phase: "registering", startedAt: 5 });
        case "stopAgent":
          return agent({ phase: "waiting-for-jobs", stopping: true });
        default:
          throw new HostCallError("internal", `${method}: not in this test`);
      }
    };
    const api = new Proxy({} as HostApi, { get: (_t, method: string) => (params: unknown) => answer(method as keyof HostApi, params) });
    return {
      kind: "console",
      api,
      subscribe: (l) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
      connection: () => this.connection,
      onConnection: (l) => {
        this.connectionListeners.add(l);
        return () => this.connectionListeners.delete(l);
      },
    };
  }
}

/** A Job view as the feed sees it: it attaches, counts the feed's changes and reads the log it got. */
class TestView {
  private attached: { log: JobLog; detach: () => void } | null = null;
  changes = 0;
  attachTo(feed: LogFeed): void {
    this.attached = feed.attach({ ingested: () => {}, changed: () => this.changes++ });
  }
  get text(): string {
    return this.attached?.log.text() ?? "";
  }
}

async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}

function setup(prepare?: (host: FakeHost) => void, pageBytes = 256 * 1024): { host: FakeHost; store: AppStore } {
  const host = new FakeHost();
  prepare?.(host);
  const store = createAppStore(host.bridge(), { now: () => 50_000, stream: { pageBytes, sleep: () => new Promise((r) => setTimeout(r, 0)), lagGiveUpMs: 5_000 } });
  store.connect();
  return { host, store };
}

// ---------------------------------------------------------------------------------------------

describe("renderer store: snapshot and events", () => {
  it("loads the snapshot when connected", async () => {
    const { store } = setup((h) => {
      h.snapshot.history = [summary("old", { result: "passed" })];
    });
    await settle();
    const s = store.getState();
    expect(s.loaded).toBe(true);
    expect(s.version).toBe("0.1.0");
    expect(s.agent?.phase).toBe("idle");
    expect(s.settings?.configured).toBe(true);
    expect(s.demo?.examples[0]?.id).toBe("hello");
    expect(s.history.map((j) => j.id)).toEqual(["old"]);
    expect(s.selectedJobId).toBe("old"); // the Job view shows the latest job
  });

  it("applies agent, settings, demo and activity events", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "agent", agent: agent({ phase: "waiting-for-jobs", name: "gpu-box-1" }) });
    expect(store.getState().agent?.name).toBe("gpu-box-1");
    host.emit({ type: "settings", settings: settings({ name: "renamed-agent" }) });
    expect(store.getState().settings?.name).toBe("renamed-agent");
    host.emit({ type: "demo", demo: { running: true, hubUrl: "http://127.0.0.1:4000", examples: [] } });
    expect(store.getState().demo).toEqual({ running: true, hubUrl: "http://127.0.0.1:4000", examples: [] });
    for (let i = 0; i < MAX_ACTIVITY + 25; i++) host.emit({ type: "activity", at: i, level: i % 2 ? "info" : "warn", message: `line ${i}` });
    const activity = store.getState().activity;
    expect(activity).toHaveLength(MAX_ACTIVITY);
    expect(activity[0]!.message).toBe("line 25");
    expect(activity.at(-1)!.message).toBe(`line ${MAX_ACTIVITY + 24}`);
  });

  it("job-started adds the job to the history and the Job view follows it; job-output builds its outline", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const s = store.getState();
    expect(s.history[0]?.id).toBe("j1");
    expect(s.selectedJobId).toBe("j1");
    expect(s.jobs.j1?.envVarNames).toEqual(["A", "B"]);
    const log = jobLog(3, 2, false);
    host.output("j1", 0, log.slice(0, 5));
    host.output("j1", 5, log.slice(5));
    await settle();
    expect(host.readsOf("j1")).toEqual([]); // all of it came live: no reads
    const outline = store.getState().jobs.j1!.outline;
    expect(outline.commands.map((c) => [c.directive, c.exitCode])).toEqual([
      ["step 0", 0],
      ["step 1", 0],
      ["step 2", 1],
    ]);
  });

  it("job-finished updates the job's summary in the history and in the Job view", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const log = jobLog(1, 1, true);
    host.finished.add("j1");
    host.output("j1", 0, log);
    const done = summary("j1", { result: "passed", finishedAt: 9_000, durationMs: 8_000, events: log.length });
    host.emit({ type: "job-finished", job: done });
    await settle();
    expect(store.getState().history[0]).toEqual(done);
    expect(store.getState().jobs.j1?.summary).toEqual(done);
    expect(store.getState().jobs.j1?.outline.result).toBe("passed");
  });

  it("a history event replaces the list and the shown job's summary", async () => {
    const { host, store } = setup((h) => {
      h.snapshot.history = [summary("a", { result: "passed" }), summary("b", { result: "failed" })];
      h.stored.set("a", jobLog(1, 1, true));
      h.finished.add("a");
    });
    await settle();
    store.getState().openJob("a");
    await settle();
    host.emit({ type: "history", history: [summary("a", { result: "lost" })] });
    expect(store.getState().history.map((j) => j.id)).toEqual(["a"]);
    expect(store.getState().jobs.a?.summary?.result).toBe("lost");
  });
});

describe("renderer store: job output in order, without gaps or duplicates", () => {
  it("fills a gap in the live output from the history before going on", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const term = new TestView();
    term.attachTo(store.feedFor("j1"));
    const log = jobLog(4, 5, false); // 1 + 4 * 7 = 29 events
    host.output("j1", 0, log.slice(0, 6));
    host.output("j1", 6, log.slice(6, 12), true);
    // Events 12..17 are stored but never sent live (a dropped batch); 18.. arrive live.
    const log2 = host.stored.get("j1")!;
    for (let i = 12; i < 18; i++) log2[i] = log[i]!;
    host.output("j1", 18, log.slice(18, 24));
    host.output("j1", 24, log.slice(24));
    await settle();
    expect(host.readsOf("j1")).toEqual([12]);
    expect(store.streamOf("j1")!.appliedCount).toBe(log.length);
    expect(term.text).toBe(formatted(log));
    expect(store.getState().jobs.j1!.outline.commands).toHaveLength(4);
  });

  it("skips what it already has when batches overlap or repeat", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const term = new TestView();
    term.attachTo(store.feedFor("j1"));
    const log = jobLog(2, 3, false);
    host.output("j1", 0, log.slice(0, 6));
    host.output("j1", 3, log.slice(3, 9)); // overlaps 3..5
    host.output("j1", 0, log.slice(0, 9)); // a repeat
    host.output("j1", 9, log.slice(9));
    await settle();
    expect(term.text).toBe(formatted(log));
    expect(store.getState().jobs.j1!.outline.commands.map((c) => c.directive)).toEqual(["step 0", "step 1"]);
  });

  it("holds live batches that arrive while a gap is read, and applies them after it", async () => {
    const log = jobLog(5, 4, false);
    let open!: () => void;
    const { host, store } = setup((h) => {
      // Opened mid-job: 12 events are stored, and the log is read from 0 first.
      h.stored.set("j1", log.slice(0, 12));
      h.snapshot.agent = agent({ phase: "running-job", jobId: "j1" });
      h.snapshot.agents = [h.snapshot.agent];
      h.snapshot.currentJob = detail("j1");
      h.gate = new Promise((r) => (open = r));
    });
    await settle(3);
    const term = new TestView();
    term.attachTo(store.feedFor("j1"));
    // While the first read waits, more output arrives live, after the gap.
    host.output("j1", 12, log.slice(12, 16));
    host.output("j1", 16, log.slice(16));
    await settle(3);
    expect(store.streamOf("j1")!.appliedCount).toBe(0);
    expect(term.text).toBe("");
    host.gate = null;
    open();
    await settle();
    expect(store.streamOf("j1")!.appliedCount).toBe(log.length);
    expect(term.text).toBe(formatted(log));
    expect(host.readsOf("j1")[0]).toBe(0);
    expect(store.getState().jobs.j1!.outline.commands).toHaveLength(5);
  });

  it("waits for a history that has not stored what the live stream announced yet", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const term = new TestView();
    term.attachTo(store.feedFor("j1"));
    const log = jobLog(2, 2, false);
    host.output("j1", 0, log.slice(0, 2));
    host.output("j1", 5, log.slice(5), true); // 2..4 missing live and not stored yet
    await settle(5);
    expect(store.streamOf("j1")!.appliedCount).toBe(2);
    const stored = host.stored.get("j1")!;
    for (let i = 2; i < 5; i++) stored[i] = log[i]!;
    await settle();
    expect(store.streamOf("j1")!.appliedCount).toBe(log.length);
    expect(term.text).toBe(formatted(log));
    expect(host.readsOf("j1").length).toBeGreaterThan(1); // it asked again
    expect(store.getState().jobs.j1!.log.error).toBeNull();
  });

  it("reads a job opened from the history in pages, into a terminal attached later", async () => {
    const log = jobLog(20, 50, true);
    const { host, store } = setup((h) => {
      h.snapshot.history = [summary("big", { result: "passed" })];
      h.stored.set("big", log);
      h.finished.add("big");
    }, 4096);
    await settle();
    store.getState().openJob("big");
    const term = new TestView();
    term.attachTo(store.feedFor("big"));
    await settle(200);
    expect(term.text).toBe(formatted(log));
    expect(host.readsOf("big").length).toBeGreaterThan(10);
    const reads = host.readsOf("big");
    expect([...reads].sort((a, b) => a - b)).toEqual(reads); // forward only
    expect(store.getState().jobs.big!.outline.commands).toHaveLength(20);
    expect(store.getState().jobs.big!.log).toEqual({ loading: false, error: null, missing: false });
  });

  it("keeps a bounded backlog while no terminal is attached, and re-reads the history when one attaches", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const log = jobLog(40, 400, false);
    // About 3.5 million characters: more than the 2 MiB kept for a terminal that is not there.
    const long = log.map((e) => (e.event === "cmd_output" ? { ...e, output: `${e.output.trimEnd()} ${"#".repeat(200)}\n` } : e));
    for (let i = 0; i < long.length; i += 100) host.output("j1", i, long.slice(i, i + 100));
    await settle();
    expect(host.readsOf("j1")).toEqual([]); // the outline had everything live
    const feed = store.feedFor("j1");
    expect(feed.next).toBe(0); // the backlog was given up
    const term = new TestView();
    term.attachTo(feed);
    await settle(400);
    expect(host.readsOf("j1")[0]).toBe(0);
    expect(term.text).toBe(formatted(long));
  });

  it("after a reconnect it re-fetches the snapshot and reads what it missed", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: detail("j1") });
    const term = new TestView();
    term.attachTo(store.feedFor("j1"));
    const log = jobLog(2, 2, true);
    host.output("j1", 0, log.slice(0, 4));
    await settle();
    host.setConnection({ status: "reconnecting", attempt: 1, retryAt: 1 });
    expect(store.getState().connection.status).toBe("reconnecting");
    // While away: the rest is stored, the job finished.
    host.stored.set("j1", log);
    host.finished.add("j1");
    host.snapshot.history = [summary("j1", { result: "passed" })];
    const before = host.calls.filter((c) => c.method === "getSnapshot").length;
    host.setConnection({ status: "connected" });
    await settle();
    expect(host.calls.filter((c) => c.method === "getSnapshot").length).toBe(before + 1);
    expect(term.text).toBe(formatted(log));
    expect(store.getState().jobs.j1!.summary?.result).toBe("passed");
    expect(store.getState().activity.map((a) => a.message)).toEqual(["Connection to the agent host lost", "Connection to the agent host restored"]);
  });

  it("follows a scheduled example that is not in the history yet, and loads it once it starts", async () => {
    const { host, store } = setup((h) => {
      h.answers.runExample = () => ({ jobId: "ex1" });
    });
    await settle();
    await store.getState().runExample("hello");
    await settle();
    expect(store.getState().view).toBe("job");
    expect(store.getState().selectedJobId).toBe("ex1");
    expect(store.getState().jobs.ex1!.log.missing).toBe(true);
    host.stored.set("ex1", jobLog(1, 1, false).slice(0, 3));
    host.emit({ type: "job-started", job: detail("ex1") });
    await settle();
    expect(store.getState().jobs.ex1!.log.missing).toBe(false);
    expect(store.streamOf("ex1")!.appliedCount).toBe(3);
  });

  it("stops following jobs that are neither running nor shown", async () => {
    const { host, store } = setup((h) => {
      h.snapshot.history = [summary("a", { result: "passed" }), summary("b", { result: "failed" })];
      h.stored.set("a", jobLog(1, 1, true));
      h.stored.set("b", jobLog(1, 1, true));
    });
    await settle();
    store.getState().openJob("a");
    store.getState().openJob("b");
    await settle();
    expect(store.streamOf("a")).toBeUndefined();
    expect(store.getState().jobs.a).toBeUndefined();
    expect(store.streamOf("b")).toBeDefined();
    host.emit({ type: "job-started", job: detail("c") });
    expect(store.streamOf("c")).toBeDefined(); // running, though another job is shown
    expect(store.getState().selectedJobId).toBe("b"); // opened from the history: not moved
  });
});

describe("renderer store: actions", () => {
  it("Start leads to the first-run setup while nothing is configured", async () => {
    const { host, store } = setup((h) => {
      h.snapshot.settings = settings({ configured: false, endpoint: "", tokenSet: false });
    });
    await settle();
    await store.getState().startAgent();
    expect(store.getState().view).toBe("settings");
    expect(store.getState().startAfterSetup).toBe(true);
    expect(host.calls.some((c) => c.method === "startAgent")).toBe(false);
  });

  it("starts and stops the agent, showing a refusal as an error", async () => {
    const { host, store } = setup();
    await settle();
    await store.getState().startAgent();
    expect(store.getState().agent?.phase).toBe("registering");
    await store.getState().stopAgent("after-job");
    expect(host.calls.find((c) => c.method === "stopAgent")?.params).toEqual({ when: "after-job" });
    host.answers.startAgent = () => {
      throw new HostCallError("invalid-state", "The agent is already running");
    };
    await store.getState().startAgent();
    expect(store.getState().error).toEqual({ scope: "agent", message: "The agent is already running" });
    expect(store.getState().busy.agent).toBe(false);
  });

  it("saves settings, keeping field errors for the form", async () => {
    const { host, store } = setup();
    await settle();
    const input = { ...settings(), configured: undefined, tokenSet: undefined, tokenStorage: undefined };
    host.answers.saveSettings = () => ({ ok: false, errors: [{ field: "endpoint", message: "must be a host name" }] });
    expect(await store.getState().saveSettings(input as never)).toBe(false);
    expect(store.getState().settingsErrors).toEqual([{ field: "endpoint", message: "must be a host name" }]);
    host.answers.saveSettings = () => ({ ok: true, settings: settings({ name: "saved-name-1" }) });
    expect(await store.getState().saveSettings(input as never)).toBe(true);
    expect(store.getState().settingsErrors).toEqual([]);
    expect(store.getState().settings?.name).toBe("saved-name-1");
    expect(store.getState().settingsSavedAt).toBe(50_000);
    host.answers.saveSettings = () => {
      throw new HostCallError("invalid-request", "saveSettings: params.settings.historyMaxJobs: Too small: expected number to be >=1");
    };
    expect(await store.getState().saveSettings(input as never)).toBe(false);
    expect(store.getState().settingsErrors).toEqual([{ field: "historyMaxJobs", message: "Too small: expected number to be >=1" }]);
  });

  it("pause, resume, snooze and stop this job call the host and show its agent, or its refusal", async () => {
    const { host, store } = setup();
    await settle();
    host.answers.pause = (p: { when: string }) => agent({ phase: "waiting-for-jobs", lending: { ...agent().lending, pauseAfterJob: p.when === "after-job" } });
    await store.getState().pause("after-job");
    expect(host.calls.find((c) => c.method === "pause")?.params).toEqual({ when: "after-job" });
    expect(store.getState().agent?.lending.pauseAfterJob).toBe(true);
    host.answers.resume = () => agent({ phase: "waiting-for-jobs" });
    await store.getState().resume();
    expect(host.calls.find((c) => c.method === "resume")?.params).toEqual({});
    expect(store.getState().agent?.lending.pauseAfterJob).toBe(false);
    host.answers.snooze = () => {
      throw new HostCallError("invalid-request", "until: must be in the future");
    };
    await store.getState().snooze(10);
    expect(host.calls.find((c) => c.method === "snooze")?.params).toEqual({ until: 10 });
    expect(store.getState().error).toEqual({ scope: "agent", message: "until: must be in the future" });
    host.answers.stopJob = () => {
      throw new HostCallError("invalid-state", "No job is running.");
    };
    await store.getState().stopJob("j1");
    expect(host.calls.find((c) => c.method === "stopJob")?.params).toEqual({ jobId: "j1" });
    expect(store.getState().error).toEqual({ scope: "job", message: "No job is running." });
    expect(store.getState().busy.agent).toBe(false);
  });

  it("reads what this machine has given with the snapshot, and again when a job finishes or retention removes jobs", async () => {
    let given: GivenSummary = { gpuHours: 0, energyWh: 0, jobs: 1, hours: 0.5, since: 1_000, byProject: [{ project: "web-app", jobs: 1, hours: 0.5 }] };
    const { host, store } = setup((h) => {
      h.answers.getGiven = () => structuredClone(given);
    });
    await settle();
    expect(store.getState().given).toEqual(given);
    given = { ...given, jobs: 2, hours: 1 };
    host.emit({ type: "job-finished", job: summary("j2", { result: "passed" }) });
    await settle();
    expect(store.getState().given?.jobs).toBe(2);
    given = { ...given, jobs: 0, hours: 0, since: null, byProject: [] };
    host.emit({ type: "history", history: [] });
    await settle();
    expect(store.getState().given?.jobs).toBe(0);
    // A failed read keeps what was shown.
    host.answers.getGiven = () => {
      throw new HostCallError("internal", "boom");
    };
    host.emit({ type: "job-finished", job: summary("j3", { result: "passed" }) });
    await settle();
    expect(store.getState().given?.jobs).toBe(0);
    expect(store.getState().error?.message ?? "").not.toContain("boom");
    expect(host.calls.filter((c) => c.method === "getGiven")).toHaveLength(4);
  });

  it("reads the schema errors of saveSettings as field errors", () => {
    expect(fieldErrorsOf("saveSettings: params.settings.envVars[2].name: Too big; params.settings.endpoint: Invalid")).toEqual([
      { field: "envVars[2].name", message: "Too big" },
      { field: "endpoint", message: "Invalid" },
    ]);
    expect(fieldErrorsOf("saveSettings: params: Unrecognized key")).toEqual([]);
  });

  it("filters the history at the host and refreshes the filtered list when a job finishes", async () => {
    const { host, store } = setup((h) => {
      h.snapshot.history = [summary("a", { result: "passed" }), summary("b", { result: "failed" })];
    });
    await settle();
    await store.getState().setHistoryFilter("failed");
    expect(host.calls.find((c) => c.method === "listJobs")?.params).toEqual({ result: "failed", limit: 200 });
    expect(store.getState().filteredHistory?.map((j) => j.id)).toEqual(["b"]);
    host.snapshot.history = [summary("c", { result: "failed" }), ...host.snapshot.history];
    host.emit({ type: "job-finished", job: summary("c", { result: "failed" }) });
    await settle();
    expect(store.getState().filteredHistory?.map((j) => j.id)).toEqual(["c", "b"]);
    await store.getState().setHistoryFilter("all");
    expect(store.getState().filteredHistory).toBeNull();
  });
});

describe("renderer store: several agents and the GPUs", () => {
  const UUID = gpuUuid;
  const gpuView = (index: number, patch: Partial<GpuView> = {}): GpuView =>
    fixtureGpu(index, { busId: null, series: { at: [1_000], utilization: [5], memoryUsedMiB: [100], temperatureC: [40], powerW: [90] }, ...patch });
  const gpus = (list: GpuView[]): GpuSnapshot => gpuSnapshot(list);
  const several = (h: FakeHost) => {
    h.snapshot.agents = [agent({ id: "gpu0", name: "box-gpu0" }), agent({ id: "gpu1", name: "box-gpu1" })];
    h.snapshot.agent = h.snapshot.agents[0]!;
  };

  it("keeps every agent, the first as `agent`; agent events update theirs, an agents event replaces the list", async () => {
    const { host, store } = setup(several);
    await settle();
    expect(store.getState().agents.map((a) => a.id)).toEqual(["gpu0", "gpu1"]);
    expect(store.getState().agent?.id).toBe("gpu0");
    host.emit({ type: "agent", agent: agent({ id: "gpu1", name: "box-gpu1", phase: "waiting-for-jobs" }) });
    expect(store.getState().agents.map((a) => [a.id, a.phase])).toEqual([
      ["gpu0", "idle"],
      ["gpu1", "waiting-for-jobs"],
    ]);
    expect(store.getState().agent?.phase).toBe("idle");
    host.emit({ type: "agents", agents: [agent({ id: "main", name: "box" })] });
    expect(store.getState().agents.map((a) => a.id)).toEqual(["main"]);
    expect(store.getState().agent?.id).toBe("main");
    // An agent the list does not have yet joins it.
    host.emit({ type: "agent", agent: agent({ id: "gpu2" }) });
    expect(store.getState().agents.map((a) => a.id)).toEqual(["main", "gpu2"]);
  });

  it("a host from before several agents: the snapshot's agent is the list", async () => {
    const { store } = setup((h) => {
      delete (h.snapshot as Partial<HostSnapshot>).agents;
    });
    await settle();
    expect(store.getState().agents.map((a) => a.id)).toEqual(["main"]);
  });

  it("follows the jobs of every agent: none is dropped while its agent runs it", async () => {
    const { host, store } = setup(several);
    await settle();
    host.emit({ type: "job-started", job: detail("j0") });
    host.emit({ type: "agent", agent: agent({ id: "gpu0", phase: "running-job", jobId: "j0" }) });
    host.emit({ type: "job-started", job: detail("j1") });
    host.emit({ type: "agent", agent: agent({ id: "gpu1", phase: "running-job", jobId: "j1" }) });
    await settle();
    expect(store.streamOf("j0")).toBeDefined();
    expect(store.streamOf("j1")).toBeDefined();
    store.getState().openJob("j0");
    expect(store.getState().followRunningJob).toBe(true); // j0 runs too
    host.emit({ type: "job-finished", job: summary("j0", { result: "passed" }) });
    host.emit({ type: "agent", agent: agent({ id: "gpu0", phase: "waiting-for-jobs" }) });
    store.getState().followRunning();
    expect(store.getState().selectedJobId).toBe("j1");
    await settle();
    expect(store.streamOf("j0")).toBeUndefined();
    expect(store.streamOf("j1")).toBeDefined();
  });

  it("the agent actions name the agent, or none for all; the answer updates that agent", async () => {
    const { host, store } = setup((h) => {
      several(h);
      h.answers.pause = (p: { agentId?: string }) => agent({ id: p.agentId ?? "gpu0", lending: { ...agent().lending, pausedByHand: true } });
      h.answers.resume = () => agent({ id: "gpu0" });
      h.answers.snooze = () => agent({ id: "gpu0" });
      h.answers.retryNow = (p: { agentId?: string }) => agent({ id: p.agentId ?? "gpu0" });
      h.answers.startAgent = (p: { agentId?: string }) => agent({ id: p.agentId ?? "gpu0", phase: "registering" });
      h.answers.stopAgent = (p: { agentId?: string }) => agent({ id: p.agentId ?? "gpu0", stopping: true });
    });
    await settle();
    await store.getState().startAgent("gpu1");
    await store.getState().stopAgent("after-job", "gpu1");
    await store.getState().pause("now", "gpu1");
    expect(store.getState().agents.map((a) => a.lending.pausedByHand)).toEqual([false, true]);
    await store.getState().resume("gpu1");
    await store.getState().snooze(99, "gpu1");
    await store.getState().retryNow("gpu1");
    await store.getState().pause("after-job");
    await store.getState().startAgent();
    const params = (method: string) => host.calls.filter((c) => c.method === method).map((c) => c.params);
    expect(params("startAgent")).toEqual([{ agentId: "gpu1" }, {}]);
    expect(params("stopAgent")).toEqual([{ when: "after-job", agentId: "gpu1" }]);
    expect(params("pause")).toEqual([{ when: "now", agentId: "gpu1" }, { when: "after-job" }]);
    expect(params("resume")).toEqual([{ agentId: "gpu1" }]);
    expect(params("snooze")).toEqual([{ until: 99, agentId: "gpu1" }]);
    expect(params("retryNow")).toEqual([{ agentId: "gpu1" }]);
    expect(Object.keys(params("startAgent")[1] as object)).toEqual([]);
    const s = store.getState();
    expect(s.agents.map((a) => a.id)).toEqual(["gpu0", "gpu1"]);
    expect(s.agent?.phase).toBe("registering");
  });

  it("reads the GPUs with the snapshot; ticks add to their series (10 minutes kept), a gpus event replaces them", async () => {
    const { host, store } = setup((h) => {
      h.answers.getGpus = () => gpus([gpuView(0), gpuView(1)]);
    });
    await settle();
    expect(host.calls.some((c) => c.method === "getGpus")).toBe(true);
    expect(store.getState().gpus?.gpus.map((g) => g.uuid)).toEqual([UUID(0), UUID(1)]);
    const tick = (at: number): GpuTick => ({
      at,
      machine: { at, cpuPercent: 12, memoryUsedBytes: 1, memoryTotalBytes: 2 },
      gpus: [{ uuid: UUID(0), utilization: 50, memoryUsedMiB: 200, temperatureC: 60, powerW: 300 }],
    });
    host.emit({ type: "gpu-tick", tick: tick(2_000) });
    host.emit({ type: "gpu-tick", tick: tick(2_000) }); // a repeat is skipped
    expect(store.getState().gpus?.gpus[0]?.series).toEqual({ at: [1_000, 2_000], utilization: [5, 50], memoryUsedMiB: [100, 200], temperatureC: [40, 60], powerW: [90, 300] });
    expect(store.getState().gpus?.gpus[1]?.series.at).toEqual([1_000]);
    expect(store.getState().gpus?.machine?.cpuPercent).toBe(12);
    host.emit({ type: "gpu-tick", tick: tick(1_000 + GPU_HISTORY_MS + 1) });
    expect(store.getState().gpus?.gpus[0]?.series.at).toEqual([2_000, 1_000 + GPU_HISTORY_MS + 1]);
    host.emit({ type: "gpus", gpus: gpus([gpuView(1, { lent: false, agentId: null })]) });
    expect(store.getState().gpus?.gpus.map((g) => [g.uuid, g.lent])).toEqual([[UUID(1), false]]);
  });

  it("lends a GPU or keeps it, showing the host's answer or its refusal", async () => {
    let refuse = false;
    const { host, store } = setup((h) => {
      h.answers.getGpus = () => gpus([gpuView(0)]);
      h.answers.setGpuLent = (p: { uuid: string; lent: boolean }) => {
        if (refuse) throw new HostCallError("invalid-request", "setGpuLent: params.uuid: no such GPU");
        return gpus([gpuView(0, { lent: p.lent, agentId: p.lent ? "gpu0" : null })]);
      };
    });
    await settle();
    await store.getState().setGpuLent(UUID(0), false);
    expect(host.calls.find((c) => c.method === "setGpuLent")?.params).toEqual({ uuid: UUID(0), lent: false });
    expect(store.getState().gpus?.gpus[0]?.lent).toBe(false);
    expect(store.getState().busy.gpu).toBeNull();
    refuse = true;
    await store.getState().setGpuLent(UUID(0), true);
    expect(store.getState().error).toEqual({ scope: "gpus", message: "setGpuLent: params.uuid: no such GPU" });
    expect(store.getState().gpus?.gpus[0]?.lent).toBe(false);
  });

  it("a host without GPU support: the panel says why, and ticks before any snapshot are ignored", async () => {
    const { host, store } = setup();
    await settle();
    expect(store.getState().gpus).toBeNull();
    expect(store.getState().gpusError).toMatch(/getGpus/);
    host.emit({ type: "gpu-tick", tick: { at: 1, gpus: [], machine: null } });
    expect(store.getState().gpus).toBeNull();
  });

  it("filters the history by agent at the host", async () => {
    const { host, store } = setup((h) => {
      several(h);
      h.answers.listJobs = (p: { agentId?: string }) => [summary("a", { agentId: p.agentId ?? null })];
    });
    await settle();
    await store.getState().setHistoryQuery({ agentId: "gpu1" });
    expect(host.calls.find((c) => c.method === "listJobs")?.params).toEqual({ agentId: "gpu1", limit: 200 });
    expect(store.getState().filteredHistory?.map((j) => j.agentId)).toEqual(["gpu1"]);
    await store.getState().setHistoryQuery({ agentId: null });
    expect(store.getState().filteredHistory).toBeNull();
  });
});

describe("renderer store: the job's plan and its stop reach the log", () => {
  // An env export, one command, the SEMAPHORE_JOB_RESULT export, an always epilogue.
  const withEpilogue: JobLogEvent[] = [
    { event: "job_started", timestamp: 1 },
    { event: "cmd_started", timestamp: 1, directive: "Exporting environment variables" },
    { event: "cmd_finished", timestamp: 1, directive: "Exporting environment variables", exit_code: 0, started_at: 1, finished_at: 1 },
    { event: "cmd_started", timestamp: 1, directive: "make test" },
    { event: "cmd_finished", timestamp: 2, directive: "make test", exit_code: 2, started_at: 1, finished_at: 2 },
    { event: "cmd_started", timestamp: 2, directive: "Exporting environment variables" },
    { event: "cmd_finished", timestamp: 2, directive: "Exporting environment variables", exit_code: 0, started_at: 2, finished_at: 2 },
    { event: "cmd_started", timestamp: 2, directive: "echo cleanup" },
    { event: "cmd_finished", timestamp: 3, directive: "echo cleanup", exit_code: 0, started_at: 2, finished_at: 3 },
    { event: "job_finished", timestamp: 3, result: "failed" },
  ];
  const plan = { commands: ["make test", "make lint"], epilogueAlways: ["echo cleanup"], epilogueOnPass: [], epilogueOnFail: [] };

  it("a job opened from the history: its log waits for the plan (read once), so the epilogue is labelled", async () => {
    let answer: () => void = () => {};
    const { host, store } = setup((h) => {
      h.snapshot.history = [summary("old", { result: "failed" })];
      h.stored.set("old", withEpilogue);
      h.finished.add("old");
      // The detail comes after the log would have: the log must wait for it.
      h.answers.getJob = () => new Promise((resolve) => (answer = () => resolve({ ...detail("old", { result: "failed" }), plan })));
    });
    await settle();
    store.getState().openJob("old");
    const term = new TestView();
    term.attachTo(store.feedFor("old"));
    await settle();
    expect(term.text).toBe("");
    answer();
    await settle();
    expect(term.text).toBe(formatted(withEpilogue, { plan }));
    expect(term.text).toContain("epilogue · always");
    expect(term.text).toContain("Skipped after the failure: make lint");
    expect(host.readsOf("old")).toEqual([0]);
    expect(store.getState().jobs.old?.plan).toEqual(plan);
  });

  it("a job whose detail cannot be read still shows its log, as it is", async () => {
    const { store } = setup((h) => {
      h.snapshot.history = [summary("gone", { result: "failed" })];
      h.stored.set("gone", withEpilogue);
      h.finished.add("gone");
      h.answers.getJob = () => Promise.reject(new HostCallError("internal", "getJob: broken"));
    });
    await settle();
    store.getState().openJob("gone");
    const term = new TestView();
    term.attachTo(store.feedFor("gone"));
    await settle();
    expect(term.text).toBe(formatted(withEpilogue));
  });

  it("job-stopping: the panel learns who stopped the job, and the running command's end says so", async () => {
    const { host, store } = setup();
    await settle();
    host.emit({ type: "job-started", job: { ...detail("j1"), plan } });
    const term = new TestView();
    term.attachTo(store.feedFor("j1"));
    const head: JobLogEvent[] = [...withEpilogue.slice(0, 3), { event: "cmd_started", timestamp: 1, directive: "make test" }];
    host.output("j1", 0, head);
    await settle();
    const stop = { by: "Stopped by Semaphore", atEvent: head.length };
    host.emit({ type: "job-stopping", job: { ...detail("j1", { stoppedBy: stop.by }), plan, stop } });
    expect(store.getState().jobs.j1?.stop).toEqual(stop);
    expect(store.getState().jobs.j1?.summary?.stoppedBy).toBe("Stopped by Semaphore");
    expect(store.getState().history[0]?.stoppedBy).toBe("Stopped by Semaphore");
    host.output("j1", head.length, [
      { event: "cmd_finished", timestamp: 4, directive: "make test", exit_code: 1, started_at: 1, finished_at: 4 },
      { event: "job_finished", timestamp: 4, result: "stopped" },
    ]);
    await settle();
    expect(term.text).toContain("■ stopped by Semaphore · 3 s");
    expect(term.text).not.toContain("exit 1");
    expect(term.text).toContain("Job stopped by Semaphore");
  });
});
