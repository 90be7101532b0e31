// The debug terminals' store against a stand-in transport: a Bridge whose HostApi records the calls
// and answers like the host's contract says; the terminal is a sink that parses when the test says.
// Timers run when the test runs them (no real time, no timing assertions).
import { describe, expect, it } from "vitest";
import {
  MAX_TERMINALS_PER_CLIENT,
  TERMINAL_ACK_CHARS,
  TERMINAL_HIGH_WATER,
  type DebugInfo,
  type HostApi,
  type HostEvent,
  type HostEventListener,
  type KeptEnvSummary,
  type TerminalInfo,
} from "../../agent-core/host/contract.js";
import { HostCallError, type ConnectionState, type RendererBridge } from "../../renderer/bridge/types.js";
import { canOpenAnother, createDebugStore, MAX_BACKLOG_CHARS, panelTerminalsFor, type DebugStore, type TerminalSink } from "../../renderer/store/debug-terminals.js";
import type { Scheduler } from "../../renderer/store/terminal-flow.js";

/** Timers that fire only when run(); the clock moves a second per run, past every interval. */
class StepTimers implements Scheduler {
  private clock = 0;
  private seq = 0;
  private readonly due = new Map<number, () => void>();
  now(): number {
    return this.clock;
  }
  setTimeout(fn: () => void, _ms: number): unknown {
    this.due.set(++this.seq, fn);
    return this.seq;
  }
  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }
  run(): void {
    for (let round = 0; round < 10 && this.due.size > 0; round++) {
      this.clock += 1000;
      const fns = [...this.due.values()];
      this.due.clear();
      for (const fn of fns) fn();
    }
  }
}

const ID = (n: number) => n.toString(16).padStart(32, "0");

function info(jobId: string, patch: Partial<DebugInfo> = {}): DebugInfo {
  return {
    jobId,
    available: true,
    source: "running",
    reason: null,
    envFiles: [`/tmp/.env-${jobId}`],
    user: "builder",
    home: "/home/builder",
    shell: "/bin/bash",
    manual: [`sudo -iu builder`, `source /tmp/.env-${jobId}`],
    keptAt: null,
    sandbox: "none",
    ...patch,
  };
}

/** The transport: a RendererBridge whose HostApi records each call and answers as the host would. */
class FakeHost implements RendererBridge {
  readonly kind = "console" as const;
  readonly calls: { method: keyof HostApi; params: Record<string, unknown> }[] = [];
  readonly infos = new Map<string, DebugInfo>();
  kept: KeptEnvSummary[] = [];
  state: ConnectionState = { status: "connected" };
  /** While set, openTerminal waits for it. */
  openGate: Promise<void> | null = null;
  failOpen: string | null = null;
  private nextTerminal = 1;
  private readonly eventListeners: HostEventListener[] = [];
  private readonly stateListeners: ((s: ConnectionState) => void)[] = [];

  readonly api = new Proxy({} as HostApi, {
    get: (_t, method: string) => async (params: Record<string, unknown>) => {
      this.calls.push({ method: method as keyof HostApi, params });
      const handler = (this.handlers as Record<string, ((p: Record<string, unknown>) => unknown) | undefined>)[method];
      if (handler === undefined) throw new HostCallError("internal", `${method}: not in this test`);
      return await handler(params);
    },
  });

