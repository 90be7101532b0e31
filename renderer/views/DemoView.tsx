// The local demo: an embedded stand-in for Semaphore on this machine, and example jobs to run on it.
import { agentIdle, connectionLost } from "../view-model.js";
import { DemoIcon, PlayIcon, StopIcon } from "./icons.js";
import { Prose } from "./Prose.js";
import { useApp, useAppStore } from "./store-context.js";

export function DemoView() {
  const store = useAppStore();
  const demo = useApp((s) => s.demo);
  const busy = useApp((s) => s.busy.demo);
  const runningExample = useApp((s) => s.busy.example);
  const agentMode = useApp((s) => s.agent?.mode);
  const agentRunning = useApp((s) => !agentIdle(s.agent));
  const running = demo?.running === true;
  const lost = connectionLost(useApp((s) => s.connection));
  const blockedByAgent = !running && agentRunning && agentMode === "semaphore";

  return (
    <div className="page" data-testid="view-demo">
      <div className="page-head">
        <h1>Local demo</h1>
        {lost !== null ? (
          <span className="badge stale" data-testid="demo-state" data-lost="true" title={lost.detail}>
            {lost.short}
          </span>
        ) : running ? (
          <span className="badge passed" data-testid="demo-state">
            Running
          </span>
        ) : (
          <span className="badge" data-testid="demo-state">
            Stopped
          </span>
        )}
      </div>
      <section className="card">
        <div className="setup-card" style={{ alignItems: "flex-start" }}>
          <DemoIcon size={26} style={{ color: "#cdb6f6", marginTop: 2, flex: "none" }} />
          <div className="grow">
            <h2>Try the agent without a Semaphore account</h2>
            <p>
              The demo starts a small stand-in for Semaphore on this machine and connects an agent to it. Run one of the example jobs
              below and watch it in the Job view, exactly as a job from your pipelines would run. No account is needed and nothing leaves
              this machine.
            </p>
            {running && demo?.hubUrl ? (
              <p className="hint" style={{ marginTop: 8 }}>
                Demo hub at <span className="mono">{demo.hubUrl}</span>
              </p>
            ) : null}
            {blockedByAgent ? (
              <p className="hint" style={{ marginTop: 8, color: "#f0cd80" }}>
                The agent is connected to Semaphore. Stop it first: the demo runs its own agent.
              </p>
            ) : null}
          </div>
          {running ? (
            <button type="button" className="btn danger" data-testid="demo-stop" disabled={busy || lost !== null} onClick={() => void store.getState().stopDemo()}>
              <StopIcon size={13} />
              {busy ? "Stopping…" : "Stop demo"}
            </button>
          ) : (
            <button type="button" className="btn primary" data-testid="demo-start" disabled={busy || lost !== null} onClick={() => void store.getState().startDemo()}>
              <PlayIcon size={13} />
              {busy ? "Starting…" : "Start demo"}
            </button>
          )}
        </div>
      </section>
      <div className="page-head" style={{ minHeight: 0, marginTop: 4 }}>
        <h1 style={{ fontSize: 15 }}>Example jobs</h1>
        <span className="hint">{running ? "Each runs on this machine through the demo agent." : "Start the demo to run them."}</span>
      </div>
      <div className="examples">
        {(demo?.examples ?? []).map((example) => (
          <section key={example.id} className="card example">
            <h3>{example.title}</h3>
            <p data-testid={`demo-description-${example.id}`}>
              <Prose text={example.description} />
            </p>
            <button
              type="button"
              className="btn small"
              data-testid={`demo-run-${example.id}`}
              disabled={!running || runningExample !== null}
              title={running ? `Run “${example.title}”` : "Start the demo first"}
              onClick={() => void store.getState().runExample(example.id)}
            >
              <PlayIcon size={11} />
              {runningExample === example.id ? "Scheduling…" : "Run"}
            </button>
          </section>
        ))}
        {(demo?.examples ?? []).length === 0 ? <div className="hint">No example jobs are available.</div> : null}
      </div>
    </div>
  );
}
