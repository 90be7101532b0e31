// The environment the app hands its host (and so every job): the user's, without what Electron,
// an AppImage or `npm start` put there.
import { describe, expect, it } from "vitest";
import { jobEnvironment } from "../../agent-core/agent/job-env.js";
import { hostEnvironment, withoutNpmPathEntries } from "../../electron/environment.js";

const ELECTRON_ENV = {
  HOME: "/home/ada",
  PATH: "/usr/local/bin:/usr/bin:/bin",
  LANG: "en_US.UTF-8",
  CUDA_VISIBLE_DEVICES: "0,1",
  ELECTRON_RUN_AS_NODE: "1",
  ELECTRON_NO_ATTACH_CONSOLE: "1",
  ELECTRON_ENABLE_LOGGING: "1",
  CHROME_DESKTOP: "semaphore-agent-desktop.desktop",
  GOOGLE_API_KEY: "abc",
  ORIGINAL_XDG_CURRENT_DESKTOP: "GNOME",
  XDG_CURRENT_DESKTOP: "Unity",
  SEMAPHORE_AGENT_DESKTOP_NODE_PTY: "/app/.cache/electron-native/39.0.0/node_modules/node-pty",
};

describe("hostEnvironment", () => {
  it("drops Electron's and Chromium's variables and restores the desktop name Electron changed", () => {
    const env = hostEnvironment(ELECTRON_ENV);
    expect(env).toMatchObject({ HOME: "/home/ada", PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "en_US.UTF-8", CUDA_VISIBLE_DEVICES: "0,1", XDG_CURRENT_DESKTOP: "GNOME" });
    for (const name of ["ELECTRON_RUN_AS_NODE", "ELECTRON_NO_ATTACH_CONSOLE", "ELECTRON_ENABLE_LOGGING", "CHROME_DESKTOP", "GOOGLE_API_KEY", "ORIGINAL_XDG_CURRENT_DESKTOP"]) {
      expect(env, name).not.toHaveProperty(name);
    }
  });

  it("removes XDG_CURRENT_DESKTOP when the user had none", () => {
    expect(hostEnvironment({ ORIGINAL_XDG_CURRENT_DESKTOP: "", XDG_CURRENT_DESKTOP: "Unity" })).not.toHaveProperty("XDG_CURRENT_DESKTOP");
    expect(hostEnvironment({ XDG_CURRENT_DESKTOP: "KDE" })).toEqual({ XDG_CURRENT_DESKTOP: "KDE" });
  });

  it("drops the AppImage runtime's variables when running from an AppImage", () => {
    const env = hostEnvironment({ APPIMAGE: "/home/ada/app.AppImage", APPDIR: "/tmp/.mount_x", ARGV0: "app", OWD: "/home/ada", HOME: "/home/ada" });
    expect(env).toEqual({ HOME: "/home/ada" });
    // Outside an AppImage a variable named OWD or ARGV0 is the user's own.
    expect(hostEnvironment({ OWD: "/x" })).toEqual({ OWD: "/x" });
  });

  it("drops npm's variables and its node_modules/.bin PATH entries under `npm start`", () => {
    const env = hostEnvironment({
      PATH: "/repo/node_modules/.bin:/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/usr/bin:/bin",
      npm_lifecycle_event: "start",
      npm_config_registry: "https://registry.npmjs.org/",
      npm_package_name: "semaphore-agent-desktop",
      npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js",
      INIT_CWD: "/repo",
      NODE: "/usr/bin/node",
      HOME: "/home/ada",
    });
    expect(env).toEqual({ PATH: "/usr/bin:/bin", HOME: "/home/ada" });
    // Not launched by npm: PATH is the user's, untouched.
    expect(hostEnvironment({ PATH: "/home/ada/tools/node_modules/.bin:/usr/bin" }).PATH).toBe("/home/ada/tools/node_modules/.bin:/usr/bin");
  });

  it("with the agent's own stripping, no Electron or app variable reaches a job", () => {
    const job = jobEnvironment(hostEnvironment(ELECTRON_ENV));
    expect(Object.keys(job).filter((name) => /^(ELECTRON_|CHROME_|SEMAPHORE_AGENT_DESKTOP_|ORIGINAL_)/.test(name))).toEqual([]);
    expect(job.CUDA_VISIBLE_DEVICES).toBe("0,1");
  });

  it("withoutNpmPathEntries keeps everything else in order", () => {
    expect(withoutNpmPathEntries("/a:/b/node_modules/.bin:/c:/d/node_modules/.bin/:/e", ":")).toBe("/a:/c:/e");
    expect(withoutNpmPathEntries("C:\\a;C:\\repo\\node_modules\\.bin;C:\\b", ";")).toBe("C:\\a;C:\\b");
  });
});
