#!/usr/bin/env node
// `npm start` (after `npm run build`): the desktop app when it can run here, else the web console.
//
//   node scripts/start.mjs [--console] [ARGS...]
//
// Decides, in this order, printing one line when it falls back to the console:
//   --console given                      -> web console
//   Linux without DISPLAY/WAYLAND_DISPLAY -> web console (macOS and Windows always have a display)
//   Electron binary missing              -> one bounded try of node_modules/electron/install.js;
//                                           still missing -> web console
//   root without --no-sandbox (Linux)    -> web console (Chromium's sandbox needs a normal user)
//   node-pty for Electron                -> rebuilt once per Electron version into
//                                           .cache/electron-native/<version>/node_modules/node-pty;
//                                           failure -> web console
//   otherwise                            -> `electron .` with SEMAPHORE_AGENT_DESKTOP_NODE_PTY set
// ARGS go to the chosen program (the console takes --port N --data-dir DIR). Signals are passed on
// to it once, and this script exits with its exit code.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const NODE_PTY_ENV = "SEMAPHORE_AGENT_DESKTOP_NODE_PTY";
const INSTALL_TIMEOUT_MS = 120_000;
/** After a failed download, later starts do not try again for this long (offline boxes start at once). */
const INSTALL_RETRY_AFTER_MS = 60 * 60_000;
const REBUILD_TIMEOUT_MS = 300_000;

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
// (Everything the main flow below uses is declared above it: it runs at the top level, before any
// later `const` would be initialised.)
const installMarker = () => join(ROOT, ".cache", "electron-install-failed");
const say = (line) => process.stderr.write(`start: ${line}\n`);

const argv = process.argv.slice(2);
const forceConsole = argv.includes("--console");
const rest = argv.filter((arg) => arg !== "--console");
/** Chromium switches mean nothing to the console. */
const consoleArgs = rest.filter((arg) => arg !== "--no-sandbox");

const reason = forceConsole ? "--console given" : await prepareElectron();
if (typeof reason === "string") {
  say(`${reason}: starting the web console instead (open the URL it prints).`);
  await runAndExit(process.execPath, [join(ROOT, "bin", "semaphore-agent"), "console", ...consoleArgs], consoleEnvironment(process.env));
} else {
  const env = { ...process.env, [NODE_PTY_ENV]: reason.nodePty };
  // Set in some shells (e.g. inherited from an editor's terminal), it would make Electron a plain Node.
  delete env.ELECTRON_RUN_AS_NODE;
  await runAndExit(reason.electron, [ROOT, ...rest], env);
}

/** Either why the app cannot start here (a string), or what to start it with. */
async function prepareElectron() {
  if (process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return "no display (DISPLAY and WAYLAND_DISPLAY are unset)";
  }
  const version = electronVersion();
  if (version === null) return "the electron package is not installed (run npm install)";
  let electron = electronBinary();
  if (electron === null) {
    const failed = installFailedRecently(version);
    if (failed) return `the Electron ${version} runtime is not downloaded and the last try failed (${failed}); delete .cache/electron-install-failed to try again`;
    say(`the Electron ${version} runtime is not downloaded; trying once (at most ${INSTALL_TIMEOUT_MS / 1000} s)...`);
    const result = spawnSync(process.execPath, [join(ROOT, "node_modules", "electron", "install.js")], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: INSTALL_TIMEOUT_MS,
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: "" },
    });
    electron = electronBinary();
    if (electron === null) {
      const why = result.error?.code === "ETIMEDOUT" ? "timed out" : firstLine(result.stderr) || `exit code ${result.status}`;
      recordInstallFailure(version, why);
      return `the Electron runtime could not be downloaded (${why})`;
    }
  }
  if (process.platform === "linux" && process.getuid?.() === 0 && !rest.includes("--no-sandbox")) {
    return "running as root, where Electron needs --no-sandbox (which turns off Chromium's sandbox; pass it to start the app anyway)";
  }
  const nodePty = await nodePtyForElectron(version);
  if (typeof nodePty !== "string") return nodePty.error;
  return { electron, nodePty };
}

function electronVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", "electron", "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/** The Electron executable, or null when the package's binary was never downloaded. */
function electronBinary() {
  try {
    const path = require("electron"); // node_modules/electron/index.js: the path, or a throw
    return typeof path === "string" && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

function installFailedRecently(version) {
  try {
    const marker = JSON.parse(readFileSync(installMarker(), "utf8"));
    if (marker.version === version && Date.now() - marker.at < INSTALL_RETRY_AFTER_MS) return marker.why;
  } catch {
    // no marker
  }
  return null;
}

function recordInstallFailure(version, why) {
  try {
    mkdirSync(dirname(installMarker()), { recursive: true });
    writeFileSync(installMarker(), JSON.stringify({ version, at: Date.now(), why }));
  } catch {
    // only an optimisation
  }
}

/**
 * node-pty compiled for Electron, in a copy beside the one Node uses (tests and the CLI need that one
 * as it is). Built once per Electron and node-pty version with @electron/rebuild.
 */
async function nodePtyForElectron(version) {
  const cacheRoot = join(ROOT, ".cache", "electron-native", version);
  const target = join(cacheRoot, "node_modules", "node-pty");
  const source = join(ROOT, "node_modules", "node-pty");
  let ptyVersion;
  try {
    ptyVersion = JSON.parse(readFileSync(join(source, "package.json"), "utf8")).version;
  } catch {
    return { error: "node_modules/node-pty is missing (run npm install)" };
  }
  const stamp = join(cacheRoot, "built.json");
  const wanted = JSON.stringify({ electron: version, nodePty: ptyVersion, platform: process.platform, arch: process.arch });
  if (existsSync(join(target, "build", "Release", "pty.node")) && readText(stamp) === wanted) return target;

  say(`building node-pty ${ptyVersion} for Electron ${version} (once; into .cache/electron-native/)...`);
  rmSync(cacheRoot, { recursive: true, force: true });
  mkdirSync(cacheRoot, { recursive: true });
  // Sources only: no build output of the Node build, no prebuilt binaries for other platforms.
  cpSync(source, target, {
    recursive: true,
    filter: (path) => {
      const relative = path.slice(source.length + 1).split(sep)[0];
      return relative !== "build" && relative !== "prebuilds" && relative !== "node-addon-api";
    },
  });
  writeFileSync(join(cacheRoot, "package.json"), JSON.stringify({ name: "electron-native", private: true, dependencies: { "node-pty": ptyVersion } }, null, 2));
  let rebuild;
  try {
    ({ rebuild } = require("@electron/rebuild"));
  } catch {
    return { error: "@electron/rebuild is not installed (npm install installs it as a dev dependency)" };
  }
  try {
    await withTimeout(
      rebuild({ buildPath: cacheRoot, electronVersion: version, onlyModules: ["node-pty"], force: true, mode: "sequential" }),
      REBUILD_TIMEOUT_MS,
      `timed out after ${REBUILD_TIMEOUT_MS / 1000} s`,
    );
  } catch (error) {
    rmSync(cacheRoot, { recursive: true, force: true });
    const message = firstLine(error instanceof Error ? error.message : String(error));
    return {
      error:
        `node-pty could not be rebuilt for Electron ${version} (${message}; it needs Electron's headers from ` +
        `electronjs.org and a C++ toolchain: python3, make, g++)`,
    };
  }
  if (!existsSync(join(target, "build", "Release", "pty.node"))) {
    rmSync(cacheRoot, { recursive: true, force: true });
    return { error: `node-pty was rebuilt for Electron ${version} but no build/Release/pty.node came out` };
  }
  writeFileSync(stamp, wanted);
  return target;
}

/** The console's jobs inherit this: the user's environment, not npm's (npm_* variables, node_modules/.bin on PATH). */
function consoleEnvironment(env) {
  const result = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name.startsWith("npm_") || name === "INIT_CWD" || name === "NODE") continue;
    result[name] = value;
  }
  if ((env.npm_lifecycle_event !== undefined || env.npm_execpath !== undefined) && result.PATH !== undefined) {
    const separator = process.platform === "win32" ? ";" : ":";
    result.PATH = result.PATH.split(separator)
      .filter((entry) => !/[\\/]node_modules[\\/]\.bin[\\/]?$/.test(entry) && !/[\\/]node-gyp-bin[\\/]?$/.test(entry))
      .join(separator);
  }
  return result;
}

/**
 * Runs the program in its own process group, so a terminal's Ctrl-C reaches it once, through us
 * (npm and the terminal may both deliver it to us; a repeat within DUPLICATE_MS is dropped), and
 * exits with its exit code.
 */
async function runAndExit(command, args, env) {
  const DUPLICATE_MS = 300;
  const child = spawn(command, args, { cwd: ROOT, env, stdio: "inherit", detached: process.platform !== "win32" });
  const lastForwarded = new Map();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      const now = Date.now();
      if (now - (lastForwarded.get(signal) ?? 0) < DUPLICATE_MS) return;
      lastForwarded.set(signal, now);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  const code = await new Promise((resolveExit) => {
    child.on("error", (error) => {
      say(`cannot run ${command}: ${error.message}`);
      resolveExit(1);
    });
    child.on("exit", (exitCode, signal) => resolveExit(exitCode ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 1) : 1)));
  });
  process.exit(code);
}

function readText(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function firstLine(text) {
  return String(text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line !== "")
    ?.slice(0, 200) ?? "";
}

function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
