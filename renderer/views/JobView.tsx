// One job: header (id, result, duration), the live log (a section per command that folds, search,
// follow, timestamps, wrapping, copy), and a side panel with its commands (a click jumps to one) and
// the names of its environment variables.
import { useCallback, useEffect, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent, type ReactNode } from "react";
import { JobCommands } from "./JobCommands.js";
import { agentRunning, runningJobIds, type JobPanel } from "../store/app-store.js";
import { JobResources } from "./JobResources.js";
import { effectiveResult, formatDateTime, formatDuration, formatStarted, shownEnvNames } from "../view-model.js";
import { DemoMark, ResultBadge } from "./ResultBadge.js";
import { ArrowDownIcon, CheckIcon, ChevronDownIcon, ChevronUpIcon, ClockIcon, CopyIcon, FoldAllIcon, LockIcon, PauseIcon, SearchIcon, StopIcon, TerminalIcon, UnfoldAllIcon, WrapIcon } from "./icons.js";
import { copyToClipboard } from "./clipboard.js";
import { DebugJobSection, DebugOpenButton, DebugPanel } from "./DebugPanel.js";
import { LogView, type LogViewOptions, type SearchResults } from "./log-view.js";
import { loadLogOptions, saveLogOptions } from "./log-prefs.js";
import { useApp, useAppStore, useDebug, useDebugStore, useNow } from "./store-context.js";
import { jobOrigin, jobTitle } from "../../agent-core/host/contract.js";
import { OpenInSemaphore } from "./JobIdentity.js";
import { SplitDivider, useMediaQuery, useSplitShare } from "./SplitDivider.js";

/** "Stop this job", with an inline confirm, for the job the agent runs now (the agent goes on taking jobs). */
function StopJob({ panel, result }: { panel: JobPanel; result: string | null }) {
  const store = useAppStore();
  const runs = useApp((s) => agentRunning(s.agents, panel.jobId) !== undefined);
  const stopping = useApp((s) => agentRunning(s.agents, panel.jobId)?.phase === "stopping-job");
  const busy = useApp((s) => s.busy.agent || s.connection.status !== "connected");
  const [confirm, setConfirm] = useState(false);
  if (result !== "running" || !runs) return null;
  if (stopping) {
    return (
      <button type="button" className="btn small" data-testid="job-stop" disabled>
        <StopIcon size={11} />
        Stopping…
      </button>
    );
  }
  if (!confirm) {
    return (
      <button type="button" className="btn small" data-testid="job-stop" disabled={busy} title="Stop it here, as a stop from Semaphore would; the agent goes on taking jobs" onClick={() => setConfirm(true)}>
        <StopIcon size={11} />
        Stop this job
      </button>
    );
  }
  return (
    <span className="job-stop-confirm" role="group" aria-label="Stop this job?">
      <span>Stop this job?</span>
      <button
        type="button"
        className="btn small danger"
        data-testid="job-stop-confirm"
        disabled={busy}
        autoFocus
        onClick={() => {
          setConfirm(false);
          void store.getState().stopJob(panel.jobId);
        }}
      >
        Stop it
      </button>
      <button type="button" className="btn small ghost" data-testid="job-stop-cancel" onClick={() => setConfirm(false)}>
        Cancel
      </button>
    </span>
  );
}

/** One on/off choice of the log, as an icon button that says its state. */
function LogToggle({ on, testId, label, title, onToggle, children }: { on: boolean; testId: string; label: string; title: [string, string]; onToggle: () => void; children: ReactNode }) {
  return (
    <button type="button" className={`btn small toggle icon-only${on ? " on" : ""}`} data-testid={testId} aria-pressed={on} aria-label={label} title={on ? title[0] : title[1]} onClick={onToggle}>
      {children}
    </button>
  );
}

/** The log's own options: timestamps, wrapping, and folding every section at once. */
function LogOptions({ terminal, options, setOptions }: { terminal: LogView | null; options: LogViewOptions; setOptions: (next: Partial<LogViewOptions>) => void }) {
  return (
    <span className="log-options" role="group" aria-label="Log options">
      <LogToggle on={options.timestamps} testId="job-timestamps" label="Timestamps" title={["Hide the time of each line", "Show the time of each line"]} onToggle={() => setOptions({ timestamps: !options.timestamps })}>
        <ClockIcon size={14} />
      </LogToggle>
      <LogToggle
        on={options.wrap}
        testId="job-wrap"
        label="Wrap long lines"
        title={["Long lines wrap at spaces; click to scroll sideways instead", "Long lines scroll sideways; click to wrap them at spaces"]}
        onToggle={() => setOptions({ wrap: !options.wrap })}
      >
        <WrapIcon size={14} />
      </LogToggle>
      <button type="button" className="btn small icon-only" data-testid="job-fold-all" aria-label="Fold every command" title="Fold every command" disabled={terminal === null} onClick={() => terminal?.setAllFolded(true)}>
        <FoldAllIcon size={14} />
      </button>
      <button type="button" className="btn small icon-only" data-testid="job-unfold-all" aria-label="Unfold every command" title="Unfold every command" disabled={terminal === null} onClick={() => terminal?.setAllFolded(false)}>
        <UnfoldAllIcon size={14} />
      </button>
    </span>
  );
}

