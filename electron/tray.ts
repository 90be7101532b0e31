// The tray icon: the agents' state at a glance (one icon per TrayState, tooltip in words) and a menu
// to open the window, start/stop the agents and quit. The content comes from tray-model.ts.
import { Menu, nativeImage, Tray, type MenuItemConstructorOptions, type NativeImage } from "electron";
import { join } from "node:path";
import type { AgentSnapshot, TrayState } from "../agent-core/host/contract.js";
import { trayIconFile, trayView, type TrayAction, type TrayView } from "./tray-model.js";

export class AppTray {
  private readonly tray: Tray;
  private readonly icons = new Map<TrayState, NativeImage>();
  private agents: readonly AgentSnapshot[];
  private quitting = false;
  /** What was last applied, to skip redundant (and on some desktops flickering) updates. */
  private shown = "";

  constructor(
    private readonly assetsDir: string,
    initial: readonly AgentSnapshot[],
    private readonly onAction: (action: TrayAction) => void,
  ) {
    this.agents = initial;
    const view = trayView(initial, false);
    this.tray = new Tray(this.icon(view.state));
    // Linux (most desktops) opens the menu on click; elsewhere a click opens the window.
    if (process.platform !== "linux") this.tray.on("click", () => this.onAction("open"));
    this.apply(view);
  }

  /** Every agent of the host (one, or one per GPU or group). */
  update(agents: readonly AgentSnapshot[]): void {
    this.agents = agents;
    this.apply(trayView(agents, this.quitting));
  }

  setQuitting(quitting: boolean): void {
    this.quitting = quitting;
    this.apply(trayView(this.agents, quitting));
  }

  destroy(): void {
    if (!this.tray.isDestroyed()) this.tray.destroy();
  }

  private apply(view: TrayView): void {
    if (this.tray.isDestroyed()) return;
    const key = JSON.stringify(view);
    if (key === this.shown) return;
    this.shown = key;
    this.tray.setImage(this.icon(view.state));
    this.tray.setToolTip(view.tooltip);
    const template: MenuItemConstructorOptions[] = [];
    for (const item of view.menu) {
      if (item.separatorBefore) template.push({ type: "separator" });
      const action = item.action;
      template.push({
        label: item.label,
        enabled: item.enabled && action !== null,
        click: action === null ? undefined : () => this.onAction(action),
      });
    }
    this.tray.setContextMenu(Menu.buildFromTemplate(template));
  }

  private icon(state: TrayState): NativeImage {
    let image = this.icons.get(state);
    if (image === undefined) {
      // createFromPath picks up <name>@2x.png beside the file for HiDPI screens.
      image = nativeImage.createFromPath(join(this.assetsDir, trayIconFile(state)));
      this.icons.set(state, image);
    }
    return image;
  }
}
