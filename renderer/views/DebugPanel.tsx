// Debug terminals in the Job view: the "Open debug terminal" button, the panel beside the log (tabs of
// the shells of the job on screen — never another job's — the shown one's xterm, which job's
// environment and sandbox it has), and the Job view's side section: whether a shell can be opened, and
// — once in the view — the manual equivalent for one's own terminal and "Forget kept env files".
import { useEffect, useRef, useState } from "react";
import { MAX_TERMINALS_PER_CLIENT, type DebugInfo } from "../../agent-core/host/contract.js";
import { canOpenAnother, panelTerminalsFor, type DebugTerminal } from "../store/debug-terminals.js";
import { debugPanelTitle, sandboxLevelWords } from "../sandbox-view.js";
import { formatDateTime } from "../view-model.js";
import { CopyButton } from "./CopyButton.js";
import { DEBUG_ESCAPE_HINT_ID, debugXtermOf, IS_MAC, mountDebugXterm, type DebugXterm } from "./debug-terminal.js";
import { AlertIcon, TerminalIcon, XIcon } from "./icons.js";
import { useApp, useAppStore, useDebug, useDebugStore } from "./store-context.js";

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || path;
}

/** A job whose shell can be opened from the history: its env files are kept, or it is the one running. */
export function useDebuggableJobs(): (jobId: string) => boolean {
  const kept = useDebug((s) => s.kept);
  const running = useApp((s) => s.agent?.jobId ?? null);
  return (jobId) => jobId === running || kept.some((k) => k.jobId === jobId);
}

/** Opens the job in the Job view and a debug terminal for it. */
export function useOpenDebugFor(): (jobId: string) => void {
  const app = useAppStore();
  const debug = useDebugStore();
  return (jobId) => {
    app.getState().openJob(jobId);
    void debug.getState().open(jobId);
  };
}

// ---------------------------------------------------------------------------------------------
// In the job header.