function JobHeader({ panel, terminal, follow, hasSelection, results, options, setOptions }: { panel: JobPanel; terminal: LogView | null; follow: boolean; hasSelection: boolean; results: SearchResults | null; options: LogViewOptions; setOptions: (next: Partial<LogViewOptions>) => void }) {
  const now = useNow();
  const [query, setQuery] = useState("");
  const [copied, setCopied] = useState(false);
  const summary = panel.summary;
  const identity = summary?.identity ?? null;
  const title = jobTitle(identity, panel.jobId);
  const origin = jobOrigin(identity);
  const result = effectiveResult(summary?.result ?? null, panel.outline.result);
  // A running job's duration so far; a lost one has none.
  const duration = summary === null ? null : (summary.durationMs ?? (summary.result === "running" ? Math.max(0, now - summary.startedAt) : null));

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      if (e.shiftKey) terminal?.findPrevious(query);
      else terminal?.findNext(query);
    } else if (e.key === "Escape") {
      setQuery("");
      terminal?.clearSearch();
    }
  };

  return (
    <header className="job-head">
      <div className="job-title">
        <h1 data-testid="job-title" title={title}>
          {title === panel.jobId ? "Job" : title}
        </h1>
        <span className="job-id" data-testid="job-id" title={panel.jobId}>
          {panel.jobId}
        </span>
        {result !== null ? (
          <ResultBadge result={result} testId="job-result" />
        ) : (
          <span className="badge" data-testid="job-result">
            {panel.log.missing ? "Waiting" : "Loading"}
          </span>
        )}
        {summary?.mode === "demo" ? <DemoMark testId="job-demo" /> : null}
      </div>
      <div className="job-meta" title={summary !== null ? `Started ${formatDateTime(summary.startedAt)}` : undefined}>
        {origin !== null ? <span data-testid="job-origin">{origin}</span> : null}
        {duration !== null ? <span data-testid="job-duration">{formatDuration(duration)}</span> : null}
        {summary !== null ? <span data-testid="job-started">started {formatStarted(summary.startedAt, now)}</span> : null}
      </div>
      {summary?.problem ? (
        <div className="callout error job-problem" role="alert" data-testid="job-problem">
          The agent did not run this job: {summary.problem}
        </div>
      ) : null}
      {summary?.stoppedBy ? (
        // The owner's own stop and Semaphore's are no fault; the agent's (the disk guard, a lending condition) is said louder.
        <div className={`callout ${/^Stopped by (you|Semaphore|the local demo's hub)\b/.test(summary.stoppedBy) ? "info" : "error"} job-problem`} role="alert" data-testid="job-stopped-by">
          {summary.stoppedBy}
        </div>
      ) : null}
      <div className="job-tools">
        <StopJob panel={panel} result={result} />
        <OpenInSemaphore identity={identity} />
        <DebugOpenButton jobId={panel.jobId} />
        <div className="search">
          <SearchIcon size={14} style={{ color: "var(--muted)" }} />
          <input
            data-testid="job-search-input"
            placeholder="Search the log"
            value={query}
            spellCheck={false}
            onChange={(e) => {
              setQuery(e.target.value);
              terminal?.findNext(e.target.value, true);
            }}
            onKeyDown={onKey}
          />
          <span className="count" data-testid="job-search-count">{query === "" || results === null ? "" : results.count === 0 ? "No results" : `${results.index + 1}/${results.count}${results.capped ? "+" : ""}`}</span>
          <button type="button" className="btn ghost" data-testid="job-search-prev" title="Previous match (Shift+Enter)" disabled={query === ""} onClick={() => terminal?.findPrevious(query)}>
            <ChevronUpIcon size={15} />
          </button>
          <button type="button" className="btn ghost" data-testid="job-search-next" title="Next match (Enter)" disabled={query === ""} onClick={() => terminal?.findNext(query)}>
            <ChevronDownIcon size={15} />
          </button>
        </div>
        <LogOptions terminal={terminal} options={options} setOptions={setOptions} />
        <button
          type="button"
          className={`btn small toggle${follow ? " on" : ""}`}
          data-testid="job-follow"
          aria-pressed={follow}
          aria-label={follow ? "Following" : "Paused"}
          title={follow ? "Following the output; scroll up or click to pause" : "Paused; click to follow the output"}
          onClick={() => terminal?.setFollow(!follow)}
        >
          {follow ? <ArrowDownIcon size={14} /> : <PauseIcon size={14} />}
          {/* A narrow window shows the icon alone (the name stays the button's). */}
          <span className="tool-label">{follow ? "Following" : "Paused"}</span>
        </button>
        <button
          type="button"
          className="btn small"
          data-testid="job-copy"
          aria-label={copied ? "Copied" : hasSelection ? "Copy selection" : "Copy log"}
          title={hasSelection ? "Copy the selected text" : "Copy the log"}
          disabled={terminal === null}
          onClick={() => {
            if (terminal === null) return;
            void copyToClipboard(terminal.copyText()).then((ok) => {
              setCopied(ok);
              if (ok) setTimeout(() => setCopied(false), 1500);
            });
          }}
        >
          {copied ? <CheckIcon size={14} /> : <CopyIcon size={14} />}
          <span className="tool-label">{copied ? "Copied" : hasSelection ? "Copy selection" : "Copy log"}</span>
        </button>
      </div>
    </header>
  );
}

