// Debug terminals: shells the host opens in a job's environment, owned by this window or tab. The
// store keeps the list (which one is shown), each job's DebugInfo and the jobs whose env files are
// kept; each terminal has a DebugSession that carries its traffic: output buffered in order until its
// xterm is mounted, acknowledged once parsed (terminal-flow.ts), input and size sent to the host.
// DOM-free: the view attaches a TerminalSink (the xterm) to a session.
import { createStore, type StoreApi } from "zustand/vanilla";
import {
  MAX_TERMINALS_PER_CLIENT,
  TERMINAL_HIGH_WATER,
  type DebugEnvSource,
  type DebugInfo,
  type HostApi,
  type HostEvent,
  type KeptEnvSummary,
  type TerminalInfo,
} from "../../agent-core/host/contract.js";
import { errorCode, type ConnectionState, type RendererBridge } from "../bridge/types.js";
import { AckBatcher, InputSender, ResizeSender, clampSize, realScheduler, type Scheduler, type TerminalFlowStats } from "./terminal-flow.js";

/** An open (or ended) terminal as the panel shows it: what openTerminal said, and how it is now. */
export interface DebugTerminal extends Omit<TerminalInfo, "cols" | "rows"> {
  /** For source "kept": when the copy was made (epoch ms), when known. */
  keptAt: number | null;
  status: "open" | "exited";
  exitCode: number | null;
  signal: number | null;
  /** Ended because the connection to the host was lost (the host kills a gone client's shells). */
  lost: boolean;
}

/** Where a session's output goes: the terminal's xterm in practice. */
export interface TerminalSink {
  /** Hands output to the terminal; `parsed` runs once the terminal has parsed it. */
  write(data: string, parsed: () => void): void;
  /** The terminal was closed: free what the sink holds. */
  dispose(): void;
}

/** Before a sink is attached, at most this much output is kept (the host stops at TERMINAL_HIGH_WATER). */
export const MAX_BACKLOG_CHARS = 2 * TERMINAL_HIGH_WATER;

/** One open terminal's traffic. */
export class DebugSession {
  readonly flow: AckBatcher;
  readonly input: InputSender;
  readonly resize: ResizeSender;
  private backlog: string[] = [];
  private backlogChars = 0;
  private sink: TerminalSink | null = null;
  private ended = false;
  private disposed = false;

  constructor(
    readonly info: TerminalInfo,
    api: HostApi,
    scheduler: Scheduler,
    onInputError: (error: unknown) => void,
  ) {
    const terminalId = info.terminalId;
    this.flow = new AckBatcher((chars) => {
      api.ackTerminal({ terminalId, chars }).catch(() => {
        // The terminal ended meanwhile: nothing is waiting for this acknowledgement any more.
      });
    }, scheduler);
    this.input = new InputSender((data) => api.terminalInput({ terminalId, data }), onInputError);
    this.resize = new ResizeSender(
      (cols, rows) => {
        api.resizeTerminal({ terminalId, cols, rows }).catch(() => {});
      },
      { cols: info.cols, rows: info.rows },
      scheduler,
    );
  }

  get terminalId(): string {
    return this.info.terminalId;
  }

  get attached(): boolean {
    return this.sink !== null;
  }

  /** Output from the host, in the order it came. */
  output(data: string): void {
    if (this.disposed || data === "") return;
    this.flow.received(data.length);
    if (this.sink !== null) {
      this.writeToSink(this.sink, data);
      return;
    }
    this.backlog.push(data);
    this.backlogChars += data.length;
    // The host stops at its high water; a host that did not would still not grow this without bound.
    while (this.backlogChars > MAX_BACKLOG_CHARS && this.backlog.length > 1) {
      const dropped = this.backlog.shift()!;
      this.backlogChars -= dropped.length;
      this.flow.parsed(dropped.length);
    }
  }

  /** The terminal is mounted: what arrived before is written first. */
  attach(sink: TerminalSink): void {
    if (this.disposed) {
      sink.dispose();
      return;
    }
    this.sink = sink;
    const backlog = this.backlog;
    this.backlog = [];
    this.backlogChars = 0;
    for (const data of backlog) this.writeToSink(sink, data);
  }

