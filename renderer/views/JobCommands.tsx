// The Job view's command list: each command that ran with how it ended and how long it took, what it
// is (the agent's own step, an epilogue and of which kind), the one a stop ended with who stopped it,
// and, once the job is over, the commands of its plan that were skipped, greyed. A click on a command
// that ran (or Enter on its name) opens its section in the log and shows it; the command whose section
// is at the top of the log is marked.
import { useMemo } from "react";
import { commandRows, formatSeconds, sectionTagClass, stopWords, type CommandRow } from "../job-format.js";
import type { JobPanel } from "../store/app-store.js";
import { effectiveResult } from "../view-model.js";
import { useNow } from "./store-context.js";

const MARKS: Record<CommandRow["state"], { mark: string; className: string }> = {
  running: { mark: "●", className: "run" },
  passed: { mark: "✔", className: "ok" },
  failed: { mark: "✘", className: "fail" },
  stopped: { mark: "■", className: "stop" },
  "after-stop": { mark: "■", className: "stop" },
  unfinished: { mark: "■", className: "stop" },
  skipped: { mark: "⊘", className: "skip" },
};

/** A running command's time so far: its cmd_started is in whole seconds. */
function RunningFor({ startedAt }: { startedAt: number }) {
  const now = useNow();
  return <>running · {formatSeconds(Math.max(0, now / 1000 - startedAt))}</>;
}

function Duration({ row }: { row: CommandRow }) {
  const entry = row.entry;
  switch (row.state) {
    case "skipped":
      return <>skipped</>;
    case "after-stop":
      return <>not run</>;
    case "running":
      return entry !== null ? <RunningFor startedAt={entry.startedAt} /> : <>running</>;
    case "unfinished":
      return <>did not finish</>;
    case "stopped":
      // Who stopped it is on the line below.
      return <>{entry?.durationS != null ? formatSeconds(entry.durationS) : "stopped"}</>;
    case "passed":
    case "failed":
      return (
        <>
          {entry?.durationS != null ? formatSeconds(entry.durationS) : ""}
          {row.state === "failed" && entry?.exitCode != null ? ` · exit ${entry.exitCode}` : ""}
        </>
      );
  }
}

export function JobCommands({ panel, current = null, onJump }: { panel: JobPanel; current?: number | null; onJump?: (command: number) => boolean }) {
  const { omittedCommands } = panel.outline;
  const result = effectiveResult(panel.summary?.result ?? null, panel.outline.result);
  const ended = result !== null && result !== "running";
  const logResult = panel.outline.result ?? (result === "passed" || result === "failed" || result === "stopped" ? result : null);
  const rows = useMemo(
    () => commandRows(panel.outline, { plan: panel.plan, stop: panel.stop }, ended, logResult),
    [panel.outline, panel.plan, panel.stop, ended, logResult],
  );
  const total = omittedCommands + rows.length;
  return (
    <section className="side-section">
      <div className="side-title">
        Commands <span className="count">{total > 0 ? total : ""}</span>
      </div>
      {rows.length === 0 ? (
        <div className="hint">{panel.log.loading ? "Loading…" : "No commands yet."}</div>
      ) : (
        <ol className="commands">
          {omittedCommands > 0 ? <li className="hint">{omittedCommands} earlier commands not listed</li> : null}
          {rows.map((row) => {
            const { mark, className } = MARKS[row.state];
            const stopped = row.state === "stopped" && panel.stop !== null ? stopWords(panel.stop.by) : null;
            const kind = row.section.kind;
            const tagClass = sectionTagClass(kind);
            return (
              <li
                key={row.key}
                className={`command ${row.state}${row.entry !== null && onJump !== undefined ? " jumps" : ""}${row.entry !== null && row.entry.index === current ? " current" : ""}`}
                aria-current={row.entry !== null && row.entry.index === current ? "true" : undefined}
                onClick={row.entry !== null && onJump !== undefined ? () => onJump(row.entry!.index) : undefined}
                data-testid="job-command"
                data-exit-code={row.entry?.exitCode == null ? "" : String(row.entry.exitCode)}
                data-state={row.state}
                data-kind={kind}
                title={[row.directive, row.section.tag, stopped, row.state === "skipped" ? "skipped: it never ran" : null].filter((t) => t !== null).join("\n")}
              >
                <span className={`mark ${className}`}>{mark}</span>
                {row.entry !== null && onJump !== undefined ? (
                  <button
                    type="button"
                    className="directive command-jump"
                    data-testid="job-command-jump"
                    aria-label={`Show ${row.directive.split("\n", 1)[0]} in the log`}
                    onClick={(e) => {
                      e.stopPropagation();
                      onJump(row.entry!.index);
                    }}
                  >
                    {row.directive}
                  </button>
                ) : (
                  <span className="directive">{row.directive}</span>
                )}
                <span className="duration">
                  <Duration row={row} />
                </span>
                {row.section.tag !== null || stopped !== null ? (
                  <span className="command-tags">
                    {row.section.tag !== null ? (
                      <span className={`command-tag${tagClass === null ? "" : ` ${tagClass}`}`} data-testid="job-command-tag">
                        {row.section.tag}
                      </span>
                    ) : null}
                    {stopped !== null ? (
                      <span className="command-tag stopped-by" data-testid="job-command-stopped-by">
                        {stopped}
                      </span>
                    ) : null}
                  </span>
                ) : null}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
