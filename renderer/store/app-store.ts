// The UI's state and the actions that call the host. zustand without React (the views bind it with
// useStore), so it runs and is tested in plain Node. Job output never lands here: each followed job has
// a JobStream whose LogFeed the Job view attaches to; the store keeps only each job's outline.
import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  AgentSnapshot,
  DemoSnapshot,
  FieldError,
  GivenSummary,
  GpuSnapshot,
  HostEvent,
  HostSnapshot,
  JobDetail,
  JobPlan,
  JobStop,
  JobSummary,
  SandboxStatus,
  SaveSettingsResult,
  SettingsInput,
  SettingsView,
  ToolboxView,
} from "../../agent-core/host/contract.js";
import { errorCode, type ConnectionState, type RendererBridge } from "../bridge/types.js";
import { appendTick, trimSnapshot } from "../gpu-view.js";
import { emptyOutline, type JobOutline } from "../job-format.js";
import { JobStream, type JobStreamOptions, type JobStreamStatus } from "./job-stream.js";
import { createSettingsDraftSlice, rebaseDraft, type SettingsDraftSlice } from "./settings-draft-store.js";
import type { LogFeed } from "./log-feed.js";

export type ViewName = "agent" | "gpus" | "job" | "history" | "settings" | "demo";
export const HISTORY_FILTERS = ["all", "passed", "failed", "stopped", "lost"] as const;
export type HistoryFilter = (typeof HISTORY_FILTERS)[number];

export const MAX_ACTIVITY = 200;

export interface ActivityEntry {
  id: number;
  at: number;
  level: "info" | "warn" | "error";
  message: string;
  /** The same message said this many times in a row (a server that keeps refusing): one entry. */
  count: number;
  /** When it was said last. */
  lastAt: number;
}

/** History rows besides the result filter: an agent, a project, a branch, free text (project, job, branch, commit, people). */
export interface HistoryQueryState {
  /** Run by this agent (AgentSnapshot.id). */
  agentId: string | null;
  project: string | null;
  branch: string | null;
  search: string;
}

/** A job the UI follows or shows: what the host told about it, and its outline. */
export interface JobPanel {
  jobId: string;
  summary: JobSummary | null;
  /** Names only; null until known (until then, the job's detail is not known). */
  envVarNames: string[] | null;
  /** The directives of its commands and epilogues (JobDetail.plan): null when unknown or not kept. */
  plan: JobPlan | null;
  /** Who stopped it while it ran, and where in its log (JobDetail.stop); null when nobody did, or not known yet. */
  stop: JobStop | null;
  outline: JobOutline;
  log: JobStreamStatus;
}

export type ActionScope = "agent" | "settings" | "demo" | "history" | "job" | "snapshot" | "gpus";

export interface ActionError {
  scope: ActionScope;
  message: string;
}

/** The Settings form's draft and the config.yaml dialog are SettingsDraftSlice (settings-draft-store.ts). */
export interface AppState extends SettingsDraftSlice {
  connection: ConnectionState;
  /** A snapshot has arrived since the page loaded. */
  loaded: boolean;
  version: string;
  /** The first of `agents` (the one agent, when the machine has one); null until the snapshot. */
  agent: AgentSnapshot | null;
  /** Every agent of this machine, as the host lists them. */
  agents: AgentSnapshot[];
  /** The GPUs with their last 10 minutes (getGpus, then "gpus" and "gpu-tick" events); null until read. */
  gpus: GpuSnapshot | null;
  /** Why the GPUs could not be read (a host without them); null otherwise. */
  gpusError: string | null;
  settings: SettingsView | null;
  demo: DemoSnapshot | null;
  /** Newest first. */
  history: JobSummary[];
  historyFilter: HistoryFilter;
  historyQuery: HistoryQueryState;
  /** The rows for a filter other than "all" or a query (asked from the host); null while loading or for no filter. */
  filteredHistory: JobSummary[] | null;
  /** Semaphore's toolbox on this machine; null until read. */
  toolbox: ToolboxView | null;
  /** The sandbox the saved settings give (getSandbox), also while the agent is stopped; null until read. */
  sandbox: SandboxStatus | null;
  /** "This machine has given" (getGiven), read again when a job finishes; null until read. */
  given: GivenSummary | null;
  view: ViewName;
  /** The job the Job view shows. */
  selectedJobId: string | null;
  /** The Job view moves to each job that starts (unless a job was opened from the history). */
  followRunningJob: boolean;
  jobs: Record<string, JobPanel>;
  activity: ActivityEntry[];
  settingsErrors: FieldError[];
  /** When the settings were last saved or imported here (epoch ms). */
  settingsSavedAt: number | null;
  /** Start was pressed before the first-run setup was done. */
  startAfterSetup: boolean;
  busy: { agent: boolean; settings: boolean; demo: boolean; example: string | null; toolbox: boolean; gpu: string | null };
  error: ActionError | null;

