// Past jobs, newest first, filtered by result; a row opens the job's stored log in the Job view.
import type { KeyboardEvent } from "react";
import { useMemo } from "react";
import { HISTORY_FILTERS, historyFiltered, type HistoryFilter } from "../store/app-store.js";
import { jobOrigin, jobTitle } from "../../agent-core/host/contract.js";
import { historyAgents, usageLine } from "../gpu-view.js";
import { formatBytes, formatDateTime, formatDuration } from "../view-model.js";
import { DemoMark, ResultBadge } from "./ResultBadge.js";
import { useDebuggableJobs, useOpenDebugFor } from "./DebugPanel.js";
import { HistoryIcon, SearchIcon, TerminalIcon } from "./icons.js";
import { useApp, useAppStore, useNow } from "./store-context.js";

const FILTER_LABELS: Record<HistoryFilter, string> = {
  all: "All results",
  passed: "Passed",
  failed: "Failed",
  stopped: "Stopped",
  lost: "Lost",
};

export function HistoryView() {
  const store = useAppStore();
  const filter = useApp((s) => s.historyFilter);
  const all = useApp((s) => s.history);
  const filtered = useApp((s) => s.filteredHistory);
  const query = useApp((s) => s.historyQuery);
  const anyFilter = useApp((s) => historyFiltered(s));
  const now = useNow();
  const rows = anyFilter ? filtered : all;
  // The projects and branches the newest jobs name, for the two pickers (plus the one picked).
  const projects = useMemo(() => distinct(all.map((j) => j.identity?.projectName ?? null), query.project), [all, query.project]);
  const branches = useMemo(() => distinct(all.map((j) => j.identity?.branch ?? null), query.branch), [all, query.branch]);
  const agents = useApp((s) => s.agents);
  // The agent picker and each row's agent: only once more than one agent id appears.
  const agentChoices = useMemo(() => historyAgents(agents, all, query.agentId), [agents, all, query.agentId]);
  const severalAgents = agentChoices.length > 1;
  const agentLabel = (id: string | null, name: string | null) => (id === null ? null : (name || agentChoices.find((a) => a.id === id)?.label || id));
  const debuggable = useDebuggableJobs();
  const openDebug = useOpenDebugFor();

  const open = (jobId: string) => store.getState().openJob(jobId);
  const onKey = (e: KeyboardEvent<HTMLTableRowElement>, jobId: string) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      open(jobId);
    }
  };

  return (
    <div className="page" data-testid="view-history">
      <div className="page-head history-head">
        <h1>History</h1>
        <span className="hint">{rows !== null ? `${rows.length} job${rows.length === 1 ? "" : "s"}` : ""}</span>
        <span className="spacer" />
        <div className="search history-search">
          <SearchIcon size={14} style={{ color: "var(--muted)" }} />
          <input
            data-testid="history-search"
            aria-label="Search jobs by project, job, branch, commit or author"
            placeholder="Project, branch, commit, author…"
            value={query.search}
            spellCheck={false}
            onChange={(e) => void store.getState().setHistoryQuery({ search: e.target.value })}
          />
        </div>
        {severalAgents ? (
          <select className="select" data-testid="history-agent" aria-label="Agent" value={query.agentId ?? ""} onChange={(e) => void store.getState().setHistoryQuery({ agentId: e.target.value === "" ? null : e.target.value })}>
            <option value="">All agents</option>
            {agentChoices.map((a) => (
              <option key={a.id} value={a.id}>
                {a.label}
              </option>
            ))}
          </select>
        ) : null}
        <IdentityPicker testId="history-project" label="Project" all="All projects" options={projects} value={query.project} onPick={(project) => void store.getState().setHistoryQuery({ project })} />
        <IdentityPicker testId="history-branch" label="Branch" all="All branches" options={branches} value={query.branch} onPick={(branch) => void store.getState().setHistoryQuery({ branch })} />
        <span className="history-show">
          <label className="hint" htmlFor="history-filter">
            Show
          </label>
          <select
            id="history-filter"
            className="select"
            data-testid="history-filter"
            value={filter}
            onChange={(e) => void store.getState().setHistoryFilter(e.target.value as HistoryFilter)}
          >
            {HISTORY_FILTERS.map((f) => (
              <option key={f} value={f}>
                {FILTER_LABELS[f]}
              </option>
            ))}
          </select>
        </span>
      </div>
      <section className="card history-card">
        {rows === null ? (
          <div className="feed-empty">Loading…</div>
        ) : rows.length === 0 ? (
          <div className="empty" style={{ padding: "48px 24px" }}>
            <div>
              <div className="empty-icon">
                <HistoryIcon size={22} />
              </div>
              <h2>{!anyFilter ? "No jobs yet" : filter === "all" ? "No matching jobs" : `No matching ${FILTER_LABELS[filter].toLowerCase()} jobs`}</h2>
              <p>Every job this agent runs is kept here with its full log.</p>
            </div>
          </div>
        ) : (
          <table className="table history-table">
            <thead>
              <tr>
                <th className="history-result">Result</th>
                <th>Job</th>
                <th>Started</th>
                <th className="num">Duration</th>
                <th className="num">Log</th>
                <th className="debug-col">
                  <span className="sr-only">Debug</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((job) => {
                const duration = job.durationMs ?? (job.result === "running" ? Math.max(0, now - job.startedAt) : null);
                const origin = jobOrigin(job.identity);
                const ranBy = severalAgents ? agentLabel(job.agentId ?? null, job.agentName ?? null) : null;
                const used = usageLine(job.usage ?? null);
                return (
                  <tr
                    key={job.id}
                    data-testid="history-row"
                    data-job-id={job.id}
                    data-result={job.result}
                    data-mode={job.mode}
                    tabIndex={0}
                    role="button"
                    aria-label={`Open job ${jobTitle(job.identity, job.id)}`}
                    onClick={() => open(job.id)}
                    onKeyDown={(e) => onKey(e, job.id)}
                  >
                    <td className="history-result">
                      <ResultBadge result={job.result} />
                    </td>
                    <td className="idcell history-job-cell" title={job.id}>
                      <div className="history-job">
                        <span className={job.identity?.projectName || job.identity?.jobName ? "history-job-title" : "history-job-title mono"} data-testid="history-job-title">
                          {jobTitle(job.identity, job.id)}
                        </span>
                        {job.mode === "demo" ? <DemoMark testId="history-demo" /> : null}
                      </div>
                      {origin !== null ? (
                        <div className="history-job-origin sub" data-testid="history-job-origin">
                          {origin}
                        </div>
                      ) : null}
                      {ranBy !== null || used !== null ? (
                        <div className="history-job-origin sub history-job-usage">
                          {ranBy !== null ? <span data-testid="history-job-agent">{ranBy}</span> : null}
                          {ranBy !== null && used !== null ? " · " : null}
                          {used !== null ? <span data-testid="history-job-usage">{used}</span> : null}
                        </div>
                      ) : null}
                      {job.problem ? (
                        <div className="history-job-origin error" data-testid="history-job-problem">
                          Not run: {job.problem}
                        </div>
                      ) : null}
                      {job.stoppedBy ? (
                        <div className="history-job-origin error" data-testid="history-job-stopped-by">
                          {job.stoppedBy}
                        </div>
                      ) : null}
                    </td>
                    <td className="sub history-started" data-testid="history-started">
                      {formatDateTime(job.startedAt)}
                    </td>
                    <td className="num history-duration" data-label="took" title="Duration">
                      {duration !== null ? formatDuration(duration) : "—"}
                    </td>
                    <td className="num history-bytes" data-label="log" title="Size of its log">
                      {formatBytes(job.bytes)}
                    </td>
                    <td className="debug-col">
                      {debuggable(job.id) ? (
                        <button
                          type="button"
                          className="btn small"
                          data-testid="history-debug"
                          title={job.result === "running" ? "Open a shell with the running job’s environment" : "Open a shell with the job’s kept environment"}
                          onClick={(e) => {
                            e.stopPropagation();
                            openDebug(job.id);
                          }}
                          onKeyDown={(e) => e.stopPropagation()}
                        >
                          <TerminalIcon size={13} /> Debug
                        </button>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function distinct(values: (string | null)[], keep: string | null): string[] {
  const set = new Set(values.filter((v): v is string => v !== null));
  if (keep !== null) set.add(keep);
  return [...set].sort((a, b) => a.localeCompare(b));
}

/** A picker of the projects (or branches) the newest jobs name; nothing while they name none. */
function IdentityPicker(props: { testId: string; label: string; all: string; options: string[]; value: string | null; onPick: (value: string | null) => void }) {
  if (props.options.length === 0) return null;
  return (
    <select className="select" data-testid={props.testId} aria-label={props.label} value={props.value ?? ""} onChange={(e) => props.onPick(e.target.value === "" ? null : e.target.value)}>
      <option value="">{props.all}</option>
      {props.options.map((option) => (
        <option key={option} value={option}>
          {option}
        </option>
      ))}
    </select>
  );
}
