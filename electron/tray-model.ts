// What the tray shows for the agents' snapshots: icon, tooltip and menu, as plain data. tray.ts turns it
// into Electron objects; unit tests check it without Electron. One agent: that agent's state and
// controls. Several (one per GPU or group): the busiest state across them, how many run jobs, and
// controls that act on all of them.
import { commitText, isAgentIdle, jobTitle, trayStateOf, type AgentSnapshot, type TrayState } from "../agent-core/host/contract.js";

export const TRAY_STATES: readonly TrayState[] = ["stopped", "waiting", "running", "stopping", "error"];

/** assets/tray/<state>.png (16 px) with <state>@2x.png (32 px) beside it; Electron picks by scale. */
export function trayIconFile(state: TrayState): string {
  return `tray/${state}.png`;
}

export type TrayAction =
  | "open"
  | "start"
  | "stop"
  | "stop-after-job"
  | "pause"
  | "pause-after-job"
  | "resume"
  | "snooze-1h"
  | "snooze-3h"
  | "stop-job"
  | "quit"
  | "quit-now";

export interface TrayMenuItem {
  label: string;
  action: TrayAction | null;
  enabled: boolean;
  /** A separator before this item. */
  separatorBefore?: boolean;
}

export interface TrayView {
  state: TrayState;
  icon: string;
  tooltip: string;
  menu: TrayMenuItem[];
}

const APP = "Semaphore Agent";
const MAX_TOOLTIP_MESSAGE = 90;

export function trayTooltip(agent: AgentSnapshot, state: TrayState, quitting: boolean): string {
  if (quitting) return `${APP}: quitting — stopping the agent as Semaphore asks`;
  // Not taking jobs on the owner's terms (or the disk guard's): the reason and the next change.
  if (agent.hold !== null) return `${APP}: ${shorten(agent.hold.kind === "disk" ? `paused by the disk guard — ${agent.hold.reason}` : agent.lending.line)}`;
  const where = agent.mode === "demo" ? " (local demo)" : "";
  switch (state) {
    case "stopped":
      return `${APP}: stopped`;
    case "waiting":
      return `${APP}: waiting for jobs${where}`;
    case "running":
      return `${APP}: running ${runningJobText(agent)}${where}`.replace(/ +$/, "");
    case "stopping":
      return agent.stopAfterJob && agent.jobId !== null ? `${APP}: stopping after the current job${where}` : `${APP}: stopping${where}`;
    case "error": {
      const message = agent.error?.message ?? agent.lastExit?.message ?? "unknown error";
      return `${APP}: error — ${shorten(message)}`;
    }
  }
}

/** "api-server · Unit tests, branch main @ 1a2b3c4 by Alice", or "job <id>" when the job names nothing. */
function runningJobText(agent: AgentSnapshot): string {
  const id = agent.jobId ?? "";
  const identity = agent.jobIdentity;
  if (identity === null) return `job ${id}`.trim();
  const commit = commitText(identity);
  return shorten(commit === null ? jobTitle(identity, id) : `${jobTitle(identity, id)}, ${commit}`);
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > MAX_TOOLTIP_MESSAGE ? `${line.slice(0, MAX_TOOLTIP_MESSAGE - 1)}…` : line;
}

/** The agents' list with `agent` in the place of the one with its id (appended when new). */
export function withAgent(agents: readonly AgentSnapshot[], agent: AgentSnapshot): AgentSnapshot[] {
  const at = agents.findIndex((a) => a.id === agent.id);
  return at < 0 ? [...agents, agent] : agents.map((a, i) => (i === at ? agent : a));
}

/** The state the icon shows for several agents: the busiest of theirs. */
export const TRAY_STATE_ORDER: readonly TrayState[] = ["running", "stopping", "error", "waiting", "stopped"];

export function busiestState(agents: readonly AgentSnapshot[]): TrayState {
  const states = new Set(agents.map((a) => trayStateOf(a)));
  return TRAY_STATE_ORDER.find((s) => states.has(s)) ?? "stopped";
}

