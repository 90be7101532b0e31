// installToolbox: Semaphore's self-hosted toolbox into `<home>/.toolbox`, without sudo and without
// touching a dotfile. What the official install.sh does, minus its system changes: download the
// release tar, check it, unpack its `toolbox/` folder; then, instead of linking the commands into
// /usr/local/bin and appending `source ~/.toolbox/toolbox` to ~/.bash_profile, a bin folder of
// links inside the install, which the job shells put on PATH themselves (see shell-snippet.ts).
//
// Atomic: everything happens in `<home>/.toolbox.new-<id>` (and its download beside it), and only a
// checked, complete install is renamed into place, the old one renamed aside first and removed
// after. Any failure or cancellation removes what this run made and leaves the old install as it
// was; leftovers of a run that was killed outright are removed by the next one.

import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { lstat, mkdir, readdir, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pipeline } from "node:stream/promises";

import { isProcessRunning, processStartTime } from "../shell/kill.js";
import { AGENT_VERSION } from "../version.js";
import { downloadDispatcher, downloadToFile, fetchSmallText } from "./download.js";
import { ToolboxError } from "./errors.js";
import { extractToolboxArchive, inspectToolboxArchive, REQUIRED_TOOLBOX_FILES } from "./extract.js";
import {
  readToolboxMetadata,
  TOOLBOX_BIN_DIR_NAME,
  TOOLBOX_COMMANDS,
  TOOLBOX_DIR_NAME,
  TOOLBOX_METADATA_FILE,
  type ChecksumCheck,
  type ToolboxMetadata,
} from "./layout.js";
import {
  CHECKSUMS_ASSET,
  checkToolboxVersion,
  checksumFor,
  DEFAULT_TOOLBOX_RELEASES_URL,
  releaseAssetUrl,
  TOOLBOX_BASE_URL_ENV,
  toolboxAssetName,
  versionInReleaseUrl,
} from "./release.js";

/** The steps of an install, in order; `download` is skipped for a local file. */
export type ToolboxInstallPhase = "download" | "checksum" | "extract" | "install";

export interface ToolboxInstallProgress {
  phase: ToolboxInstallPhase;
  /** Bytes downloaded so far (the tarball's size in the later phases). */
  receivedBytes: number;
  /** The tarball's size when known (Content-Length, or the file's size), else null. */
  totalBytes: number | null;
}

export interface ToolboxInstallOptions {
  /** The job HOME: the toolbox goes to `<home>/.toolbox`. Must exist. */
  home: string;
  /** A release tag `vX.Y.Z`; default: the latest release. Ignored for the URL of `from`. */
  version?: string | null | undefined;
  /**
   * A local tarball file (path) or an http(s) URL of one, instead of the release download. A
   * `checksums.txt` beside it (same folder / same URL folder) is used to verify it when present.
   */
  from?: string | null | undefined;
  /** Default process.platform; "linux" or "darwin". */
  platform?: string | undefined;
  /** Default process.arch; "x64" or "arm64". */
  arch?: string | undefined;
  /**
   * The releases area, default $SEMAPHORE_AGENT_TOOLBOX_BASE_URL or
   * https://github.com/semaphoreci/toolbox/releases (assets at `latest/download/<asset>` and
   * `download/<version>/<asset>`).
   */
  baseUrl?: string | undefined;
  /** Called often during the download (per chunk) and once at the start of each phase. */
  onProgress?: ((progress: ToolboxInstallProgress) => void) | undefined;
  /** Aborting cancels the install; the old install stays, nothing of this run is left behind. */
  signal?: AbortSignal | undefined;
}

export interface ToolboxInstallResult {
  /** `<home>/.toolbox`. */
  path: string;
  /** `<home>/.toolbox/bin`: the folder job shells put first on PATH. */
  binDir: string;
  /** The release tag installed: asked for, or read from GitHub's redirect for `latest`; null when unknown. */
  version: string | null;
  /** The tarball's name (`self-hosted-linux.tar`, or the basename of `from`). */
  asset: string;
  /** The URL or file path it came from. */
  source: string;
  sha256: string;
  sizeBytes: number;
  checksum: ChecksumCheck;
  /** ISO 8601. */
  installedAt: string;
  /** The commands linked into binDir. */
  commands: string[];
  /** The install this one replaced, if any (its version may be unknown: null). */
  replaced: { version: string | null } | null;
  durationMs: number;
}

