// Helpers for the sandbox and crash clean-up integration tests: an agent with an owner HOME (and
// TMPDIR) of the test's choosing — outside /tmp, so that hiding the HOME itself is tested and not
// just the private /tmp — folders under /var/tmp removed after the test, and finding the `sleep N`
// processes a job started by their unique argument.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isRunning, waitUntil } from "./jobs.js";
import { startAgent, withToolbox, type AgentProcess, type AgentProcessOptions, type HubProcess } from "./processes.js";

const varDirs = new Set<string>();

/** A fresh folder under /var/tmp (not /tmp: the strict sandbox gives jobs a /tmp of their own). */
export function varTempDir(prefix = "sa-var-"): string {
  const dir = mkdtempSync(join("/var/tmp", prefix));
  varDirs.add(dir);
  return dir;
}

/** Removes the folders of varTempDir (call after stopAll, when no agent uses them any more). */
export function removeVarTempDirs(): void {
  for (const dir of varDirs) rmSync(dir, { recursive: true, force: true });
  varDirs.clear();
}

export interface PlacedAgentOptions extends AgentProcessOptions {
  /** The agent's (owner's) HOME; the fixture toolbox is put in it when it has none. */
  home: string;
  /** The agent's TMPDIR; default a fresh one under /var/tmp. */
  tmp?: string;
}

/**
 * startAgent with HOME and TMPDIR of the caller's choosing (options.env overrides startAgent's own),
 * `agent.home` and `agent.tmp` set to them. Two agents started with the same folders are the same
 * owner's agent run twice (the crash journal lives in that HOME).
 */
export function startAgentAt(hub: HubProcess | null, options: PlacedAgentOptions): AgentProcess {
  const { home, tmp = varTempDir("sa-tmp-"), env, ...rest } = options;
  if (!existsSync(join(home, ".toolbox"))) withToolbox(home);
  const agent = startAgent(hub, { ...rest, env: { ...env, HOME: home, TMPDIR: tmp } });
  agent.home = home;
  agent.tmp = tmp;
  // Where processes.ts tells the agent's own HOME from the jobs' HOME, both are this one.
  (agent as { ownerHome?: string }).ownerHome = home;
  return agent;
}

/** A base for `sleep N` arguments no other test file (or earlier run) uses at the same time. */
export function uniqueSleepBase(): number {
  // 7 digits, a multiple of 100: base + 0..99 never collides with another base.
  return 1_000_000 + Math.floor(Math.random() * 89_000) * 100;
}

/** Live (not zombie) processes whose command line is exactly `sleep <n>` for one of `numbers`: n -> pids. */
export function sleepers(numbers: readonly number[]): Map<number, number[]> {
  const wanted = new Map(numbers.map((n) => [`sleep\0${n}\0`, n]));
  const found = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "latin1");
      const n = wanted.get(cmdline) ?? wanted.get(cmdline.replace(/^\/\S*?\/sleep\0/, "sleep\0"));
      if (n === undefined) continue;
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || state === "X") continue;
      const list = found.get(n) ?? [];
      list.push(Number(name));
      found.set(n, list);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

/** Waits until a `sleep n` runs on the host for every one of `numbers`; returns their pids. */
export async function waitForSleepers(numbers: readonly number[], what: string, timeoutMs = 20_000): Promise<number[]> {
  const found = await waitUntil(() => {
    const m = sleepers(numbers);
    return m.size === numbers.length ? m : null;
  }, timeoutMs, what);
  return [...found.values()].flat();
}

/** Whether the pid still runs (not a zombie). */
export const stillRunning = isRunning;

/** Entries of `dir` whose names match `pattern`. */
export function entriesMatching(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir).filter((n) => pattern.test(n));
  } catch {
    return [];
  }
}
