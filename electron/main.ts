// Electron main process: one window, the tray, and the IPC bridge to the Host. Thin on purpose:
// everything the agent does lives in agent-core/host; this file only wires it to Electron, with the
// window locked down (window-options.ts) and every IPC call checked and validated.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  Notification,
  powerMonitor,
  powerSaveBlocker,
  safeStorage,
  session,
  shell,
  type IpcMainInvokeEvent,
  type MenuItemConstructorOptions,
  type WebContents,
} from "electron";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import {
  dispatchRequest,
  IPC_CALL_CHANNEL,
  isAgentIdle,
  IPC_EVENT_CHANNEL,
  parseRequest,
  type AgentSnapshot,
  type HostClient,
  type HostEvent,
  type ResponseMessage,
  type SettingsView,
} from "../agent-core/host/contract.js";
import { APP_DIR_NAME, DATA_DIR_ENV } from "../agent-core/console/paths.js";
import type { Host } from "../agent-core/host/host.js";
import type { SecretCodec } from "../agent-core/host/secret-store.js";
import { hostEnvironment } from "./environment.js";
import { NotificationWatcher } from "../agent-core/host/notifications.js";
import { setAutostart } from "../agent-core/host/autostart.js";
import { AppTray } from "./tray.js";
import { withAgent, type TrayAction } from "./tray-model.js";
import { buildWindowOptions, isAllowedExternalUrl, isPermissionAllowed, isTrustedSender, withSecurityHeaders } from "./window-options.js";

const NODE_PTY_ENV = "SEMAPHORE_AGENT_DESKTOP_NODE_PTY";
/** Beyond the interruption grace period, how long quitting waits for Semaphore to stop the agent. */
const QUIT_MARGIN_MS = 30_000;
const QUIT_MAX_MS = 15 * 60_000;