/** Installs (or replaces) the toolbox in `<home>/.toolbox`. Rejects with a ToolboxError. */
export async function installToolbox(opts: ToolboxInstallOptions): Promise<ToolboxInstallResult> {
  const began = performance.now();
  const home = resolve(opts.home);
  const homeStat = await stat(home).catch(() => null);
  if (!homeStat?.isDirectory()) throw new ToolboxError("usage", `the home folder ${home} does not exist`);
  const version = opts.version ? checkToolboxVersion(opts.version) : null;
  const source = await resolveSource(opts, version);
  const signal = opts.signal;
  if (signal?.aborted) throw aborted();

  const lock = InstallLock.acquire(home);
  const id = randomBytes(6).toString("hex");
  const newDir = join(home, `${TOOLBOX_DIR_NAME}.new-${id}`);
  const download = `${newDir}.tar`;
  const dispatcher = source.kind === "file" ? null : downloadDispatcher();
  const progress = opts.onProgress ?? (() => {});
  try {
    await removeLeftovers(home);
    let tarball: string;
    let sha256: string;
    let sizeBytes: number;
    let resolvedVersion = version;
    let checksum: ChecksumCheck;
    if (source.kind === "file") {
      tarball = source.path;
      sizeBytes = (await stat(tarball)).size;
      progress({ phase: "checksum", receivedBytes: sizeBytes, totalBytes: sizeBytes });
      sha256 = await sha256OfFile(tarball);
      checksum = await checkLocalChecksum(tarball, source.asset, sha256);
    } else {
      tarball = download;
      const result = await downloadToFile({
        url: source.url,
        file: download,
        dispatcher: dispatcher!,
        signal,
        onProgress: (p) => progress({ phase: "download", ...p }),
      });
      sha256 = result.sha256;
      sizeBytes = result.sizeBytes;
      if (source.kind === "release" && resolvedVersion === null) {
        resolvedVersion = result.urls.map(versionInReleaseUrl).find((v) => v !== null) ?? null;
      }
      progress({ phase: "checksum", receivedBytes: sizeBytes, totalBytes: sizeBytes });
      // For `latest`, the checksums of the tag the download resolved to (not a newer one since).
      const checksumsUrl =
        source.kind === "release"
          ? releaseAssetUrl(source.baseUrl, CHECKSUMS_ASSET, resolvedVersion)
          : new URL(CHECKSUMS_ASSET, source.url).href;
      checksum = await checkRemoteChecksum(checksumsUrl, source.asset, sha256, dispatcher!, signal);
    }
    if (signal?.aborted) throw aborted();

    progress({ phase: "extract", receivedBytes: sizeBytes, totalBytes: sizeBytes });
    const summary = await inspectToolboxArchive(tarball);
    await mkdir(newDir, { mode: 0o755 });
    await extractToolboxArchive(tarball, newDir);
    for (const name of REQUIRED_TOOLBOX_FILES) {
      const st = await lstat(join(newDir, name)).catch(() => null);
      if (!st?.isFile()) throw new ToolboxError("archive", `the unpacked toolbox has no file ${name}`);
    }
    const commands = await linkCommands(newDir, summary.files);
    const installedAt = new Date().toISOString();
    const metadata: ToolboxMetadata = {
      installedBy: "semaphore-agent",
      agentVersion: AGENT_VERSION,
      version: resolvedVersion,
      asset: source.asset,
      source: source.kind === "file" ? source.path : source.url,
      sha256,
      sizeBytes,
      checksum,
      installedAt,
      commands,
    };
    await writeFile(join(newDir, TOOLBOX_METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o644 });
    if (signal?.aborted) throw aborted();

    progress({ phase: "install", receivedBytes: sizeBytes, totalBytes: sizeBytes });
    const target = join(home, TOOLBOX_DIR_NAME);
    const previous = await lstat(target).catch(() => null);
    const replaced = previous ? { version: (await readToolboxMetadata(target))?.version ?? null } : null;
    await swapInto(target, newDir, join(home, `${TOOLBOX_DIR_NAME}.old-${id}`));
    if (tarball === download) await rm(download, { force: true });
    return {
      path: target,
      binDir: join(target, TOOLBOX_BIN_DIR_NAME),
      version: resolvedVersion,
      asset: source.asset,
      source: metadata.source,
      sha256,
      sizeBytes,
      checksum,
      installedAt,
      commands,
      replaced,
      durationMs: Math.round(performance.now() - began),
    };
  } catch (error) {
    await rm(newDir, { recursive: true, force: true }).catch(() => undefined);
    await rm(download, { force: true }).catch(() => undefined);
    if (error instanceof ToolboxError) throw error;
    if (signal?.aborted) throw aborted();
    throw new ToolboxError("io", `cannot install the toolbox into ${join(home, TOOLBOX_DIR_NAME)}: ${(error as Error).message}`);
  } finally {
    await dispatcher?.destroy().catch(() => undefined);
    lock.release();
  }
}