function EnvNames({ names: all }: { names: string[] | null }) {
  // The agent's own markers are no variable of the job's.
  const names = all === null ? null : shownEnvNames(all);
  return (
    <section className="side-section">
      <div className="side-title">
        Environment <span className="count">{names !== null && names.length > 0 ? names.length : ""}</span>
      </div>
      <div data-testid="job-env-names">
        {names === null ? (
          <div className="hint">Loading…</div>
        ) : names.length === 0 ? (
          <div className="hint">No environment variables.</div>
        ) : (
          <>
            <div className="env-names">
              {names.map((n) => (
                <span key={n} className="chip">
                  {n}
                </span>
              ))}
            </div>
            <div className="hint" style={{ marginTop: 10, display: "flex", alignItems: "center", gap: 6 }}>
              <LockIcon size={13} /> values hidden
            </div>
          </>
        )}
      </div>
    </section>
  );
}

interface TerminalCallbacks {
  onTerminal(terminal: LogView | null): void;
  onFollow(follow: boolean): void;
  onSelection(hasSelection: boolean): void;
  onSearchResults(results: SearchResults | null): void;
  onCurrentCommand(command: number | null): void;
}

function TerminalPane({ panel, follow, options, callbacks }: { panel: JobPanel; follow: boolean; options: LogViewOptions; callbacks: TerminalCallbacks }) {
  const store = useAppStore();
  const container = useRef<HTMLDivElement>(null);
  const [terminal, setTerminal] = useState<LogView | null>(null);
  const jobId = panel.jobId;
  const initialOptions = useRef(options);

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const created = new LogView(
      element,
      store.feedFor(jobId),
      {
        followChanged: callbacks.onFollow,
        searchResults: callbacks.onSearchResults,
        selectionChanged: callbacks.onSelection,
        currentCommand: callbacks.onCurrentCommand,
      },
      initialOptions.current,
    );
    setTerminal(created);
    callbacks.onTerminal(created);
    callbacks.onFollow(created.follow);
    return () => {
      callbacks.onTerminal(null);
      callbacks.onSearchResults(null);
      created.dispose();
    };
  }, [store, jobId, callbacks]);

  useEffect(() => {
    terminal?.setOptions(options);
  }, [terminal, options]);

  const error = panel.log.error;
  const lost = useApp((s) => s.connection.status === "reconnecting" || s.connection.status === "unauthorised");
  return (
    <div className="terminal-wrap" id="job-log">
      <div className="terminal" data-testid="job-terminal" ref={container} />
      {panel.log.missing ? <div className="terminal-overlay">Waiting for the agent to pick up this job…</div> : null}
      <div className="terminal-status">
        {lost ? (
          <span className="pill" data-testid="job-log-lost" role="status">
            Connection lost: the log goes on once the page reconnects
          </span>
        ) : null}
        {error !== null ? (
          <button type="button" className="pill" style={{ color: "#ff9e98" }} onClick={() => store.getState().retryJobLog(jobId)}>
            Could not load the log: {error} — Retry
          </button>
        ) : panel.log.loading ? (
          <span className="pill">Loading the log…</span>
        ) : null}
        {!follow && terminal !== null ? (
          <button type="button" className="pill" onClick={() => terminal.setFollow(true)}>
            <ArrowDownIcon size={13} /> Jump to the end
          </button>
        ) : null}
      </div>
    </div>
  );
}

function PinnedNotice({ panel }: { panel: JobPanel }) {
  const store = useAppStore();
  const agents = useApp((s) => s.agents);
  const follow = useApp((s) => s.followRunningJob);
  const ids = runningJobIds(agents);
  const running = ids.includes(panel.jobId) ? null : (ids[0] ?? null);
  if (follow || running === null) return null;
  return (
    <div className="pinned">
      <span style={{ flex: 1 }}>
        Another job is running: <span className="mono">{running}</span>
      </span>
      <button type="button" className="btn small" onClick={() => store.getState().followRunning()}>
        Show the running job
      </button>
    </div>
  );
}