  /** Keystrokes or a paste; ignored once the shell ended. */
  send(data: string): void {
    if (!this.ended) this.input.push(data);
  }

  /** The terminal's size on screen changed. */
  resized(cols: number, rows: number): void {
    if (!this.ended) this.resize.request(cols, rows);
  }

  stats(): TerminalFlowStats {
    return this.flow.stats();
  }

  /** The shell is gone: its output so far is still shown, nothing more is sent to the host. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.flow.close();
    this.input.close();
    this.resize.close();
  }

  dispose(): void {
    if (this.disposed) return;
    this.end();
    this.disposed = true;
    this.backlog = [];
    this.backlogChars = 0;
    const sink = this.sink;
    this.sink = null;
    sink?.dispose();
  }

  private writeToSink(sink: TerminalSink, data: string): void {
    const chars = data.length;
    sink.write(data, () => this.flow.parsed(chars));
  }
}

export interface DebugError {
  scope: "open" | "forget" | "input";
  jobId: string | null;
  message: string;
}

export interface DebugState {
  /** In the order they were opened. */
  terminals: DebugTerminal[];
  /** The tab last opened or picked, of whichever job. */
  activeTerminalId: string | null;
  /** Per job, its tab last opened or picked: what its Job view's panel shows (see panelTerminalsFor). */
  activeByJob: Record<string, string>;
  /** The job the Job view shows (watchJob): its panel holds only that job's terminals. */
  jobOnScreen: string | null;
  /** The panel is hidden though terminals are open (they keep running). */
  panelHidden: boolean;
  /** DebugInfo of the jobs the UI shows or has terminals for. */
  infos: Record<string, DebugInfo>;
  /** Jobs whose env files are kept, newest first. */
  kept: KeptEnvSummary[];
  /** Jobs a terminal is being opened for. */
  opening: string[];
  error: DebugError | null;

  /** Opens a debug shell for the job and shows it; its terminal id, or null when the host refused. */
  open(jobId: string, size?: { cols: number; rows: number }): Promise<string | null>;
  /** Closes a terminal (the host kills the shell) and removes its tab. */
  close(terminalId: string): Promise<void>;
  select(terminalId: string): void;
  setPanelHidden(hidden: boolean): void;
  /** The Job view shows this job (null: none): its DebugInfo is (re)loaded and kept up to date. */
  watchJob(jobId: string | null): void;
  refreshInfo(jobId: string): Promise<void>;
  /** Deletes the kept copy of a job's env files. */
  forget(jobId: string): Promise<boolean>;
  /** The latest size a debug terminal fitted to (the size the next one opens with). */
  noteSize(cols: number, rows: number): void;
  dismissError(): void;
}

export interface DebugStoreOptions {
  scheduler: Scheduler;
  /** Size a terminal opens with before any was fitted on screen. */
  defaultSize: { cols: number; rows: number };
  /** While a DebugInfo says "not available yet", job output of that job asks again at most this often. */
  infoRetryMs: number;
}

export interface DebugStore extends StoreApi<DebugState> {
  sessionOf(terminalId: string): DebugSession | undefined;
  /** Subscribes to the bridge and loads the kept env files. Returns the teardown. */
  connect(): () => void;
  handleEvent(event: HostEvent): void;
}

/** Terminals that can take input: not exited, not lost. They count against MAX_TERMINALS_PER_CLIENT. */
export function liveTerminals(terminals: readonly DebugTerminal[]): number {
  return terminals.filter((t) => t.status === "open").length;
}

/** What the debug panel of one job's view shows: that job's terminals only, never another job's shell. */
export interface JobPanelTerminals {
  /** The job's terminals, in the order they were opened. */
  terminals: DebugTerminal[];
  /** The tab shown: the one last opened or picked for this job; null when the job has none. */
  active: DebugTerminal | null;
  /** Terminals of other jobs: they keep running, just not shown here. */
  elsewhere: number;
}

export function panelTerminalsFor(state: Pick<DebugState, "terminals" | "activeByJob">, jobId: string | null): JobPanelTerminals {
  const terminals = jobId === null ? [] : state.terminals.filter((t) => t.jobId === jobId);
  const pick = (id: string | null | undefined) => (id == null ? undefined : terminals.find((t) => t.terminalId === id));
  const active = (jobId === null ? undefined : pick(state.activeByJob[jobId])) ?? terminals[terminals.length - 1] ?? null;
  return { terminals, active, elsewhere: state.terminals.length - terminals.length };
}

