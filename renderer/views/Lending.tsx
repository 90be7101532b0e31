// The owner's terms on the Agent view: the lending line (why the agent takes no jobs, or may soon),
// Pause / Snooze / Resume, the snooze countdown, the notice of a pause waiting for the running job,
// and what this machine has given.
import { useState } from "react";
import {
  allAgentsControls,
  defaultCustomSnooze,
  formatHours,
  givenTop,
  jobsWords,
  lendingLead,
  lendingTone,
  type LendingControls,
  parseCustomSnooze,
  pendingNotice,
  snoozeCountdown,
  sinceWords,
  snoozePresetUntil,
  type SnoozePreset,
} from "../lending-view.js";
import { formatEnergy } from "../gpu-view.js";
import { agentIdle, formatDateTime } from "../view-model.js";
import { AlertIcon, ClockIcon, HeartIcon, InfoIcon, MoonIcon, PauseIcon, PlayIcon } from "./icons.js";
import { MenuButton, MenuItem } from "./Menu.js";
import { useApp, useAppStore, useNow } from "./store-context.js";

/** "Snoozed until 18:00 · 2 h 59 min left", ticking every second. */
function SnoozeCountdown({ until }: { until: number }) {
  const now = useNow(1000);
  return (
    <span className="lending-countdown" data-testid="lending-countdown" data-until={until}>
      <ClockIcon size={13} style={{ flex: "none" }} />
      {snoozeCountdown(until, Math.min(now, until))}
    </span>
  );
}

const PRESETS: readonly { preset: SnoozePreset; label: string }[] = [
  { preset: "1h", label: "For 1 hour" },
  { preset: "3h", label: "For 3 hours" },
  { preset: "tomorrow", label: "Until tomorrow 08:00" },
];

function SnoozeMenu({ disabled, jobRunning }: { disabled: boolean; jobRunning: boolean }) {
  const store = useAppStore();
  const [open, setOpen] = useState(false);
  const [custom, setCustom] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const choose = (until: number) => {
    setOpen(false);
    setCustom(null);
    setError(null);
    void store.getState().snooze(until);
  };
  const submitCustom = () => {
    const parsed = parseCustomSnooze(custom ?? "", Date.now());
    if (!parsed.ok) setError(parsed.error);
    else choose(parsed.until);
  };
  return (
    <MenuButton
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) {
          setCustom(null);
          setError(null);
        }
      }}
      testId="lending-snooze"
      disabled={disabled}
      title="Take no jobs for a while; lending resumes by itself"
      label={
        <>
          <MoonIcon size={13} />
          Snooze
        </>
      }
    >
      {PRESETS.map(({ preset, label }) => (
        <MenuItem key={preset} testId={`lending-snooze-${preset}`} onSelect={() => choose(snoozePresetUntil(preset, Date.now()))}>
          {label}
        </MenuItem>
      ))}
      {custom === null ? (
        <MenuItem testId="lending-snooze-custom" onSelect={() => setCustom(defaultCustomSnooze(Date.now()))}>
          Until…
        </MenuItem>
      ) : (
        <form
          className="menu-form"
          onSubmit={(e) => {
            e.preventDefault();
            submitCustom();
          }}
        >
          <div className="menu-form-row">
            <input
              className={`input${error !== null ? " invalid" : ""}`}
              type="datetime-local"
              data-testid="lending-snooze-custom-input"
              aria-label="Snooze until"
              autoFocus
              value={custom}
              onChange={(e) => {
                setCustom(e.target.value);
                setError(null);
              }}
            />
            <button type="submit" className="btn small primary" data-testid="lending-snooze-custom-ok">
              OK
            </button>
          </div>
          {error !== null ? (
            <div className="field-error" data-testid="lending-snooze-custom-error" role="alert">
              <AlertIcon size={13} style={{ flex: "none", marginTop: 2 }} />
              <span>{error}</span>
            </div>
          ) : null}
        </form>
      )}
      {jobRunning ? <div className="menu-note">The running job finishes first.</div> : null}
    </MenuButton>
  );
}

/** Pause: at once while no job runs, else a menu (finish the job first, or stop it). `agentId`: that agent only; none: every agent. */
export function PauseControl({ disabled, controls, agentId, testId = "lending-pause", several = false }: { disabled: boolean; controls: LendingControls; agentId?: string; testId?: string; several?: boolean }) {
  const store = useAppStore();
  const [open, setOpen] = useState(false);
  const label = (
    <>
      <PauseIcon size={13} />
      {several ? "Pause all" : "Pause"}
    </>
  );
  if (!controls.jobRunning) {
    return (
      <button type="button" className="btn small" data-testid={testId} disabled={disabled} title="Take no jobs until you resume" onClick={() => void store.getState().pause("now", agentId)}>
        {label}
      </button>
    );
  }
  const pause = (when: "now" | "after-job") => {
    setOpen(false);
    void store.getState().pause(when, agentId);
  };
  return (
    <MenuButton open={open} onOpenChange={setOpen} testId={testId} disabled={disabled} title="Take no jobs until you resume" label={label}>
      <MenuItem testId={`${testId}-after-job`} disabled={!controls.canPauseAfterJob} onSelect={() => pause("after-job")} hint="Resume cancels it meanwhile.">
        {several ? "Finish the running jobs, then pause" : "Finish current job, then pause"}
      </MenuItem>
      <MenuItem testId={`${testId}-now`} onSelect={() => pause("now")} hint={several ? "The jobs end as stopped." : "The job ends as stopped."}>
        {several ? "Pause now (stops the running jobs)" : "Pause now (stops the running job)"}
      </MenuItem>
    </MenuButton>
  );
}

