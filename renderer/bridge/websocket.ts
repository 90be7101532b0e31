// The bridge of the web console: one WebSocket to the console server, which authenticates it with the
// cookie it set when the page was first opened with ?token=. Requests are RequestMessage JSON; the
// server answers with ServerMessage JSON. When the socket drops, pending calls fail and it reconnects
// with a bounded back-off until the server refuses the credentials (close 4401/4403, or 401/403 on the
// upgrade, which a browser cannot see, so it is asked again over plain HTTP).
import type { HostEvent, HostEventListener, HostMethod, RequestMessage } from "../../agent-core/host/contract.js";
import { HostCallError, hostApiOver, type ConnectionState, type RendererBridge } from "./types.js";

/** The part of a WebSocket the bridge uses (a real one in the page, a fake in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const SOCKET_OPEN = 1;
export const REFUSED_CLOSE_CODES: readonly number[] = [4401, 4403];

export interface ConsoleBridgeOptions {
  url: string;
  /** Asked with a plain GET when the socket closes before it opened: 401/403 means refused, not down. */
  authCheckUrl: string;
  minDelayMs: number;
  maxDelayMs: number;
  /** A call without an answer fails after this long. */
  callTimeoutMs: number;
  createSocket: (url: string) => SocketLike;
  /** The HTTP status of a GET, or null when there was no answer. */
  httpStatus: (url: string) => Promise<number | null>;
  now: () => number;
}

async function fetchStatus(url: string): Promise<number | null> {
  try {
    const response = await fetch(url, { credentials: "same-origin", signal: AbortSignal.timeout(3000) });
    return response.status;
  } catch {
    return null;
  }
}

interface PendingCall {
  method: HostMethod;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface ConsoleBridge extends RendererBridge {
  /** Closes the socket for good (tests, page unload). */
  close(): void;
}

export function createConsoleBridge(partial: Partial<ConsoleBridgeOptions> & { url: string; authCheckUrl: string }): ConsoleBridge {
  const options: ConsoleBridgeOptions = {
    minDelayMs: 500,
    maxDelayMs: 5000,
    callTimeoutMs: 60_000,
    createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    httpStatus: fetchStatus,
    now: () => Date.now(),
    ...partial,
  };
  let socket: SocketLike | null = null;
  let state: ConnectionState = { status: "connecting" };
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closedForGood = false;
  let nextId = 1;
  const pending = new Map<number, PendingCall>();
  const eventListeners = new Set<HostEventListener>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();

  function setState(next: ConnectionState): void {
    state = next;
    for (const listener of [...connectionListeners]) listener(next);
  }

  function connect(): void {
    retryTimer = null;
    if (closedForGood) return;
    let opened = false;
    let ws: SocketLike;
    try {
      ws = options.createSocket(options.url);
    } catch {
      scheduleRetry();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket !== ws) return;
      opened = true;
      failures = 0;
      setState({ status: "connected" });
    };
    ws.onmessage = (event) => {
      if (socket === ws) receive(event.data);
    };
    ws.onerror = () => {
      // A close event follows; it decides what happens next.
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      failPending("Connection to the agent host lost");
      void afterClose(event.code, opened);
    };
  }

  async function afterClose(code: number, opened: boolean): Promise<void> {
    if (closedForGood) return;
    if (REFUSED_CLOSE_CODES.includes(code)) return refuse();
    if (!opened) {
      const status = await options.httpStatus(options.authCheckUrl);
      if (closedForGood) return;
      if (status === 401 || status === 403) return refuse();
    }
    scheduleRetry();
  }

  function refuse(): void {
    closedForGood = true;
    setState({ status: "unauthorised" });
  }

  function scheduleRetry(): void {
    if (closedForGood) return;
    const delay = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(failures, 16));
    failures++;
    setState({ status: "reconnecting", attempt: failures, retryAt: options.now() + delay });
    retryTimer = setTimeout(connect, delay);
  }

  function failPending(message: string): void {
    const calls = [...pending.values()];
    pending.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      call.reject(new HostCallError("disconnected", `${call.method}: ${message}`));
    }
  }

  function receive(data: unknown): void {
    if (typeof data !== "string") return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(message)) return;
    if (message.kind === "response" && typeof message.id === "number") {
      const call = pending.get(message.id);
      if (call === undefined) return;
      pending.delete(message.id);
      clearTimeout(call.timer);
      if (message.ok === true) {
        call.resolve(message.result);
      } else {
        const error = isObject(message.error) ? message.error : {};
        const code = typeof error.code === "string" ? error.code : "internal";
        const text = typeof error.message === "string" ? error.message : "The host reported an error";
        call.reject(new HostCallError(code as HostCallError["code"], text));
      }
    } else if (message.kind === "event" && isObject(message.event) && typeof message.event.type === "string") {
      const event = message.event as unknown as HostEvent;
      for (const listener of [...eventListeners]) listener(event);
    }
  }

  function send(method: HostMethod, params: unknown): Promise<unknown> {
    const ws = socket;
    if (ws === null || ws.readyState !== SOCKET_OPEN) {
      return Promise.reject(new HostCallError("disconnected", `${method}: not connected to the agent host`));
    }
    const id = nextId++;
    const request: RequestMessage = { id, method, params };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (pending.delete(id)) reject(new HostCallError("timeout", `${method}: no answer from the agent host`));
      }, options.callTimeoutMs);
      pending.set(id, { method, resolve, reject, timer });
      try {
        ws.send(JSON.stringify(request));
      } catch (error) {
        pending.delete(id);
        clearTimeout(timer);
        reject(new HostCallError("disconnected", `${method}: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
  }

  connect();

  return {
    kind: "console",
    api: hostApiOver(send),
    subscribe(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    connection: () => state,
    onConnection(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    close() {
      closedForGood = true;
      if (retryTimer !== null) clearTimeout(retryTimer);
      const ws = socket;
      socket = null;
      failPending("The page closed the connection");
      ws?.close(1000, "closed");
    },
  };
}
