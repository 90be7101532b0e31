// Who may talk to the web console: the person who ran `semaphore-agent console` and opened the URL
// it printed. Loopback alone is not enough (every local user and every web page the browser visits
// can reach 127.0.0.1), so every request carries a random per-run token (a cookie once the URL was
// opened), the Host header must name the loopback address (DNS rebinding) and WebSocket upgrades must
// come from the console's own origin (cross-site WebSocket hijacking).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** 32 random bytes, base64url: 256 bits, safe in a URL and in a cookie without encoding. */
export function newConsoleToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The cookie is per port: cookies are not isolated by port, and two consoles may run at once. */
export function consoleCookieName(port: number): string {
  return `sad_console_${port}`;
}

/** Constant-time comparison; hashing first makes the time independent of the lengths too. */
export function tokensEqual(candidate: string, token: string): boolean {
  const a = createHash("sha256").update(candidate, "utf8").digest();
  const b = createHash("sha256").update(token, "utf8").digest();
  return timingSafeEqual(a, b) && candidate.length === token.length;
}

/** Values of the cookie `name` in a Cookie header (a browser may send several with one name). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    values.push(value);
  }
  return values;
}

export function setCookieHeader(port: number, token: string): string {
  return `${consoleCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

/** The Host header values a browser sends for the console's own URL (any other name is a rebinding). */
export function isAllowedHostHeader(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const value = host.toLowerCase();
  return value === `127.0.0.1:${port}` || value === `localhost:${port}`;
}

/** The only origins whose pages may open the console's WebSocket. A missing Origin is refused too. */
export function isAllowedOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return false;
  const value = origin.toLowerCase();
  return value === `http://127.0.0.1:${port}` || value === `http://localhost:${port}`;
}

export type AuthResult = "cookie" | "query" | "missing" | "wrong";

/**
 * Checks the request's credentials: the `token` query parameter when present (it must be right),
 * else the console's cookie.
 */
export function authenticate(req: IncomingMessage, url: URL, port: number, token: string): AuthResult {
  const queryTokens = url.searchParams.getAll("token");
  if (queryTokens.length > 0) {
    return queryTokens.length === 1 && tokensEqual(queryTokens[0] as string, token) ? "query" : "wrong";
  }
  const cookies = cookieValues(req.headers.cookie, consoleCookieName(port));
  if (cookies.length === 0) return "missing";
  return cookies.some((value) => tokensEqual(value, token)) ? "cookie" : "wrong";
}