const log = (line: string): void => {
  process.stdout.write(`semaphore-agent-desktop: ${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Before anything else: where data lives (the single-instance lock is keyed on it) and which
// node-pty agent-core loads (it is loaded when host.js is imported, below).

const appRoot = app.getAppPath();
const dataDir = process.env[DATA_DIR_ENV] ? resolve(process.env[DATA_DIR_ENV]) : join(app.getPath("appData"), APP_DIR_NAME); // the console's folder name: on Linux they share settings and history
app.setPath("userData", dataDir);
// Chromium's own storage (caches, local storage) in a subfolder, away from the host's files.
app.setPath("sessionData", join(dataDir, "electron"));

if (!app.isPackaged && !process.env[NODE_PTY_ENV]) {
  // `npm start` builds node-pty for Electron into this cache and names it; `electron .` run by hand
  // finds it here. A packaged app's own node_modules/node-pty was rebuilt by electron-builder.
  const rebuilt = join(appRoot, ".cache", "electron-native", process.versions.electron ?? "unknown", "node_modules", "node-pty");
  if (existsSync(join(rebuilt, "package.json"))) process.env[NODE_PTY_ENV] = rebuilt;
}

const paths = {
  preload: join(appRoot, "dist", "electron", "preload.cjs"),
  renderer: join(appRoot, "dist", "renderer", "index.html"),
  assets: join(appRoot, "assets"),
  examples: join(appRoot, "examples"),
  uiState: join(dataDir, "electron-ui.json"),
};
const appUrl = pathToFileURL(paths.renderer).href;

let host: Host | null = null;
let mainWindow: BrowserWindow | null = null;
let tray: AppTray | null = null;
/** What the tray shows: every agent of the host, kept up to date by its events. */
let trayAgents: AgentSnapshot[] = [];
let settings: SettingsView | null = null;
let quitState: "running" | "stopping" | "done" = "running";
/** The page now showing in the window, as a host client: it owns the debug terminals opened from it. */
let pageClient: { contents: WebContents; client: HostClient } | null = null;

if (!app.requestSingleInstanceLock()) {
  // Another instance owns this data folder; it shows its window (second-instance below).
  app.exit(0);
} else {
  app.on("second-instance", () => showWindow());
  app.on("window-all-closed", () => {
    // Closing the window hides it to the tray; the app ends only through Quit.
  });
  app.on("activate", () => showWindow());
  app.on("before-quit", (event) => {
    if (quitState === "done") return;
    event.preventDefault();
    void quit();
  });
  app.on("web-contents-created", (_event, contents) => guardWebContents(contents));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      log(`${signal}: quitting`);
      void quit();
    });
  }
  app.whenReady().then(start, (error: unknown) => fatal("Electron did not start", error));
}

async function start(): Promise<void> {
  // Windows shows notifications only for an app with its AppUserModelID (electron-builder's appId).
  if (process.platform === "win32") app.setAppUserModelId("dev.semaphore-agent-desktop.app");
  lockDownSession();
  Menu.setApplicationMenu(Menu.buildFromTemplate(applicationMenu()));

  const codec = await secretCodec();
  try {
    // Imported only now: agent-core loads node-pty while its modules load, and NODE_PTY_ENV must be set first.
    const { Host: HostClass } = await import("../agent-core/host/host.js");
    const { timingsFromEnv } = await import("../agent-core/timings.js");
    const { defaultSignalSource, linuxOnBattery, linuxOwnerCpu, loginctlIdleSeconds } = await import("../agent-core/policy/signals.js");
    const linux = process.platform === "linux";
    const fallback = defaultSignalSource(process.env);
    const cpu = linux ? linuxOwnerCpu() : fallback.ownerCpuPercent;
    host = await HostClass.open({
      dataDir,
      secretCodec: codec,
      env: hostEnvironment(process.env),
      // The spec's timings; SEMAPHORE_AGENT_TEST_TIMINGS (tests only, as for the CLI) may shorten them.
      timings: timingsFromEnv(process.env),
      examplesDir: paths.examples,
      signals: {
        // Wayland gives Chromium no idle time (electron#34826): ask logind there.
        idleSeconds: async () => (linux && process.env.XDG_SESSION_TYPE === "wayland" ? loginctlIdleSeconds(process.env) : powerMonitor.getSystemIdleTime()),
        // powerMonitor's battery state is not kept on Linux: read sysfs there.
        onBattery: async () => (linux ? linuxOnBattery() : powerMonitor.isOnBatteryPower()),
        ownerCpuPercent: cpu,
      },
      keepAwake: powerSaveKeepAwake(),
    });
  } catch (error) {
    fatal(`Cannot open the agent's data folder ${dataDir}`, error);
    return;
  }
  const opened = host;
  log(`data folder ${dataDir}; registration token stored ${codec.storage === "safe-storage" ? "encrypted by the OS keychain" : "in a 0600 file"}`);

  opened.subscribe(onHostEvent);
  settings = await opened.getSettings({}).catch(() => null);
  // Every agent (one, or one per lent GPU or group); agent and agents events keep the list.
  trayAgents = opened.agentSnapshots;
  tray = new AppTray(paths.assets, trayAgents, (action) => void onTrayAction(action));

  ipcMain.handle(IPC_CALL_CHANNEL, (event, raw: unknown) => onIpcCall(event, raw));
  // Back from sleep: an agent waiting out a back-off against an unreachable server tries at once.
  powerMonitor.on("resume", () => {
    if (!opened.agentSnapshots.some((a) => a.error !== null)) return;
    void opened.retryNow({}).catch(() => undefined);
  });
  createWindow();
}

// ---------------------------------------------------------------------------------------------
// Security

function lockDownSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((contents, permission, callback, details) => {
    const allowed = isPermissionAllowed(permission, details.requestingUrl ?? contents?.getURL(), appUrl);
    if (!allowed) log(`refused permission "${permission}"`);
    callback(allowed);
  });
  ses.setPermissionCheckHandler((_contents, permission, _origin, details) => isPermissionAllowed(permission, details.requestingUrl, appUrl));
  ses.setDevicePermissionHandler(() => false);
  // The CSP as a header too (file:// pages get it where Chromium applies headers; the page's <meta> is the other half).
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withSecurityHeaders(details.responseHeaders) });
  });
}