function NoJob() {
  const store = useAppStore();
  const configured = useApp((s) => s.settings?.configured === true);
  return (
    <div className="empty" data-testid="view-job">
      <div>
        <div className="empty-icon">
          <TerminalIcon size={22} />
        </div>
        <h2>No job yet</h2>
        <p>When Semaphore sends this agent a job, its log appears here live.</p>
        {!configured ? (
          <button type="button" className="btn" onClick={() => store.getState().selectView("demo")}>
            Try an example job in the local demo
          </button>
        ) : null}
      </div>
    </div>
  );
}

/** The smallest log and shell along the split (the CSS min sizes of .terminal-wrap and .debug-panel say the same). */
const SPLIT_STACKED = { stacked: true, minFirst: 72, minSecond: 190, thickness: 8 } as const;
const SPLIT_SIDE = { stacked: false, minFirst: 240, minSecond: 320, thickness: 8 } as const;

/** The log, and with a debug shell open the divider between them: side by side on a wide window, stacked below 1300 px. */
function LogAndShell({ showDebug, children }: { showDebug: boolean; children: [ReactNode, ReactNode] }) {
  const container = useRef<HTMLDivElement>(null);
  const stacked = useMediaQuery("(max-width: 1300px)");
  const options = stacked ? SPLIT_STACKED : SPLIT_SIDE;
  const { share, bounds, setShare } = useSplitShare(container, options);
  const [log, shell] = children;
  return (
    <div className={`job-main${showDebug ? " with-debug" : ""}`} ref={container} style={showDebug ? ({ "--log-share": share } as CSSProperties) : undefined}>
      {log}
      {showDebug ? <SplitDivider container={container} options={options} share={share} bounds={bounds} setShare={setShare} controls="job-log debug-panel" /> : null}
      {shell}
    </div>
  );
}

export function JobView() {
  const selected = useApp((s) => s.selectedJobId);
  const panel = useApp((s) => (s.selectedJobId === null ? undefined : s.jobs[s.selectedJobId]));
  const store = useAppStore();
  const [terminal, setTerminal] = useState<LogView | null>(null);
  const [follow, setFollow] = useState(true);
  const [options, setOptionsState] = useState<LogViewOptions>(loadLogOptions);
  const setOptions = useCallback((next: Partial<LogViewOptions>) => {
    setOptionsState((current) => {
      const merged = { ...current, ...next };
      saveLogOptions(merged);
      return merged;
    });
  }, []);
  const [hasSelection, setHasSelection] = useState(false);
  const [searchResults, setSearchResults] = useState<SearchResults | null>(null);
  const [currentCommand, setCurrentCommand] = useState<number | null>(null);
  const callbacks = useMemo<TerminalCallbacks>(
    () => ({ onTerminal: setTerminal, onFollow: setFollow, onSelection: setHasSelection, onSearchResults: setSearchResults, onCurrentCommand: setCurrentCommand }),
    [],
  );

  const debug = useDebugStore();
  // Only this job's shells are shown beside its log; other jobs' keep running, unseen here.
  const showDebug = useDebug((s) => selected !== null && !s.panelHidden && s.terminals.some((t) => t.jobId === selected));

  useEffect(() => {
    if (selected !== null && panel === undefined) store.getState().watchJob(selected);
  }, [store, selected, panel]);

  // The shown job's DebugInfo (can a shell be opened, and the manual way); the host's events refresh it.
  useEffect(() => {
    debug.getState().watchJob(selected);
  }, [debug, selected]);

  if (selected === null) return <NoJob />;
  if (panel === undefined) return <div className="loading" data-testid="view-job">Loading…</div>;
  return (
    <div className="job-view" data-testid="view-job">
      <JobHeader key={panel.jobId} panel={panel} terminal={terminal} follow={follow} hasSelection={hasSelection} results={searchResults} options={options} setOptions={setOptions} />
      <PinnedNotice panel={panel} />
      <div className="job-body">
        <LogAndShell showDebug={showDebug}>
          <TerminalPane key={panel.jobId} panel={panel} follow={follow} options={options} callbacks={callbacks} />
          {showDebug ? <DebugPanel jobId={panel.jobId} jobTitle={jobTitle(panel.summary?.identity ?? null, panel.jobId)} /> : null}
        </LogAndShell>
        <aside className="job-side">
          <JobResources panel={panel} />
          <JobCommands panel={panel} current={currentCommand} onJump={(command) => terminal?.jumpToCommand(command) ?? false} />
          <EnvNames names={panel.envVarNames} />
          <DebugJobSection jobId={panel.jobId} />
        </aside>
      </div>
    </div>
  );
}
