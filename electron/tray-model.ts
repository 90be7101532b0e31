// What the tray shows for an agent snapshot: icon, tooltip and menu, as plain data. tray.ts turns it
// into Electron objects; unit tests check it without Electron.
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

/** Whether the agent (or the demo's agent) is up, i.e. "Stop" rather than "Start". */
export function trayView(agent: AgentSnapshot, quitting: boolean): TrayView {
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