/** Every webContents (the window and anything else that might ever appear): no popups, no navigation, no webviews. */
function guardWebContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    openExternal(url);
    return { action: "deny" };
  });
  contents.on("will-navigate", (event, url) => {
    // The UI is one page; a link click lands here: https goes to the browser, nothing navigates.
    event.preventDefault();
    openExternal(url);
  });
  contents.on("will-redirect", (event) => event.preventDefault());
  contents.on("will-attach-webview", (event) => event.preventDefault());
}

function openExternal(url: string): void {
  if (isAllowedExternalUrl(url)) {
    shell.openExternal(url).catch((error: unknown) => log(`could not open a link in the browser: ${String(error)}`));
  } else {
    log("refused to open a non-https link");
  }
}

/** IPC comes only from our window's top frame showing our own page. */
function isTrustedIpc(event: IpcMainInvokeEvent): boolean {
  const window = mainWindow;
  if (window === null || window.isDestroyed() || event.sender !== window.webContents) return false;
  const frame = event.senderFrame;
  if (frame === null || frame.parent !== null) return false;
  const top = window.webContents.mainFrame;
  if (frame.processId !== top.processId || frame.routingId !== top.routingId) return false;
  return isTrustedSender(frame.url, appUrl);
}

async function onIpcCall(event: IpcMainInvokeEvent, raw: unknown): Promise<ResponseMessage> {
  if (!isTrustedIpc(event)) {
    log("refused an IPC call from an untrusted frame");
    throw new Error("refused: not the app's window");
  }
  const request = parseRequest(raw);
  if (!request.ok) return { kind: "response", id: request.id, ok: false, error: request.error };
  if (host === null) return { kind: "response", id: request.id, ok: false, error: { code: "invalid-state", message: "the app is still starting" } };
  return await dispatchRequest(clientFor(host, event.sender), request);
}

/**
 * The host client of the page showing in `contents`. The PTYs of its debug terminals live here in
 * the main process; their output goes to this page only.
 */
function clientFor(opened: Host, contents: WebContents): HostClient {
  if (pageClient?.contents === contents) return pageClient.client;
  endPageClient();
  const client = opened.connect((event) => {
    if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, event);
  });
  pageClient = { contents, client };
  return client;
}

/** The page went away (reload, crash) or the window closed: its debug shells are killed. */
function endPageClient(): void {
  const ending = pageClient;
  pageClient = null;
  ending?.client.dispose();
}


// ---------------------------------------------------------------------------------------------
// Window

function createWindow(): void {
  if (!existsSync(paths.renderer)) {
    dialog.showErrorBox("Semaphore Agent Desktop", `The UI is not built (${paths.renderer} is missing). Run \`npm run build\` first.`);
  }
  const window = new BrowserWindow(buildWindowOptions(paths.preload, { devTools: !app.isPackaged, icon: join(paths.assets, "icon.png") }));
  mainWindow = window;
  window.once("ready-to-show", () => window.show());
  window.on("close", (event) => {
    if (quitState !== "running") return;
    // Close = hide to the tray: the agent keeps serving jobs. Debug shells do not outlive their
    // window, though: nobody could see or end them.
    event.preventDefault();
    window.hide();
    endPageClient();
    showTrayHintOnce();
  });
  window.on("closed", () => {
    if (mainWindow === window) mainWindow = null;
    endPageClient();
  });
  window.webContents.on("did-start-navigation", (details) => {
    // A reload: the new page starts without terminals, so the old page's shells are ended.
    if (details.isMainFrame && !details.isSameDocument) endPageClient();
  });
  const reloads: number[] = [];
  window.webContents.on("render-process-gone", (_event, details) => {
    endPageClient();
    if (details.reason === "clean-exit" || window.isDestroyed()) return;
    // Reload a crashed page, but not in a loop: at most 3 times a minute.
    const now = Date.now();
    while (reloads.length > 0 && (reloads[0] as number) < now - 60_000) reloads.shift();
    if (reloads.length >= 3) {
      log(`the window's renderer went away again (${details.reason}); not reloading it (reopen the window from the tray)`);
      return;
    }
    reloads.push(now);
    log(`the window's renderer went away (${details.reason}); reloading`);
    void window.loadFile(paths.renderer).catch(() => {});
  });
  window.loadFile(paths.renderer).catch((error: unknown) => log(`could not load the UI: ${String(error)}`));
}

