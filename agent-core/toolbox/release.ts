// Where Semaphore publishes the self-hosted toolbox, and what a release holds. Learned from the
// toolbox repository's release scripts: each GitHub release of semaphoreci/toolbox carries one tar
// per platform (`self-hosted-linux.tar`, `self-hosted-linux-arm.tar`, `self-hosted-darwin.tar`,
// `self-hosted-darwin-arm.tar`, plus Windows), all with one top folder `toolbox/`, and a
// `checksums.txt` with one `<sha256-hex> <asset-name>` line per tar (hosted and self-hosted ones).

import { ToolboxError } from "./errors.js";

/** GitHub's release area of the toolbox; `latest/download/<asset>` redirects to the newest tag. */
export const DEFAULT_TOOLBOX_RELEASES_URL = "https://github.com/semaphoreci/toolbox/releases";
/** Overrides DEFAULT_TOOLBOX_RELEASES_URL (a mirror, or a local server in tests). */
export const TOOLBOX_BASE_URL_ENV = "SEMAPHORE_AGENT_TOOLBOX_BASE_URL";
/** The official install.sh's variable selecting a toolbox release (`vX.Y.Z`). */
export const TOOLBOX_VERSION_ENV = "SEMAPHORE_TOOLBOX_VERSION";
/** The name of the release asset that lists every tar's sha256. */
export const CHECKSUMS_ASSET = "checksums.txt";

export type ToolboxOs = "linux" | "darwin";
export type ToolboxArch = "x64" | "arm64";

/** The release asset for a platform: `self-hosted-<os>[-arm].tar`. Throws for anything else. */
export function toolboxAssetName(platform: string = process.platform, arch: string = process.arch): string {
  if (platform !== "linux" && platform !== "darwin") {
    throw new ToolboxError(
      "platform",
      `the Semaphore toolbox for self-hosted agents is published for linux and darwin (macOS), not for ${platform}`,
    );
  }
  if (arch !== "x64" && arch !== "arm64") {
    throw new ToolboxError(
      "platform",
      `the Semaphore toolbox for self-hosted agents is published for x64 and arm64 machines, not for ${arch}`,
    );
  }
  return `self-hosted-${platform}${arch === "arm64" ? "-arm" : ""}.tar`;
}

/** A release tag as install.sh takes it: `v1.2.3` (a suffix such as `-rc.1` allowed). */
export function checkToolboxVersion(version: string): string {
  if (!/^v\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/.test(version)) {
    throw new ToolboxError("usage", `toolbox version must look like v1.2.3 (got "${version}")`);
  }
  return version;
}

/** `<base>/latest/download/<asset>` or `<base>/download/<version>/<asset>`. */
export function releaseAssetUrl(baseUrl: string, asset: string, version: string | null): string {
  const base = baseUrl.replace(/\/+$/, "");
  return version === null ? `${base}/latest/download/${asset}` : `${base}/download/${version}/${asset}`;
}

/** The tag in a GitHub release download URL (`…/releases/download/<tag>/<asset>`), if there is one. */
export function versionInReleaseUrl(url: string): string | null {
  const m = /\/download\/(v[^/]+)\/[^/]+$/.exec(new URL(url).pathname);
  return m ? decodeURIComponent(m[1] as string) : null;
}

/**
 * The sha256 listed for `asset` in a checksums.txt (`<hex> <name>` per line, as `sha256sum` prints
 * with one or two spaces, `*name` for binary mode); null when the asset is not listed.
 */
export function checksumFor(checksumsText: string, asset: string): string | null {
  for (const line of checksumsText.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(\S.*?)\s*$/.exec(line.trim());
    if (m && m[2] === asset) return (m[1] as string).toLowerCase();
  }
  return null;
}
