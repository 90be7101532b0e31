// The web console: the built renderer and one WebSocket bridge to the HostApi, on 127.0.0.1 only,
// for boxes without a display. See auth.ts for who may connect and ws-client.ts for one connection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { realpathSync } from "node:fs";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { CONSOLE_WS_PATH, type HostEvent, type HostHub } from "../host/contract.js";
import { authenticate, isAllowedHostHeader, isAllowedOrigin, newConsoleToken, setCookieHeader } from "./auth.js";
import { lookupStaticFile, SECURITY_HEADERS, sendHtml, sendText } from "./static-files.js";
import { unauthorizedHtml, unauthorizedText } from "./unauthorized-page.js";
import { ConsoleClient, DEFAULT_CONSOLE_LIMITS, type ConsoleLimits } from "./ws-client.js";

/** What the console needs of the host: its events, and one client (owning its terminals) per tab. */
export type ConsoleHost = HostHub;

export interface ConsoleServerOptions {
  host: ConsoleHost;
  /** 0 = a free port. */
  port: number;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** Defaults to 32 random bytes; for tests only. */
  token?: string;
  limits?: Partial<ConsoleLimits>;
  /** Human-readable notes (connections); never gets a token or a message's content. */
  log?: (line: string) => void;
}

export interface ConsoleServer {
  readonly port: number;
  readonly token: string;
  /** The URL to open: it carries the token. */
  readonly url: string;
  close(): Promise<void>;
}