  private readonly handlers = {
    getDebugInfo: (p: Record<string, unknown>) => {
      const found = this.infos.get(p.jobId as string);
      if (found === undefined) throw new HostCallError("not-found", `getDebugInfo: no job ${String(p.jobId)}`);
      return structuredClone(found);
    },
    listKeptEnvs: () => structuredClone(this.kept),
    forgetJobEnv: (p: Record<string, unknown>) => {
      const jobId = p.jobId as string;
      this.kept = this.kept.filter((k) => k.jobId !== jobId);
      const existing = this.infos.get(jobId);
      if (existing !== undefined) this.infos.set(jobId, { ...existing, available: false, source: null, reason: "forgotten", manual: [] });
      return { forgotten: true };
    },
    openTerminal: async (p: Record<string, unknown>): Promise<TerminalInfo> => {
      const terminalId = ID(this.nextTerminal++);
      if (this.openGate !== null) await this.openGate;
      if (this.failOpen !== null) throw new HostCallError("invalid-state", this.failOpen);
      const jobId = p.jobId as string;
      const known = this.infos.get(jobId);
      const shell = "/bin/bash";
      return {
        terminalId,
        jobId,
        pid: 4000 + this.nextTerminal,
        source: known?.source ?? "running",
        shell,
        envFiles: known?.envFiles ?? [],
        home: "/home/builder",
        cols: p.cols as number,
        rows: p.rows as number,
        sandbox: known?.sandbox ?? "none",
      };
    },
    terminalInput: () => ({ ok: true }),
    resizeTerminal: () => ({ ok: true }),
    ackTerminal: () => ({ ok: true }),
    closeTerminal: () => ({ closed: true }),
  };

  callsOf(method: keyof HostApi): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  emit(event: HostEvent): void {
    this.eventListeners.slice().forEach((l) => l(event));
  }

  setConnection(next: ConnectionState): void {
    this.state = next;
    this.stateListeners.slice().forEach((l) => l(next));
  }

  subscribe(listener: HostEventListener): () => void {
    this.eventListeners.push(listener);
    return () => this.eventListeners.splice(this.eventListeners.indexOf(listener), 1);
  }

  connection(): ConnectionState {
    return this.state;
  }

  onConnection(listener: (s: ConnectionState) => void): () => void {
    this.stateListeners.push(listener);
    return () => this.stateListeners.splice(this.stateListeners.indexOf(listener), 1);
  }
}

/** A terminal that parses only when told, like xterm does later. */
class TestSink implements TerminalSink {
  text = "";
  held: (() => void)[] = [];
  disposed = false;
  write(data: string, parsed: () => void): void {
    this.text += data;
    this.held.push(parsed);
  }
  parseAll(): void {
    const held = this.held;
    this.held = [];
    for (const done of held) done();
  }
  dispose(): void {
    this.disposed = true;
  }
}

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}

function setup(prepare?: (host: FakeHost) => void): { host: FakeHost; store: DebugStore; timers: StepTimers } {
  const host = new FakeHost();
  prepare?.(host);
  const timers = new StepTimers();
  const store = createDebugStore(host, { scheduler: timers, defaultSize: { cols: 80, rows: 24 } });
  store.connect();
  return { host, store, timers };
}

const acked = (host: FakeHost, terminalId: string) =>
  host
    .callsOf("ackTerminal")
    .filter((p) => p.terminalId === terminalId)
    .reduce((n, p) => n + (p.chars as number), 0);

