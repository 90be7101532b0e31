// What the lending policy reads from the machine: input idle time, battery, the owner's own CPU
// load. Each reader answers null where the machine cannot tell (a headless box has no input idle
// time; a desktop has no battery), and the policy says so rather than guessing. The desktop app
// passes Electron's powerMonitor readings instead (electron/main.ts); the console uses these.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LendingPolicy, PolicySignals } from "./engine.js";

export interface LendingSignalSource {
  /** Seconds since the last keyboard or mouse input; null: unavailable here. */
  idleSeconds(): Promise<number | null>;
  /** On battery power now; null: no battery, or unknown. */
  onBattery(): Promise<boolean | null>;
  /** CPU use of processes outside this app and its jobs, in % of the whole machine; null: unknown. */
  ownerCpuPercent(): Promise<number | null>;
}

/**
 * Linux: a battery discharging with no mains supply online (`/sys/class/power_supply/*`: `type`
 * Mains/Battery, `online`, `status`). null when there is no battery.
 */
export async function linuxOnBattery(root = "/sys/class/power_supply"): Promise<boolean | null> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return null;
  }
  let battery = false;
  let discharging = false;
  let mainsOnline = false;
  for (const name of names) {
    const read = (file: string) => readFile(join(root, name, file), "utf8").then((t) => t.trim()).catch(() => "");
    const type = await read("type");
    if (type === "Mains" || type === "USB") {
      if ((await read("online")) === "1") mainsOnline = true;
    } else if (type === "Battery") {
      battery = true;
      if ((await read("status")) === "Discharging") discharging = true;
    }
  }
  if (!battery) return null;
  return discharging && !mainsOnline;
}

/**
 * The session's idle hint from systemd-logind (`loginctl show-session`), for a Linux desktop where
 * the window system gives no idle time (Wayland): seconds since the session went idle, 0 while it
 * is in use; null when there is no logind session to ask.
 */
export function loginctlIdleSeconds(env: NodeJS.ProcessEnv = process.env, now: () => number = Date.now): Promise<number | null> {
  const session = env.XDG_SESSION_ID;
  if (!session) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile("loginctl", ["show-session", session, "-p", "IdleHint", "-p", "IdleSinceHint"], { timeout: 2000 }, (error, stdout) => {
      if (error) return resolve(null);
      const values = Object.fromEntries(
        String(stdout)
          .split("\n")
          .map((l) => l.split("="))
          .filter((p) => p.length === 2),
      ) as Record<string, string>;
      if (values.IdleHint === "no") return resolve(0);
      const since = Number(values.IdleSinceHint ?? "");
      if (values.IdleHint !== "yes" || !Number.isFinite(since) || since <= 0) return resolve(null);
      resolve(Math.max(0, (now() - since / 1000) / 1000));
    });
  });
}

/** Total and idle jiffies of the machine (`/proc/stat`'s first line). */
async function cpuTotals(): Promise<{ total: number; idle: number } | null> {
  try {
    const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    // idle + iowait
    return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
  } catch {
    return null;
  }
}

/** utime + stime + the reaped children's of `root` and every process below it. */
async function treeJiffies(root: number): Promise<number> {
  const stats = new Map<number, { ppid: number; jiffies: number }>();
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "latin1").catch(() => "");
    const close = stat.lastIndexOf(")");
    if (close < 0) continue;
    const f = stat.slice(close + 2).split(" ");
    // After the comm: state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based from pid.
    stats.set(Number(name), { ppid: Number(f[1]), jiffies: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === root) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  let sum = 0;
  for (const [pid, s] of stats) if (inTree(pid)) sum += s.jiffies;
  return sum;
}

/**
 * The owner's own CPU load on Linux: the machine's busy time minus this process tree's (the app
 * and every job it runs), between two calls. The first call only takes the baseline (null).
 */
export function linuxOwnerCpu(root = process.pid): () => Promise<number | null> {
  let last: { total: number; idle: number; ours: number } | null = null;
  return async () => {
    const totals = await cpuTotals();
    if (totals === null) return null;
    const ours = await treeJiffies(root);
    const previous = last;
    last = { ...totals, ours };
    if (previous === null || totals.total <= previous.total) return null;
    const busy = totals.total - totals.idle - (previous.total - previous.idle);
    const own = Math.max(0, busy - Math.max(0, ours - previous.ours));
    return Math.min(100, (own / (totals.total - previous.total)) * 100);
  };
}

export type PolicyReadings = Pick<PolicySignals, "idleSeconds" | "onBattery" | "ownerCpuPercent">;

/** The readings `policy` needs, each asked only when a setting uses it; a reading that fails is null. */
export async function readPolicySignals(policy: Pick<LendingPolicy, "idleMinutes" | "runOnBattery" | "ownerCpuPercent">, source: LendingSignalSource): Promise<PolicyReadings> {
  const [idleSeconds, onBattery, ownerCpuPercent] = await Promise.all([
    policy.idleMinutes > 0 ? source.idleSeconds().catch(() => null) : null,
    policy.runOnBattery ? null : source.onBattery().catch(() => null),
    policy.ownerCpuPercent > 0 ? source.ownerCpuPercent().catch(() => null) : null,
  ]);
  return { idleSeconds, onBattery, ownerCpuPercent };
}

/** The console's (and the default) readings: logind's idle hint, sysfs battery, /proc CPU. */
export function defaultSignalSource(env: NodeJS.ProcessEnv = process.env): LendingSignalSource {
  const cpu = linuxOwnerCpu();
  if (process.platform !== "linux") {
    return { idleSeconds: async () => null, onBattery: async () => null, ownerCpuPercent: async () => null };
  }
  return { idleSeconds: () => loginctlIdleSeconds(env), onBattery: () => linuxOnBattery(), ownerCpuPercent: cpu };
}
