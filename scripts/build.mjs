#!/usr/bin/env node
// `npm start`'s build: only what changed since the last build. Each part has its inputs (source
// folders, configs, the lockfile) and its outputs; a part is rebuilt when the hash of its inputs
// differs from the one recorded in dist/.build-stamps.json, or an output is missing. A second
// `npm start` with nothing changed builds nothing.
//
//   node scripts/build.mjs [--force] [--only node|renderer|preload ...]
//
// `npm run build` (tests, packaging) always builds everything; it records the stamps too.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const STAMPS = join(ROOT, "dist", ".build-stamps.json");
const bin = (name) => join(ROOT, "node_modules", ".bin", name);

const PARTS = {
  node: {
    inputs: ["agent-core", "hub", "bench", "electron", "tsconfig.json", "package-lock.json"],
    outputs: ["dist/agent-core/cli.js", "dist/electron/main.js"],
    command: [bin("tsc"), ["-p", "tsconfig.json"]],
  },
  renderer: {
    // The renderer imports the contract and a few pure modules of agent-core.
    inputs: ["renderer", "agent-core", "package-lock.json"],
    outputs: ["dist/renderer/index.html"],
    command: [bin("vite"), ["build", "--config", "renderer/vite.config.ts"]],
  },
  preload: {
    inputs: ["electron/preload.ts", "electron/vite.preload.config.ts", "agent-core/host/contract.ts", "package-lock.json"],
    outputs: ["dist/electron/preload.cjs"],
    command: [bin("vite"), ["build", "--config", "electron/vite.preload.config.ts"]],
  },
};

const args = process.argv.slice(2);
const force = args.includes("--force");
const only = args.flatMap((a, i) => (args[i - 1] === "--only" ? [a] : []));
const wanted = only.length > 0 ? only : Object.keys(PARTS);
for (const name of wanted) if (!(name in PARTS)) fail(`unknown part ${JSON.stringify(name)} (parts: ${Object.keys(PARTS).join(", ")})`);

/** Every file under the inputs (node_modules, dist and dot-folders left out), sorted, with its content hashed. */
function hashOf(inputs) {
  const hash = createHash("sha256");
  const files = [];
  const walk = (path) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (entry === "node_modules" || entry === "dist" || entry.startsWith(".")) continue;
        walk(join(path, entry));
      }
    } else if (stat.isFile()) {
      files.push(path);
    }
  };
  for (const input of inputs) walk(join(ROOT, input));
  for (const file of files) {
    hash.update(relative(ROOT, file));
    hash.update("\0");
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

function readStamps() {
  try {
    return JSON.parse(readFileSync(STAMPS, "utf8"));
  } catch {
    return {};
  }
}

function fail(message) {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

const stamps = readStamps();
const skipped = [];
for (const name of wanted) {
  const part = PARTS[name];
  const hash = hashOf(part.inputs);
  const built = part.outputs.every((out) => existsSync(join(ROOT, out)));
  if (!force && built && stamps[name] === hash) {
    skipped.push(name);
    continue;
  }
  const [command, commandArgs] = part.command;
  process.stderr.write(`build: ${name}${built ? " (changed)" : ""}\n`);
  const ran = spawnSync(command, commandArgs, { cwd: ROOT, stdio: "inherit" });
  if (ran.status !== 0) fail(`${name} failed (${ran.error ? ran.error.message : `exit code ${ran.status ?? ran.signal}`})`);
  // Recorded at once: a later part that fails leaves this one's stamp true.
  stamps[name] = hash;
  mkdirSync(dirname(STAMPS), { recursive: true });
  writeFileSync(STAMPS, `${JSON.stringify(stamps, null, 2)}\n`);
}
if (skipped.length > 0) process.stderr.write(`build: ${skipped.join(", ")} unchanged since the last build (npm run build rebuilds all)\n`);