function showWindow(): void {
  if (quitState === "done") return;
  if (mainWindow === null || mainWindow.isDestroyed()) {
    if (host !== null) createWindow();
    return;
  }
  if (mainWindow.webContents.isCrashed()) void mainWindow.loadFile(paths.renderer).catch(() => {});
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
}

function showTrayHintOnce(): void {
  let state: { trayHintShown?: boolean } = {};
  try {
    state = JSON.parse(readFileSync(paths.uiState, "utf8")) as typeof state;
  } catch {
    // first run
  }
  if (state.trayHintShown) return;
  try {
    writeFileSync(paths.uiState, JSON.stringify({ ...state, trayHintShown: true }), { mode: 0o600 });
  } catch {
    // shown again next time; harmless
  }
  const body = "The agent keeps running in the tray. Open the window from the tray icon (or launch the app again); quit from the tray menu.";
  if (Notification.isSupported()) new Notification({ title: "Semaphore Agent Desktop is still running", body, silent: true }).show();
  else log(body);
}

function applicationMenu(): MenuItemConstructorOptions[] {
  const devItems: MenuItemConstructorOptions[] = app.isPackaged ? [] : [{ type: "separator" }, { role: "reload" }, { role: "toggleDevTools" }];
  return [
    ...(process.platform === "darwin" ? [{ role: "appMenu" as const }] : []),
    { label: "File", submenu: [{ label: "Close Window", accelerator: "CmdOrCtrl+W", click: () => mainWindow?.hide() }, { label: "Quit", accelerator: "CmdOrCtrl+Q", click: () => void quit() }] },
    { role: "editMenu" },
    { label: "View", submenu: [{ role: "resetZoom" }, { role: "zoomIn" }, { role: "zoomOut" }, { role: "togglefullscreen" }, ...devItems] },
  ];
}

// ---------------------------------------------------------------------------------------------
// Host events, tray actions

/** Electron's way to keep the machine awake while a job runs (the host never asks on battery). */
function powerSaveKeepAwake(): { method: string; active: boolean; start(): void; stop(): void } {
  let id: number | null = null;
  return {
    method: "Electron powerSaveBlocker",
    get active() {
      return id !== null && powerSaveBlocker.isStarted(id);
    },
    start() {
      if (id === null || !powerSaveBlocker.isStarted(id)) id = powerSaveBlocker.start("prevent-app-suspension");
    },
    stop() {
      if (id !== null && powerSaveBlocker.isStarted(id)) powerSaveBlocker.stop(id);
      id = null;
    },
  };
}

const notifications = new NotificationWatcher();

/** Start at login as Settings says: a login item on macOS and Windows, an XDG autostart entry on Linux. */
function applyStartAtLogin(on: boolean): void {
  try {
    if (process.platform === "linux") {
      // An AppImage runs from a temporary mount: the entry must start the AppImage file itself.
      setAutostart(on, [process.env.APPIMAGE ?? process.execPath, ...(app.isPackaged ? [] : [appRoot])]);
    } else {
      app.setLoginItemSettings({ openAtLogin: on });
    }
  } catch (error) {
    log(`start at login: ${(error as Error).message}`);
  }
}

function onHostEvent(event: HostEvent): void {
  if (event.type === "agent" || event.type === "agents") {
    trayAgents = event.type === "agent" ? withAgent(trayAgents, event.agent) : event.agents.length > 0 ? event.agents : trayAgents;
    tray?.update(trayAgents);
  }
  if (event.type === "settings") {
    if (settings !== null && settings.startAtLogin !== event.settings.startAtLogin) applyStartAtLogin(event.settings.startAtLogin);
    settings = event.settings;
  }
  if (settings !== null && Notification.isSupported()) {
    for (const n of notifications.onEvent(event, settings)) new Notification({ title: n.title, body: n.body, silent: n.kind !== "connection" }).show();
  }
  const window = mainWindow;
  if (window !== null && !window.isDestroyed() && !window.webContents.isDestroyed()) window.webContents.send(IPC_EVENT_CHANNEL, event);
}