describe("debug store: opening, output and acknowledgements", () => {
  it("opens a terminal for a job and shows it", async () => {
    const { host, store } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = await store.getState().open("job-1");
    expect(id).toBe(ID(1));
    expect(host.callsOf("openTerminal")).toEqual([{ jobId: "job-1", cols: 80, rows: 24 }]);
    const s = store.getState();
    expect(s.terminals).toHaveLength(1);
    expect(s.terminals[0]).toMatchObject({ terminalId: ID(1), jobId: "job-1", status: "open", source: "running", shell: "/bin/bash", exitCode: null });
    expect(s.activeTerminalId).toBe(ID(1));
    expect(s.opening).toEqual([]);
    await settle();
    expect(store.getState().infos["job-1"]?.user).toBe("builder"); // the panel's "As user" and manual
  });

  it("keeps output that arrives before the terminal is mounted, in order, and writes it on attach", async () => {
    const { host, store, timers } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1"))!;
    const chunks = ["$ ", "echo hi\r\n", "hi\r\n", "$ "];
    for (const data of chunks) host.emit({ type: "terminal-output", terminalId: id, data });
    const session = store.sessionOf(id)!;
    const size = chunks.join("").length;
    expect(session.stats()).toEqual({ received: size, parsed: 0, acked: 0, pending: size });
    timers.run();
    await settle();
    expect(host.callsOf("ackTerminal")).toEqual([]); // nothing was parsed yet

    const sink = new TestSink();
    session.attach(sink);
    expect(sink.text).toBe(chunks.join(""));
    host.emit({ type: "terminal-output", terminalId: id, data: "more" });
    expect(sink.text).toBe(`${chunks.join("")}more`);
    timers.run();
    expect(host.callsOf("ackTerminal")).toEqual([]); // written but not parsed
    sink.parseAll();
    timers.run();
    await settle();
    expect(acked(host, id)).toBe(size + 4);
    expect(session.stats()).toEqual({ received: size + 4, parsed: size + 4, acked: size + 4, pending: 0 });
  });

  it("acknowledges a flood in batches as it is parsed, without waiting for a timer", async () => {
    const { host, store } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1"))!;
    const sink = new TestSink();
    store.sessionOf(id)!.attach(sink);
    const piece = "y\r\n".repeat(8 * 1024); // 24 KiB
    let sent = 0;
    while (sent < TERMINAL_HIGH_WATER) {
      host.emit({ type: "terminal-output", terminalId: id, data: piece });
      sent += piece.length;
    }
    sink.parseAll();
    await settle();
    const acks = host.callsOf("ackTerminal");
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.every((a) => (a.chars as number) >= TERMINAL_ACK_CHARS)).toBe(true);
    expect(acked(host, id)).toBeLessThanOrEqual(sent);
  });

  it("holds the events of a terminal whose openTerminal answer is still on its way", async () => {
    let release!: () => void;
    const { host, store } = setup((h) => {
      h.infos.set("job-1", info("job-1"));
      h.openGate = new Promise((r) => (release = r));
    });
    const opening = store.getState().open("job-1");
    await settle(2);
    expect(store.getState().opening).toEqual(["job-1"]);
    const id = ID(1);
    host.emit({ type: "terminal-output", terminalId: id, data: "prompt$ " });
    host.emit({ type: "terminal-output", terminalId: ID(99), data: "not ours" });
    release();
    expect(await opening).toBe(id);
    const sink = new TestSink();
    store.sessionOf(id)!.attach(sink);
    expect(sink.text).toBe("prompt$ ");
    expect(store.sessionOf(ID(99))).toBeUndefined();
    // With no open in flight, events of unknown terminals are dropped, not held.
    host.emit({ type: "terminal-output", terminalId: ID(99), data: "late" });
    host.emit({ type: "terminal-exit", terminalId: ID(99), exitCode: 0, signal: null });
    expect(store.getState().terminals.map((t) => t.terminalId)).toEqual([id]);
  });

  it("ignores events of unknown terminals", async () => {
    const { host, store, timers } = setup();
    host.emit({ type: "terminal-output", terminalId: ID(7), data: "x" });
    host.emit({ type: "terminal-exit", terminalId: ID(7), exitCode: 1, signal: null });
    timers.run();
    await settle();
    expect(store.getState().terminals).toEqual([]);
    expect(host.callsOf("ackTerminal")).toEqual([]);
  });

  it("bounds the output kept for a terminal that is never mounted", async () => {
    const { host, store } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1"))!;
    const piece = "z".repeat(64 * 1024);
    const total = MAX_BACKLOG_CHARS + 4 * piece.length; // a host that ignored the high water
    for (let sent = 0; sent < total; sent += piece.length) host.emit({ type: "terminal-output", terminalId: id, data: piece });
    const sink = new TestSink();
    store.sessionOf(id)!.attach(sink);
    expect(sink.text.length).toBeLessThanOrEqual(MAX_BACKLOG_CHARS);
    expect(sink.text.length).toBeGreaterThan(0);
  });

  it("reports a refused open and opens nothing", async () => {
    const { host, store } = setup((h) => {
      h.infos.set("job-1", info("job-1", { available: false, source: null, reason: "no env file yet" }));
      h.failOpen = "no env file yet";
    });
    expect(await store.getState().open("job-1")).toBeNull();
    expect(store.getState().terminals).toEqual([]);
    expect(store.getState().error).toMatchObject({ scope: "open", jobId: "job-1" });
    expect(store.getState().error?.message).toContain("no env file yet");
    expect(host.callsOf("openTerminal")).toHaveLength(1);
  });
});

