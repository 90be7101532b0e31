// The window: sidebar navigation, the connection banner, and the selected view.
import type { ComponentType } from "react";
import type { ViewName } from "../store/app-store.js";
import { agentsSummary, connectionLost, demoRunning } from "../view-model.js";
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
  const connection = useApp((s) => s.connection);
  const lost = connectionLost(connection);
  const summary = agentsSummary(agents);
  // The sidebar is narrow: the head of the summary, the whole of it on hover. Without the host the
  // last snapshot is not the truth any more: the footer says the connection is lost, never "Waiting".
  const status =
    lost !== null
      ? { words: lost.short, title: lost.detail, tone: lost.tone }
      : loaded
        ? { words: summary.short, title: summary.words, tone: summary.tone }
        : { words: "Not connected", title: "Not connected to the agent host yet", tone: "idle" as const };
  const jobRunning = agents.some((a) => a.jobId !== null);
  return (
    <aside className="sidebar">
      <div className="brand" title="Semaphore Agent">
        <div className="brand-mark">
          <LogoMark size={20} />
        </div>
        <div className="brand-text">
          <div className="brand-name">Semaphore Agent</div>
          <div className="brand-sub">{lost === null && demoRunning(agent) ? "Local demo" : "Self-hosted agent"}</div>
        </div>
      </div>
      <nav className="nav" aria-label="Views">
        {NAV.map(({ view: target, label, Icon }) => {
          // A narrow window shows the icons alone: the name is the button's accessible name and tooltip.
          const extra =
            target === "job" && jobRunning ? (lost !== null ? " (a job was running when the connection was lost)" : " (a job is running)") : target === "history" && historyCount > 0 ? ` (${historyCount} jobs)` : "";
          return (
            <button
              key={target}
              type="button"
              className={`nav-item${view === target ? " active" : ""}`}
              data-testid={`nav-${target}`}
              aria-current={view === target ? "page" : undefined}
              aria-label={`${label}${extra}`}
              title={`${label}${extra}`}
              onClick={() => store.getState().selectView(target)}
            >
              <Icon size={17} />
              <span className="nav-label">{label}</span>
              {target === "job" && jobRunning ? (
                lost !== null ? (
                  <span className="nav-live stale" data-testid="nav-live" data-stale="true" title="Connection lost: whether a job runs is not known here" />
                ) : (
                  <span className="nav-live" data-testid="nav-live" title="A job is running" />
                )
              ) : null}
              {target === "history" && historyCount > 0 ? <span className="nav-badge">{historyCount}</span> : null}
            </button>
          );
        })}
      </nav>
      <div className="sidebar-foot">
        <div className="sidebar-status" data-testid="sidebar-status" data-tone={status.tone} data-lost={lost !== null ? "true" : "false"} title={status.title} role="status">
          <span className={`dot ${status.tone}`} aria-hidden="true" />
          <span className="sidebar-status-words">{status.words}</span>
        </div>
        {version !== "" ? <div className="sidebar-version">Version {version.replace(/^v/, "")}</div> : null}
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
      <div className="empty" data-testid="unauthorised">
        <div>
          <div className="empty-icon">
            <LockIcon size={22} />
          </div>
          <h2>Not authorised</h2>
          <UnauthorisedHelp />
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

/** What to do when the console refused this page: the same advice as the console's own 401 page. */
export function UnauthorisedHelp() {
  return (
    <div className="unauthorised-help">
      <p>
        The web console refused this page: it was restarted (every run has a new token), or the token is wrong.
      </p>
      <p>
        Open the URL it printed when it started — <code>npm start</code> and <code>semaphore-agent console</code> both print <code>Web console: http://127.0.0.1:PORT/?token=…</code>. Lost it? Restart the console (Ctrl-C, then <code>npm start</code> or <code>semaphore-agent console</code> again) and open the new URL.
      </p>
    </div>
  );
}

export function App() {
  const loaded = useApp((s) => s.loaded);
  const view = useApp((s) => s.view);
  // Refused (the console restarted with a new token): a dead end, said instead of views that went stale.
  const refused = useApp((s) => s.connection.status === "unauthorised");
  return (
    <div className="app">
      <Sidebar />
      <main className="main">
        <ConnectionBanner />
        <ActionError />
        {loaded && !refused ? (
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
