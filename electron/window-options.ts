// The app window's security settings and the predicates main.ts applies to URLs, senders and
// permissions. Pure (type-only Electron imports) so unit tests check the exact objects main.ts uses.
import type { BrowserWindowConstructorOptions } from "electron";

/**
 * The renderer's CSP, also sent as a response header by main.ts (the page's own <meta> may be
 * weaker or missing). No inline scripts, no eval, no remote content; only the app's own files.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
  "form-action 'none'; frame-src 'none'; worker-src 'self'";

export const WINDOW_BACKGROUND = "#111318";
export const WINDOW_MIN_WIDTH = 880;
export const WINDOW_MIN_HEIGHT = 560;

export interface WindowOptionsExtra {
  /** Off in packaged builds. */
  devTools?: boolean;
  icon?: string;
}

export function buildWindowOptions(preloadPath: string, extra: WindowOptionsExtra = {}): BrowserWindowConstructorOptions {
  const options: BrowserWindowConstructorOptions = {
    width: 1200,
    height: 800,
    minWidth: WINDOW_MIN_WIDTH,
    minHeight: WINDOW_MIN_HEIGHT,
    show: false,
    backgroundColor: WINDOW_BACKGROUND,
    title: "Semaphore Agent Desktop",
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: extra.devTools ?? true,
    },
  };
  if (extra.icon !== undefined) options.icon = extra.icon;
  return options;
}

function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** Links the app may hand to the OS browser: https only (no http:, file:, javascript:, custom schemes). */
export function isAllowedExternalUrl(url: string): boolean {
  const parsed = parseUrl(url);
  return parsed !== null && parsed.protocol === "https:" && parsed.hostname !== "" && parsed.username === "" && parsed.password === "";
}

/**
 * Whether a frame showing `frameUrl` is our own renderer at `appUrl` (the file:// URL of
 * dist/renderer/index.html, or an http(s) dev-server origin): same scheme, and for file: the same
 * file, for http(s) the same origin. Query and fragment do not matter (the UI may route by hash).
 */
export function isTrustedSender(frameUrl: string | null | undefined, appUrl: string): boolean {
  if (!frameUrl) return false;
  const frame = parseUrl(frameUrl);
  const app = parseUrl(appUrl);
  if (frame === null || app === null) return false;
  if (app.protocol === "file:") {
    return frame.protocol === "file:" && frame.host === app.host && decodePath(frame.pathname) === decodePath(app.pathname);
  }
  if (app.protocol === "http:" || app.protocol === "https:") return frame.origin === app.origin;
  return false;
}

function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

/** In-window navigation: only to the app's own page (a reload or a hash change), never elsewhere. */
export function isAllowedNavigation(targetUrl: string, appUrl: string): boolean {
  return isTrustedSender(targetUrl, appUrl);
}

/**
 * Permissions (camera, notifications, geolocation, ...): all refused, except the clipboard from our
 * own page: writing plain text (copy in the log view and the terminals) and reading it (Ctrl+Shift+V
 * pastes into a debug terminal).
 */
const ALLOWED_PERMISSIONS = new Set(["clipboard-sanitized-write", "clipboard-read"]);

export function isPermissionAllowed(permission: string, requestingUrl: string | null | undefined, appUrl: string): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && isTrustedSender(requestingUrl, appUrl);
}

/** Adds the CSP (replacing any the response had) to response headers of the app's own pages. */
export function withSecurityHeaders(headers: Record<string, string[]> | undefined): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === "content-security-policy") continue;
    result[name] = value;
  }
  result["Content-Security-Policy"] = [CONTENT_SECURITY_POLICY];
  result["X-Content-Type-Options"] = ["nosniff"];
  return result;
}