describe("debug store: input, size, exit and close", () => {
  it("sends keystrokes and pastes in pieces of at most 64 KiB, in order", async () => {
    const { host, store } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1"))!;
    const session = store.sessionOf(id)!;
    session.send("e");
    session.send("c");
    session.send("ho\r");
    const paste = "p".repeat(150_000);
    await settle();
    session.send(paste);
    await settle();
    const inputs = host.callsOf("terminalInput");
    expect(inputs[0]).toEqual({ terminalId: id, data: "echo\r" });
    expect(inputs.every((p) => (p.data as string).length <= 64 * 1024)).toBe(true);
    expect(inputs.map((p) => p.data).join("")).toBe(`echo\r${paste}`);
  });

  it("tells the host the size once it settled, only when it changed", async () => {
    const { host, store, timers } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1", { cols: 100, rows: 30 }))!;
    const session = store.sessionOf(id)!;
    session.resized(100, 30);
    timers.run();
    expect(host.callsOf("resizeTerminal")).toEqual([]);
    session.resized(120, 40);
    session.resized(132, 43);
    timers.run();
    expect(host.callsOf("resizeTerminal")).toEqual([{ terminalId: id, cols: 132, rows: 43 }]);
    // The next terminal opens with the latest fitted size.
    store.getState().noteSize(132, 43);
    await store.getState().open("job-1");
    expect(host.callsOf("openTerminal").at(-1)).toMatchObject({ cols: 132, rows: 43 });
  });

  it("marks an exited shell, keeps its output and stops sending to it", async () => {
    const { host, store, timers } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1"))!;
    const sink = new TestSink();
    store.sessionOf(id)!.attach(sink);
    host.emit({ type: "terminal-output", terminalId: id, data: "logout\r\n" });
    host.emit({ type: "terminal-exit", terminalId: id, exitCode: 3, signal: null });
    expect(store.getState().terminals[0]).toMatchObject({ status: "exited", exitCode: 3, signal: null, lost: false });
    expect(sink.disposed).toBe(false);
    expect(sink.text).toBe("logout\r\n");
    store.sessionOf(id)!.send("ls\r");
    store.sessionOf(id)!.resized(50, 10);
    sink.parseAll();
    timers.run();
    await settle();
    expect(host.callsOf("terminalInput")).toEqual([]);
    expect(host.callsOf("resizeTerminal")).toEqual([]);
    expect(host.callsOf("ackTerminal")).toEqual([]);
  });

  it("closes a terminal: the host is told, the tab goes and the next one is shown", async () => {
    const { host, store } = setup((h) => {
      h.infos.set("job-1", info("job-1"));
      h.infos.set("job-2", info("job-2", { source: "kept", keptAt: 5 }));
    });
    const a = (await store.getState().open("job-1"))!;
    const b = (await store.getState().open("job-2"))!;
    const c = (await store.getState().open("job-1"))!;
    const sink = new TestSink();
    store.sessionOf(b)!.attach(sink);
    store.getState().select(b);
    expect(store.getState().activeTerminalId).toBe(b);
    await store.getState().close(b);
    expect(host.callsOf("closeTerminal")).toEqual([{ terminalId: b }]);
    expect(sink.disposed).toBe(true);
    expect(store.sessionOf(b)).toBeUndefined();
    expect(store.getState().terminals.map((t) => t.terminalId)).toEqual([a, c]);
    expect(store.getState().activeTerminalId).toBe(c);
    await store.getState().close(c);
    expect(store.getState().activeTerminalId).toBe(a);
    await store.getState().close(a);
    expect(store.getState().activeTerminalId).toBeNull();
    // Output for a closed terminal is ignored.
    host.emit({ type: "terminal-output", terminalId: a, data: "x" });
    expect(store.getState().terminals).toEqual([]);
  });

  it("counts open shells against the per-client limit", async () => {
    const { host, store } = setup((h) => h.infos.set("job-1", info("job-1")));
    for (let i = 0; i < MAX_TERMINALS_PER_CLIENT; i++) await store.getState().open("job-1");
    expect(canOpenAnother(store.getState()).ok).toBe(false);
    const first = store.getState().terminals[0]!.terminalId;
    host.emit({ type: "terminal-exit", terminalId: first, exitCode: 0, signal: null });
    expect(canOpenAnother(store.getState()).ok).toBe(true); // an exited one does not count
  });

  it("ends the shells when the connection to the host is lost, and does not close them again", async () => {
    const { host, store } = setup((h) => h.infos.set("job-1", info("job-1")));
    const id = (await store.getState().open("job-1"))!;
    host.setConnection({ status: "reconnecting", attempt: 1, retryAt: 0 });
    expect(store.getState().terminals[0]).toMatchObject({ status: "exited", lost: true });
    await store.getState().close(id);
    expect(host.callsOf("closeTerminal")).toEqual([]);
    expect(store.getState().terminals).toEqual([]);
  });
});

