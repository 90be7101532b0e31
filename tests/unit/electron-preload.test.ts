// The preload as shipped: bundled by electron/vite.preload.config.ts (into a temporary folder here)
// and run the way a sandboxed preload runs — CommonJS whose only `require` is Electron's — against a
// recording stand-in for Electron's contextBridge and ipcRenderer. The page must get exactly
// PreloadApi on window.semaphoreAgent: call -> invoke on the call channel, onEvent -> the event
// channel with an unsubscribe, and never ipcRenderer or an IpcRendererEvent.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runInNewContext } from "node:vm";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, PRELOAD_GLOBAL } from "../../agent-core/host/contract.js";
import { stopAll, tempDir } from "../helpers/processes.js";

const ROOT = resolve(import.meta.dirname, "../..");

type Listener = (event: unknown, ...args: unknown[]) => void;

interface Recorded {
  exposed: Map<string, unknown>;
  invoked: Array<{ channel: string; args: unknown[] }>;
  listeners: Map<string, Listener[]>;
  required: string[];
}

function runPreload(code: string): Recorded {
  const recorded: Recorded = { exposed: new Map(), invoked: [], listeners: new Map(), required: [] };
  const ipcRenderer = {
    invoke(channel: string, ...args: unknown[]) {
      recorded.invoked.push({ channel, args });
      return Promise.resolve({ kind: "response", id: (args[0] as { id: number }).id, ok: true, result: "pong" });
    },
    on(channel: string, listener: Listener) {
      recorded.listeners.set(channel, [...(recorded.listeners.get(channel) ?? []), listener]);
      return ipcRenderer;
    },
    removeListener(channel: string, listener: Listener) {
      recorded.listeners.set(channel, (recorded.listeners.get(channel) ?? []).filter((l) => l !== listener));
      return ipcRenderer;
    },
    send() {
      throw new Error("the preload must not use ipcRenderer.send");
    },
  };
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => recorded.exposed.set(key, api) },
    ipcRenderer,
  };
  const module = { exports: {} };
  runInNewContext(code, {
    require: (id: string) => {
      recorded.required.push(id);
      if (id === "electron") return electron;
      throw new Error(`a sandboxed preload cannot require ${id}`);
    },
    module,
    exports: module.exports,
  });
  return recorded;
}

let code = "";

beforeAll(async () => {
  const outDir = tempDir("sa-preload-");
  await build({ configFile: join(ROOT, "electron/vite.preload.config.ts"), logLevel: "silent", build: { outDir } });
  code = readFileSync(join(outDir, "preload.cjs"), "utf8");
}, 60_000);

afterAll(stopAll);

describe("preload bundle", () => {
  it("is one small CommonJS file that requires only electron (zod and the schemas stay out)", () => {
    expect(code.length).toBeLessThan(4096);
    expect(code).not.toMatch(/\bimport\b.*from/);
    expect(code).not.toContain("zod");
    expect(runPreload(code).required).toEqual(["electron"]);
  });

  it("exposes exactly call and onEvent under the contract's global", () => {
    const { exposed } = runPreload(code);
    expect([...exposed.keys()]).toEqual([PRELOAD_GLOBAL]);
    const api = exposed.get(PRELOAD_GLOBAL) as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(["call", "onEvent"]);
    expect(typeof api.call).toBe("function");
    expect(typeof api.onEvent).toBe("function");
  });

  it("call() invokes the call channel with the request as it is and returns the answer", async () => {
    const recorded = runPreload(code);
    const api = recorded.exposed.get(PRELOAD_GLOBAL) as { call(r: unknown): Promise<unknown> };
    const request = { id: 7, method: "getSnapshot", params: {} };
    await expect(api.call(request)).resolves.toEqual({ kind: "response", id: 7, ok: true, result: "pong" });
    expect(recorded.invoked).toEqual([{ channel: IPC_CALL_CHANNEL, args: [request] }]);
  });

  it("onEvent() hands the page the host event only, and its unsubscribe removes exactly that listener", () => {
    const recorded = runPreload(code);
    const api = recorded.exposed.get(PRELOAD_GLOBAL) as { onEvent(l: (...args: unknown[]) => void): () => void };
    const seenA: unknown[][] = [];
    const seenB: unknown[][] = [];
    const offA = api.onEvent((...args) => seenA.push(args));
    api.onEvent((...args) => seenB.push(args));
    const listeners = recorded.listeners.get(IPC_EVENT_CHANNEL) ?? [];
    expect(listeners).toHaveLength(2);
    const ipcEvent = { sender: { send() {} }, senderId: 0 };
    const hostEvent = { type: "activity", at: 1, level: "info", message: "hi" };
    for (const listener of listeners) listener(ipcEvent, hostEvent);
    expect(seenA).toEqual([[hostEvent]]);
    expect(seenB).toEqual([[hostEvent]]);

    offA();
    expect(recorded.listeners.get(IPC_EVENT_CHANNEL)).toHaveLength(1);
    expect([...recorded.listeners.keys()]).toEqual([IPC_EVENT_CHANNEL]);
    expect(() => api.onEvent("not a function" as never)).toThrow(/needs a function/);
  });
});