/** The lending line with its controls: always shown, whatever the agent does. With several agents, the controls act on all. */
export function LendingBar() {
  const store = useAppStore();
  const agents = useApp((s) => s.agents);
  // Without the host a click would only fail: the controls wait for the connection.
  const busy = useApp((s) => s.busy.agent || s.connection.status !== "connected");
  const agent = lendingLead(agents);
  if (agent === null) return null;
  const several = agents.length > 1;
  const lending = agent.lending;
  const controls = allAgentsControls(agents);
  // Held by the disk guard before the lending line has caught up: not the green of lending.
  const tone = agent.hold != null && lending.kind === null ? "warn" : lendingTone(lending);
  // The local demo's agent is not lent: its jobs come from this machine.
  const demo = agent.mode === "demo" && !agentIdle(agent);
  const snoozed = lending.snoozedUntil !== null;
  return (
    <div className={`lending-bar ${tone}`} data-testid="lending" data-kind={lending.kind ?? ""}>
      <div className="lending-state">
        <span className={`lending-mark ${tone}`}>{snoozed ? <MoonIcon size={15} /> : lending.kind !== null ? <PauseIcon size={15} /> : <HeartIcon size={15} />}</span>
        <div className="lending-text">
          <div className="lending-line">
            <span data-testid="lending-line">{lending.line}</span>
            {lending.kind === null && agent.hold?.kind === "disk" ? (
              <span className="hint"> · but the disk guard holds the agent for now</span>
            ) : lending.kind === null && agent.hold == null && agentIdle(agent) ? (
              <span className="hint"> · once the agent is started</span>
            ) : null}
          </div>
          {snoozed ? <SnoozeCountdown until={lending.snoozedUntil!} /> : null}
          {lending.note !== null ? (
            <div className="lending-note" data-testid="lending-note">
              <InfoIcon size={13} style={{ flex: "none", marginTop: 2 }} />
              <span>{lending.note}</span>
            </div>
          ) : null}
        </div>
      </div>
      {demo ? null : (
        <div className="lending-actions">
          {controls.canResume ? (
            <button type="button" className="btn small primary" data-testid="lending-resume" disabled={busy} title="Take jobs again (where your schedule and limits allow)" onClick={() => void store.getState().resume()}>
              <PlayIcon size={12} />
              {several ? "Resume all" : "Resume"}
            </button>
          ) : null}
          {controls.canPause ? <PauseControl disabled={busy} controls={controls} several={several} /> : null}
          {controls.canSnooze ? <SnoozeMenu disabled={busy} jobRunning={controls.jobRunning} /> : null}
        </div>
      )}
    </div>
  );
}

/** "Pausing after job … — Resume to cancel", or a condition that lets the running job finish (or stops it). */
export function LendingPending() {
  const agent = useApp((s) => s.agent);
  const notice = pendingNotice(agent);
  if (notice === null) return null;
  return (
    <div className="callout info lending-pending" role="status" data-testid="lending-pending" data-kind={notice.kind}>
      <PauseIcon size={16} style={{ color: "var(--blue)", flex: "none", marginTop: 1 }} />
      <div className="grow">{notice.text}</div>
    </div>
  );
}

/** "This machine has given": jobs, hours of job time, and the projects it gave most to. */
export function GivenCard() {
  const given = useApp((s) => s.given);
  return (
    <section className="card" data-testid="given-card">
      <div className="card-head">
        This machine has given
        <span className="spacer" />
        {given?.since != null ? (
          <span className="hint" title={`The oldest job in this machine’s history started ${formatDateTime(given.since)}`}>
            since {sinceWords(given.since)}
          </span>
        ) : null}
      </div>
      <div className="card-body">
        {given === null ? (
          <div className="hint">Loading…</div>
        ) : given.jobs === 0 ? (
          <div className="hint" data-testid="given-empty">
            Nothing yet. Every job this machine runs for your team is counted here.
          </div>
        ) : (
          <>
            <div className="given-figures">
              <div>
                <div className="given-number" data-testid="given-jobs">
                  {given.jobs}
                </div>
                <div className="given-unit">{given.jobs === 1 ? "job run" : "jobs run"}</div>
              </div>
              <div>
                <div className="given-number" data-testid="given-hours">
                  {formatHours(given.hours)}
                </div>
                <div className="given-unit">of job time</div>
              </div>
              {given.gpuHours > 0 ? (
                <div>
                  <div className="given-number" data-testid="given-gpu-hours" title={`${given.gpuHours.toFixed(2)} GPU-hours: each job's time × the GPUs it held`}>
                    {formatHours(given.gpuHours)}
                  </div>
                  <div className="given-unit">of GPU time</div>
                </div>
              ) : null}
              {given.energyWh > 0 ? (
                <div>
                  <div className="given-number" data-testid="given-energy">
                    {formatEnergy(given.energyWh)}
                  </div>
                  <div className="given-unit">drawn by the GPUs</div>
                </div>
              ) : null}
            </div>
            <GivenProjects />
          </>
        )}
      </div>
    </section>
  );
}

function GivenProjects() {
  const given = useApp((s) => s.given);
  if (given === null || given.byProject.length === 0) return null;
  const { shown, more } = givenTop(given);
  return (
    <table className="given-projects">
      <tbody>
        {shown.map((p) => (
          <tr key={p.project} data-testid="given-project" data-project={p.project}>
            <th title={p.project}>{p.project}</th>
            <td>{jobsWords(p.jobs)}</td>
            <td className="num">{formatHours(p.hours)}</td>
          </tr>
        ))}
        {more > 0 ? (
          <tr>
            <td colSpan={3} className="hint">
              and {more} more {more === 1 ? "project" : "projects"}
            </td>
          </tr>
        ) : null}
      </tbody>
    </table>
  );
}
