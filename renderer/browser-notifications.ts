// The console's notifications: in a browser tab the page shows them with the browser's Notification
// API once the owner allowed it (Settings → Notifications); the desktop app shows its own from the
// main process (Electron's Notification), so there the page shows none. What deserves one is the
// host's own rule (agent-core/host/notifications.ts), with the settings' kinds.
import type { HostEvent, SettingsView } from "../agent-core/host/contract.js";
import { NotificationWatcher } from "../agent-core/host/notifications.js";
import type { Bridge } from "../agent-core/host/contract.js";

export type BrowserPermission = "granted" | "denied" | "default" | "unsupported";

export function browserNotificationPermission(): BrowserPermission {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

export async function askBrowserNotifications(): Promise<BrowserPermission> {
  if (typeof Notification === "undefined") return "unsupported";
  return await Notification.requestPermission();
}

/** Shows the host's notifications in this tab (console only), reading the settings as they change. */
export function installBrowserNotifications(bridge: Bridge, settings: () => SettingsView | null): () => void {
  if (bridge.kind !== "console" || typeof Notification === "undefined") return () => {};
  const watcher = new NotificationWatcher();
  return bridge.subscribe((event: HostEvent) => {
    const s = settings();
    const list = s === null ? [] : watcher.onEvent(event, s);
    if (Notification.permission !== "granted") return;
    for (const n of list) new Notification(n.title, { body: n.body, tag: n.kind === "jobs" ? undefined : n.kind });
  });
}
