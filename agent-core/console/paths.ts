// Where the web console finds its files and keeps its data.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const DATA_DIR_ENV = "SEMAPHORE_AGENT_DESKTOP_DATA_DIR";
/** Overrides the built renderer's folder (development and tests). */
export const RENDERER_DIR_ENV = "SEMAPHORE_AGENT_DESKTOP_RENDERER_DIR";
/** The data folder's name, for the console and the desktop app alike. */
export const APP_DIR_NAME = "semaphore-agent-desktop";

/** `$SEMAPHORE_AGENT_DESKTOP_DATA_DIR`, else `$XDG_CONFIG_HOME/semaphore-agent-desktop`, else `~/.config/semaphore-agent-desktop`. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[DATA_DIR_ENV];
  if (explicit) return resolve(explicit);
  const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
  return join(config, APP_DIR_NAME);
}

/** The checkout's (or installed package's) root: the nearest folder above this module with our package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, "utf8")) as { name?: string }).name === APP_DIR_NAME) return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the semaphore-agent-desktop package root");
    dir = parent;
  }
}

export function defaultRendererDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[RENDERER_DIR_ENV];
  if (explicit) return resolve(explicit);
  return join(packageRoot(), "dist", "renderer");
}