describe("debug store: the panel shows the terminals of the job on screen only", () => {
  const shown = (store: DebugStore) => {
    const s = store.getState();
    const panel = panelTerminalsFor(s, s.jobOnScreen);
    return { ids: panel.terminals.map((t) => t.terminalId), active: panel.active?.terminalId ?? null, elsewhere: panel.elsewhere };
  };

  it("switching to another job's view shows that job's terminals, or none; the others keep running", async () => {
    const { host, store } = setup((h) => {
      h.infos.set("job-a", info("job-a", { source: "kept", keptAt: 5, sandbox: "strict" }));
      h.infos.set("job-b", info("job-b", { sandbox: "strict" }));
    });
    store.getState().watchJob("job-a");
    const a1 = (await store.getState().open("job-a"))!;
    expect(store.getState().terminals[0]).toMatchObject({ jobId: "job-a", sandbox: "strict" });
    expect(shown(store)).toEqual({ ids: [a1], active: a1, elsewhere: 0 });

    // Job B's view: A's shell is not shown next to B's log (the panel has nothing: "Open debug terminal").
    store.getState().watchJob("job-b");
    expect(shown(store)).toEqual({ ids: [], active: null, elsewhere: 1 });
    // Its output still flows, and it was not closed.
    const sink = new TestSink();
    store.sessionOf(a1)!.attach(sink);
    host.emit({ type: "terminal-output", terminalId: a1, data: "still here" });
    expect(sink.text).toBe("still here");
    expect(host.callsOf("closeTerminal")).toEqual([]);

    const b1 = (await store.getState().open("job-b"))!;
    expect(shown(store)).toEqual({ ids: [b1], active: b1, elsewhere: 1 });
    // Back to A: its own shell, even though B's was opened last.
    store.getState().watchJob("job-a");
    expect(shown(store)).toEqual({ ids: [a1], active: a1, elsewhere: 1 });
    // No job on screen: nothing.
    store.getState().watchJob(null);
    expect(shown(store)).toEqual({ ids: [], active: null, elsewhere: 2 });
  });

  it("each job remembers the tab picked in its panel", async () => {
    const { store } = setup((h) => {
      h.infos.set("job-a", info("job-a"));
      h.infos.set("job-b", info("job-b"));
    });
    const a1 = (await store.getState().open("job-a"))!;
    const a2 = (await store.getState().open("job-a"))!;
    store.getState().select(a1);
    const b1 = (await store.getState().open("job-b"))!;
    const b2 = (await store.getState().open("job-b"))!;
    expect(panelTerminalsFor(store.getState(), "job-a").active?.terminalId).toBe(a1);
    expect(panelTerminalsFor(store.getState(), "job-b").active?.terminalId).toBe(b2);
    expect(panelTerminalsFor(store.getState(), "job-a").terminals.map((t) => t.terminalId)).toEqual([a1, a2]);

    // Closing a job's shown tab shows its neighbour of the same job, never another job's.
    await store.getState().close(b2);
    expect(panelTerminalsFor(store.getState(), "job-b").active?.terminalId).toBe(b1);
    expect(store.getState().activeTerminalId).toBe(b1);
    await store.getState().close(a1);
    expect(panelTerminalsFor(store.getState(), "job-a").active?.terminalId).toBe(a2);
    await store.getState().close(a2);
    expect(panelTerminalsFor(store.getState(), "job-a")).toEqual({ terminals: [], active: null, elsewhere: 1 });
    expect(store.getState().activeByJob).toEqual({ "job-b": b1 });
  });
});

