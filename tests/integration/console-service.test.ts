// Start at login: `semaphore-agent console --install-service` writes a systemd user unit that
// `systemd-analyze verify` accepts (where systemd is there) and says how to enable it;
// `--uninstall-service` removes it. The desktop app's XDG autostart entry is written and removed.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { autostartEnabled, autostartPath, setAutostart } from "../../agent-core/host/autostart.js";
import { ROOT, stopAll, tempDir } from "../helpers/processes.js";

afterAll(stopAll);

const cli = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [join(ROOT, "bin/semaphore-agent"), ...args], { env: { ...process.env, ...env }, encoding: "utf8", timeout: 30_000 });

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("console --install-service / --uninstall-service", () => {
  it("writes a unit systemd accepts, says how to enable it, and removes it", () => {
    const home = tempDir("sa-svc-home-");
    const config = join(home, ".config");
    const data = join(home, "my data");
    const installed = cli(["console", "--install-service", "--data-dir", data], { HOME: home, XDG_CONFIG_HOME: config, USER: "alice" });
    expect(installed.status, installed.stderr).toBe(0);
    const unitPath = join(config, "systemd", "user", "semaphore-agent-console.service");
    expect(installed.stdout).toContain(`Wrote ${unitPath}: the web console on 127.0.0.1:8765, data in ${data}.`);
    expect(installed.stdout).toContain("systemctl --user daemon-reload && systemctl --user enable --now semaphore-agent-console");
    expect(installed.stdout).toContain("sudo loginctl enable-linger alice");
    const unit = readFileSync(unitPath, "utf8");
    expect(unit).toMatch(/^ExecStart=\S+ \S+semaphore-agent console --port 8765 --data-dir "[^"]*my data"$/m);
    expect(unit).toContain("KillSignal=SIGINT");
    expect(unit).toContain("WantedBy=default.target");
    if (hasSystemdAnalyze()) {
      // As a user unit (a runtime folder of its own stands in for a login session's); its
      // ExecStart program must exist (it does). systemd names the unit file on every complaint,
      // an unknown key included ("…service:3: Unknown key 'X' in section [Service]").
      const verify = spawnSync("systemd-analyze", ["--user", "verify", unitPath], {
        encoding: "utf8",
        env: { ...process.env, HOME: home, XDG_CONFIG_HOME: config, XDG_RUNTIME_DIR: tempDir("sa-svc-run-") },
      });
      const output = `${verify.stdout}${verify.stderr}`;
      expect(verify.status, output).toBe(0);
      expect(output.split("\n").filter((l) => l.includes(unitPath)), output).toEqual([]);
    }

    const removed = cli(["console", "--uninstall-service"], { HOME: home, XDG_CONFIG_HOME: config });
    expect(removed.status).toBe(0);
    expect(removed.stdout).toContain(`Removed ${unitPath}.`);
    expect(existsSync(unitPath)).toBe(false);
    const again = cli(["console", "--uninstall-service"], { HOME: home, XDG_CONFIG_HOME: config });
    expect(again.stdout).toMatch(/No service to remove/);
  });

  it("refuses both flags at once", () => {
    const home = tempDir("sa-svc-home-");
    const both = cli(["console", "--install-service", "--uninstall-service"], { HOME: home });
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/choose one/);
  });
});

describe("the desktop app's XDG autostart entry", () => {
  it("is written with the command and removed", () => {
    const home = tempDir("sa-autostart-");
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, "cfg") };
    expect(autostartEnabled(env)).toBe(false);
    const path = setAutostart(true, ["/opt/Semaphore Agent/semaphore-agent-desktop", "--hidden"], env);
    expect(path).toBe(join(home, "cfg", "autostart", "semaphore-agent-desktop.desktop"));
    const entry = readFileSync(path, "utf8");
    expect(entry).toMatch(/^\[Desktop Entry\]\nType=Application\n/);
    expect(entry).toContain('Exec="/opt/Semaphore Agent/semaphore-agent-desktop" --hidden\n');
    expect(autostartEnabled(env)).toBe(true);
    setAutostart(false, [], env);
    expect(existsSync(autostartPath(env))).toBe(false);
  });
});
