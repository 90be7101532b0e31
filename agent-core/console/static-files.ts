// Serving the built renderer (dist/renderer/) to the browser: only files under that folder, by
// their real path (no `..`, no encoded separators, no symlink out of it), with a content type taken
// from a fixed list and the console's security headers on every answer.
import { realpath, readFile, stat } from "node:fs/promises";
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";

/** The console page may load only its own files and talk only to its own WebSocket. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

export const SECURITY_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  "Content-Security-Policy": CONSOLE_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
});

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".wasm": "application/wasm",
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

export type StaticLookup =
  | { kind: "file"; path: string; contentType: string; body: Buffer; cacheControl: string }
  | { kind: "not-found" }
  | { kind: "bad-path" };

/**
 * Maps a URL path to a file under `root` (an absolute, real path). `/` is index.html. Anything that
 * decodes to a path outside root, or contains a NUL or a backslash, is a "bad-path".
 */
export async function lookupStaticFile(root: string, urlPath: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { kind: "bad-path" };
  }
  if (!decoded.startsWith("/") || decoded.includes("\0") || decoded.includes("\\")) return { kind: "bad-path" };
  const segments = decoded.split("/");
  if (segments.some((segment) => segment === ".." || segment === ".")) return { kind: "bad-path" };
  const relative = decoded === "/" ? "index.html" : decoded.slice(1);
  const candidate = normalize(join(root, relative));
  if (!isInside(root, candidate)) return { kind: "bad-path" };
  let real: string;
  try {
    real = await realpath(candidate);
    if (!isInside(root, real)) return { kind: "bad-path" };
    if (!(await stat(real)).isFile()) return { kind: "not-found" };
  } catch {
    return { kind: "not-found" };
  }
  let body: Buffer;
  try {
    body = await readFile(real);
  } catch {
    return { kind: "not-found" };
  }
  // Vite puts content-hashed bundles under assets/: those never change. Everything else (index.html
  // first) is re-read each time so a rebuilt UI shows up on reload.
  const cacheControl = relative.startsWith("assets/") ? "private, max-age=31536000, immutable" : "no-store";
  return { kind: "file", path: real, contentType: contentTypeOf(real), body, cacheControl };
}

function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Sends a short plain-text page with the security headers (errors, 401, ...). */
export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  const body = Buffer.from(`${text}\n`, "utf8");
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": body.length,
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** Sends a small HTML page of our own (the 401 page) with the security headers: no script, styles inline. */
export function sendHtml(res: ServerResponse, status: number, html: string): void {
  const body = Buffer.from(html, "utf8");
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "Content-Type": "text/html; charset=utf-8",
    "Content-Length": body.length,
    "Cache-Control": "no-store",
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
