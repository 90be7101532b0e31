// The bridge inside Electron: the preload's one call channel and one event channel. The host lives
// in the same app, so the connection never drops.
import type { HostEventListener, PreloadApi } from "../../agent-core/host/contract.js";
import { HostCallError, hostApiOver, resultOf, type ConnectionState, type RendererBridge } from "./types.js";

const CONNECTED: ConnectionState = { status: "connected" };

export function createElectronBridge(preload: PreloadApi): RendererBridge {
  let nextId = 1;
  const api = hostApiOver(async (method, params) => {
    const id = nextId++;
    const response = await preload.call({ id, method, params });
    if (response.id !== id) throw new HostCallError("internal", `${method}: the answer was for another request`);
    return resultOf(response);
  });
  return {
    kind: "electron",
    api,
    subscribe: (listener: HostEventListener) => preload.onEvent(listener),
    connection: () => CONNECTED,
    onConnection: () => () => {},
  };
}
