// The agent at a glance: its state in words, Start/Stop, where it is connected, and what it did.
import type { AgentSnapshot } from "../../agent-core/host/contract.js";
import { diskCallout, formatDiskBytes, sandboxDowngraded, shownSandbox, spaceLow, spaceWords } from "../sandbox-view.js";
import { agentErrorText, agentIdle, agentStatus, agentsSummary, connectionLost, countsText, demoLeftover, demoRunning, formatAgo, formatDuration, formatStarted, formatTime } from "../view-model.js";
import { AgentsList } from "./AgentsList.js";
import { AlertIcon, DiskIcon, PlayIcon, RefreshIcon, StopIcon } from "./icons.js";
import { JobIdentityText, OpenInSemaphore } from "./JobIdentity.js";
import { GivenCard, LendingBar, LendingPending } from "./Lending.js";
import { pendingNotice } from "../lending-view.js";
import { SandboxLevel, SandboxNotice } from "./SandboxNotice.js";
import { useApp, useAppStore, useNow } from "./store-context.js";

/** Start / Stop for every agent (with one agent: that agent). */
function StartStop() {
  const store = useAppStore();
  const agents = useApp((s) => s.agents);
  // Without the host a click would only fail: the buttons wait for the connection.
  const busy = useApp((s) => s.busy.agent || s.connection.status !== "connected");
  const several = agents.length > 1;
  const up = agents.filter((a) => agentStatus(a).running);
  if (up.length === 0) {
    return (
      <div className="hero-actions">
        <button type="button" className="btn primary big" data-testid="agent-start" disabled={busy} title={several ? "Start every agent of this machine" : undefined} onClick={() => void store.getState().startAgent()}>
          <PlayIcon size={15} />
          {busy ? "Starting…" : several ? "Start all" : "Start"}
        </button>
      </div>
    );
  }
  const stopping = up.every((a) => a.stopping || a.phase === "shutting-down");
  const pendingAfterJob = up.every((a) => a.stopAfterJob);
  const held = up.every((a) => a.hold != null);
  const heldTitle = up[0]?.hold?.kind === "disk" ? "Stay stopped instead of starting again once there is free space" : "Stay stopped instead of starting again when lending resumes";
  return (
    <div className="hero-actions">
      <button
        type="button"
        className="btn danger big"
        data-testid="agent-stop"
        disabled={busy || stopping}
        title={held ? heldTitle : undefined}
        onClick={() => void store.getState().stopAgent("now")}
      >
        <StopIcon size={14} />
        {stopping ? "Stopping…" : several ? "Stop all" : "Stop"}
      </button>
      {held ? null : (
        <button
          type="button"
          className="btn small"
          data-testid="agent-stop-after-job"
          disabled={busy || stopping || pendingAfterJob}
          title={several ? "Let the running jobs finish, then stop every agent" : "Let the running job finish, then stop the agent"}
          onClick={() => void store.getState().stopAgent("after-job")}
        >
          {pendingAfterJob ? (several ? "Stopping after their jobs" : "Stopping after this job") : several ? "Stop all after their jobs" : "Stop after current job"}
        </button>
      )}
    </div>
  );
}

function heroSubline(agent: AgentSnapshot | null, configured: boolean): string {
  if (agent === null) return "";
  if (agent.hold != null) {
    if (agent.hold.kind === "disk") return "Paused by the disk guard: this machine takes no jobs until there is enough free space, then starts again by itself.";
    const left = "The agent has left Semaphore: no jobs come to this machine";
    switch (agent.hold.kind) {
      case "paused":
      case "breaker":
        return `${left} until you resume.`;
      case "snoozed":
        return `${left} until the snooze ends, or you resume.`;
      case "schedule":
        return `${left} until your schedule’s next hours; it comes back by itself.`;
      default:
        return `${left} meanwhile; it comes back by itself.`;
    }
  }
  const idle = agentIdle(agent);
  const where = demoRunning(agent) ? "the local demo hub" : agent.endpoint || "Semaphore";
  if (idle) {
    if (!configured) return "Set up the connection to your Semaphore organisation to lend this machine to CI.";
    return "Press Start to lend this machine to Semaphore CI.";
  }
  if (agent.error !== null && agent.error.scope === "register") return `Connecting to ${where}: not there yet; the agent keeps trying (details below).`;
  if (agent.error !== null && agent.error.scope === "sync") return `Trouble talking to ${where}; the agent keeps trying (details below).`;
  if (agent.stopAfterJob && agent.jobId !== null) return "The agent stops once this job has finished.";
  if (agent.phase === "registering") return `Connecting to ${where}…`;
  if (agent.jobId !== null) return `Running a job from ${where}.`;
  return `Connected to ${where}. Jobs from your pipelines run on this machine.`;
}

