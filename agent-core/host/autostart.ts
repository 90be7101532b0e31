// Start at login. The desktop app on Linux: an XDG autostart entry
// (`$XDG_CONFIG_HOME/autostart/semaphore-agent-desktop.desktop`); on macOS and Windows Electron's
// app.setLoginItemSettings does it (electron/main.ts). The console on a headless box: a
// `systemd --user` unit (`semaphore-agent console --install-service`), which runs without anyone
// logged in once lingering is enabled.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

export const AUTOSTART_FILE = "semaphore-agent-desktop.desktop";
export const SERVICE_NAME = "semaphore-agent-console.service";

function configHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
}

/** A word for an Exec= line / ExecStart=: quoted when it has blanks or quotes (both formats take "…" with \\ escapes). */
function execWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/(["\\`$])/g, "\\$1")}"`;
}

export function autostartPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configHome(env), "autostart", AUTOSTART_FILE);
}

/** The XDG autostart entry that starts the desktop app hidden in the tray. */
export function autostartEntry(command: readonly string[]): string {
  return [
    "[Desktop Entry]",
    "Type=Application",
    "Name=Semaphore Agent Desktop",
    "Comment=Lend this machine to your team's Semaphore CI",
    `Exec=${command.map(execWord).join(" ")}`,
    "Terminal=false",
    "X-GNOME-Autostart-enabled=true",
    "",
  ].join("\n");
}

export function setAutostart(on: boolean, command: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const path = autostartPath(env);
  if (on) {
    mkdirSync(join(configHome(env), "autostart"), { recursive: true });
    writeFileSync(path, autostartEntry(command), { mode: 0o644 });
  } else {
    rmSync(path, { force: true });
  }
  return path;
}

export function autostartEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return existsSync(autostartPath(env));
}

export function servicePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configHome(env), "systemd", "user", SERVICE_NAME);
}

/** The systemd user unit that runs the console: restarts on failure, stops it gracefully (SIGINT, as Ctrl-C). */
export function serviceUnit(options: { command: readonly string[]; workingDirectory: string; environment?: Record<string, string> }): string {
  const env = Object.entries(options.environment ?? {}).map(([k, v]) => `Environment=${execWord(`${k}=${v}`)}`);
  return [
    "[Unit]",
    "Description=Semaphore Agent Desktop web console (lends this machine to Semaphore CI)",
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${options.command.map(execWord).join(" ")}`,
    `WorkingDirectory=${execWord(options.workingDirectory)}`,
    ...env,
    // Ctrl-C is the agent's graceful stop (spec §3.3): Semaphore ends a running job after its grace period.
    "KillSignal=SIGINT",
    "TimeoutStopSec=15min",
    "Restart=on-failure",
    "RestartSec=10",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

export function installService(unit: string, env: NodeJS.ProcessEnv = process.env): string {
  const path = servicePath(env);
  mkdirSync(join(configHome(env), "systemd", "user"), { recursive: true });
  writeFileSync(path, unit, { mode: 0o644 });
  return path;
}

/** Removes the unit; false when there was none. */
export function uninstallService(env: NodeJS.ProcessEnv = process.env): boolean {
  const path = servicePath(env);
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}