/** Whether another terminal may be opened now, and if not why. */
export function canOpenAnother(state: Pick<DebugState, "terminals">): { ok: boolean; reason: string | null } {
  if (liveTerminals(state.terminals) >= MAX_TERMINALS_PER_CLIENT) {
    return { ok: false, reason: `At most ${MAX_TERMINALS_PER_CLIENT} debug terminals can be open at once: close one first.` };
  }
  return { ok: true, reason: null };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type TerminalEvent = Extract<HostEvent, { type: "terminal-output" | "terminal-exit" }>;

/** Events of terminals whose openTerminal answer has not arrived yet are held, up to this much output. */
const MAX_ORPHAN_CHARS = TERMINAL_HIGH_WATER;

export function createDebugStore(bridge: RendererBridge, partial: Partial<DebugStoreOptions> = {}): DebugStore {
  const options: DebugStoreOptions = { scheduler: realScheduler, defaultSize: { cols: 100, rows: 30 }, infoRetryMs: 1000, ...partial };
  const api = bridge.api;
  const sessions = new Map<string, DebugSession>();
  /** Terminal events that came before their openTerminal answer (only while an open is in flight). */
  const orphans = new Map<string, TerminalEvent[]>();
  let orphanChars = 0;
  let opensInFlight = 0;
  let lastSize = options.defaultSize;
  const infoRequests = new Map<string, number>();
  const infoRetryAt = new Map<string, number>();
  let infoRequestId = 0;
  let keptRequestId = 0;

  const store = createStore<DebugState>()((set, get) => ({
    terminals: [],
    activeTerminalId: null,
    activeByJob: {},
    jobOnScreen: null,
    panelHidden: false,
    infos: {},
    kept: [],
    opening: [],
    error: null,

    async open(jobId, size) {
      const { cols, rows } = clampSize(size?.cols ?? lastSize.cols, size?.rows ?? lastSize.rows);
      opensInFlight++;
      set((s) => ({ opening: [...s.opening, jobId], error: null }));
      try {
        const info = await api.openTerminal({ jobId, cols, rows });
        const session = new DebugSession(info, api, options.scheduler, (error) =>
          set({ error: { scope: "input", jobId: info.jobId, message: `Input not sent: ${messageOf(error)}` } }),
        );
        sessions.set(info.terminalId, session);
        const { cols: _cols, rows: _rows, ...opened } = info;
        const keptAt = info.source === "kept" ? (get().infos[info.jobId]?.keptAt ?? get().kept.find((k) => k.jobId === info.jobId)?.keptAt ?? null) : null;
        const terminal: DebugTerminal = { ...opened, keptAt, status: "open", exitCode: null, signal: null, lost: false };
        set((s) => ({
          terminals: [...s.terminals, terminal],
          activeTerminalId: info.terminalId,
          activeByJob: { ...s.activeByJob, [info.jobId]: info.terminalId },
          panelHidden: false,
        }));
        if (get().infos[info.jobId] === undefined) void loadInfo(info.jobId);
        const held = orphans.get(info.terminalId);
        if (held !== undefined) {
          orphans.delete(info.terminalId);
          for (const event of held) handleTerminalEvent(event);
        }
        return info.terminalId;
      } catch (error) {
        set({ error: { scope: "open", jobId, message: `Could not open a debug terminal: ${messageOf(error)}` } });
        void loadInfo(jobId); // the reason it is not available may have changed
        return null;
      } finally {
        opensInFlight--;
        if (opensInFlight === 0) {
          orphans.clear();
          orphanChars = 0;
        }
        set((s) => {
          const at = s.opening.indexOf(jobId);
          return at < 0 ? {} : { opening: s.opening.filter((_, i) => i !== at) };
        });
      }
    },

    async close(terminalId) {
      const terminal = get().terminals.find((t) => t.terminalId === terminalId);
      if (terminal === undefined) return;
      sessions.get(terminalId)?.dispose();
      sessions.delete(terminalId);
      set((s) => {
        const at = s.terminals.findIndex((t) => t.terminalId === terminalId);
        const terminals = s.terminals.filter((t) => t.terminalId !== terminalId);
        // The next tab shown is the neighbour of the same job, so its panel stays on that job.
        const sameJob = terminals.filter((t) => t.jobId === terminal.jobId);
        const sameJobAt = s.terminals.filter((t) => t.jobId === terminal.jobId).findIndex((t) => t.terminalId === terminalId);
        const neighbour = sameJob[Math.min(sameJobAt, sameJob.length - 1)]?.terminalId ?? null;
        let active = s.activeTerminalId;
        if (active === terminalId) active = neighbour ?? (terminals[Math.min(at, terminals.length - 1)] ?? null)?.terminalId ?? null;
        const activeByJob = { ...s.activeByJob };
        if (activeByJob[terminal.jobId] === terminalId) {
          if (neighbour !== null) activeByJob[terminal.jobId] = neighbour;
          else delete activeByJob[terminal.jobId];
        }
        return { terminals, activeTerminalId: active, activeByJob };
      });
      pruneInfos();
      if (terminal.lost) return;
      try {
        await api.closeTerminal({ terminalId });
      } catch {
        // Already gone (it exited, or the host restarted): nothing to close.
      }
    },

    select(terminalId) {
      const terminal = get().terminals.find((t) => t.terminalId === terminalId);
      if (terminal === undefined) return;
      set((s) => ({ activeTerminalId: terminalId, activeByJob: { ...s.activeByJob, [terminal.jobId]: terminalId }, panelHidden: false }));
    },

    setPanelHidden(hidden) {
      set({ panelHidden: hidden });
    },

    watchJob(jobId) {
      if (get().jobOnScreen !== jobId) set({ jobOnScreen: jobId });
      if (jobId !== null) void loadInfo(jobId);
      pruneInfos();
    },

    refreshInfo(jobId) {
      return loadInfo(jobId);
    },

    async forget(jobId) {
      set({ error: null });
      try {
        await api.forgetJobEnv({ jobId });
        void loadKept();
        await loadInfo(jobId);
        return true;
      } catch (error) {
        set({ error: { scope: "forget", jobId, message: `Could not forget the kept env files: ${messageOf(error)}` } });
        return false;
      }
    },

    noteSize(cols, rows) {
      lastSize = clampSize(cols, rows);
    },

    dismissError() {
      set({ error: null });
    },
  }));

  // -------------------------------------------------------------------------------------------
  // DebugInfo of the jobs that matter: the one the Job view shows and those with terminals.

  function interesting(): Set<string> {
    const { terminals, jobOnScreen } = store.getState();
    const jobs = new Set(terminals.map((t) => t.jobId));
    if (jobOnScreen !== null) jobs.add(jobOnScreen);
    return jobs;
  }

  function pruneInfos(): void {
    const keep = interesting();
    const infos = store.getState().infos;
    const stale = Object.keys(infos).filter((id) => !keep.has(id));
    if (stale.length === 0) return;
    const next = { ...infos };
    for (const id of stale) delete next[id];
    store.setState({ infos: next });
  }

  async function loadInfo(jobId: string): Promise<void> {
    const request = ++infoRequestId;
    infoRequests.set(jobId, request);
    try {
      const info = await api.getDebugInfo({ jobId });
      if (infoRequests.get(jobId) !== request) return; // a newer answer is on its way
      infoRequests.delete(jobId);
      if (!interesting().has(jobId)) return;
      store.setState((s) => ({ infos: { ...s.infos, [jobId]: info } }));
    } catch (error) {
      if (infoRequests.get(jobId) === request) infoRequests.delete(jobId);
      if (errorCode(error) === "disconnected") return;
      if (!interesting().has(jobId)) return;
      // Shown as a reason on the disabled button; the next event or view asks again.
      const failed: DebugInfo = {
        jobId,
        available: false,
        source: null,
        reason: `Could not ask the agent host: ${messageOf(error)}`,
        envFiles: [],
        user: "",
        home: "",
        shell: "",
        manual: [],
        keptAt: null,
        sandbox: "none",
      };
      store.setState((s) => ({ infos: { ...s.infos, [jobId]: failed } }));
    }
  }

  function refreshInteresting(only?: (jobId: string) => boolean): void {
    for (const jobId of interesting()) if (only === undefined || only(jobId)) void loadInfo(jobId);
  }

  async function loadKept(): Promise<void> {
    const request = ++keptRequestId;
    try {
      const kept = await api.listKeptEnvs({});
      if (request === keptRequestId) store.setState({ kept });
    } catch {
      // Disconnected, or a host without debug support: the list stays as it was.
    }
  }

  /** A running job's env file may be written after job-started: its output asks again, now and then. */
  function maybeRetryInfo(jobId: string): void {
    const info = store.getState().infos[jobId];
    if (info === undefined || info.available || infoRequests.has(jobId)) return;
    const now = options.scheduler.now();
    if ((infoRetryAt.get(jobId) ?? 0) > now) return;
    infoRetryAt.set(jobId, now + options.infoRetryMs);
    if (infoRetryAt.size > 64) infoRetryAt.clear();
    void loadInfo(jobId);
  }

  // -------------------------------------------------------------------------------------------
  // Events.

  function patchTerminal(terminalId: string, patch: Partial<DebugTerminal>): void {
    store.setState((s) => ({ terminals: s.terminals.map((t) => (t.terminalId === terminalId ? { ...t, ...patch } : t)) }));
  }

  function holdOrphan(event: TerminalEvent): void {
    const size = event.type === "terminal-output" ? event.data.length : 0;
    if (orphanChars + size > MAX_ORPHAN_CHARS) return;
    orphanChars += size;
    const held = orphans.get(event.terminalId) ?? [];
    held.push(event);
    orphans.set(event.terminalId, held);
  }

  function handleTerminalEvent(event: TerminalEvent): void {
    const session = sessions.get(event.terminalId);
    if (session === undefined) {
      // Its openTerminal answer may still be on its way; otherwise it is not ours: ignored.
      if (opensInFlight > 0) holdOrphan(event);
      return;
    }
    if (event.type === "terminal-output") {
      session.output(event.data);
    } else {
      session.end();
      patchTerminal(event.terminalId, { status: "exited", exitCode: event.exitCode, signal: event.signal });
    }
  }

  function handleEvent(event: HostEvent): void {
    switch (event.type) {
      case "terminal-output":
      case "terminal-exit":
        handleTerminalEvent(event);
        return;
      case "kept-envs": {
        const before = new Map(store.getState().kept.map((k) => [k.jobId, k.keptAt]));
        const after = new Map(event.jobs.map((k) => [k.jobId, k.keptAt]));
        store.setState({ kept: event.jobs });
        refreshInteresting((jobId) => before.get(jobId) !== after.get(jobId));
        return;
      }
      case "job-started":
        refreshInteresting((jobId) => jobId === event.job.summary.id);
        return;
      case "job-finished":
        refreshInteresting((jobId) => jobId === event.job.id);
        return;
      case "job-output":
        maybeRetryInfo(event.jobId);
        return;
      default:
        return;
    }
  }

  function onConnection(state: ConnectionState, before: ConnectionState): void {
    if (state.status === "connected" && before.status !== "connected") {
      void loadKept();
      refreshInteresting();
    } else if (state.status !== "connected" && before.status === "connected") {
      // The host kills the shells of a client that went away; what they printed stays readable.
      for (const terminal of store.getState().terminals) {
        if (terminal.status !== "open") continue;
        sessions.get(terminal.terminalId)?.end();
        patchTerminal(terminal.terminalId, { status: "exited", lost: true });
      }
    }
  }

  return Object.assign(store, {
    sessionOf(terminalId: string) {
      return sessions.get(terminalId);
    },
    connect() {
      let connection = bridge.connection();
      const offEvents = bridge.subscribe(handleEvent);
      const offConnection = bridge.onConnection((state) => {
        const before = connection;
        connection = state;
        onConnection(state, before);
      });
      if (connection.status === "connected") void loadKept();
      return () => {
        offEvents();
        offConnection();
        for (const session of sessions.values()) session.dispose();
        sessions.clear();
        store.setState({ terminals: [], activeTerminalId: null, activeByJob: {} });
      };
    },
    handleEvent,
  });
}