  selectView(view: ViewName): void;
  /** The agent actions act on every agent, or on the one named by `agentId`. */
  startAgent(agentId?: string): Promise<void>;
  stopAgent(when: "now" | "after-job", agentId?: string): Promise<void>;
  /** The agent cannot reach the server: try now rather than at the retry time. */
  retryNow(agentId?: string): Promise<void>;
  /** No jobs until Resume: "now" stops a running job, "after-job" lets it finish (Resume cancels it meanwhile). */
  pause(when: "now" | "after-job", agentId?: string): Promise<void>;
  /** Ends a pause by hand, a snooze, a pending pause after the job, a tripped circuit breaker. */
  resume(agentId?: string): Promise<void>;
  /** No jobs until this time (epoch ms); a running job finishes first. */
  snooze(until: number, agentId?: string): Promise<void>;
  /** Stops the running job here, as a stop from Semaphore would; the agent goes on taking jobs. */
  stopJob(jobId: string): Promise<void>;
  /** Reads "This machine has given" again. */
  loadGiven(): Promise<void>;
  loadToolbox(): Promise<void>;
  /** Reads the GPUs anew (getGpus). */
  loadGpus(): Promise<void>;
  /** Lends a GPU, or keeps it for the owner (saved in Settings as gpuNotLent). */
  setGpuLent(uuid: string, lent: boolean): Promise<void>;
  /** Asks the host which sandbox the saved settings give (bubblewrap checked anew). */
  loadSandbox(): Promise<void>;
  installToolbox(): Promise<void>;
  setHistoryQuery(patch: Partial<HistoryQueryState>): Promise<void>;
  saveSettings(input: SettingsInput): Promise<boolean>;
  exportConfig(): Promise<string | null>;
  setHistoryFilter(filter: HistoryFilter): Promise<void>;
  /** Shows a job in the Job view. */
  openJob(jobId: string): void;
  /** The Job view follows the running job again. */
  followRunning(): void;
  /** Makes sure the job shown is followed (its stream and details) without changing what is shown. */
  watchJob(jobId: string): void;
  startDemo(): Promise<void>;
  stopDemo(): Promise<void>;
  runExample(exampleId: string): Promise<void>;
  retryJobLog(jobId: string): void;
  dismissError(): void;
}

export interface AppStoreOptions {
  now: () => number;
  stream: Partial<JobStreamOptions>;
}

