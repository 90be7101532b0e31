import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { hostname, release } from "node:os";

/** `os` of the register body (spec §2.1), read directly from /etc/os-release on Linux (deviation OK). */
export function osName(): string {
  try {
    if (process.platform === "linux") {
      const text = readFileSync("/etc/os-release", "utf8");
      const fields = new Map<string, string>();
      for (const line of text.split("\n")) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m?.[1] && m[2] !== undefined) fields.set(m[1], m[2].replace(/^["']|["']$/g, ""));
      }
      return fields.get("PRETTY_NAME") || fields.get("NAME") || "";
    }
    if (process.platform === "darwin") {
      const out = (args: string[]) => execFileSync("sw_vers", args, { encoding: "utf8", timeout: 5000 }).trim();
      return `${out(["-productName"])} ${out(["-productVersion"])} ${out(["-buildVersion"])}`;
    }
    if (process.platform === "win32") {
      const m = /^(\d+)\.(\d+)\.(\d+)/.exec(release());
      return m ? `Windows ${m[1]}.${m[2]} - Build ${m[3]}` : "";
    }
  } catch {
    // fall through
  }
  return "";
}

/** `arch` of the register body: Go's names, with amd64 => x86_64 and 386 => x86. */
export function archName(arch: string = process.arch): string {
  switch (arch) {
    case "x64":
      return "x86_64";
    case "ia32":
      return "x86";
    default:
      return arch;
  }
}

export function hostName(): string {
  try {
    return hostname();
  } catch {
    return "";
  }
}
