// Several agents on this machine (one per lent GPU, or per group of GPUs): a row each, with its name,
// its GPUs, its state and lending line, and its own Start / Stop / Pause / Resume. With one agent the
// Agent view's header is that agent, and this list is not shown.
import { jobTitle, type AgentSnapshot } from "../../agent-core/host/contract.js";
import { gpuLabel } from "../gpu-view.js";
import { lendingControls, lendingTone, pendingNotice } from "../lending-view.js";
import { agentErrorText, agentStatus, connectionLost } from "../view-model.js";
import { PauseControl } from "./Lending.js";
import { PlayIcon, RefreshIcon, StopIcon } from "./icons.js";
import { useApp, useAppStore, useNow } from "./store-context.js";

function AgentControls({ agent }: { agent: AgentSnapshot }) {
  const store = useAppStore();
  const busy = useApp((s) => s.busy.agent || s.connection.status !== "connected");
  const status = agentStatus(agent);
  const id = agent.id;
  const tid = `agent-row-${id}`;
  const controls = lendingControls(agent);
  const stopping = agent.stopping || agent.phase === "shutting-down";
  const demo = agent.mode === "demo";
  if (!status.running) {
    return (
      <div className="agent-row-actions">
        <button type="button" className="btn small primary" data-testid={`${tid}-start`} disabled={busy} onClick={() => void store.getState().startAgent(id)}>
          <PlayIcon size={12} />
          Start
        </button>
      </div>
    );
  }
  return (
    <div className="agent-row-actions">
      {!demo && controls.canResume ? (
        <button type="button" className="btn small primary" data-testid={`${tid}-resume`} disabled={busy} onClick={() => void store.getState().resume(id)}>
          <PlayIcon size={12} />
          Resume
        </button>
      ) : null}
      {!demo && controls.canPause ? <PauseControl disabled={busy} controls={controls} agentId={id} testId={`${tid}-pause`} /> : null}
      {agent.error !== null && (agent.error.scope === "register" || agent.error.scope === "sync") ? (
        <button type="button" className="btn small" data-testid={`${tid}-retry-now`} disabled={busy} onClick={() => void store.getState().retryNow(id)}>
          <RefreshIcon size={12} />
          Retry now
        </button>
      ) : null}
      <button type="button" className="btn small danger" data-testid={`${tid}-stop`} disabled={busy || stopping} title={`Stop agent ${agent.name || id}`} onClick={() => void store.getState().stopAgent("now", id)}>
        <StopIcon size={11} />
        {stopping ? "Stopping…" : "Stop"}
      </button>
    </div>
  );
}

function AgentRow({ agent }: { agent: AgentSnapshot }) {
  const store = useAppStore();
  const now = useNow();
  const lost = connectionLost(useApp((s) => s.connection));
  const status = lost !== null ? { ...agentStatus(agent), words: lost.words, tone: lost.tone } : agentStatus(agent);
  const error = agentErrorText(agent, now);
  const pending = pendingNotice(agent);
  const tid = `agent-row-${agent.id}`;
  const tone = agent.hold != null && agent.lending.kind === null ? "warn" : lendingTone(agent.lending);
  return (
    <li className="agent-row" data-testid={tid} data-agent-id={agent.id} data-tone={status.tone}>
      <div className="agent-row-main">
        <div className="agent-row-title">
          <span className={`dot ${status.tone}`} />
          <span className="agent-row-name" data-testid={`${tid}-name`} title={agent.name || agent.id}>
            {agent.name || agent.id}
          </span>
          {agent.name !== "" ? <span className="agent-row-id mono">{agent.id}</span> : null}
          <span className="agent-row-gpus" data-testid={`${tid}-gpus`}>
            {agent.gpus.length === 0 ? (
              <span className="hint">no GPU</span>
            ) : (
              agent.gpus.map((g) => (
                <span key={g.uuid} className="chip" title={g.uuid}>
                  {gpuLabel(g)}
                </span>
              ))
            )}
          </span>
        </div>
        <div className="agent-row-state" data-testid={`${tid}-state`}>
          {status.words}
          {agent.jobId !== null ? (
            <>
              {agent.jobIdentity !== null ? <span className="hint"> · {jobTitle(agent.jobIdentity, agent.jobId)}</span> : null}
              <button type="button" className="btn small ghost agent-row-open" data-testid={`${tid}-open-job`} onClick={() => store.getState().openJob(agent.jobId!)}>
                View live log
              </button>
            </>
          ) : null}
        </div>
        <div className={`agent-row-lending ${tone}`} data-testid={`${tid}-lending`} data-kind={agent.lending.kind ?? ""}>
          {agent.lending.line}
        </div>
        {pending !== null ? (
          <div className="agent-row-note" data-testid={`${tid}-pending`}>
            {pending.text}
          </div>
        ) : null}
        {error !== null ? (
          <div className="agent-row-error" role="alert" data-testid={`${tid}-error`}>
            {error}
          </div>
        ) : null}
      </div>
      <AgentControls agent={agent} />
    </li>
  );
}

export function AgentsList() {
  const agents = useApp((s) => s.agents);
  if (agents.length < 2) return null;
  return (
    <section className="card" data-testid="agents-list">
      <div className="card-head">
        Agents on this machine
        <span className="spacer" />
        <span className="hint">one per lent GPU or group of GPUs</span>
      </div>
      <ul className="agent-rows">
        {agents.map((a) => (
          <AgentRow key={a.id} agent={a} />
        ))}
      </ul>
    </section>
  );
}