describe("debug store: DebugInfo and kept env files", () => {
  it("loads the kept env files on connect and follows the kept-envs event", async () => {
    const { host, store } = setup((h) => {
      h.kept = [{ jobId: "old", keptAt: 10, files: 1 }];
    });
    await settle();
    expect(store.getState().kept.map((k) => k.jobId)).toEqual(["old"]);
    host.emit({ type: "kept-envs", jobs: [{ jobId: "new", keptAt: 20, files: 2 }, { jobId: "old", keptAt: 10, files: 1 }] });
    expect(store.getState().kept.map((k) => k.jobId)).toEqual(["new", "old"]);
  });

  it("asks for the shown job's DebugInfo, and again when the job finishes or its kept files change", async () => {
    const { host, store } = setup((h) => h.infos.set("j1", info("j1")));
    store.getState().watchJob("j1");
    await settle();
    expect(store.getState().infos.j1?.source).toBe("running");
    const asked = () => host.callsOf("getDebugInfo").filter((p) => p.jobId === "j1").length;
    const before = asked();

    host.infos.set("j1", info("j1", { source: "kept", keptAt: 99 }));
    host.emit({ type: "job-finished", job: { id: "j1", mode: "semaphore", result: "passed", startedAt: 1, finishedAt: 2, durationMs: 1, events: 3, bytes: 4, identity: null, problem: null, stoppedBy: null, agentId: "main", agentName: "gpu-box", usage: null } });
    await settle();
    expect(asked()).toBe(before + 1);
    expect(store.getState().infos.j1).toMatchObject({ source: "kept", keptAt: 99 });

    host.emit({ type: "kept-envs", jobs: [{ jobId: "j1", keptAt: 99, files: 1 }] });
    await settle();
    expect(asked()).toBe(before + 2);
    // A kept-envs event that does not change this job's entry asks nothing.
    host.emit({ type: "kept-envs", jobs: [{ jobId: "j1", keptAt: 99, files: 1 }, { jobId: "other", keptAt: 1, files: 1 }] });
    await settle();
    expect(asked()).toBe(before + 2);
    // Nor does an event about a job nobody shows.
    host.emit({ type: "job-finished", job: { id: "elsewhere", mode: "semaphore", result: "passed", startedAt: 1, finishedAt: 2, durationMs: 1, events: 3, bytes: 4, identity: null, problem: null, stoppedBy: null, agentId: "main", agentName: "gpu-box", usage: null } });
    await settle();
    expect(host.callsOf("getDebugInfo").filter((p) => p.jobId === "elsewhere")).toEqual([]);
  });

  it("asks again while a running job's env file is not written yet", async () => {
    const { host, store } = setup((h) => h.infos.set("j1", info("j1", { available: false, source: null, reason: "no env file yet" })));
    store.getState().watchJob("j1");
    await settle();
    expect(store.getState().infos.j1?.available).toBe(false);
    host.infos.set("j1", info("j1"));
    host.emit({ type: "job-output", jobId: "j1", from: 0, events: [] });
    await settle();
    expect(store.getState().infos.j1?.available).toBe(true);
  });

  it("forgets a job's kept env files", async () => {
    const { host, store } = setup((h) => {
      h.infos.set("j1", info("j1", { source: "kept", keptAt: 5 }));
      h.kept = [{ jobId: "j1", keptAt: 5, files: 1 }];
    });
    store.getState().watchJob("j1");
    await settle();
    expect(await store.getState().forget("j1")).toBe(true);
    await settle();
    expect(host.callsOf("forgetJobEnv")).toEqual([{ jobId: "j1" }]);
    expect(store.getState().infos.j1).toMatchObject({ available: false, reason: "forgotten" });
    expect(store.getState().kept).toEqual([]);
  });

  it("shows why the host could not be asked", async () => {
    const { store } = setup();
    store.getState().watchJob("missing");
    await settle();
    expect(store.getState().infos.missing).toMatchObject({ available: false });
    expect(store.getState().infos.missing?.reason).toContain("no job missing");
  });
});
