// The web console as a user starts it: `semaphore-agent console --port 0` in its own process, with a
// fresh data dir, HOME and TMPDIR. Stopped by processes.ts's `stopAll()` like every other process.
import WebSocket from "ws";
import { FAST_TIMINGS, runCli, tempDir, type Proc } from "./processes.js";

export interface ConsoleProcess {
  proc: Proc;
  /** The URL printed on start, with the token: what the owner opens. */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  token: string;
  dataDir: string;
  home: string;
  tmp: string;
}

/** `port`: a fixed one (a console started again on the port of one that stopped); a free one by default. */
export async function startConsole(options: { dataDir?: string; home?: string; tmp?: string; env?: NodeJS.ProcessEnv; port?: number } = {}): Promise<ConsoleProcess> {
  const dataDir = options.dataDir ?? tempDir("sa-console-data-");
  const home = options.home ?? tempDir("sa-console-home-");
  const tmp = options.tmp ?? tempDir("sa-console-tmp-");
  const proc = runCli(["console", "--port", String(options.port ?? 0), "--data-dir", dataDir], {
    HOME: home,
    TMPDIR: tmp,
    SEMAPHORE_AGENT_TEST_TIMINGS: JSON.stringify(FAST_TIMINGS),
    ...options.env,
  }, home);
  const m = await proc.waitForOutput(/Web console: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=(\S+)/, 20_000, "stdout");
  const origin = m[1] as string;
  return { proc, url: `${origin}/?token=${m[3]}`, origin, port: Number(m[2]), token: m[3] as string, dataDir, home, tmp };
}

/** A Node client of the console's WebSocket, logged in like a tab (cookie + Origin). */
export class ConsoleRpc {
  private nextId = 1;
  private readonly pending = new Map<number, (message: { ok: boolean; result?: unknown; error?: { code: string; message: string } }) => void>();
  readonly events: Array<{ type: string; [key: string]: unknown }> = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const message = JSON.parse(String(data)) as { kind: string; id?: number; event?: { type: string } };
      if (message.kind === "response" && typeof message.id === "number") this.pending.get(message.id)?.(message as never);
      else if (message.kind === "event" && message.event) this.events.push(message.event);
    });
  }

  static open(con: ConsoleProcess): Promise<ConsoleRpc> {
    const ws = new WebSocket(`ws://127.0.0.1:${con.port}/ws`, { headers: { Origin: con.origin, Cookie: `sad_console_${con.port}=${con.token}` } });
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new ConsoleRpc(ws)));
      ws.once("error", reject);
    });
  }

  /** Saves the console's settings with `patch` over the current ones (the UI's path: tests/e2e/console.test.ts); the answer. */
  async saveSettingsWith(patch: Record<string, unknown>): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
    const settings = (await this.call("getSettings")).result as Record<string, unknown>;
    const { tokenSet: _t, tokenStorage: _s, configured: _c, ...input } = settings;
    return await this.call("saveSettings", { settings: { ...input, ...patch } });
  }

  call(method: string, params: unknown = {}): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * `count` calls written in one socket write, as a tab's burst reaches a busy console: the server
   * then reads them all in one go and handles every frame before any answer settles.
   */
  burst(count: number, method: string, params: unknown): Promise<Array<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }>> {
    const socket = (this.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    socket.cork();
    try {
      return Promise.all(Array.from({ length: count }, () => this.call(method, params)));
    } finally {
      socket.uncork();
    }
  }

  close(): void {
    this.ws.close();
  }
}
