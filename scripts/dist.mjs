#!/usr/bin/env node
// `npm run dist` (after `npm run build`): packages the desktop app for this platform with
// electron-builder (electron-builder.yml) into release/. Linux: AppImage + deb; macOS: dmg;
// Windows: NSIS installer. Extra arguments go to electron-builder (e.g. --dir for an unpacked app).
//
// electron-builder needs the Electron runtime (node_modules/electron/dist, passed as electronDist so
// nothing else is downloaded for it) and, for npmRebuild, Electron's headers from the network to
// compile node-pty. Without the runtime this explains why and exits with code 2.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const say = (line) => process.stderr.write(`dist: ${line}\n`);

const PLATFORM_FLAG = { linux: "--linux", darwin: "--mac", win32: "--win" }[process.platform];
if (PLATFORM_FLAG === undefined) {
  say(`cannot package on ${process.platform}: electron-builder targets here are Linux, macOS and Windows.`);
  process.exit(2);
}

const electronDist = join(ROOT, "node_modules", "electron", "dist");
let electronBinary = null;
try {
  const path = require("electron");
  if (typeof path === "string" && existsSync(path)) electronBinary = path;
} catch {
  // not downloaded
}
if (electronBinary === null) {
  const version = readVersion();
  say(`cannot package here: the Electron ${version} runtime is not in node_modules/electron/dist.`);
  say("  electron-builder packs that runtime into the app, and npmRebuild compiles node-pty against");
  say("  Electron's headers, so packaging needs a machine with network access:");
  say("    npm install            (without ELECTRON_SKIP_BINARY_DOWNLOAD; or: node node_modules/electron/install.js)");
  say("    npm run dist");
  process.exit(2);
}

for (const built of ["dist/electron/main.js", "dist/electron/preload.cjs", "dist/renderer/index.html", "dist/agent-core/cli.js"]) {
  if (!existsSync(join(ROOT, built))) {
    say(`cannot package: ${built} is missing; run \`npm run build\` first (npm run dist does).`);
    process.exit(2);
  }
}

const cli = require.resolve("electron-builder/cli.js");
// electron-builder.yml in the root is found by electron-builder itself.
const args = [cli, PLATFORM_FLAG, "--publish", "never", `-c.electronDist=${electronDist}`, ...process.argv.slice(2)];
say(`electron-builder ${PLATFORM_FLAG} -> release/`);
const child = spawn(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

function readVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", "electron", "package.json"), "utf8")).version;
  } catch {
    return "(unknown)";
  }
}