type Source =
  | { kind: "release"; url: string; baseUrl: string; asset: string }
  | { kind: "url"; url: string; asset: string }
  | { kind: "file"; path: string; asset: string };

async function resolveSource(opts: ToolboxInstallOptions, version: string | null): Promise<Source> {
  const from = opts.from ?? null;
  if (from === null || from === "") {
    const asset = toolboxAssetName(opts.platform ?? process.platform, opts.arch ?? process.arch);
    const baseUrl = opts.baseUrl || process.env[TOOLBOX_BASE_URL_ENV] || DEFAULT_TOOLBOX_RELEASES_URL;
    if (!/^https?:\/\//i.test(baseUrl)) throw new ToolboxError("usage", `the toolbox releases URL must be http(s): ${baseUrl}`);
    return { kind: "release", url: releaseAssetUrl(baseUrl, asset, version), baseUrl, asset };
  }
  if (/^https?:\/\//i.test(from)) {
    const url = new URL(from);
    return { kind: "url", url: url.href, asset: decodeURIComponent(basename(url.pathname)) || "toolbox.tar" };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) throw new ToolboxError("usage", `--from must be a file or an http(s) URL: ${from}`);
  const path = resolve(from);
  const st = await stat(path).catch(() => null);
  if (!st) throw new ToolboxError("usage", `no such file: ${path}`);
  if (!st.isFile()) throw new ToolboxError("usage", `not a file: ${path}`);
  return { kind: "file", path, asset: basename(path) };
}

async function checkRemoteChecksum(
  url: string,
  asset: string,
  sha256: string,
  dispatcher: ReturnType<typeof downloadDispatcher>,
  signal: AbortSignal | undefined,
): Promise<ChecksumCheck> {
  const found = await fetchSmallText({ url, dispatcher, signal });
  if (found === null) return { verified: false, detail: `no checksum published (${url} not found)`, checksumsSource: null };
  return compare(found.text, url, asset, sha256);
}

async function checkLocalChecksum(file: string, asset: string, sha256: string): Promise<ChecksumCheck> {
  const beside = join(dirname(file), CHECKSUMS_ASSET);
  let text: string;
  try {
    text = readFileSync(beside, "utf8");
  } catch {
    return { verified: false, detail: `no checksum published (no ${CHECKSUMS_ASSET} beside ${file})`, checksumsSource: null };
  }
  return compare(text, beside, asset, sha256);
}

function compare(text: string, where: string, asset: string, sha256: string): ChecksumCheck {
  const expected = checksumFor(text, asset);
  if (expected === null) return { verified: false, detail: `no checksum published for ${asset} in ${where}`, checksumsSource: where };
  if (expected !== sha256) {
    throw new ToolboxError(
      "checksum",
      `checksum mismatch for ${asset}: its sha256 is ${sha256}, ${where} lists ${expected} (a corrupt or altered download); nothing was changed`,
    );
  }
  return { verified: true, detail: `sha256 matches ${where}`, checksumsSource: where };
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Relative links `bin/<cmd> -> ../<cmd>` for the commands the tarball has (so the folder can be renamed). */
async function linkCommands(dir: string, files: readonly string[]): Promise<string[]> {
  const bin = join(dir, TOOLBOX_BIN_DIR_NAME);
  await mkdir(bin, { recursive: true, mode: 0o755 });
  const linked: string[] = [];
  for (const name of TOOLBOX_COMMANDS) {
    if (!files.includes(name)) continue;
    const link = join(bin, name);
    if (await lstat(link).then(() => true, () => false)) continue; // the tarball brought its own
    await symlink(`../${name}`, link);
    linked.push(name);
  }
  // The Linux tarballs carry `when` once per Erlang release (when_otp_24, …); like the official
  // install-toolbox, link the one that matches this machine's Erlang, when there is one.
  if (!linked.includes("when") && files.some((f) => f.startsWith("when_otp_"))) {
    const otp = await erlangRelease();
    const binary = otp === null ? null : `when_otp_${otp}`;
    if (binary !== null && files.includes(binary) && !(await lstat(join(bin, "when")).then(() => true, () => false))) {
      await symlink(`../${binary}`, join(bin, "when"));
      linked.push("when");
    }
  }
  return linked;
}

/** The OTP release of the `erl` on PATH ("26"), or null without Erlang (bounded: 10 s). */
function erlangRelease(): Promise<string | null> {
  return new Promise((resolvePromise) => {
    execFile(
      "erl",
      ["-noshell", "-eval", 'io:format("~s", [erlang:system_info(otp_release)]), halt().'],
      { timeout: 10_000, encoding: "utf8" },
      (error, stdout) => {
        const release = stdout.trim();
        resolvePromise(!error && /^\d+$/.test(release) ? release : null);
      },
    );
  });
}

/** old → aside, new → in place, aside removed; a failed second rename puts the old one back. */
async function swapInto(target: string, fresh: string, aside: string): Promise<void> {
  let moved = false;
  try {
    await rename(target, aside);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  try {
    await rename(fresh, target);
  } catch (error) {
    if (moved) await rename(aside, target).catch(() => undefined);
    throw error;
  }
  if (moved) await rm(aside, { recursive: true, force: true });
}

/** `.toolbox.new-*` (unpacked folders and downloads) and `.toolbox.old-*` of runs that were killed. */
async function removeLeftovers(home: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(home)) {
    if (!name.startsWith(`${TOOLBOX_DIR_NAME}.new-`) && !name.startsWith(`${TOOLBOX_DIR_NAME}.old-`)) continue;
    await rm(join(home, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

const aborted = (): ToolboxError => new ToolboxError("aborted", "the toolbox install was cancelled; nothing was changed");

/**
 * One install per home at a time: `<home>/.toolbox.lock` taken with O_EXCL, holding the pid and
 * its start time; a lock whose process is gone is taken over. Removed when the install ends, and
 * on process exit.
 */
class InstallLock {
  private released = false;
  private readonly onExit = (): void => this.release();

  private constructor(private readonly path: string, private readonly stamp: string) {
    process.once("exit", this.onExit);
  }

  static acquire(home: string): InstallLock {
    const path = join(home, `${TOOLBOX_DIR_NAME}.lock`);
    const stamp = `${process.pid} ${processStartTime(process.pid) ?? ""}`.trim();
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o600);
        writeSync(fd, `${stamp}\n`);
        closeSync(fd);
        return new InstallLock(path, stamp);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new ToolboxError("io", `cannot create ${path}: ${(error as Error).message}`);
        }
        const [pidText, startTime] = readText(path).trim().split(" ");
        const pid = Number(pidText);
        const alive =
          Number.isSafeInteger(pid) && pid > 0 && isProcessRunning(pid) && (startTime === undefined || processStartTime(pid) === startTime);
        if (alive) throw new ToolboxError("busy", `another toolbox install into ${home} is running (pid ${pid})`);
        try {
          unlinkSync(path); // its process is gone
        } catch {
          // Someone else took it over meanwhile: try again.
        }
      }
    }
    throw new ToolboxError("busy", `cannot take the install lock ${path}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener("exit", this.onExit);
    try {
      if (readText(this.path).trim() === this.stamp) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
