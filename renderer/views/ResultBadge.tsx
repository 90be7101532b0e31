// A job's result as a badge, and the mark of a demo job: the same in the job header and the History.
// Without the agent host a "Running" badge would be a guess: it says the connection is lost instead.
import type { HistoryResult } from "../../agent-core/host/contract.js";
import { resultWords } from "../view-model.js";
import { useApp } from "./store-context.js";

export function ResultBadge({ result, testId }: { result: HistoryResult; testId?: string }) {
  const lost = useApp((s) => s.connection.status === "reconnecting" || s.connection.status === "unauthorised");
  if (result === "running" && lost) {
    return (
      <span className="badge stale" data-testid={testId} data-result={result} data-stale="true" title="The connection to the agent host was lost while this job ran: its result is not known here">
        Connection lost
      </span>
    );
  }
  return (
    <span className={`badge ${result}`} data-testid={testId} data-result={result}>
      {result === "running" ? <span className="dot running" /> : null}
      {resultWords(result)}
    </span>
  );
}

/** A job of the local demo (its own hub on this machine), never one of Semaphore's. */
export function DemoMark({ testId }: { testId: string }) {
  return (
    <span className="badge demo demo-mark" data-testid={testId} title="A job of the local demo, run through its own hub on this machine — not a job from Semaphore">
      Demo
    </span>
  );
}
