// The window: sidebar navigation, the connection banner, and the selected view.
import type { ComponentType } from "react";
import type { ViewName } from "../store/app-store.js";
import { agentsSummary } from "../view-model.js";
import { AgentView } from "./AgentView.js";
import { DemoView } from "./DemoView.js";
import { HistoryView } from "./HistoryView.js";
import { AgentIcon, DemoIcon, GpuIcon, HistoryIcon, LockIcon, LogoMark, SettingsIcon, TerminalIcon } from "./icons.js";
import { GpuPanel } from "./GpuPanel.js";
import { JobView } from "./JobView.js";
import { SettingsPage } from "./SettingsView.js";
import { useApp, useAppStore } from "./store-context.js";
import { ConnectionBanner } from "./ConnectionBanner.js";

interface NavEntry {
  view: ViewName;
  label: string;
  Icon: ComponentType<{ size?: number }>;
}

const NAV: readonly NavEntry[] = [
  { view: "agent", label: "Agent", Icon: AgentIcon },
  { view: "gpus", label: "GPUs", Icon: GpuIcon },
  { view: "job", label: "Job", Icon: TerminalIcon },
  { view: "history", label: "History", Icon: HistoryIcon },
  { view: "settings", label: "Settings", Icon: SettingsIcon },
  { view: "demo", label: "Local demo", Icon: DemoIcon },
];

function Sidebar() {
  const store = useAppStore();
  const view = useApp((s) => s.view);
  const agent = useApp((s) => s.agent);
  const agents = useApp((s) => s.agents);
  const version = useApp((s) => s.version);
  const historyCount = useApp((s) => s.history.length);
  const loaded = useApp((s) => s.loaded);
  const summary = agentsSummary(agents);
  // The sidebar is narrow: the head of the summary, the whole of it on hover.
  const status = loaded ? { words: summary.short, title: summary.words, tone: summary.tone } : { words: "Not connected", title: "Not connected", tone: "idle" as const };
  const jobRunning = agents.some((a) => a.jobId !== null);
  return (
    <aside className="sidebar">
      <div className="brand">
        <div className="brand-mark">
          <LogoMark size={20} />
        </div>
        <div>
          <div className="brand-name">Semaphore Agent</div>
          <div className="brand-sub">{agent?.mode === "demo" ? "Local demo" : "Self-hosted agent"}</div>
        </div>
      </div>
      <nav className="nav" aria-label="Views">
        {NAV.map(({ view: target, label, Icon }) => (
          <button
            key={target}
            type="button"
            className={`nav-item${view === target ? " active" : ""}`}
            data-testid={`nav-${target}`}
            aria-current={view === target ? "page" : undefined}
            onClick={() => store.getState().selectView(target)}
          >
            <Icon size={17} />
            {label}
            {target === "job" && jobRunning ? <span className="nav-live" title="A job is running" /> : null}
            {target === "history" && historyCount > 0 ? <span className="nav-badge">{historyCount}</span> : null}
          </button>
        ))}
      </nav>
      <div className="sidebar-foot">
        <div className="sidebar-status" title={status.title}>
          <span className={`dot ${status.tone}`} />
          {status.words}
        </div>
        {version !== "" ? <div>Version {version.replace(/^v/, "")}</div> : null}
      </div>
    </aside>
  );
}

function ActionError() {
  const store = useAppStore();
  const error = useApp((s) => s.error);
  // Settings errors are shown on the settings page itself.
  if (error === null || error.scope === "settings") return null;
  return (
    <div className="banner error" role="alert" data-testid="action-error">
      <span style={{ flex: 1, userSelect: "text" }}>{error.message}</span>
      <button type="button" className="btn ghost small" onClick={() => store.getState().dismissError()}>
        Dismiss
      </button>
    </div>
  );
}

function CurrentView() {
  const view = useApp((s) => s.view);
  switch (view) {
    case "agent":
      return <AgentView />;
    case "gpus":
      return <GpuPanel />;
    case "job":
      return <JobView />;
    case "history":
      return <HistoryView />;
    case "settings":
      return <SettingsPage />;
    case "demo":
      return <DemoView />;
  }
}

function Loading() {
  const connection = useApp((s) => s.connection);
  if (connection.status === "unauthorised") {
    return (
      <div className="empty">
        <div>
          <div className="empty-icon">
            <LockIcon size={22} />
          </div>
          <h2>Not authorised</h2>
          <p>This page has no valid key for the agent host. Open the URL that <code>semaphore-agent console</code> printed when it started: it contains the token.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="loading">
      <div>
        <div className="spin" />
        Connecting to the agent host…
      </div>
    </div>
  );
}

export function App() {
  const loaded = useApp((s) => s.loaded);
  const view = useApp((s) => s.view);
  return (
    <div className="app">
      <Sidebar />
      <main className="main">
        <ConnectionBanner />
        <ActionError />
        {loaded ? (
          <div className={`content${view === "job" ? " flush" : ""}`}>
            <CurrentView />
          </div>
        ) : (
          <Loading />
        )}
      </main>
    </div>
  );
}
