// How the API client's requests travel. Directly: Node's own http/https (keep-alive for 10 s, happy
// eyeballs, redirects followed as Go's client follows them). Behind a proxy: undici's
// EnvHttpProxyAgent (CONNECT tunnels, NO_PROXY), loaded only then. undici for every request cost a
// headless agent about 18 MB more resident memory than Node's http (its llhttp runs as WebAssembly,
// Node's is in the binary; measured with 300 requests each); the idle agent syncs every few seconds
// for days, so the direct path is Node's.
import { createRequire } from "node:module";
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Dispatcher, EnvHttpProxyAgent, interceptors } from "undici";

export interface TransportResponse {
  status: number;
  body: string;
}

export interface Transport {
  send(method: "GET" | "POST", url: string, headers: Record<string, string>, body: string | Buffer | null, signal: AbortSignal): Promise<TransportResponse>;
  /** Ends idle connections and aborts the requests in flight. */
  close(): Promise<void>;
}

export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

const KEEP_ALIVE_MS = 10_000;
const MAX_REDIRECTS = 10;

/** Node's http and https, redirects as Go's http.Client: 301/302/303 become GET without a body; 307/308 keep both. */
export function directTransport(): Transport {
  // autoSelectFamily: `localhost` may resolve to ::1 first while a server listens on IPv4 only.
  const options = { keepAlive: true, timeout: KEEP_ALIVE_MS, autoSelectFamily: true } as const;
  const agents = { "http:": new HttpAgent(options), "https:": new HttpsAgent(options) };
  const inFlight = new Set<ClientRequest>();

  const once = (method: string, url: URL, headers: Record<string, string>, body: string | Buffer | null, signal: AbortSignal): Promise<{ res: IncomingMessage; text: string }> =>
    new Promise((resolve, reject) => {
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
      const all = body === null ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) };
      const req = send(url, { method, headers: all, agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ res, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      inFlight.add(req);
      req.on("close", () => inFlight.delete(req));
      req.on("error", reject);
      req.end(body ?? undefined);
    });

  return {
    async send(method, url, headers, body, signal) {
      let target = new URL(url);
      let m: string = method;
      let b = body;
      let h = { ...headers };
      for (let hops = 0; ; hops++) {
        const { res, text } = await once(m, target, h, b, signal);
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (![301, 302, 303, 307, 308].includes(status) || location === undefined || hops >= MAX_REDIRECTS) return { status, body: text };
        const next = new URL(location, target);
        if (status !== 307 && status !== 308) {
          m = "GET";
          b = null;
          const { "content-type": _type, ...rest } = h;
          h = rest;
        }
        // As Go: credentials go on only to the same host or one of its subdomains.
        if (next.hostname !== target.hostname && !next.hostname.endsWith(`.${target.hostname}`)) {
          const { authorization: _auth, ...rest } = h;
          h = rest;
        }
        target = next;
      }
    },
    async close() {
      for (const req of inFlight) req.destroy();
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}

/** Behind a proxy: undici's EnvHttpProxyAgent with its redirect interceptor (all of undici is loaded, only here). */
export function proxyTransport(proxy: ProxySettings): Transport {
  const undici = createRequire(import.meta.url)("undici") as {
    EnvHttpProxyAgent: typeof EnvHttpProxyAgent;
    interceptors: typeof interceptors;
    request: typeof import("undici").request;
  };
  const dispatcher: Dispatcher = new undici.EnvHttpProxyAgent({ keepAliveTimeout: KEEP_ALIVE_MS, connect: { autoSelectFamily: true }, ...proxy }).compose(
    undici.interceptors.redirect({ maxRedirections: MAX_REDIRECTS }),
  );
  return {
    async send(method, url, headers, body, signal) {
      const res = await undici.request(url, { method, headers, body: body ?? undefined, signal, dispatcher });
      return { status: res.statusCode, body: await res.body.text() };
    },
    async close() {
      await dispatcher.destroy().catch(() => undefined);
    },
  };
}
