// The web console's bridge against a stand-in WebSocket: the wire format, failing pending calls on a
// drop, the bounded back-off, and giving up when the server refuses the credentials.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HostEvent, RequestMessage } from "../../agent-core/host/contract.js";
import type { ConnectionState } from "../../renderer/bridge/types.js";
import { createConsoleBridge, type ConsoleBridge, type SocketLike } from "../../renderer/bridge/websocket.js";

class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: RequestMessage[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as RequestMessage);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: unknown): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
}

let sockets: FakeSocket[];
let statuses: (number | null)[];
let states: ConnectionState["status"][];
let bridge: ConsoleBridge;

function start(): ConsoleBridge {
  bridge = createConsoleBridge({
    url: "ws://127.0.0.1:8080/ws",
    authCheckUrl: "http://127.0.0.1:8080/ws",
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    httpStatus: () => Promise.resolve(statuses.shift() ?? null),
    now: () => Date.now(),
  });
  bridge.onConnection((s) => states.push(s.status));
  return bridge;
}

const last = () => sockets[sockets.length - 1]!;

beforeEach(() => {
  vi.useFakeTimers();
  sockets = [];
  statuses = [];
  states = [];
});

afterEach(() => {
  bridge?.close();
  vi.useRealTimers();
});

describe("web console bridge", () => {
  it("sends requests with increasing ids and resolves or rejects them from the responses", async () => {
    start();
    expect(last().url).toBe("ws://127.0.0.1:8080/ws");
    last().open();
    expect(bridge.connection()).toEqual({ status: "connected" });
    const snapshot = bridge.api.getSnapshot({});
    const read = bridge.api.readJobLog({ jobId: "j", from: 0 });
    expect(last().sent).toEqual([
      { id: 1, method: "getSnapshot", params: {} },
      { id: 2, method: "readJobLog", params: { jobId: "j", from: 0 } },
    ]);
    last().receive({ kind: "response", id: 2, ok: false, error: { code: "not-found", message: "readJobLog: no job j" } });
    last().receive({ kind: "response", id: 1, ok: true, result: { version: "1" } });
    await expect(snapshot).resolves.toEqual({ version: "1" });
    await expect(read).rejects.toMatchObject({ code: "not-found", message: "readJobLog: no job j" });
  });

  it("passes events to subscribers and ignores what is not a ServerMessage", () => {
    start();
    last().open();
    const seen: HostEvent[] = [];
    const off = bridge.subscribe((e) => seen.push(e));
    const event: HostEvent = { type: "activity", at: 1, level: "info", message: "Registered" };
    last().receive({ kind: "event", event });
    last().onmessage?.({ data: "not json" });
    last().receive({ kind: "event", event: { no: "type" } });
    last().receive({ kind: "response", id: 99, ok: true, result: null });
    off();
    last().receive({ kind: "event", event });
    expect(seen).toEqual([event]);
  });

  it("fails pending calls when the connection drops, and reconnects with a bounded back-off", async () => {
    start();
    last().open();
    const pending = bridge.api.getSettings({});
    last().drop();
    await expect(pending).rejects.toMatchObject({ code: "disconnected" });
    await expect(bridge.api.getSettings({})).rejects.toMatchObject({ code: "disconnected" });
    const delays: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) {
      const state = bridge.connection();
      expect(state.status).toBe("reconnecting");
      if (state.status === "reconnecting") delays.push(state.retryAt - Date.now());
      const before = sockets.length;
      await vi.advanceTimersByTimeAsync(state.status === "reconnecting" ? state.retryAt - Date.now() : 0);
      expect(sockets.length).toBe(before + 1);
      last().drop(); // the server is still down (never opened: asks over HTTP, gets no answer)
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    await vi.advanceTimersByTimeAsync(5000);
    last().open();
    expect(bridge.connection()).toEqual({ status: "connected" });
    // Back to the shortest wait after a success.
    last().drop();
    await vi.advanceTimersByTimeAsync(0);
    const state = bridge.connection();
    expect(state.status === "reconnecting" && state.retryAt - Date.now()).toBe(500);
  });

  it("stops for good when the server closes with 4401 or 4403", async () => {
    start();
    last().open();
    last().drop(4401);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(bridge.connection()).toEqual({ status: "unauthorised" });
    expect(sockets).toHaveLength(1);
    expect(states).toEqual(["connected", "unauthorised"]);
  });

  it("tells a refused upgrade (HTTP 401/403) from a server that is down", async () => {
    start();
    statuses = [null, 403];
    last().drop(); // never opened, no HTTP answer: down, retry
    await vi.advanceTimersByTimeAsync(0);
    expect(bridge.connection().status).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(500);
    last().drop(); // never opened, HTTP says 403: refused
    await vi.advanceTimersByTimeAsync(60_000);
    expect(bridge.connection()).toEqual({ status: "unauthorised" });
    expect(sockets).toHaveLength(2);
  });

  it("fails a call that gets no answer within its time limit", async () => {
    start();
    last().open();
    const call = bridge.api.getSnapshot({});
    const check = expect(call).rejects.toMatchObject({ code: "timeout" });
    await vi.advanceTimersByTimeAsync(60_000);
    await check;
  });
});