const NOT_BUILT = "The console's UI is not built. Run `npm run build:renderer` (or `npm run build`) and reload.";

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const limits: ConsoleLimits = { ...DEFAULT_CONSOLE_LIMITS, ...options.limits };
  const token = options.token ?? newConsoleToken();
  const log = options.log ?? (() => {});
  // Resolved on first use and kept once found, so a UI built after the console started is served too.
  let rendererRoot: string | null = null;
  const renderer = (): string | null => {
    if (rendererRoot === null) {
      try {
        rendererRoot = realpathSync(options.rendererDir);
      } catch {
        return null;
      }
    }
    return rendererRoot;
  };
  const clients = new Set<ConsoleClient>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxPayloadBytes,
    // Compression costs CPU per message and invites decompression bombs; loopback does not need it.
    perMessageDeflate: false,
    clientTracking: false,
  });
  let port = 0;
  let closing = false;

  const server: Server = createServer((req, res) => {
    handleHttp(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, "Internal error");
      else res.destroy();
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isAllowedHostHeader(req.headers.host, port)) {
      sendText(res, 421, `Misdirected request: this console answers only to http://127.0.0.1:${port}/`);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "Method not allowed", { Allow: "GET, HEAD" });
      return;
    }
    const url = requestUrl(req, port);
    if (url === null) {
      sendText(res, 400, "Bad request target");
      return;
    }
    const auth = authenticate(req, url, port, token);
    if (auth === "missing" || auth === "wrong") {
      // A browser gets a page in the app's colours that says what to do; anything else, the same in words.
      if (wantsHtml(req)) sendHtml(res, 401, unauthorizedHtml(port, auth));
      else sendText(res, 401, unauthorizedText(port, auth));
      return;
    }
    if (auth === "query" && url.pathname === "/") {
      // Trade the token in the address bar (and history) for a cookie this origin alone sends.
      res.writeHead(303, { ...SECURITY_HEADERS, Location: "/", "Set-Cookie": setCookieHeader(port, token), "Cache-Control": "no-store", "Content-Length": 0 });
      res.end();
      return;
    }
    if (url.pathname === CONSOLE_WS_PATH) {
      sendText(res, 426, "Upgrade required", { Upgrade: "websocket", Connection: "Upgrade" });
      return;
    }
    const root = renderer();
    if (root === null) {
      sendText(res, 503, NOT_BUILT);
      return;
    }
    const file = await lookupStaticFile(root, url.pathname);
    if (file.kind === "bad-path") {
      sendText(res, 400, "Bad path");
      return;
    }
    if (file.kind === "not-found") {
      sendText(res, url.pathname === "/" ? 503 : 404, url.pathname === "/" ? NOT_BUILT : "Not found");
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": file.contentType,
      "Content-Length": file.body.length,
      "Cache-Control": file.cacheControl,
    });
    res.end(req.method === "HEAD" ? undefined : file.body);
  }

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    const refusal = upgradeRefusal(req);
    if (refusal !== null) {
      refuseUpgrade(socket, refusal.status, refusal.text);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (closing) {
        ws.close(1001, "console shutting down");
        return;
      }
      const client = new ConsoleClient(ws, (sink) => options.host.connect(sink), limits);
      clients.add(client);
      log(`a browser connected (${clients.size} open)`);
      ws.on("close", () => {
        // Its debug terminals die with it.
        client.dispose();
        clients.delete(client);
        log(`a browser disconnected (${clients.size} open)`);
      });
    });
  });

  function upgradeRefusal(req: IncomingMessage): { status: number; text: string } | null {
    if (closing) return { status: 503, text: "The console is shutting down" };
    if (!isAllowedHostHeader(req.headers.host, port)) return { status: 403, text: "Forbidden host" };
    const url = requestUrl(req, port);
    if (url === null || url.pathname !== CONSOLE_WS_PATH) return { status: 404, text: "Not found" };
    // Browsers always send Origin with a WebSocket handshake; a page of another site cannot fake it.
    if (!isAllowedOrigin(headerValue(req.headers.origin), port)) return { status: 403, text: "Forbidden origin" };
    const auth = authenticate(req, url, port, token);
    if (auth === "missing" || auth === "wrong") return { status: 401, text: "Unauthorized" };
    if (clients.size >= limits.maxClients) return { status: 503, text: `Too many open consoles (at most ${limits.maxClients})` };
    return null;
  }

  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  const unsubscribe = options.host.subscribe((event: HostEvent) => {
    if (clients.size === 0) return;
    let serialized: string;
    try {
      serialized = JSON.stringify({ kind: "event", event });
    } catch {
      return;
    }
    const isJobOutput = event.type === "job-output";
    for (const client of clients) client.sendEvent(serialized, isJobOutput);
  });

  const heartbeat = setInterval(() => {
    for (const client of clients) client.heartbeat();
  }, limits.heartbeatMs);
  heartbeat.unref();

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: options.port, exclusive: true }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    unsubscribe();
    clearInterval(heartbeat);
    throw error;
  }
  const address = server.address();
  port = typeof address === "object" && address !== null ? address.port : options.port;

  let closed: Promise<void> | null = null;
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close() {
      closed ??= (async () => {
        closing = true;
        unsubscribe();
        clearInterval(heartbeat);
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const client of clients) client.close(1001, "console shutting down");
        server.closeIdleConnections();
        // Tabs get a moment to acknowledge the close frame; then the sockets are cut.
        if (clients.size > 0) await new Promise<void>((resolve) => setTimeout(resolve, 200));
        for (const client of clients) client.terminate();
        clients.clear();
        server.closeAllConnections();
        wss.close();
        await serverClosed;
      })();
      return closed;
    },
  };
}

/**
 * The request target as a URL. Only origin-form targets ("/path?query"); the path is kept as sent
 * ("//x" stays a path, it is not read as a host name).
 */
function requestUrl(req: IncomingMessage, port: number): URL | null {
  const target = req.url ?? "";
  if (!target.startsWith("/")) return null;
  try {
    return new URL(`http://127.0.0.1:${port}${target}`);
  } catch {
    return null;
  }
}

/** A browser's navigation asks for HTML (Accept: text/html,...); fetch(), curl and scripts do not. */
function wantsHtml(req: IncomingMessage): boolean {
  const accept = headerValue(req.headers.accept) ?? "";
  return /\btext\/html\b/i.test(accept);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  const reason = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" }[status] ?? "Error";
  const body = `${text}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
