// Which host events deserve a desktop notification, in words: a job passed, failed or was stopped;
// the agent cannot connect; lending paused or resumed. Each kind can be turned off in Settings. Pure
// (it keeps each agent's last snapshot, by id, to see changes); the desktop app shows the result with
// Electron's Notification, the console page with the browser's Notification API.
import { jobTitle, type AgentSnapshot, type HostEvent } from "./contract.js";

export type NotificationKind = "jobs" | "connection" | "pauses";

export interface NotificationSettings {
  notifyJobs: boolean;
  notifyConnection: boolean;
  notifyPauses: boolean;
}

export interface DesktopNotification {
  kind: NotificationKind;
  title: string;
  body: string;
}

const RESULT_WORDS = { passed: "passed", failed: "failed", stopped: "was stopped" } as const;

export class NotificationWatcher {
  /** Each agent's last snapshot (several agents: one per GPU). */
  private readonly last = new Map<string, AgentSnapshot>();

  /** The notifications `event` calls for under `settings` (usually none). */
  onEvent(event: HostEvent, settings: NotificationSettings): DesktopNotification[] {
    const out: DesktopNotification[] = [];
    if (event.type === "job-finished") {
      const job = event.job;
      if (settings.notifyJobs && job.result !== "running" && job.result !== "lost") {
        const title = jobTitle(job.identity, job.id);
        const why = job.stoppedBy ?? job.problem;
        out.push({ kind: "jobs", title: `Job ${RESULT_WORDS[job.result]}`, body: why ? `${title}: ${why}` : title });
      }
    } else if (event.type === "agents") {
      // The set changed: agents that left are forgotten; new ones are seen from now on.
      const ids = new Set(event.agents.map((a) => a.id));
      for (const id of [...this.last.keys()]) if (!ids.has(id)) this.last.delete(id);
      for (const a of event.agents) if (!this.last.has(a.id)) this.last.set(a.id, a);
    } else if (event.type === "agent") {
      const now = event.agent;
      const before = this.last.get(now.id) ?? null;
      this.last.set(now.id, now);
      // With several agents, each notification names the agent it is about.
      const who = this.last.size > 1 && now.name ? `${now.name}: ` : "";
      if (before !== null) {
        const failing = (a: AgentSnapshot) => a.error !== null && (a.error.scope === "register" || a.error.scope === "sync");
        if (settings.notifyConnection && failing(now) && !failing(before)) {
          out.push({ kind: "connection", title: "The agent cannot connect", body: `${who}${now.error?.message ?? ""}` });
        }
        if (settings.notifyPauses) {
          const was = before.hold?.kind ?? null;
          const is = now.hold?.kind ?? null;
          if (is !== null && was !== is) out.push({ kind: "pauses", title: "Not taking jobs", body: `${who}${is === "disk" || is === "gpu" ? (now.hold?.reason ?? "") : now.lending.line}` });
          else if (is === null && was !== null && !isIdle(now)) out.push({ kind: "pauses", title: "Lending again", body: `${who}The agent takes jobs again.` });
        }
      }
    }
    return out;
  }
}

function isIdle(agent: AgentSnapshot): boolean {
  return agent.phase === "idle" || agent.phase === "stopped";
}
