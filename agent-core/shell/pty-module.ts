// Which node-pty the agent loads. Plain Node (CLI, tests) uses node_modules/node-pty; the Electron
// app needs a copy compiled for Electron's ABI (`npm start` builds one into .cache/electron-native/,
// a packaged app rebuilds its own), and names it by absolute path in SEMAPHORE_AGENT_DESKTOP_NODE_PTY
// before agent-core is loaded. The variable never reaches a job (job-env.ts strips the prefix).
import { createRequire } from "node:module";
import { isAbsolute } from "node:path";
import type * as NodePty from "node-pty";

export const NODE_PTY_PATH_ENV = "SEMAPHORE_AGENT_DESKTOP_NODE_PTY";

function loadNodePty(): typeof NodePty {
  const require = createRequire(import.meta.url);
  const override = process.env[NODE_PTY_PATH_ENV];
  if (override) {
    if (!isAbsolute(override)) throw new Error(`${NODE_PTY_PATH_ENV} must be an absolute path (got "${override}")`);
    return require(override) as typeof NodePty;
  }
  return require("node-pty") as typeof NodePty;
}

export const nodePty: typeof NodePty = loadNodePty();
