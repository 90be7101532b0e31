// The private job home: the job's HOME and starting folder, owner-only (0700), with the machine's
// toolbox at `.toolbox` and, by default, wiped after every job except `.toolbox` and the owner's
// keep-list (caches worth keeping). Semaphore's jobs expect a fresh machine; the owner's own HOME
// is never touched by any of this.
import { lstat, mkdir, chmod, readdir, readlink, rm, rmdir, symlink } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, normalize } from "node:path";

export type WorkspacePolicy = "clean" | "keep";

/** `.toolbox` is never cleaned: it is the machine's toolbox, shown in every job home. */
export const TOOLBOX_ENTRY = ".toolbox";

/**
 * Where `start` and `run` put a private job home of their own (under `strict`, when `job-home` is
 * not set): `$XDG_DATA_HOME/semaphore-agent/job-homes/<agent name>` (default
 * `~/.local/share/...`); an agent without a configured name shares `default`.
 */
export function defaultPrivateJobHome(env: NodeJS.ProcessEnv, agentName: string): string {
  const data = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(env.HOME || homedir(), ".local", "share");
  const safe = agentName.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "default";
  return join(data, "semaphore-agent", "job-homes", safe);
}

/** Why a keep-list entry is unusable, or null: a relative path inside the job home, no `..`. */
export function keepEntryProblem(entry: string): string | null {
  if (entry.trim() === "") return "is empty";
  if (isAbsolute(entry) || entry.startsWith("~")) return `must be relative to the job home, e.g. .cache/pip (got ${JSON.stringify(entry)})`;
  const parts = normalize(entry).split("/");
  if (parts.includes("..")) return `must stay inside the job home: no '..' (got ${JSON.stringify(entry)})`;
  if (normalize(entry) === "." ) return "must name a folder or file inside the job home, not the job home itself";
  return null;
}

/** The keep-list as normalised relative paths ("a/b"), without trailing slashes. */
function normaliseKeep(keep: readonly string[]): string[] {
  return keep.filter((k) => keepEntryProblem(k) === null).map((k) => normalize(k).replace(/\/+$/, ""));
}

/**
 * Creates the job home (0700, parents 0700 where they are created) and puts the toolbox in place:
 * under `none` a symlink `.toolbox` -> the machine's toolbox; under `strict` an empty folder that the
 * sandbox mounts the toolbox on (read-only). A real `.toolbox` folder of its own (the job home is the
 * owner's HOME, or a toolbox was installed into it) is left as it is.
 */
export async function prepareJobHome(home: string, toolbox: string | null, level: "none" | "strict"): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  await chmod(home, 0o700);
  if (toolbox === null || toolbox === join(home, TOOLBOX_ENTRY)) return;
  const entry = join(home, TOOLBOX_ENTRY);
  const current = await lstat(entry).catch(() => null);
  if (level === "none") {
    if (current?.isSymbolicLink() && (await readlink(entry).catch(() => "")) === toolbox) return;
    if (current?.isSymbolicLink()) await rm(entry, { force: true });
    else if (current?.isDirectory()) {
      if (!(await isEmptyDir(entry))) return;
      await rmdir(entry);
    } else if (current) return;
    await symlink(toolbox, entry);
    return;
  }
  if (current?.isDirectory()) return;
  if (current?.isSymbolicLink()) await rm(entry, { force: true });
  else if (current) return;
  await mkdir(entry, { mode: 0o700 });
}

async function isEmptyDir(path: string): Promise<boolean> {
  return (await readdir(path).catch(() => ["?"])).length === 0;
}

/**
 * Removes everything in `home` except `.toolbox` and the keep-list (relative paths: `.cache/pip`
 * keeps that folder and removes the rest of `.cache`). Symlinks are removed, never followed.
 * Returns the number of top-level entries removed.
 */
export async function cleanJobHome(home: string, keep: readonly string[]): Promise<number> {
  const kept = [TOOLBOX_ENTRY, ...normaliseKeep(keep)];
  return await cleanDir(home, "", kept);
}

async function cleanDir(dir: string, rel: string, kept: readonly string[]): Promise<number> {
  let removed = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (kept.includes(path)) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory() && kept.some((k) => k.startsWith(`${path}/`))) {
      removed += await cleanDir(full, path, kept);
      continue;
    }
    await rm(full, { recursive: true, force: true, maxRetries: 2 });
    removed++;
  }
  return removed;
}
