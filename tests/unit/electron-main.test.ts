// The Electron main process (dist/electron/main.js, as built) run under plain Node with a recording
// stand-in for the `electron` module: Electron's binary cannot be downloaded here, but main.ts's own
// logic can still run for real — with the real Host, the real local demo hub and a real agent. It
// checks where data goes, the window's settings, that IPC is answered only for our own top frame
// and validated, that host events reach the window and the tray, that navigation, popups and
// permissions are refused, and that Quit stops the agent before the app exits.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL } from "../../agent-core/host/contract.js";
import { delay, FAST_TIMINGS, stopAll, tempDir } from "../helpers/processes.js";

const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(ROOT, "dist/electron/main.js");

// The stand-in: records what main.js does (process.send) and acts on the test's commands.
const ELECTRON_STUB = String.raw`
import { pathToFileURL } from "node:url";
const report = (message) => process.send(message);
const appHandlers = new Map();
const ipcHandlers = new Map();
let permissionHandler = null;
let headersHandler = null;
let trayMenu = null;
let mainWindow = null;
const emit = (handlers, event, ...args) => { for (const fn of handlers.get(event) ?? []) fn(...args); };
const on = (handlers) => (event, fn) => { handlers.set(event, [...(handlers.get(event) ?? []), fn]); };

export const app = {
  isPackaged: false,
  getAppPath: () => process.env.STUB_APP_PATH,
  getPath: (name) => name === "appData" ? process.env.STUB_APP_DATA : "/nonexistent/" + name,
  setPath: (name, path) => report({ type: "setPath", name, path }),
  requestSingleInstanceLock: () => true,
  on: on(appHandlers),
  whenReady: () => Promise.resolve(),
  quit() {
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    emit(appHandlers, "before-quit", event);
    if (!event.defaultPrevented) app.exit(0);
  },
  exit(code) { report({ type: "exit", code }); setTimeout(() => process.exit(code), 20); },
};

class WebContents {
  constructor() {
    this.handlers = new Map();
    this.on = on(this.handlers);
    this.url = "";
    this.mainFrame = { processId: 1, routingId: 1, parent: null, get url() { return mainWindow?.webContents.url ?? ""; } };
  }
  send(channel, payload) { report({ type: "send", channel, payload }); }
  setWindowOpenHandler(fn) { this.windowOpenHandler = fn; }
  isDestroyed() { return false; }
  isLoading() { return false; }
  isCrashed() { return false; }
}

export class BrowserWindow {
  constructor(options) {
    this.handlers = new Map();
    this.webContents = new WebContents();
    mainWindow = this;
    report({ type: "window", options });
    emit(appHandlers, "web-contents-created", {}, this.webContents);
  }
  on(event, fn) { on(this.handlers)(event, fn); return this; }
  once(event, fn) { on(this.handlers)(event, fn); return this; }
  loadFile(path) { this.webContents.url = pathToFileURL(path).href; report({ type: "loadFile", path }); return Promise.resolve(); }
  show() { report({ type: "show" }); }
  hide() { report({ type: "hide" }); }
  focus() {}
  restore() {}
  isMinimized() { return false; }
  isDestroyed() { return false; }
}

export const ipcMain = { handle: (channel, fn) => ipcHandlers.set(channel, fn) };
export const Menu = { buildFromTemplate: (template) => ({ template }), setApplicationMenu() {} };
export class Tray {
  constructor(image) { this.image = image; this.destroyed = false; }
  setImage(image) { report({ type: "trayImage", path: image.path }); }
  setToolTip(text) { report({ type: "tooltip", text }); }
  setContextMenu(menu) { trayMenu = menu; report({ type: "trayMenu", labels: menu.template.filter((i) => i.label).map((i) => i.label) }); }
  on() {}
  isDestroyed() { return this.destroyed; }
  destroy() { this.destroyed = true; }
}
export const nativeImage = { createFromPath: (path) => ({ path }) };
export class Notification {
  static isSupported() { return true; }
  constructor(options) { this.options = options; }
  show() { report({ type: "notification", title: this.options.title, body: this.options.body }); }
}
export const safeStorage = {
  isEncryptionAvailable: () => true,
  getSelectedStorageBackend: () => "basic_text",
  encryptString: () => { throw new Error("must not be used with basic_text"); },
  decryptString: () => { throw new Error("must not be used with basic_text"); },
};
export const session = {
  defaultSession: {
    setPermissionRequestHandler(fn) { permissionHandler = fn; },
    setPermissionCheckHandler() {},
    setDevicePermissionHandler() {},
    webRequest: { onHeadersReceived(fn) { headersHandler = fn; } },
  },
};
export const shell = { openExternal: (url) => { report({ type: "openExternal", url }); return Promise.resolve(); } };
export const dialog = { showErrorBox: (title, content) => report({ type: "errorBox", content }) };
export const powerMonitor = {
  on: (event) => report({ type: "powerMonitor.on", event }),
  getSystemIdleTime: () => 0,
  isOnBatteryPower: () => false,
};
const blockers = new Set();
let nextBlocker = 1;
export const powerSaveBlocker = {
  start: (kind) => { const id = nextBlocker++; blockers.add(id); report({ type: "powerSaveBlocker.start", kind }); return id; },
  stop: (id) => { blockers.delete(id); report({ type: "powerSaveBlocker.stop" }); },
  isStarted: (id) => blockers.has(id),
};

process.on("message", async (command) => {
  const reply = (result) => report({ type: "reply", seq: command.seq, ...result });
  try {
    if (command.cmd === "ipc") {
      const frame = command.frame === "top" ? mainWindow.webContents.mainFrame
        : command.frame === "sub" ? { processId: 1, routingId: 2, parent: mainWindow.webContents.mainFrame, url: mainWindow.webContents.url }
        : { processId: 1, routingId: 1, parent: null, url: command.frame };
      const event = { sender: mainWindow.webContents, senderFrame: frame };
      try {
        reply({ value: await ipcHandlers.get(command.channel)(event, command.raw) });
      } catch (error) {
        reply({ thrown: String(error.message) });
      }
    } else if (command.cmd === "tray") {
      const item = trayMenu.template.find((i) => i.label === command.label);
      if (!item || item.enabled === false) return reply({ thrown: "no enabled item " + command.label });
      item.click();
      reply({});
    } else if (command.cmd === "navigate") {
      const event = { prevented: false, preventDefault() { this.prevented = true; } };
      emit(mainWindow.webContents.handlers, "will-navigate", event, command.url);
      reply({ value: event.prevented });
    } else if (command.cmd === "open") {
      reply({ value: mainWindow.webContents.windowOpenHandler({ url: command.url }) });
    } else if (command.cmd === "permission") {
      let granted = null;
      permissionHandler(mainWindow.webContents, command.permission, (value) => { granted = value; }, { requestingUrl: mainWindow.webContents.url });
      reply({ value: granted });
    } else if (command.cmd === "headers") {
      let result = null;
      headersHandler({ responseHeaders: { "content-security-policy": ["default-src *"] } }, (value) => { result = value; });
      reply({ value: result });
    } else if (command.cmd === "close-window") {
      const event = { prevented: false, preventDefault() { this.prevented = true; } };
      for (const fn of mainWindow.handlers.get("close") ?? []) fn(event);
      reply({ value: event.prevented });
    } else if (command.cmd === "quit") {
      app.quit();
      reply({});
    }
  } catch (error) {
    reply({ thrown: String(error && error.stack) });
  }
});
`;

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier === "electron") return { url: new URL("./electron-stub.mjs", import.meta.url).href, shortCircuit: true };
  return next(specifier, context);
}
`;

type Report = { type: string; [key: string]: unknown };

class MainProcess {
  readonly reports: Report[] = [];
  output = "";
  private seq = 0;
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.on("message", (message: Report) => this.reports.push(message));
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolveExit) => child.on("exit", (code) => resolveExit(code)));
  }

  async command(command: Record<string, unknown>, timeoutMs = 20_000): Promise<{ value?: unknown; thrown?: string }> {
    const seq = ++this.seq;
    this.child.send({ ...command, seq });
    return (await this.waitFor((r) => r.type === "reply" && r.seq === seq, timeoutMs)) as { value?: unknown; thrown?: string };
  }

  async ipc(raw: unknown, frame: "top" | "sub" | string = "top") {
    return await this.command({ cmd: "ipc", channel: IPC_CALL_CHANNEL, raw, frame });
  }

  async waitFor(predicate: (r: Report) => boolean, timeoutMs = 20_000): Promise<Report> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.reports.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`not reported within ${timeoutMs} ms; output:\n${this.output}\nreports: ${JSON.stringify(this.reports).slice(-3000)}`);
      await delay(20);
    }
  }
}

let main: MainProcess;
let appData: string;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build:node\` first (npm test does)`);
  const stubDir = tempDir("sa-electron-stub-");
  writeFileSync(join(stubDir, "electron-stub.mjs"), ELECTRON_STUB);
  writeFileSync(join(stubDir, "hooks.mjs"), HOOKS);
  writeFileSync(join(stubDir, "register.mjs"), `import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n`);
  appData = tempDir("sa-electron-appdata-");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: tempDir("sa-electron-home-"),
    TMPDIR: tempDir("sa-electron-tmp-"),
    STUB_APP_PATH: ROOT,
    STUB_APP_DATA: appData,
    SEMAPHORE_AGENT_TEST_TIMINGS: JSON.stringify(FAST_TIMINGS),
    ELECTRON_RUN_AS_NODE: "1",
  };
  delete env.SEMAPHORE_AGENT_DESKTOP_DATA_DIR;
  const child = spawn(process.execPath, ["--import", pathToFileURL(join(stubDir, "register.mjs")).href, MAIN], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  main = new MainProcess(child);
  await main.waitFor((r) => r.type === "loadFile", 20_000);
}, 30_000);

