import { readFileSync } from "node:fs";

// The agent version is the package version as a tag ("v0.1.0"); it is sent in the User-Agent
// header and as `version` in the register body (spec §1.3, §2.1).
function readPackageVersion(): string {
  try {
    const url = new URL("../../package.json", import.meta.url); // dist/agent-core -> root
    const alt = new URL("../package.json", import.meta.url); // agent-core -> root (vitest runs sources)
    for (const candidate of [url, alt]) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
        if (pkg.name === "semaphore-agent-desktop" && typeof pkg.version === "string") return pkg.version;
      } catch {
        // try the next location
      }
    }
  } catch {
    // fall through
  }
  return "0.0.0";
}

export const AGENT_VERSION = `v${readPackageVersion()}`;
export const USER_AGENT = `SemaphoreAgent/${AGENT_VERSION}`;