/** "2 of 4 agents running jobs, 1 with an error", "4 agents waiting for jobs", "4 agents stopped". */
export function agentsCountText(agents: readonly AgentSnapshot[]): string {
  const n = agents.length;
  const count = (state: TrayState) => agents.filter((a) => trayStateOf(a) === state).length;
  const held = agents.filter((a) => a.hold !== null).length;
  const errors = count("error");
  const running = count("running");
  const waiting = count("waiting");
  const of = (k: number) => (k === n ? `${n} agents` : `${k} of ${n} agents`);
  let head: string;
  if (running > 0) head = `${of(running)} running jobs`;
  else if (waiting > 0) head = `${of(waiting)} waiting for jobs`;
  else if (held === n) head = `${n} agents paused`;
  else if (count("stopping") > 0) head = `${of(count("stopping"))} stopping`;
  else head = `${of(count("stopped") + errors)} stopped`;
  const extra: string[] = [];
  if (errors > 0) extra.push(`${errors} with an error`);
  if (held > 0 && held < n) extra.push(`${held} paused`);
  return extra.length > 0 ? `${head}, ${extra.join(", ")}` : head;
}

/** Several agents: the count in the tooltip and atop the menu; every action acts on all of them. */
function severalView(agents: readonly AgentSnapshot[], quitting: boolean): TrayView {
  const state: TrayState = quitting ? "stopping" : busiestState(agents);
  const count = agentsCountText(agents);
  const menu: TrayMenuItem[] = [{ label: "Open Semaphore Agent Desktop", action: "open", enabled: true }];
  if (quitting) {
    menu.push({ label: "Quitting… (waiting for the agents)", action: null, enabled: false, separatorBefore: true });
    menu.push({ label: "Quit now (do not wait)", action: "quit-now", enabled: true });
    return { state, icon: trayIconFile(state), tooltip: `${APP}: quitting — stopping the agents as Semaphore asks`, menu };
  }
  menu.push({ label: count, action: null, enabled: false, separatorBefore: true });
  // Up: running, or held by the owner's terms (Stop forgets the hold).
  const up = agents.filter((a) => !isAgentIdle(a) || a.hold !== null);
  if (up.length === 0) {
    menu.push({ label: "Start all agents", action: "start", enabled: true });
  } else {
    const stopping = up.every((a) => a.stopping);
    menu.push({ label: stopping ? "Stopping…" : "Stop all agents", action: "stop", enabled: !stopping });
  }
  const withJob = up.filter((a) => a.jobId !== null && !a.stopping);
  menu.push({
    label: withJob.length > 0 && withJob.every((a) => a.stopAfterJob) ? "Stopping after their jobs" : "Stop all after their jobs",
    action: "stop-after-job",
    enabled: withJob.some((a) => !a.stopAfterJob),
  });
  const semaphore = up.filter((a) => a.mode === "semaphore" && !a.stopping);
  if (semaphore.length > 0) {
    const resumable = semaphore.some(
      (a) => a.lending.pauseAfterJob || a.lending.pausedByHand || a.lending.snoozedUntil !== null || a.hold?.kind === "paused" || a.hold?.kind === "snoozed" || a.hold?.kind === "breaker",
    );
    const pausable = semaphore.some((a) => !a.lending.pausedByHand && a.hold?.kind !== "paused");
    const jobs = semaphore.some((a) => a.jobId !== null);
    let first = true;
    const add = (item: Omit<TrayMenuItem, "separatorBefore">) => {
      menu.push(first ? { ...item, separatorBefore: true } : item);
      first = false;
    };
    if (resumable) add({ label: "Resume all", action: "resume", enabled: true });
    if (pausable && jobs) {
      add({ label: "Pause all now (stops the jobs)", action: "pause", enabled: true });
      add({ label: "Finish the jobs, then pause all", action: "pause-after-job", enabled: true });
    } else if (pausable) {
      add({ label: "Pause all", action: "pause", enabled: true });
    }
    if (pausable) {
      add({ label: "Snooze all 1 hour", action: "snooze-1h", enabled: true });
      add({ label: "Snooze all 3 hours", action: "snooze-3h", enabled: true });
    }
  }
  menu.push({ label: "Quit", action: "quit", enabled: true, separatorBefore: true });
  return { state, icon: trayIconFile(state), tooltip: `${APP}: ${shorten(count)}`, menu };
}