/** What the store holds besides its state: the streams, for the Job view and for tests. */
export interface AppStore extends StoreApi<AppState> {
  /** The log feed of a job the UI follows (creating its stream), for the Job view to attach. */
  feedFor(jobId: string): LogFeed;
  /** The stream of a job, if followed (tests). */
  streamOf(jobId: string): JobStream | undefined;
  /** Subscribes to the bridge and loads the first snapshot. Returns the teardown. */
  connect(): () => void;
  /** Applies one HostEvent (the bridge's subscription calls this). */
  handleEvent(event: HostEvent): void;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Turns the host's schema error for saveSettings ("saveSettings: params.settings.endpoint: ...") into field errors. */
export function fieldErrorsOf(message: string): FieldError[] {
  const errors: FieldError[] = [];
  const body = message.replace(/^(saveSettings|importConfig): /, "");
  for (const part of body.split("; ")) {
    const match = /^params\.settings\.([^:]+): (.*)$/s.exec(part);
    if (match === null) return [];
    errors.push({ field: match[1]!, message: match[2]! });
  }
  return errors;
}

/** The list with `agent` in the place of the one with its id (appended when new). */
export function upsertAgent(list: readonly AgentSnapshot[], agent: AgentSnapshot): AgentSnapshot[] {
  const at = list.findIndex((a) => a.id === agent.id);
  if (at >= 0) return list.map((a, i) => (i === at ? agent : a));
  return [...list, agent];
}

/** The jobs the agents run now. */
export function runningJobIds(agents: readonly AgentSnapshot[]): string[] {
  return agents.map((a) => a.jobId).filter((id): id is string => id !== null);
}

/** The agent that runs this job now, if any. */
export function agentRunning(agents: readonly AgentSnapshot[], jobId: string): AgentSnapshot | undefined {
  return agents.find((a) => a.jobId === jobId);
}

function upsertSummary(list: readonly JobSummary[], summary: JobSummary): JobSummary[] {
  const at = list.findIndex((j) => j.id === summary.id);
  if (at >= 0) return list.map((j, i) => (i === at ? summary : j));
  return [summary, ...list].sort((a, b) => b.startedAt - a.startedAt);
}

/** Whether the History view shows rows asked from the host rather than the snapshot's newest jobs. */
export function historyFiltered(s: Pick<AppState, "historyFilter" | "historyQuery">): boolean {
  const q = s.historyQuery;
  return s.historyFilter !== "all" || q.agentId !== null || q.project !== null || q.branch !== null || q.search.trim() !== "";
}

function idleLog(): JobStreamStatus {
  return { loading: false, error: null, missing: false };
}

export function createAppStore(bridge: RendererBridge, partial: Partial<AppStoreOptions> = {}): AppStore {
  const options: AppStoreOptions = { now: () => Date.now(), stream: {}, ...partial };
  const api = bridge.api;
  const streams = new Map<string, JobStream>();
  let activityId = 0;
  let filterRequest = 0;
  let snapshotRequest = 0;
  let givenRequest = 0;
  let gpusRequest = 0;

  /** The agents' list and its first as `agent`. */
  function agentsState(agents: AgentSnapshot[]): Pick<AppState, "agents" | "agent"> {
    return { agents, agent: agents[0] ?? null };
  }

  /** `{ agentId }` when one is named, else `{}` (all agents). */
  function target(agentId: string | undefined): { agentId?: string } {
    return agentId === undefined ? {} : { agentId };
  }

  const store = createStore<AppState>()((set, get) => {
    async function agentAction(call: () => Promise<AgentSnapshot>, scope: ActionScope = "agent"): Promise<void> {
      set((s) => ({ busy: { ...s.busy, agent: true }, error: null }));
      try {
        const agent = await call();
        set((s) => agentsState(upsertAgent(s.agents, agent)));
      } catch (error) {
        set({ error: { scope, message: messageOf(error) } });
      } finally {
        set((s) => ({ busy: { ...s.busy, agent: false } }));
      }
    }

    async function demoAction(call: () => Promise<DemoSnapshot>): Promise<void> {
      set((s) => ({ busy: { ...s.busy, demo: true }, error: null }));
      try {
        set({ demo: await call() });
      } catch (error) {
        set({ error: { scope: "demo", message: messageOf(error) } });
      } finally {
        set((s) => ({ busy: { ...s.busy, demo: false } }));
      }
    }

    async function settingsAction(call: () => Promise<SaveSettingsResult>, method: string): Promise<boolean> {
      set((s) => ({ busy: { ...s.busy, settings: true }, error: null, settingsErrors: [], settingsSavedAt: null }));
      try {
        const result = await call();
        if (result.ok) {
          set({ settings: result.settings, settingsSavedAt: options.now() });
          void get().loadSandbox();
          return true;
        }
        set({ settingsErrors: result.errors });
        return false;
      } catch (error) {
        const message = messageOf(error);
        const fields = method === "saveSettings" ? fieldErrorsOf(message) : [];
        if (fields.length > 0) set({ settingsErrors: fields });
        else set({ error: { scope: "settings", message } });
        return false;
      } finally {
        set((s) => ({ busy: { ...s.busy, settings: false } }));
      }
    }

    return {
      ...createSettingsDraftSlice(set, get, api, options.now),
      connection: bridge.connection(),
      loaded: false,
      version: "",
      agent: null,
      agents: [],
      gpus: null,
      gpusError: null,
      settings: null,
      demo: null,
      history: [],
      historyFilter: "all",
      historyQuery: { agentId: null, project: null, branch: null, search: "" },
      filteredHistory: null,
      toolbox: null,
      sandbox: null,
      given: null,
      view: "agent",
      selectedJobId: null,
      followRunningJob: true,
      jobs: {},
      activity: [],
      settingsErrors: [],
      settingsSavedAt: null,
      startAfterSetup: false,
      busy: { agent: false, settings: false, demo: false, example: null, toolbox: false, gpu: null },
      error: null,

      selectView(view) {
        set({ view });
        if (view === "job") {
          const id = get().selectedJobId;
          if (id !== null) ensureJob(id);
        }
      },

      async startAgent(agentId) {
        if (get().settings?.configured !== true) {
          set({ view: "settings", startAfterSetup: true, error: null });
          return;
        }
        set({ startAfterSetup: false });
        await agentAction(() => api.startAgent(target(agentId)));
      },

      async stopAgent(when, agentId) {
        await agentAction(() => api.stopAgent({ when, ...target(agentId) }));
      },

      async retryNow(agentId) {
        await agentAction(() => api.retryNow(target(agentId)));
      },

      async pause(when, agentId) {
        await agentAction(() => api.pause({ when, ...target(agentId) }));
      },

      async resume(agentId) {
        await agentAction(() => api.resume(target(agentId)));
      },

      async snooze(until, agentId) {
        await agentAction(() => api.snooze({ until, ...target(agentId) }));
      },

      async stopJob(jobId) {
        await agentAction(() => api.stopJob({ jobId }), "job");
      },

      async loadGiven() {
        const request = ++givenRequest;
        try {
          const given = await api.getGiven({});
          if (request === givenRequest) set({ given });
        } catch {
          // Disconnected, or a host without it: the card keeps what it showed.
        }
      },

      async loadToolbox() {
        try {
          set({ toolbox: await api.getToolbox({}) });
        } catch (error) {
          if (errorCode(error) !== "disconnected") set({ error: { scope: "settings", message: messageOf(error) } });
        }
      },

      async loadGpus() {
        const request = ++gpusRequest;
        try {
          const gpus = trimSnapshot(await api.getGpus({}));
          if (request === gpusRequest) set({ gpus, gpusError: null });
        } catch (error) {
          // Disconnected: the panel keeps what it showed. A host without GPUs support: say so.
          if (request === gpusRequest && errorCode(error) !== "disconnected") set({ gpusError: messageOf(error) });
        }
      },

      async setGpuLent(uuid, lent) {
        set((s) => ({ busy: { ...s.busy, gpu: uuid }, error: null }));
        try {
          const gpus = trimSnapshot(await api.setGpuLent({ uuid, lent }));
          ++gpusRequest; // an older getGpus answer must not undo this one
          set({ gpus, gpusError: null });
        } catch (error) {
          set({ error: { scope: "gpus", message: messageOf(error) } });
        } finally {
          set((s) => ({ busy: { ...s.busy, gpu: null } }));
        }
      },

      async loadSandbox() {
        try {
          set({ sandbox: await api.getSandbox({}) });
        } catch {
          // Disconnected, or a host without sandbox support: the line says nothing rather than guess.
        }
      },

      async installToolbox() {
        set((s) => ({ busy: { ...s.busy, toolbox: true }, error: null }));
        try {
          set({ toolbox: await api.installToolbox({}) });
        } catch (error) {
          set({ error: { scope: "settings", message: messageOf(error) } });
        } finally {
          set((s) => ({ busy: { ...s.busy, toolbox: false } }));
        }
      },

      async setHistoryQuery(patch) {
        set((s) => ({ historyQuery: { ...s.historyQuery, ...patch }, filteredHistory: null }));
        await refreshFiltered();
      },

      saveSettings(input) {
        return settingsAction(() => api.saveSettings({ settings: input }), "saveSettings");
      },

      async exportConfig() {
        try {
          return (await api.exportConfig({})).yaml;
        } catch (error) {
          set({ error: { scope: "settings", message: messageOf(error) } });
          return null;
        }
      },

      async setHistoryFilter(filter) {
        set({ historyFilter: filter, filteredHistory: null });
        await refreshFiltered();
      },

      openJob(jobId) {
        const running = runningJobIds(get().agents);
        set({ selectedJobId: jobId, followRunningJob: running.includes(jobId), view: "job" });
        ensureJob(jobId);
        prune();
      },

      followRunning() {
        const s = get();
        const job = runningJobIds(s.agents)[0] ?? s.history[0]?.id ?? null;
        set({ followRunningJob: true, selectedJobId: job });
        if (job !== null) ensureJob(job);
        prune();
      },

      watchJob(jobId) {
        ensureJob(jobId);
      },

      startDemo() {
        return demoAction(() => api.startDemo({}));
      },

      stopDemo() {
        return demoAction(() => api.stopDemo({}));
      },

      async runExample(exampleId) {
        set((s) => ({ busy: { ...s.busy, example: exampleId }, error: null }));
        try {
          const { jobId } = await api.runExample({ exampleId });
          get().openJob(jobId);
          // The agent picks it up at its next sync; the job is pinned, not followed, until then.
          set({ followRunningJob: false });
        } catch (error) {
          set({ error: { scope: "demo", message: messageOf(error) } });
        } finally {
          set((s) => ({ busy: { ...s.busy, example: null } }));
        }
      },

      retryJobLog(jobId) {
        streams.get(jobId)?.resync();
        if (get().jobs[jobId]?.summary === null) void loadDetail(jobId);
      },

      dismissError() {
        set({ error: null });
      },
    };
  });

  // The Settings form's draft follows the settings the host sends, keeping unsaved edits.
  store.subscribe((s, before) => {
    if (s.settings !== before.settings && s.settings !== null && s.settingsDraft?.baseline !== s.settings) {
      store.setState({ settingsDraft: rebaseDraft(s.settingsDraft, s.settings) });
    }
  });

  // -------------------------------------------------------------------------------------------
  // Jobs: one stream per job the UI follows (the running one, the one shown).

  const streamHost = {
    readJobLog: (params: Parameters<typeof api.readJobLog>[0]) => api.readJobLog(params),
    outline(jobId: string, outline: JobOutline) {
      patchJob(jobId, { outline });
    },
    status(jobId: string, log: JobStreamStatus) {
      patchJob(jobId, { log });
    },
  };

  function patchJob(jobId: string, patch: Partial<JobPanel>): void {
    store.setState((s) => {
      const panel = s.jobs[jobId];
      if (panel === undefined) return {};
      return { jobs: { ...s.jobs, [jobId]: { ...panel, ...patch } } };
    });
  }

  function addPanel(jobId: string, detail: JobDetail | null): void {
    store.setState((s) => {
      const existing = s.jobs[jobId];
      const summary = detail?.summary ?? existing?.summary ?? s.history.find((j) => j.id === jobId) ?? null;
      const panel: JobPanel = {
        jobId,
        summary,
        envVarNames: detail?.envVarNames ?? existing?.envVarNames ?? null,
        // A host from before plans were kept sends none.
        plan: detail !== null ? (detail.plan ?? null) : (existing?.plan ?? null),
        stop: detail?.stop ?? existing?.stop ?? null,
        outline: existing?.outline ?? emptyOutline(),
        log: existing?.log ?? idleLog(),
      };
      return { jobs: { ...s.jobs, [jobId]: panel } };
    });
    if (detail !== null) {
      const panel = store.getState().jobs[jobId];
      streams.get(jobId)?.feed.setContext({ plan: panel?.plan ?? null, stop: panel?.stop ?? null });
    }
  }

  /** Starts following a job; `fresh` when it just started, so all its events will come live. */
  function ensureStream(jobId: string, fresh: boolean): JobStream {
    let stream = streams.get(jobId);
    if (stream === undefined) {
      if (store.getState().jobs[jobId] === undefined) addPanel(jobId, null);
      const panel = store.getState().jobs[jobId];
      // The log's headers say which commands are epilogues: without the job's detail, it waits for its plan.
      const known = panel !== undefined && panel.envVarNames !== null;
      stream = new JobStream(jobId, streamHost, fresh, options.stream, !known);
      streams.set(jobId, stream);
      if (known) stream.feed.setContext({ plan: panel.plan, stop: panel.stop });
      else void loadDetail(jobId);
    }
    return stream;
  }

  /** The Job view shows this job: its stream, and its details if not known yet. */
  function ensureJob(jobId: string): void {
    const existed = streams.has(jobId);
    ensureStream(jobId, false);
    const known = store.getState().jobs[jobId];
    if (existed && (known === undefined || known.envVarNames === null)) void loadDetail(jobId);
  }

  async function loadDetail(jobId: string): Promise<void> {
    try {
      const detail = await api.getJob({ jobId });
      if (streams.has(jobId)) addPanel(jobId, detail);
    } catch {
      // Not in the history yet (a scheduled example) or gone: the stream's status says which.
    } finally {
      // Whatever the answer, the log waits no longer (without a plan it shows the log as it is).
      const panel = store.getState().jobs[jobId];
      streams.get(jobId)?.feed.setContext({ plan: panel?.plan ?? null, stop: panel?.stop ?? null });
    }
  }

  /** Stops following jobs that are neither running nor shown. */
  function prune(): void {
    const s = store.getState();
    const keep = new Set([...runningJobIds(s.agents), s.selectedJobId].filter((id): id is string => typeof id === "string"));
    // A job that started before the agent's snapshot names it is running too.
    for (const panel of Object.values(s.jobs)) if (panel.summary?.result === "running") keep.add(panel.jobId);
    const jobs = { ...s.jobs };
    let changed = false;
    for (const [id, stream] of streams) {
      if (keep.has(id)) continue;
      stream.dispose();
      streams.delete(id);
      delete jobs[id];
      changed = true;
    }
    if (changed) store.setState({ jobs });
  }

  // -------------------------------------------------------------------------------------------
  // History filter: asked from the host, since the snapshot holds only the newest jobs.

  async function refreshFiltered(): Promise<void> {
    const { historyFilter: filter, historyQuery: query } = store.getState();
    if (!historyFiltered(store.getState())) {
      store.setState({ filteredHistory: null });
      return;
    }
    const request = ++filterRequest;
    try {
      const search = query.search.trim();
      const jobs = await api.listJobs({
        ...(filter !== "all" ? { result: filter } : {}),
        ...(query.agentId !== null ? { agentId: query.agentId } : {}),
        ...(query.project !== null ? { project: query.project } : {}),
        ...(query.branch !== null ? { branch: query.branch } : {}),
        ...(search !== "" ? { search } : {}),
        limit: 200,
      });
      if (request === filterRequest) store.setState({ filteredHistory: jobs });
    } catch (error) {
      if (request === filterRequest) store.setState({ error: { scope: "history", message: messageOf(error) } });
    }
  }

  function historyChanged(): void {
    if (historyFiltered(store.getState())) void refreshFiltered();
  }

  // -------------------------------------------------------------------------------------------
  // Events and snapshots.

  function pushActivity(at: number, level: ActivityEntry["level"], message: string): void {
    store.setState((s) => {
      const last = s.activity[s.activity.length - 1];
      if (last !== undefined && last.level === level && last.message === message) {
        return { activity: [...s.activity.slice(0, -1), { ...last, count: last.count + 1, lastAt: at }] };
      }
      const activity = [...s.activity, { id: ++activityId, at, level, message, count: 1, lastAt: at }];
      return { activity: activity.length > MAX_ACTIVITY ? activity.slice(activity.length - MAX_ACTIVITY) : activity };
    });
  }

  function applySnapshot(snapshot: HostSnapshot): void {
    const s = store.getState();
    const current = snapshot.currentJob;
    let selected = s.selectedJobId;
    if (s.followRunningJob) selected = current?.summary.id ?? selected ?? snapshot.history[0]?.id ?? null;
    // The first-run setup greets an owner who has configured nothing yet.
    const firstRun = !s.loaded && !snapshot.settings.configured;
    // A host from before several agents sends only `agent`.
    const agents = snapshot.agents !== undefined && snapshot.agents.length > 0 ? snapshot.agents : [snapshot.agent];
    store.setState({
      ...(firstRun ? { view: "settings" as const } : {}),
      loaded: true,
      version: snapshot.version,
      ...agentsState(agents),
      settings: snapshot.settings,
      demo: snapshot.demo,
      history: snapshot.history,
      selectedJobId: selected,
    });
    if (current !== null) {
      addPanel(current.summary.id, current);
      ensureStream(current.summary.id, false);
    }
    for (const panel of Object.values(store.getState().jobs)) {
      const fresh = snapshot.history.find((j) => j.id === panel.jobId);
      if (fresh !== undefined) patchJob(panel.jobId, { summary: fresh });
    }
    // Events may have been missed while away: every followed job reads its stored log to the end.
    for (const stream of streams.values()) stream.resync();
    if (selected !== null && store.getState().view === "job") ensureJob(selected);
    prune();
    historyChanged();
  }

  async function loadSnapshot(): Promise<void> {
    const request = ++snapshotRequest;
    try {
      const snapshot = await api.getSnapshot({});
      if (request === snapshotRequest) applySnapshot(snapshot);
      void store.getState().loadToolbox();
      void store.getState().loadSandbox();
      void store.getState().loadGiven();
      void store.getState().loadGpus();
    } catch (error) {
      if (request === snapshotRequest && errorCode(error) !== "disconnected") {
        store.setState({ error: { scope: "snapshot", message: messageOf(error) } });
      }
    }
  }

  function handleEvent(event: HostEvent): void {
    switch (event.type) {
      case "agent": {
        const before = store.getState().agents.find((a) => a.id === event.agent.id);
        store.setState((s) => agentsState(upsertAgent(s.agents, event.agent)));
        if (before?.jobId !== event.agent.jobId) prune();
        return;
      }
      case "agents":
        // An empty list would leave the views without an agent: keep the last one known.
        if (event.agents.length > 0) {
          store.setState(agentsState(event.agents));
          prune();
        }
        return;
      case "gpus":
        ++gpusRequest; // newer than any getGpus still on its way
        store.setState({ gpus: trimSnapshot(event.gpus), gpusError: null });
        return;
      case "gpu-tick":
        store.setState((s) => (s.gpus === null ? {} : { gpus: appendTick(s.gpus, event.tick) }));
        return;
      case "settings":
        store.setState({ settings: event.settings });
        void store.getState().loadSandbox(); // the sandbox asked for may have changed
        return;
      case "demo":
        store.setState({ demo: event.demo });
        return;
      case "job-started": {
        const id = event.job.summary.id;
        const s = store.getState();
        store.setState({
          history: upsertSummary(s.history, event.job.summary),
          ...(s.followRunningJob ? { selectedJobId: id } : {}),
        });
        addPanel(id, event.job);
        const existing = streams.get(id);
        if (existing === undefined) ensureStream(id, true);
        else existing.resync(); // opened before it started (a scheduled example)
        prune();
        historyChanged();
        return;
      }
      case "job-output": {
        const stream = streams.get(event.jobId) ?? ensureStream(event.jobId, event.from === 0);
        stream.live(event.from, event.events, event.preview);
        return;
      }
      case "job-stopping": {
        const summary = event.job.summary;
        store.setState((s) => ({ history: upsertSummary(s.history, summary) }));
        if (streams.has(summary.id)) addPanel(summary.id, event.job);
        return;
      }
      case "job-finished": {
        const summary = event.job;
        store.setState((s) => ({ history: upsertSummary(s.history, summary) }));
        patchJob(summary.id, { summary });
        const stream = streams.get(summary.id);
        if (stream !== undefined && !stream.complete) stream.resync();
        prune();
        historyChanged();
        void store.getState().loadGiven();
        return;
      }
      case "history": {
        store.setState({ history: event.history });
        for (const panel of Object.values(store.getState().jobs)) {
          const fresh = event.history.find((j) => j.id === panel.jobId);
          if (fresh !== undefined) patchJob(panel.jobId, { summary: fresh });
        }
        historyChanged();
        void store.getState().loadGiven(); // retention removed jobs
        return;
      }
      case "activity":
        pushActivity(event.at, event.level, event.message);
        return;
      case "toolbox":
        store.setState({ toolbox: event.toolbox });
        return;
    }
  }

  function onConnection(state: ConnectionState): void {
    const before = store.getState().connection;
    store.setState({ connection: state });
    if (state.status === "connected" && before.status !== "connected") {
      if (before.status === "reconnecting" && store.getState().loaded) {
        pushActivity(options.now(), "info", "Connection to the agent host restored");
      }
      void loadSnapshot();
    } else if (state.status === "reconnecting" && before.status === "connected") {
      pushActivity(options.now(), "warn", "Connection to the agent host lost");
    }
  }

  return Object.assign(store, {
    feedFor(jobId: string) {
      return ensureStream(jobId, false).feed;
    },
    streamOf(jobId: string) {
      return streams.get(jobId);
    },
    connect() {
      const offEvents = bridge.subscribe(handleEvent);
      const offConnection = bridge.onConnection(onConnection);
      store.setState({ connection: bridge.connection() });
      if (bridge.connection().status === "connected") void loadSnapshot();
      return () => {
        offEvents();
        offConnection();
        for (const stream of streams.values()) stream.dispose();
        streams.clear();
      };
    },
    handleEvent,
  });
}