/** The state in words; a job id is long, so it is set smaller, in the same text. */
function StateWords({ words }: { words: string }) {
  const prefix = "Running job ";
  if (!words.startsWith(prefix)) return <span data-testid="agent-state">{words}</span>;
  return (
    <span data-testid="agent-state">
      {prefix}
      <span className="hero-id">{words.slice(prefix.length)}</span>
    </span>
  );
}

function severalSubline(count: number): string {
  return `${count} agents lend this machine’s GPUs, each with its own GPUs, job home and toolbox. The buttons here act on all of them; each agent has its own below.`;
}

function Hero() {
  const store = useAppStore();
  const agent = useApp((s) => s.agent);
  const agents = useApp((s) => s.agents);
  const several = agents.length > 1;
  const configured = useApp((s) => s.settings?.configured === true);
  const lost = connectionLost(useApp((s) => s.connection));
  const now = useNow();
  // Without the host the last snapshot is not the truth: the headline says the connection is lost.
  const status = lost !== null ? { words: lost.words, tone: lost.tone } : several ? agentsSummary(agents) : agentStatus(agent);
  // With several agents each row says its own error and pending pause.
  const error = several ? null : agentErrorText(agent, now);
  const lastExit = several ? null : (agent?.lastExit ?? null);
  const idle = agents.every((a) => agentIdle(a));
  const saved = useApp((s) => s.sandbox);
  const sandbox = shownSandbox(agent, saved);
  const disk = diskCallout(agent);
  const pending = !several && pendingNotice(agent) !== null;
  return (
    <section className="card">
      <div className="hero">
        <div className="hero-state">
          <div className="hero-label">
            {several ? `${agents.length} agents` : "Agent"}{" "}
            {lost === null && demoRunning(agent) ? (
              <span className="badge demo" data-testid="agent-demo-badge" style={{ marginLeft: 6 }}>
                Local demo
              </span>
            ) : null}
          </div>
          <div className="hero-words" data-testid="agent-headline" data-tone={status.tone} data-lost={lost !== null ? "true" : "false"}>
            <span className={`dot ${status.tone}`} />
            <StateWords words={status.words} />
          </div>
          <div className="hero-sub">
            {lost !== null ? lost.detail : several && !idle ? severalSubline(agents.length) : heroSubline(agent, configured)}
            {lost === null && !several && agent?.jobId != null ? (
              <button type="button" className="btn small" style={{ marginLeft: 10 }} onClick={() => store.getState().openJob(agent.jobId!)}>
                View live log
              </button>
            ) : null}
          </div>
          {lost === null && !several && agent?.jobId != null && agent.jobIdentity !== null ? (
            <div className="hero-job" data-testid="agent-job">
              <JobIdentityText identity={agent.jobIdentity} jobId={agent.jobId} testId="agent-job" />
              <OpenInSemaphore identity={agent.jobIdentity} />
            </div>
          ) : null}
          {sandbox !== null ? <SandboxLevel status={sandbox} /> : null}
        </div>
        <StartStop />
      </div>
      <LendingBar />
      {(sandbox !== null && sandboxDowngraded(sandbox)) || disk !== null || pending ? (
        <div className="hero-callouts">
          {pending ? <LendingPending /> : null}
          {sandbox !== null ? <SandboxNotice status={sandbox} agentRunning={!idle} /> : null}
          {disk !== null ? <DiskGuardCallout /> : null}
        </div>
      ) : null}
      {error !== null ? (
        <div style={{ padding: "0 26px 20px" }}>
          <div className="callout error" role="alert">
            <AlertIcon size={17} style={{ color: "var(--red)", flex: "none", marginTop: 1 }} />
            <div className="grow" data-testid="agent-error">
              {error}
            </div>
            {agent !== null && !idle && agent.error !== null && (agent.error.scope === "register" || agent.error.scope === "sync") ? (
              <button type="button" className="btn small" data-testid="agent-retry-now" onClick={() => void store.getState().retryNow()}>
                <RefreshIcon size={13} />
                Retry now
              </button>
            ) : null}
          </div>
        </div>
      ) : idle && lastExit !== null ? (
        <div style={{ padding: "0 26px 20px" }} className="hint" data-testid="agent-last-exit">
          {demoLeftover(agent) ? "The local demo ended" : "Last run ended"} at {formatStarted(lastExit.at, now)}: {lastExit.message || lastExit.reason}
        </div>
      ) : null}
    </section>
  );
}