/**
 * The tray for one agent (or the demo's), or for several: a list of one is that one agent. Whether
 * it is up decides "Stop" rather than "Start".
 */
export function trayView(agents: AgentSnapshot | readonly AgentSnapshot[], quitting: boolean): TrayView {
  const list: readonly AgentSnapshot[] = Array.isArray(agents) ? agents : [agents as AgentSnapshot];
  if (list.length > 1) return severalView(list, quitting);
  const agent = list[0];
  if (agent === undefined) return severalView([], quitting);
  return oneView(agent, quitting);
}

function oneView(agent: AgentSnapshot, quitting: boolean): TrayView {
  const state: TrayState = quitting ? "stopping" : trayStateOf(agent);
  const up = !isAgentIdle(agent);
  const menu: TrayMenuItem[] = [{ label: "Open Semaphore Agent Desktop", action: "open", enabled: true }];
  if (quitting) {
    menu.push({ label: "Quitting… (waiting for the agent)", action: null, enabled: false, separatorBefore: true });
    menu.push({ label: "Quit now (do not wait)", action: "quit-now", enabled: true });
    return { state, icon: trayIconFile(state), tooltip: trayTooltip(agent, state, true), menu };
  }
  if (agent.hold !== null) {
    // Not registered: Resume ends a pause by hand, a snooze or a tripped breaker; Stop forgets it.
    const resumable = agent.hold.kind === "paused" || agent.hold.kind === "snoozed" || agent.hold.kind === "breaker";
    menu.push({ label: shorten(agent.hold.kind === "disk" ? `Paused by the disk guard` : agent.lending.line), action: null, enabled: false, separatorBefore: true });
    if (resumable) menu.push({ label: "Resume", action: "resume", enabled: true });
    menu.push({ label: "Stop agent", action: "stop", enabled: true });
    menu.push({ label: "Quit", action: "quit", enabled: true, separatorBefore: true });
    return { state, icon: trayIconFile(state), tooltip: trayTooltip(agent, state, false), menu };
  }
  if (!up) {
    menu.push({ label: "Start agent", action: "start", enabled: true, separatorBefore: true });
  } else {
    menu.push({ label: agent.stopping ? "Stopping…" : agent.mode === "demo" ? "Stop local demo" : "Stop agent", action: "stop", enabled: !agent.stopping, separatorBefore: true });
  }
  menu.push({
    label: agent.stopAfterJob ? "Stopping after current job" : "Stop after current job",
    action: "stop-after-job",
    enabled: up && agent.jobId !== null && !agent.stopAfterJob && !agent.stopping,
  });
  if (up && agent.mode === "semaphore" && !agent.stopping) {
    const job = agent.jobId !== null;
    if (job) menu.push({ label: "Stop this job", action: "stop-job", enabled: agent.phase !== "stopping-job" });
    if (agent.lending.pauseAfterJob) {
      menu.push({ label: "Pausing after this job — Resume", action: "resume", enabled: true, separatorBefore: true });
    } else if (job) {
      menu.push({ label: "Pause now (stops the job)", action: "pause", enabled: true, separatorBefore: true });
      menu.push({ label: "Finish current job, then pause", action: "pause-after-job", enabled: true });
    } else {
      menu.push({ label: "Pause", action: "pause", enabled: true, separatorBefore: true });
    }
    menu.push({ label: "Snooze 1 hour", action: "snooze-1h", enabled: true });
    menu.push({ label: "Snooze 3 hours", action: "snooze-3h", enabled: true });
  }
  menu.push({ label: "Quit", action: "quit", enabled: true, separatorBefore: true });
  return { state, icon: trayIconFile(state), tooltip: trayTooltip(agent, state, false), menu };
}