async function onTrayAction(action: TrayAction): Promise<void> {
  const opened = host;
  if (action === "open") return showWindow();
  if (action === "quit") return void quit();
  if (action === "quit-now") return quitNow();
  if (opened === null) return;
  const agent: AgentSnapshot = opened.agentSnapshot;
  try {
    if (action === "start") {
      if (isAgentIdle(agent) && settings !== null && !settings.configured) {
        // Nothing to start yet: the window shows the first-run setup.
        showWindow();
        return;
      }
      await opened.startAgent({});
    } else if (action === "stop") {
      if (agent.mode === "demo") await opened.stopDemo({});
      else await opened.stopAgent({ when: "now" });
    } else if (action === "stop-after-job") {
      await opened.stopAgent({ when: "after-job" });
    } else if (action === "pause") {
      await opened.pause({ when: "now" });
    } else if (action === "pause-after-job") {
      await opened.pause({ when: "after-job" });
    } else if (action === "resume") {
      await opened.resume({});
    } else if (action === "snooze-1h" || action === "snooze-3h") {
      await opened.snooze({ until: Date.now() + (action === "snooze-1h" ? 1 : 3) * 3_600_000 });
    } else if (action === "stop-job") {
      if (agent.jobId !== null) await opened.stopJob({ jobId: agent.jobId });
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`tray: ${action} failed: ${message}`);
    if (Notification.isSupported()) new Notification({ title: "Semaphore Agent Desktop", body: message, silent: true }).show();
    showWindow();
  }
}

// ---------------------------------------------------------------------------------------------
// Quitting: stop the agent the way Semaphore expects (spec §3.3: report the interruption, let the
// server stop the running job after its grace period), bounded; a second Quit does not wait.

async function quit(): Promise<void> {
  if (quitState === "done") return;
  if (quitState === "stopping") return quitNow();
  quitState = "stopping";
  tray?.setQuitting(true);
  const opened = host;
  if (opened !== null) {
    const graceSeconds = settings?.interruptionGracePeriod ?? 0;
    const timeoutMs = Math.min(QUIT_MAX_MS, graceSeconds * 1000 + QUIT_MARGIN_MS);
    log(`quitting: stopping the agent (at most ${Math.round(timeoutMs / 1000)} s; quit again to stop waiting)`);
    try {
      // The host aborts the agent after timeoutMs and gives that up to 10 s more.
      await Promise.race([opened.close({ timeoutMs }), new Promise<void>((resolve) => setTimeout(resolve, timeoutMs + 15_000))]);
    } catch (error) {
      log(`stopping the agent failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  finish(0);
}

function quitNow(): void {
  log("quitting now, without waiting for the agent");
  host?.hangUpDebugShells();
  finish(1);
}

function finish(code: number): void {
  if (quitState === "done") return;
  quitState = "done";
  tray?.destroy();
  app.exit(code);
}

function fatal(what: string, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  log(`${what}: ${message}`);
  dialog.showErrorBox("Semaphore Agent Desktop", `${what}:\n\n${message}`);
  quitState = "done";
  app.exit(1);
}

// ---------------------------------------------------------------------------------------------
// The registration token at rest: the OS keychain when Electron has one, else a 0600 file.

async function secretCodec(): Promise<SecretCodec> {
  const { plainFileCodec } = await import("../agent-core/host/secret-store.js");
  // On Linux without a keyring Electron "encrypts" with a fixed key (basic_text): no better than the file.
  const keychain = safeStorage.isEncryptionAvailable() && !(process.platform === "linux" && safeStorage.getSelectedStorageBackend() === "basic_text");
  if (!keychain) {
    log("no OS keychain available (safeStorage); the registration token is kept in a 0600 file");
    return plainFileCodec();
  }
  return {
    storage: "safe-storage",
    encrypt: (plain) => safeStorage.encryptString(plain),
    decrypt: (data) => safeStorage.decryptString(data),
  };
}
