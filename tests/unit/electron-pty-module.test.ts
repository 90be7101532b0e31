// Which node-pty agent-core loads: the Electron app names its own build (compiled for Electron's
// ABI by `npm start`, see scripts/start.mjs) in SEMAPHORE_AGENT_DESKTOP_NODE_PTY; plain Node uses
// node_modules/node-pty.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { stopAll, tempDir } from "../helpers/processes.js";

const VAR = "SEMAPHORE_AGENT_DESKTOP_NODE_PTY";
const saved = process.env[VAR];

afterEach(() => {
  if (saved === undefined) delete process.env[VAR];
  else process.env[VAR] = saved;
  vi.resetModules();
});
afterAll(stopAll);

async function load() {
  vi.resetModules();
  return await import("../../agent-core/shell/pty-module.js");
}

describe("pty-module", () => {
  it("loads node_modules/node-pty by default", async () => {
    delete process.env[VAR];
    const { nodePty } = await load();
    expect(typeof nodePty.spawn).toBe("function");
  });

  it("loads the copy named by SEMAPHORE_AGENT_DESKTOP_NODE_PTY", async () => {
    const copy = join(tempDir("sa-pty-copy-"), "node_modules", "node-pty");
    mkdirSync(copy, { recursive: true });
    writeFileSync(join(copy, "package.json"), JSON.stringify({ name: "node-pty", main: "lib/index.js" }));
    mkdirSync(join(copy, "lib"));
    writeFileSync(join(copy, "lib", "index.js"), "exports.spawn = 'the Electron build'; exports.where = __dirname;\n");
    process.env[VAR] = copy;
    const { nodePty } = await load();
    expect(nodePty.spawn as unknown).toBe("the Electron build");
  });

  it("refuses a relative path (it would depend on the working directory)", async () => {
    process.env[VAR] = ".cache/electron-native/node_modules/node-pty";
    await expect(load()).rejects.toThrow(/must be an absolute path/);
  });
});
