// `semaphore-agent toolbox install | status`: Semaphore's self-hosted toolbox in the job HOME, without
// sudo (see agent-core/toolbox/), and the table of what the toolbox offers on this machine.

import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { parse as parseYaml } from "yaml";

import {
  CHECKSUMS_ASSET,
  DEFAULT_TOOLBOX_RELEASES_URL,
  installToolbox,
  releaseAssetUrl,
  TOOLBOX_BASE_URL_ENV,
  TOOLBOX_VERSION_ENV,
  toolboxAssetName,
  toolboxStatus,
  ToolboxError,
  type ToolboxInstallResult,
  type ToolboxStatus,
} from "../toolbox/index.js";
import { escapeControlChars as esc } from "../util/control-chars.js";
import { parseFlags, UsageError } from "./args.js";
import { ProgressReporter, formatBytes } from "./progress.js";

export const TOOLBOX_USAGE = `Usage:
  semaphore-agent toolbox install [--version vX.Y.Z] [--from FILE|URL] [--home DIR]
      Install Semaphore's self-hosted toolbox (checkout, artifact, test-results, cache, retry, ...)
      into DIR/.toolbox (default $HOME), verified and replaced atomically, without sudo. Version:
      --version, else $${TOOLBOX_VERSION_ENV}, else the latest release.
  semaphore-agent toolbox status [--home DIR] [--config-file FILE]
      Which toolbox features work for jobs here, and the fix for each that does not (the agent's
      env-vars from FILE count as the job's environment).
`;

export async function runToolboxCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "install":
        return await install(rest);
      case "status":
        return await status(rest);
      case undefined:
      case "help":
      case "--help":
        process.stdout.write(TOOLBOX_USAGE);
        return sub === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown toolbox command '${sub}'`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`semaphore-agent toolbox: ${esc(error.message)}\n\n${TOOLBOX_USAGE}`);
      return 2;
    }
    throw error;
  }
}

function homeOf(flags: Record<string, string | number | boolean>): string {
  const home = flags.home;
  if (typeof home === "string" && home !== "") return home;
  return process.env.HOME || homedir();
}

async function install(argv: string[]): Promise<number> {
  const { flags, positional } = parseFlags(argv, { version: "string", from: "string", home: "string" });
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const version = (flags.version as string | undefined) || process.env[TOOLBOX_VERSION_ENV] || null;
  const from = (flags.from as string | undefined) ?? null;
  const home = homeOf(flags);

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const reporter = new ProgressReporter({
    tty: process.stderr.isTTY === true,
    columns: process.stderr.columns,
    write: (text) => process.stderr.write(text),
  });
  try {
    process.stderr.write(`Installing the Semaphore toolbox ${from ? `from ${esc(from)}` : esc(version ?? "(latest release)")} into ${esc(home)}/.toolbox\n`);
    const result = await installToolbox({ home, version, from, onProgress: reporter.update, signal: controller.signal });
    reporter.finish();
    process.stdout.write(describeInstall(result));
    return 0;
  } catch (error) {
    reporter.finish();
    if (!(error instanceof ToolboxError)) throw error;
    if (error.code === "aborted") {
      process.stderr.write("semaphore-agent toolbox install: interrupted; the toolbox was not changed\n");
      return 130;
    }
    process.stderr.write(`semaphore-agent toolbox install: ${esc(error.message)}\n`);
    if (error.code === "network") process.stderr.write(offlineAdvice(error, version, from));
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** What to do without a network: where the file is published, and --from. */
function offlineAdvice(error: ToolboxError, version: string | null, from: string | null): string {
  let where: string;
  if (from !== null) {
    where = esc(from);
  } else {
    let asset = "self-hosted-<os>[-arm].tar";
    try {
      asset = toolboxAssetName();
    } catch {
      // The platform error would have come first.
    }
    // Where it comes from on the internet, even when a mirror (the base URL variable) was asked.
    where = `${releaseAssetUrl(DEFAULT_TOOLBOX_RELEASES_URL, asset, version)} (and ${CHECKSUMS_ASSET} beside it, to verify it)`;
    if (process.env[TOOLBOX_BASE_URL_ENV]) where += ` or from your mirror ${esc(error.url ?? process.env[TOOLBOX_BASE_URL_ENV] ?? "")}`;
  }
  return (
    `  Is this machine offline? Download ${where} on a machine with internet access,\n` +
    `  copy it here and run: semaphore-agent toolbox install --from FILE\n`
  );
}

function describeInstall(r: ToolboxInstallResult): string {
  const lines = [
    `Installed the Semaphore toolbox ${esc(r.version ?? "(version unknown)")} in ${esc(r.path)} (${(r.durationMs / 1000).toFixed(1)} s)`,
    `  from      ${esc(r.source)}`,
    `  size      ${r.sizeBytes} bytes (${formatBytes(r.sizeBytes)}), complete`,
    `  sha256    ${r.sha256}: ${r.checksum.verified ? "verified, " : ""}${esc(r.checksum.detail)}`,
    `  commands  ${r.commands.length > 0 ? r.commands.join(", ") : "(none)"} in ${esc(r.binDir)}`,
  ];
  if (r.replaced) lines.push(`  replaced  ${esc(r.replaced.version ?? "an install of unknown version")}`);
  lines.push(
    "Job shells started by this agent load it (checkout and the bin folder on PATH); nothing outside",
    `${esc(r.path)} was changed (no sudo, no dotfile). See: semaphore-agent toolbox status`,
    "",
  );
  return lines.join("\n");
}

async function status(argv: string[]): Promise<number> {
  const { flags, positional } = parseFlags(argv, { home: "string", "config-file": "string" });
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const env: Record<string, string | undefined> = { ...process.env };
  const configFile = flags["config-file"] as string | undefined;
  if (configFile) Object.assign(env, envVarsOfConfigFile(configFile));
  const result = await toolboxStatus({ home: homeOf(flags), env });
  process.stdout.write(renderStatus(result));
  return 0;
}

/** The `env-vars` entries (`NAME=VALUE`) of an agent config.yaml. */
function envVarsOfConfigFile(file: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`--config-file: cannot read ${file}: ${(error as Error).message}`);
  }
  const list = doc && typeof doc === "object" ? (doc as Record<string, unknown>)["env-vars"] : undefined;
  const out: Record<string, string> = {};
  if (!Array.isArray(list)) return out;
  for (const entry of list) {
    if (typeof entry !== "string") continue;
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** The status table as text (exported for the tests). */
export function renderStatus(s: ToolboxStatus): string {
  const head = s.installed
    ? `Semaphore toolbox ${esc(s.version ?? "(version unknown: not installed by semaphore-agent)")} in ${esc(s.path)}${s.installedAt ? `, installed ${s.installedAt}` : ""}`
    : `Semaphore toolbox: not installed in ${esc(s.path)} (run: semaphore-agent toolbox install)`;
  const rows = [["FEATURE", "SELF-HOSTED", "WORKS HERE", "FIX"], ...s.features.map((f) => [f.name, f.selfHosted, f.works ? "yes" : "no", f.fix === null ? "-" : esc(f.fix)])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const table = rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] as number) : cell)).join("  ").trimEnd());
  const details = s.features.map((f) => `  ${f.id}: ${esc(f.detail)}`);
  return [head, "", ...table, "", "Details:", ...details, ""].join("\n");
}
