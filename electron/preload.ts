// Sandboxed preload: the page gets exactly PreloadApi under window.semaphoreAgent — one call
// channel and one event channel — and never ipcRenderer itself. Bundled to CommonJS by vite
// (electron/vite.preload.config.ts) so it can use the contract's constants in a sandbox.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from "electron";
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, PRELOAD_GLOBAL, type HostEvent, type PreloadApi, type RequestMessage, type ResponseMessage } from "../agent-core/host/contract.js";

const api: PreloadApi = {
  call(request: RequestMessage): Promise<ResponseMessage> {
    return ipcRenderer.invoke(IPC_CALL_CHANNEL, request) as Promise<ResponseMessage>;
  },
  onEvent(listener: (event: HostEvent) => void): () => void {
    if (typeof listener !== "function") throw new TypeError("onEvent needs a function");
    // The page's function is called with the event only: the IpcRendererEvent (with its `sender`) stays here.
    const wrapped = (_event: IpcRendererEvent, hostEvent: HostEvent) => listener(hostEvent);
    ipcRenderer.on(IPC_EVENT_CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, api);
