// Picks the bridge: Electron's preload when the page runs in the app, else the web console's socket.
import { CONSOLE_WS_PATH, PRELOAD_GLOBAL, type PreloadApi } from "../../agent-core/host/contract.js";
import { createElectronBridge } from "./electron.js";
import type { RendererBridge } from "./types.js";
import { createConsoleBridge } from "./websocket.js";

function isPreloadApi(value: unknown): value is PreloadApi {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { call?: unknown }).call === "function" &&
    typeof (value as { onEvent?: unknown }).onEvent === "function"
  );
}

export function createBridge(): RendererBridge {
  const preload = (window as unknown as Record<string, unknown>)[PRELOAD_GLOBAL];
  if (isPreloadApi(preload)) return createElectronBridge(preload);
  const secure = location.protocol === "https:";
  return createConsoleBridge({
    url: `${secure ? "wss" : "ws"}://${location.host}${CONSOLE_WS_PATH}`,
    authCheckUrl: `${location.origin}${CONSOLE_WS_PATH}`,
  });
}

export type { ConnectionState, RendererBridge } from "./types.js";
export { HostCallError } from "./types.js";