/** Held by the disk guard, or the disk is low: why, each watched disk's figures, and what here uses space. */
function DiskGuardCallout() {
  const store = useAppStore();
  const agent = useApp((s) => s.agent);
  const callout = diskCallout(agent);
  if (callout === null) return null;
  const disk = callout.disk;
  const held = agent?.hold != null;
  return (
    <div className={`callout ${callout.tone} disk-callout`} role="alert" data-testid="disk-guard-callout" data-held={held ? "true" : "false"}>
      <DiskIcon size={17} style={{ color: callout.tone === "error" ? "var(--red)" : "var(--amber)", flex: "none", marginTop: 1 }} />
      <div className="grow">
        <div className="callout-title" data-testid="disk-guard-reason">
          {callout.title}
        </div>
        <div className="hint disk-what-now">
          {held
            ? "Meanwhile the agent has left Semaphore. Free some space here, or lower the limits in Settings."
            : disk?.state === "critical"
              ? "A running job is stopped before the disk fills up; no new job is taken."
              : "The agent finishes its job and takes no new one until there is more free space."}
        </div>
        {disk !== null ? (
          // One table, so the watched disks and what uses space line up.
          <table className="disk-table">
            <tbody data-testid="disk-spaces">
              {disk.spaces.map((space) => (
                <tr key={`${space.label}:${space.path}`} data-testid="disk-space" data-low={spaceLow(space) ? "true" : "false"}>
                  <th>{space.label}</th>
                  <td className="mono disk-path" title={space.path}>
                    {space.path}
                  </td>
                  <td className={spaceLow(space) ? "disk-low" : ""}>{spaceWords(space)}</td>
                </tr>
              ))}
            </tbody>
            {disk.usage === null ? (
              <tbody>
                <tr>
                  <td colSpan={3} className="hint disk-usage-title">
                    Measuring what here uses space…
                  </td>
                </tr>
              </tbody>
            ) : (
              <tbody data-testid="disk-usage">
                <tr>
                  <th colSpan={3} className="disk-usage-title">
                    What here uses space
                  </th>
                </tr>
                {disk.usage.map((use) => (
                  <tr key={use.label} data-testid="disk-usage-entry" data-label={use.label}>
                    <th>{use.label}</th>
                    <td className="mono disk-path" title={use.path}>
                      {use.path}
                    </td>
                    <td>{formatDiskBytes(use.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            )}
          </table>
        ) : null}
      </div>
      <button type="button" className="btn small" data-testid="disk-guard-settings" onClick={() => store.getState().selectView("settings")}>
        Limits…
      </button>
    </div>
  );
}

function Details() {
  const agents = useApp((s) => s.agents);
  const configuredEndpoint = useApp((s) => s.settings?.endpoint ?? "");
  const now = useNow();
  if (agents.length === 0) return null;
  if (agents.length > 1) return <SeveralDetails agents={agents} configuredEndpoint={configuredEndpoint} now={now} />;
  const agent = agents[0]!;
  const running = !agentIdle(agent);
  // After the local demo stopped its name, hub, sync and counts are the demo's: never shown as this
  // machine's agent's (next to the real server). The demo's own run is named as such.
  const leftover = demoLeftover(agent);
  const demo = demoRunning(agent);
  return (
    <section className="card">
      <div className="card-head">
        Details
        {demo ? (
          <>
            <span className="spacer" />
            <span className="badge demo">Local demo</span>
          </>
        ) : null}
      </div>
      <div className="card-body">
        <dl className="facts">
          <dt>Name</dt>
          <dd data-testid="agent-name">{leftover ? "—" : agent.name || (running ? "Assigned at registration" : "—")}</dd>
          <dt>Server</dt>
          <dd data-testid="agent-endpoint" className="mono">
            {demo ? `${agent.endpoint} (local demo hub)` : (leftover ? "" : agent.endpoint) || configuredEndpoint || "Not configured"}
          </dd>
          <dt>Uptime</dt>
          <dd data-testid="agent-uptime">{agent.startedAt !== null ? formatDuration(Math.max(0, now - agent.startedAt)) : "Not running"}</dd>
          <dt>Last sync</dt>
          <dd data-testid="agent-last-sync">{leftover ? "—" : formatAgo(agent.lastSyncAt, now)}</dd>
          <dt>{running ? "Jobs this run" : agent.lastExit !== null ? "Jobs last run" : "Jobs"}</dt>
          <dd data-testid="agent-counts" data-demo={demo || leftover ? "true" : "false"}>
            {leftover ? "— (the last run was the local demo’s)" : `${countsText(agent.counts)}${demo ? " (demo)" : ""}`}
          </dd>
        </dl>
      </div>
    </section>
  );
}

/** Details with several agents: where they connect, since when, and their jobs together (each agent's name is in its row). */
function SeveralDetails({ agents, configuredEndpoint, now }: { agents: AgentSnapshot[]; configuredEndpoint: string; now: number }) {
  const started = agents.map((a) => a.startedAt).filter((t): t is number => t !== null);
  const synced = agents.map((a) => a.lastSyncAt).filter((t): t is number => t !== null);
  const counts = agents.reduce((sum, a) => ({ passed: sum.passed + a.counts.passed, failed: sum.failed + a.counts.failed, stopped: sum.stopped + a.counts.stopped }), { passed: 0, failed: 0, stopped: 0 });
  return (
    <section className="card">
      <div className="card-head">Details</div>
      <div className="card-body">
        <dl className="facts">
          <dt>Agents</dt>
          <dd data-testid="agent-name">{agents.length} on this machine</dd>
          <dt>Server</dt>
          <dd data-testid="agent-endpoint" className="mono">
            {agents.find((a) => a.endpoint !== "")?.endpoint || configuredEndpoint || "Not configured"}
          </dd>
          <dt>Uptime</dt>
          <dd data-testid="agent-uptime">{started.length > 0 ? formatDuration(Math.max(0, now - Math.min(...started))) : "Not running"}</dd>
          <dt>Last sync</dt>
          <dd data-testid="agent-last-sync">{formatAgo(synced.length > 0 ? Math.max(...synced) : null, now)}</dd>
          <dt>Jobs</dt>
          <dd data-testid="agent-counts">{countsText(counts)}</dd>
        </dl>
      </div>
    </section>
  );
}

function SetupPrompt() {
  const store = useAppStore();
  const configured = useApp((s) => s.settings?.configured === true);
  const idle = useApp((s) => s.agents.every((a) => agentIdle(a)));
  if (configured || !idle) return null;
  return (
    <section className="card">
      <div className="setup-card">
        <div className="grow">
          <h2>Not set up yet</h2>
          <p>Connect this machine to your Semaphore organisation, or try everything first with the local demo — no account needed.</p>
        </div>
        <button type="button" className="btn" onClick={() => store.getState().selectView("demo")}>
          Try the local demo
        </button>
        <button type="button" className="btn primary" onClick={() => store.getState().selectView("settings")}>
          Set up
        </button>
      </div>
    </section>
  );
}

function Activity() {
  const activity = useApp((s) => s.activity);
  const entries = activity.slice(-100).reverse();
  return (
    <section className="card" data-testid="agent-activity">
      <div className="card-head">
        Activity
        <span className="spacer" />
        <span className="hint">{activity.length > 0 ? `${activity.length} recent` : ""}</span>
      </div>
      {entries.length === 0 ? (
        <div className="feed-empty">Nothing yet. What the agent does shows up here.</div>
      ) : (
        <ul className="feed">
          {entries.map((e) => (
            <li key={e.id} data-testid="activity-entry">
              <time>{formatTime(e.lastAt)}</time>
              <span className={e.level === "info" ? "" : e.level}>
                {e.message}
                {e.count > 1 ? (
                  <span className="feed-count" data-testid="activity-count" title={`First at ${formatTime(e.at)}, last at ${formatTime(e.lastAt)}`}>
                    ×{e.count}
                  </span>
                ) : null}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function AgentView() {
  return (
    <div className="page" data-testid="view-agent">
      <Hero />
      <AgentsList />
      <SetupPrompt />
      <div className="grid-2">
        <Activity />
        <div className="side-stack">
          <Details />
          <GivenCard />
        </div>
      </div>
    </div>
  );
}