afterAll(async () => {
  if (main && main.child.exitCode === null && main.child.signalCode === null) {
    main.child.kill("SIGKILL");
    await main.exited;
  }
  await stopAll();
});

describe("electron main process", () => {
  it("keeps its data in <appData>/semaphore-agent-desktop (shared with the web console), Chromium's in a subfolder", () => {
    const dataDir = join(appData, "semaphore-agent-desktop");
    expect(main.reports).toContainEqual({ type: "setPath", name: "userData", path: dataDir });
    expect(main.reports).toContainEqual({ type: "setPath", name: "sessionData", path: join(dataDir, "electron") });
    expect(existsSync(join(dataDir))).toBe(true);
    // No keychain (basic_text on Linux is no encryption): the token goes to a 0600 file, and main says so.
    expect(main.output).toMatch(/no OS keychain available/);
  });

  it("opens one locked-down window on the built renderer with the bundled preload", async () => {
    const windows = main.reports.filter((r) => r.type === "window");
    expect(windows).toHaveLength(1);
    const options = windows[0]?.options as { webPreferences: Record<string, unknown> };
    expect(options.webPreferences).toMatchObject({
      preload: join(ROOT, "dist/electron/preload.cjs"),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      webSecurity: true,
    });
    expect(main.reports).toContainEqual({ type: "loadFile", path: join(ROOT, "dist/renderer/index.html") });
  });

  it("answers IPC from its own top frame, validated; refuses other frames", async () => {
    const snapshot = await main.ipc({ id: 1, method: "getSnapshot", params: {} });
    expect(snapshot.value).toMatchObject({ kind: "response", id: 1, ok: true, result: { agent: { phase: "idle" }, settings: { tokenStorage: "file" } } });

    const bad = await main.ipc({ id: 2, method: "readJobLog", params: { jobId: "x", from: -5 } });
    expect(bad.value).toMatchObject({ kind: "response", id: 2, ok: false, error: { code: "invalid-request" } });
    expect(JSON.stringify(bad.value)).toContain("params.from");
    expect((await main.ipc("garbage")).value).toMatchObject({ ok: false, id: null, error: { code: "invalid-request" } });
    expect((await main.ipc({ id: 3, method: "deleteEverything", params: {} })).value).toMatchObject({ ok: false, id: 3 });

    expect((await main.ipc({ id: 4, method: "getSnapshot", params: {} }, "sub")).thrown).toMatch(/refused/);
    expect((await main.ipc({ id: 5, method: "getSnapshot", params: {} }, "https://evil.example/")).thrown).toMatch(/refused/);
    expect((await main.ipc({ id: 6, method: "getSnapshot", params: {} }, pathToFileURL("/tmp/other/index.html").href)).thrown).toMatch(/refused/);
  });

  it("refuses navigation, popups and permissions; https links go to the browser", async () => {
    expect((await main.command({ cmd: "navigate", url: "https://semaphoreci.com/" })).value).toBe(true);
    expect(main.reports).toContainEqual({ type: "openExternal", url: "https://semaphoreci.com/" });
    expect((await main.command({ cmd: "navigate", url: "file:///etc/passwd" })).value).toBe(true);
    expect((await main.command({ cmd: "open", url: "javascript:alert(1)" })).value).toEqual({ action: "deny" });
    expect((await main.command({ cmd: "open", url: "https://docs.semaphoreci.com/" })).value).toEqual({ action: "deny" });
    const opened = main.reports.filter((r) => r.type === "openExternal").map((r) => r.url);
    expect(opened).toEqual(["https://semaphoreci.com/", "https://docs.semaphoreci.com/"]);
    expect((await main.command({ cmd: "permission", permission: "media" })).value).toBe(false);
    expect((await main.command({ cmd: "permission", permission: "geolocation" })).value).toBe(false);
    const headers = (await main.command({ cmd: "headers" })).value as { responseHeaders: Record<string, string[]> };
    expect(headers.responseHeaders["Content-Security-Policy"]?.[0]).toMatch(/^default-src 'self'; script-src 'self';/);
    expect(headers.responseHeaders["content-security-policy"]).toBeUndefined();
  });

  it("forwards host events to the window and shows the agent's state in the tray", async () => {
    expect(main.reports).toContainEqual({ type: "tooltip", text: "Semaphore Agent: stopped" });
    const demo = await main.ipc({ id: 10, method: "startDemo", params: {} });
    expect(demo.value).toMatchObject({ ok: true, result: { running: true } });
    await main.waitFor((r) => r.type === "send" && r.channel === IPC_EVENT_CHANNEL && (r.payload as { type: string }).type === "demo");
    await main.waitFor((r) => r.type === "tooltip" && r.text === "Semaphore Agent: waiting for jobs (local demo)", 30_000);
    await main.waitFor((r) => r.type === "trayImage" && String(r.path).endsWith(join("assets", "tray", "waiting.png")));
    const menu = main.reports.filter((r) => r.type === "trayMenu").at(-1);
    expect(menu?.labels).toEqual(["Open Semaphore Agent Desktop", "Stop local demo", "Stop after current job", "Quit"]);
  });

  it("keeps the machine awake while a job runs (powerSaveBlocker), and lets go after", async () => {
    const ran = await main.ipc({ id: 11, method: "runExample", params: { exampleId: "hello-world" } });
    expect(ran.value).toMatchObject({ ok: true });
    await main.waitFor((r) => r.type === "powerSaveBlocker.start" && r.kind === "prevent-app-suspension", 30_000);
    await main.waitFor((r) => r.type === "powerSaveBlocker.stop", 30_000);
    // A desktop notification says how the job ended (Settings: on by default).
    const shown = await main.waitFor((r) => r.type === "notification" && r.title === "Job passed", 30_000);
    expect(String(shown.body)).toMatch(/./);
  });

  it("closing the window hides it to the tray", async () => {
    expect((await main.command({ cmd: "close-window" })).value).toBe(true);
    expect(main.reports).toContainEqual({ type: "hide" });
  });

  it("Quit stops the agent first (the tray says so), then exits 0", async () => {
    await main.command({ cmd: "tray", label: "Quit" });
    await main.waitFor((r) => r.type === "trayMenu" && (r.labels as string[]).includes("Quit now (do not wait)"));
    expect(main.reports).toContainEqual({ type: "trayImage", path: join(ROOT, "assets", "tray", "stopping.png") });
    const exit = await main.waitFor((r) => r.type === "exit", 30_000);
    expect(exit.code).toBe(0);
    expect(await main.exited).toBe(0);
    expect(main.output).toMatch(/quitting: stopping the agent/);
    // The demo agent was stopped the way the server expects before the app went away.
    const agents = main.reports.filter((r) => r.type === "send" && (r.payload as { type: string }).type === "agent").map((r) => (r.payload as { agent: { phase: string } }).agent.phase);
    expect(agents.at(-1)).toBe("idle");
  });
});