export function DebugOpenButton({ jobId }: { jobId: string }) {
  const debug = useDebugStore();
  const info = useDebug((s) => s.infos[jobId]);
  const opening = useDebug((s) => s.opening.includes(jobId));
  const full = useDebug((s) => !canOpenAnother(s).ok);
  // This job's shells only: the panel beside this job's log shows no other job's.
  const openCount = useDebug((s) => panelTerminalsFor(s, jobId).terminals.length);
  const hidden = useDebug((s) => s.panelHidden);
  const error = useDebug((s) => (s.error?.scope === "open" && s.error.jobId === jobId ? s.error.message : null));

  const lost = useApp((s) => s.connection.status !== "connected");
  const available = info?.available === true;
  const enabled = available && !full && !opening && !lost;
  const title = lost
    ? "Not connected to the agent host: a shell can be opened once the page reconnects"
    : !available
    ? (info?.reason ?? "Checking whether this job’s environment can be opened…")
    : full
      ? `At most ${MAX_TERMINALS_PER_CLIENT} debug terminals can be open at once: close one first.`
      : info.source === "running"
        ? "Open a shell on this machine with the running job’s environment"
        : `Open a shell on this machine with the job’s environment (kept copy${info.keptAt !== null ? ` from ${formatDateTime(info.keptAt)}` : ""})`;

  return (
    <>
      {hidden && openCount > 0 ? (
        <button type="button" className="btn small" data-testid="debug-show" onClick={() => debug.getState().setPanelHidden(false)}>
          Debug terminals ({openCount})
        </button>
      ) : null}
      <button
        type="button"
        className="btn small debug-open"
        data-testid="debug-open"
        data-available={available ? "true" : "false"}
        disabled={!enabled}
        title={title}
        onClick={() => void debug.getState().open(jobId)}
      >
        <TerminalIcon size={14} />
        {opening ? "Opening…" : "Open debug terminal"}
      </button>
      {error !== null ? (
        <span className="debug-open-error" role="alert" data-testid="debug-open-error" title={error}>
          <AlertIcon size={13} /> {error}
        </span>
      ) : null}
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The side section's pieces.

/** The manual equivalent: the user the agent runs as and the commands, for one's own terminal. */
function ManualBlock({ info, testid, open = false }: { info: DebugInfo | undefined; testid: string; open?: boolean }) {
  return (
    <details className="debug-manual" data-testid={testid} open={open}>
      <summary>Do it by hand</summary>
      {info === undefined ? (
        <div className="hint">Loading…</div>
      ) : info.manual.length === 0 ? (
        <div className="hint">
          {info.reason ??
            (info.sandbox === "strict"
              ? "This job runs in the strict sandbox: a terminal of your own would see your files, not the job's home and /tmp. Use the debug terminal here."
              : "Nothing to do by hand for this job.")}
        </div>
      ) : (
        <>
          <div className="debug-manual-user">
            As user <span className="mono" data-testid={`${testid}-user`}>{info.user}</span>:
          </div>
          <pre className="debug-manual-commands" data-testid={`${testid}-commands`}>
            {info.manual.join("\n")}
          </pre>
          <CopyButton testid={`${testid}-copy`} label="Copy commands" text={() => info.manual.join("\n")} />
        </>
      )}
    </details>
  );
}

/** Deletes the kept copy of a job's env files, after an inline "Really forget?". */
function ForgetKept({ jobId, testid }: { jobId: string; testid: string }) {
  const debug = useDebugStore();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const error = useDebug((s) => (s.error?.scope === "forget" && s.error.jobId === jobId ? s.error.message : null));
  return (
    <div className="debug-forget">
      {confirming ? (
        <>
          <span className="hint">Really forget? Open shells keep running; no new one can be opened for this job.</span>
          <button
            type="button"
            className="btn small danger"
            data-testid={`${testid}-confirm`}
            disabled={busy}
            onClick={() => {
              setBusy(true);
              void debug
                .getState()
                .forget(jobId)
                .finally(() => {
                  setBusy(false);
                  setConfirming(false);
                });
            }}
          >
            Forget
          </button>
          <button type="button" className="btn small ghost" data-testid={`${testid}-cancel`} onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" className="btn small" data-testid={testid} title="Delete the app’s private copy of this job’s env files (they hold secrets)" onClick={() => setConfirming(true)}>
          Forget kept env files
        </button>
      )}
      {error !== null ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** "running job's env files" or "kept copy from <time>". */
function sourceWords(source: DebugTerminal["source"] | DebugInfo["source"], keptAt: number | null): string {
  if (source === "running") return "the running job’s env files";
  return keptAt !== null ? `kept copy from ${formatDateTime(keptAt)}` : "kept copy";
}

// ---------------------------------------------------------------------------------------------
// The Job view's side section.

export function DebugJobSection({ jobId }: { jobId: string }) {
  const info = useDebug((s) => s.infos[jobId]);
  const elsewhere = useDebug((s) => panelTerminalsFor(s, jobId).elsewhere);
  return (
    <section className="side-section" data-testid="job-debug-section">
      <div className="side-title">Debug shell</div>
      <div className="hint" data-testid="job-debug-status">
        {info === undefined ? "Loading…" : info.available ? `Available: ${sourceWords(info.source, info.keptAt)}.` : (info.reason ?? "Not available.")}
      </div>
      {elsewhere > 0 ? (
        <div className="hint" data-testid="debug-elsewhere" style={{ marginTop: 6 }}>
          {elsewhere === 1 ? "1 debug terminal of another job is" : `${elsewhere} debug terminals of other jobs are`} open: shown in that job’s view.
        </div>
      ) : null}
      {/* The one "Do it by hand" and the one "Forget kept env files" of the view (the panel has neither). */}
      {info !== undefined ? <ManualBlock info={info} testid="debug-manual" /> : null}
      {info?.source === "kept" && info.available ? <ForgetKept jobId={jobId} testid="debug-forget" /> : null}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// The panel.

function Tab({ terminal, active }: { terminal: DebugTerminal; active: boolean }) {
  const debug = useDebugStore();
  // Every tab here is of the same job: the shell and its PID tell them apart.
  const label = `${baseName(terminal.shell)} · ${terminal.pid}`;
  return (
    <div
      role="tab"
      tabIndex={0}
      className={`debug-tab${active ? " active" : ""}${terminal.status === "exited" ? " exited" : ""}`}
      data-testid="debug-tab"
      data-terminal-id={terminal.terminalId}
      data-job-id={terminal.jobId}
      data-status={terminal.status}
      aria-selected={active}
      title={`Job ${terminal.jobId} — ${terminal.shell}, pid ${terminal.pid}${terminal.status === "exited" ? " (ended)" : ""}`}
      onClick={() => debug.getState().select(terminal.terminalId)}
      onKeyDown={(e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          debug.getState().select(terminal.terminalId);
        }
      }}
    >
      <span className={`dot ${terminal.status === "open" ? "ok" : ""}`} />
      <span className="debug-tab-label">{label}</span>
      <button
        type="button"
        className="debug-tab-close"
        data-testid="debug-tab-close"
        aria-label={`Close the terminal of job ${terminal.jobId}`}
        title={terminal.status === "open" ? "Close (ends the shell and everything it started)" : "Close"}
        onClick={(e) => {
          e.stopPropagation();
          void debug.getState().close(terminal.terminalId);
        }}
      >
        ×
      </button>
    </div>
  );
}

function TerminalHost({ terminal, onXterm }: { terminal: DebugTerminal; onXterm: (xterm: DebugXterm | null) => void }) {
  const debug = useDebugStore();
  const container = useRef<HTMLDivElement>(null);
  const id = terminal.terminalId;
  const ended = terminal.status === "exited";

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const mounted = mountDebugXterm(debug, id, element);
    if (mounted === null) return;
    onXterm(mounted.xterm);
    mounted.xterm.focus();
    return () => {
      mounted.unmount();
      onXterm(null);
    };
  }, [debug, id, onXterm]);

  useEffect(() => {
    debugXtermOf(id)?.setEnded(ended);
  }, [id, ended]);

  return (
    <div
      className="terminal debug-terminal"
      data-testid="debug-terminal"
      data-terminal-id={id}
      data-job-id={terminal.jobId}
      data-pid={terminal.pid}
      data-status={terminal.status}
      ref={container}
    />
  );
}

function exitWords(terminal: DebugTerminal): string {
  if (terminal.lost) return "The connection to the agent host was lost: this shell was ended.";
  if (terminal.exitCode !== null) return `The shell exited with code ${terminal.exitCode}.`;
  if (terminal.signal !== null) return `The shell was ended by signal ${terminal.signal}.`;
  return "The shell has ended.";
}

/** The debug panel of one job's view: that job's shells only (other jobs' keep running, unseen here). */
export function DebugPanel({ jobId, jobTitle }: { jobId: string; jobTitle: string }) {
  const debug = useDebugStore();
  const allTerminals = useDebug((s) => s.terminals);
  const activeByJob = useDebug((s) => s.activeByJob);
  const { terminals, active } = panelTerminalsFor({ terminals: allTerminals, activeByJob }, jobId);
  const info = useDebug((s) => (active === null ? undefined : s.infos[active.jobId]));
  const keptAt = useDebug((s) => (active === null ? null : (s.kept.find((k) => k.jobId === active.jobId)?.keptAt ?? null)));
  const inputError = useDebug((s) => (s.error?.scope === "input" ? s.error.message : null));
  const [xterm, setXterm] = useState<DebugXterm | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (xterm === null) return;
    xterm.events = {
      copied: (ok) => setNotice(ok ? "Copied" : "Could not copy to the clipboard"),
      pasteRefused: () => setNotice("This page may not read the clipboard: press Ctrl+Shift+V again to paste through the browser, or use its Paste menu."),
    };
    return () => {
      xterm.events = null;
    };
  }, [xterm]);

  useEffect(() => {
    if (notice === null) return;
    const timer = setTimeout(() => setNotice(null), 4000);
    return () => clearTimeout(timer);
  }, [notice]);

  if (active === null) return null;
  const user = info?.user ?? "";
  const when = active.keptAt ?? info?.keptAt ?? keptAt;

  return (
    <section className="debug-panel" id="debug-panel" data-testid="debug-panel" aria-label="Debug terminals">
      <div className="debug-live">
        <span className="dot error" />
        <div className="debug-live-text">
          {/* "Debug · <job> · strict sandbox": only the job's title gives way on a narrow panel. */}
          <strong className="debug-panel-header" data-testid="debug-panel-header" data-sandbox={active.sandbox} title={debugPanelTitle(`${jobTitle} (${jobId})`, active.sandbox)}>
            <span>{"Debug · "}</span>
            <span className="debug-panel-job">{jobTitle}</span>
            <span>{` · ${sandboxLevelWords(active.sandbox)}`}</span>
          </strong>
          <span className="hint debug-live-hint" title={`Live shell on this machine${user !== "" ? ` as ${user}` : ""}`}>
            Live shell on this machine
            {user !== "" ? (
              <>
                {" "}
                as <span className="mono">{user}</span>
              </>
            ) : null}
          </span>
        </div>
        <button type="button" className="btn ghost icon-btn" data-testid="debug-hide" aria-label="Hide the debug terminals (they keep running)" title="Hide (the shells keep running)" onClick={() => debug.getState().setPanelHidden(true)}>
          <XIcon size={14} />
        </button>
      </div>
      <div className="debug-tabs" role="tablist" aria-label="Debug terminals">
        {terminals.map((t) => (
          <Tab key={t.terminalId} terminal={t} active={t.terminalId === active.terminalId} />
        ))}
      </div>
      <div
        className="debug-env"
        data-testid="debug-env-indicator"
        data-source={active.source}
        title={`Environment of job ${active.jobId} — ${sourceWords(active.source, when)} · ${active.shell} in ${active.home}${active.envFiles.length > 0 ? `\nSources:\n${active.envFiles.join("\n")}` : ""}`}
      >
        Environment of job <span className="mono">{active.jobId}</span> — {sourceWords(active.source, when)}
        <span className="debug-shell">
          {" "}
          · <span className="mono">{active.shell}</span> in <span className="mono">{active.home}</span>
        </span>
      </div>
      <div className="debug-term-wrap">
        <TerminalHost key={active.terminalId} terminal={active} onXterm={setXterm} />
        {active.status === "exited" ? (
          <div className="debug-exited" data-testid="debug-exited" role="status">
            {exitWords(active)}
          </div>
        ) : null}
      </div>
      <div className="debug-foot">
        <CopyButton testid="debug-copy" text={() => xterm?.copyText() ?? ""} />
        {/* The shell takes Tab (completion): this is how the keyboard leaves it. */}
        <span className="hint debug-escape-hint" id={DEBUG_ESCAPE_HINT_ID} data-testid="debug-escape-hint">
          <kbd>Esc</kbd> then <kbd>Tab</kbd> leaves the shell
        </span>
        <span className="hint debug-keys-hint">{notice ?? inputError ?? (IS_MAC ? "⌘C copy · ⌘V paste" : "Ctrl+Shift+C copy · Ctrl+Shift+V paste")}</span>
      </div>
    </section>
  );
}
