import { describe, expect, it } from "vitest";
import type { HostEvent, HostEventListener, PreloadApi, RequestMessage, ResponseMessage } from "../../agent-core/host/contract.js";
import { createElectronBridge } from "../../renderer/bridge/electron.js";

/** The preload as the renderer sees it: one call channel, one event channel. */
function fakePreload(answer: (request: RequestMessage) => ResponseMessage) {
  const requests: RequestMessage[] = [];
  const listeners = new Set<HostEventListener>();
  const preload: PreloadApi = {
    call: async (request) => {
      requests.push(request);
      return answer(request);
    },
    onEvent: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return { preload, requests, emit: (e: HostEvent) => listeners.forEach((l) => l(e)) };
}

describe("Electron bridge", () => {
  it("numbers requests, returns results and rejects host errors with their code", async () => {
    const { preload, requests } = fakePreload((r) =>
      r.method === "getJob"
        ? { kind: "response", id: r.id, ok: false, error: { code: "not-found", message: "getJob: no job x" } }
        : { kind: "response", id: r.id, ok: true, result: { yaml: "endpoint: x" } },
    );
    const bridge = createElectronBridge(preload);
    expect(bridge.kind).toBe("electron");
    expect(bridge.connection()).toEqual({ status: "connected" });
    await expect(bridge.api.exportConfig({})).resolves.toEqual({ yaml: "endpoint: x" });
    await expect(bridge.api.getJob({ jobId: "x" })).rejects.toMatchObject({ code: "not-found", message: "getJob: no job x" });
    expect(requests).toEqual([
      { id: 1, method: "exportConfig", params: {} },
      { id: 2, method: "getJob", params: { jobId: "x" } },
    ]);
  });

  it("refuses an answer to another request", async () => {
    const { preload } = fakePreload((r) => ({ kind: "response", id: r.id + 1, ok: true, result: null }));
    await expect(createElectronBridge(preload).api.getSettings({})).rejects.toMatchObject({ code: "internal" });
  });

  it("passes the preload's events on until unsubscribed", () => {
    const { preload, emit } = fakePreload(() => {
      throw new Error("no calls here");
    });
    const bridge = createElectronBridge(preload);
    const seen: HostEvent[] = [];
    const off = bridge.subscribe((e) => seen.push(e));
    const event: HostEvent = { type: "activity", at: 1, level: "warn", message: "slow sync" };
    emit(event);
    off();
    emit(event);
    expect(seen).toEqual([event]);
  });
});
