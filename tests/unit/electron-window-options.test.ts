// The app window's security settings, read from the very function main.ts builds the window with,
// and the URL / sender / permission predicates main.ts applies to navigation, links and IPC.
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import {
  buildWindowOptions,
  CONTENT_SECURITY_POLICY,
  isAllowedExternalUrl,
  isAllowedNavigation,
  isPermissionAllowed,
  isTrustedSender,
  withSecurityHeaders,
} from "../../electron/window-options.js";

const APP_URL = pathToFileURL("/opt/Semaphore Agent Desktop/resources/app.asar/dist/renderer/index.html").href;

describe("buildWindowOptions", () => {
  it("isolates and sandboxes the renderer, with no Node, no webviews and web security on", () => {
    const options = buildWindowOptions("/app/dist/electron/preload.cjs");
    expect(options.webPreferences).toMatchObject({
      preload: "/app/dist/electron/preload.cjs",
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      spellcheck: false,
    });
    expect(options.backgroundColor).toMatch(/^#[0-9a-f]{6}$/i);
    expect(options.minWidth).toBeGreaterThanOrEqual(640);
    expect(options.minHeight).toBeGreaterThanOrEqual(400);
    expect(options.show).toBe(false); // shown on ready-to-show: no white flash
  });

  it("turns dev tools off when asked (packaged builds) and sets the icon", () => {
    const options = buildWindowOptions("/p.cjs", { devTools: false, icon: "/app/assets/icon.png" });
    expect(options.webPreferences?.devTools).toBe(false);
    expect(options.icon).toBe("/app/assets/icon.png");
    expect(buildWindowOptions("/p.cjs").webPreferences?.devTools).toBe(true);
  });

  it("returns a fresh object each time (main.ts may not share one between windows)", () => {
    const a = buildWindowOptions("/p.cjs");
    const b = buildWindowOptions("/p.cjs");
    expect(a).not.toBe(b);
    expect(a.webPreferences).not.toBe(b.webPreferences);
  });
});

describe("CONTENT_SECURITY_POLICY", () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(";").map((d) => {
    const [name, ...values] = d.trim().split(/\s+/);
    return [name, values] as const;
  }));

  it("allows only the app's own scripts: no inline, no eval, no remote", () => {
    expect(directives.get("default-src")).toEqual(["'self'"]);
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-eval");
    expect(directives.get("script-src")).not.toContain("'unsafe-inline'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/https?:|\*/);
  });

  it("forbids plugins, base-URI changes, framing and form posts", () => {
    expect(directives.get("object-src")).toEqual(["'none'"]);
    expect(directives.get("base-uri")).toEqual(["'none'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(directives.get("form-action")).toEqual(["'none'"]);
    expect(directives.get("connect-src")).toEqual(["'self'"]);
  });

  it("replaces any CSP a response had when added as a header", () => {
    const headers = withSecurityHeaders({ "content-security-policy": ["default-src *"], "Content-Type": ["text/html"] });
    expect(headers["Content-Security-Policy"]).toEqual([CONTENT_SECURITY_POLICY]);
    expect(headers["content-security-policy"]).toBeUndefined();
    expect(headers["Content-Type"]).toEqual(["text/html"]);
    expect(headers["X-Content-Type-Options"]).toEqual(["nosniff"]);
    expect(withSecurityHeaders(undefined)["Content-Security-Policy"]).toEqual([CONTENT_SECURITY_POLICY]);
  });
});

describe("isAllowedExternalUrl", () => {
  it("lets only https links out to the browser", () => {
    expect(isAllowedExternalUrl("https://docs.semaphoreci.com/ci-cd-environment/self-hosted-agents-overview")).toBe(true);
    expect(isAllowedExternalUrl("https://acme.semaphoreci.com/jobs/1?x=1#y")).toBe(true);
  });

  it.each([
    "http://example.com/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "file:///etc/passwd",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "smb://server/share",
    "ms-settings:",
    "ssh://host",
    "https://user:pass@example.com/",
    "https:",
    "not a url",
    "",
  ])("refuses %s", (url) => {
    expect(isAllowedExternalUrl(url)).toBe(false);
  });
});

describe("isTrustedSender", () => {
  it("trusts our own renderer page, whatever its hash or query", () => {
    expect(isTrustedSender(APP_URL, APP_URL)).toBe(true);
    expect(isTrustedSender(`${APP_URL}#/history`, APP_URL)).toBe(true);
    expect(isTrustedSender(`${APP_URL}?x=1`, APP_URL)).toBe(true);
  });

  it.each([
    ["another file", pathToFileURL("/tmp/evil/index.html").href],
    ["a sibling file", APP_URL.replace("index.html", "other.html")],
    ["a file on another host", APP_URL.replace("file:///", "file://evil/")],
    ["an http page", "http://127.0.0.1:8080/index.html"],
    ["an https page", "https://evil.example/"],
    ["javascript:", "javascript:alert(1)"],
    ["data:", "data:text/html,hi"],
    ["about:blank", "about:blank"],
    ["nothing", ""],
    ["null", null],
    ["undefined", undefined],
  ])("refuses %s", (_what, frameUrl) => {
    expect(isTrustedSender(frameUrl, APP_URL)).toBe(false);
  });

  it("compares origins when the app itself is served over http (a dev server)", () => {
    expect(isTrustedSender("http://localhost:5173/#/jobs", "http://localhost:5173/")).toBe(true);
    expect(isTrustedSender("http://localhost:5174/", "http://localhost:5173/")).toBe(false);
    expect(isTrustedSender("file:///index.html", "http://localhost:5173/")).toBe(false);
  });

  it("navigation is allowed only within the app's own page", () => {
    expect(isAllowedNavigation(`${APP_URL}#/settings`, APP_URL)).toBe(true);
    expect(isAllowedNavigation("https://semaphoreci.com/", APP_URL)).toBe(false);
    expect(isAllowedNavigation("file:///etc/passwd", APP_URL)).toBe(false);
  });
});

describe("isPermissionAllowed", () => {
  it("refuses every permission except the clipboard from our own page", () => {
    expect(isPermissionAllowed("clipboard-read", APP_URL, APP_URL)).toBe(true);
    expect(isPermissionAllowed("clipboard-read", "https://evil.example/", APP_URL)).toBe(false);
    for (const permission of ["media", "geolocation", "notifications", "midi", "openExternal", "fullscreen", "pointerLock", "hid", "serial", "usb"]) {
      expect(isPermissionAllowed(permission, APP_URL, APP_URL), permission).toBe(false);
    }
    expect(isPermissionAllowed("clipboard-sanitized-write", APP_URL, APP_URL)).toBe(true);
    expect(isPermissionAllowed("clipboard-sanitized-write", "https://evil.example/", APP_URL)).toBe(false);
    expect(isPermissionAllowed("clipboard-sanitized-write", undefined, APP_URL)).toBe(false);
  });
});
