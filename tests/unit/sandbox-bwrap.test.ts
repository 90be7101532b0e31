// The strict sandbox's bwrap argument list (pure), the GPU device lookup on a stand-in /dev, and
// the install command per distribution.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildBwrapArgs, gpuDevicePaths, installCommand, type SandboxView } from "../../agent-core/sandbox/bwrap.js";
import { JobPlacement } from "../../agent-core/sandbox/placement.js";

interface ParsedMount {
  op: string;
  source?: string;
  dest: string;
}

/** The mounts of a bwrap argument list, in order (flags without operands are left out). */
function mountsOf(args: string[]): ParsedMount[] {
  const mounts: ParsedMount[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--tmpfs" || a === "--dev" || a === "--proc") {
      mounts.push({ op: a, dest: args[++i] as string });
    } else if (a === "--bind" || a === "--ro-bind" || a === "--dev-bind") {
      mounts.push({ op: a, source: args[i + 1] as string, dest: args[i + 2] as string });
      i += 2;
    } else if (a === "--setenv") {
      i += 2;
    } else if (a === "--chdir" || a === "--cap-drop") {
      i += 1;
    }
  }
  return mounts;
}

const indexOf = (mounts: ParsedMount[], op: string, dest: string): number => mounts.findIndex((m) => m.op === op && m.dest === dest);

const baseView = (over: Partial<SandboxView> = {}): SandboxView => ({
  jobHome: "/var/lib/app/job-homes/a",
  privateTmp: "/var/tmp/agent/semaphore-agent-x/tmp",
  hidden: ["/var/lib/app", "/home", "/root"],
  toolbox: "/home/owner/.toolbox",
  devices: [],
  dockerSocket: null,
  readOnly: [],
  readWrite: [],
  ...over,
});

describe("buildBwrapArgs", () => {
  it("hides nothing under /tmp again (the job's /tmp is its own), and a read-only path under /tmp shows through it", () => {
    const mounts = mountsOf(buildBwrapArgs(baseView({ hidden: ["/home", "/tmp/app-data", "/tmp"], readOnly: ["/tmp/project/repo.git"] })));
    expect(mounts.filter((m) => m.op === "--tmpfs").map((m) => m.dest)).toEqual(["/home"]);
    const tmp = indexOf(mounts, "--bind", "/tmp");
    const repo = indexOf(mounts, "--ro-bind", "/tmp/project/repo.git");
    expect(tmp).toBeGreaterThanOrEqual(0);
    expect(repo).toBeGreaterThan(tmp);
  });

  it("has the isolation flags: die-with-parent, own PID namespace, all capabilities dropped", () => {
    const args = buildBwrapArgs(baseView());
    expect(args).toContain("--die-with-parent");
    expect(args).toContain("--unshare-pid");
    const cap = args.indexOf("--cap-drop");
    expect(cap).toBeGreaterThanOrEqual(0);
    expect(args[cap + 1]).toBe("ALL");
    // The system read-only first, then its own /dev and /proc.
    const mounts = mountsOf(args);
    expect(mounts.slice(0, 3)).toEqual([
      { op: "--ro-bind", source: "/", dest: "/" },
      { op: "--dev", dest: "/dev" },
      { op: "--proc", dest: "/proc" },
    ]);
    // HOME and TMPDIR as the job sees them; it starts in its home.
    const env = new Map<string, string>();
    for (let i = 0; i < args.length; i++) if (args[i] === "--setenv") env.set(args[i + 1] as string, args[i + 2] as string);
    expect(env.get("HOME")).toBe("/var/lib/app/job-homes/a");
    expect(env.get("TMPDIR")).toBe("/tmp");
    expect(args[args.indexOf("--chdir") + 1]).toBe("/var/lib/app/job-homes/a");
  });

  it("mounts a hidden folder's tmpfs before a bind inside it, the job home before its read-only toolbox", () => {
    const mounts = mountsOf(buildBwrapArgs(baseView()));
    const hiddenData = indexOf(mounts, "--tmpfs", "/var/lib/app");
    const home = indexOf(mounts, "--bind", "/var/lib/app/job-homes/a");
    const toolbox = indexOf(mounts, "--ro-bind", "/var/lib/app/job-homes/a/.toolbox");
    expect(hiddenData).toBeGreaterThan(0);
    expect(home).toBeGreaterThan(hiddenData);
    expect(toolbox).toBeGreaterThan(home);
    expect(mounts[toolbox]?.source).toBe("/home/owner/.toolbox");
    expect(mounts[home]?.source).toBe("/var/lib/app/job-homes/a");
    // The private /tmp, read-write.
    expect(mounts[indexOf(mounts, "--bind", "/tmp")]?.source).toBe("/var/tmp/agent/semaphore-agent-x/tmp");
    // The same order whatever order the hidden paths come in.
    const reversed = mountsOf(buildBwrapArgs(baseView({ hidden: ["/root", "/home", "/var/lib/app"] })));
    expect(indexOf(reversed, "--tmpfs", "/var/lib/app")).toBeLessThan(indexOf(reversed, "--bind", "/var/lib/app/job-homes/a"));
  });

  it("a read-only or read-write path inside a hidden folder is mounted after its tmpfs", () => {
    const mounts = mountsOf(
      buildBwrapArgs(baseView({ hidden: ["/home"], readOnly: ["/home/owner/hooks/pre.sh"], readWrite: ["/home/owner/cache"] })),
    );
    const hiddenHome = indexOf(mounts, "--tmpfs", "/home");
    expect(indexOf(mounts, "--ro-bind", "/home/owner/hooks/pre.sh")).toBeGreaterThan(hiddenHome);
    expect(indexOf(mounts, "--bind", "/home/owner/cache")).toBeGreaterThan(hiddenHome);
  });

  it("drops /tmp and / as hidden paths, duplicates and paths inside another hidden one", () => {
    const mounts = mountsOf(
      buildBwrapArgs(
        baseView({
          hidden: ["/home", "/home/owner", "/home/owner/.config", "/tmp", "/", "/root", "/root/", "/srv/a/b", "/srv/a"],
        }),
      ),
    );
    const tmpfs = mounts.filter((m) => m.op === "--tmpfs").map((m) => m.dest);
    expect(tmpfs.sort()).toEqual(["/home", "/root", "/srv/a"]);
  });

  it("the view a placement builds has no hidden path under /tmp (the job's /tmp is its own already)", async () => {
    const base = mkdtempSync(join("/var/tmp", "sa-view-"));
    try {
      const owner = join(base, "owner");
      mkdirSync(join(owner, ".toolbox"), { recursive: true });
      mkdirSync(join(base, "work"));
      const placement = await JobPlacement.open(
        {
          sandbox: "strict",
          jobHome: join(base, "data", "job-homes", "a"),
          workspace: "clean",
          keep: [],
          allowDocker: false,
          readOnlyPaths: [],
          readWritePaths: [],
          hiddenPaths: [join(base, "data"), "/tmp/sa-agent-dir"],
          ownerHome: owner,
          toolbox: join(owner, ".toolbox"),
          devDir: join(base, "no-dev"),
        },
        async () => ({ ok: true, path: "/usr/bin/bwrap", version: "test" }),
      );
      const view = placement.viewFor(join(base, "private-tmp"), ["/tmp/sa-work-dir", join(base, "work")]);
      expect(view.hidden.filter((p) => p === "/tmp" || p.startsWith("/tmp/"))).toEqual([]);
      expect(view.hidden).toEqual(expect.arrayContaining([owner, "/home", "/root", join(base, "data"), join(base, "work")]));
      const mounts = mountsOf(buildBwrapArgs(view));
      expect(mounts.filter((m) => m.dest.startsWith("/tmp/"))).toEqual([]);
      // The job home inside the hidden data folder is bound after its tmpfs; the toolbox after the home.
      const home = indexOf(mounts, "--bind", view.jobHome);
      expect(home).toBeGreaterThan(indexOf(mounts, "--tmpfs", join(base, "data")));
      expect(indexOf(mounts, "--ro-bind", join(view.jobHome, ".toolbox"))).toBeGreaterThan(home);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("passes the docker socket only when given, and device nodes read-write at the same path", () => {
    const without = mountsOf(buildBwrapArgs(baseView()));
    expect(without.some((m) => m.dest.includes("docker"))).toBe(false);
    expect(without.some((m) => m.op === "--dev-bind")).toBe(false);

    const withBoth = mountsOf(buildBwrapArgs(baseView({ dockerSocket: "/run/docker.sock", devices: ["/dev/nvidia0", "/dev/dri"] })));
    expect(withBoth.filter((m) => m.dest === "/run/docker.sock")).toEqual([{ op: "--bind", source: "/run/docker.sock", dest: "/run/docker.sock" }]);
    expect(withBoth.filter((m) => m.op === "--dev-bind")).toEqual([
      { op: "--dev-bind", source: "/dev/nvidia0", dest: "/dev/nvidia0" },
      { op: "--dev-bind", source: "/dev/dri", dest: "/dev/dri" },
    ]);
    // After --dev /dev, or the minimal /dev would cover them.
    expect(indexOf(withBoth, "--dev-bind", "/dev/nvidia0")).toBeGreaterThan(indexOf(withBoth, "--dev", "/dev"));
  });

  it("without a toolbox there is no .toolbox mount", () => {
    const mounts = mountsOf(buildBwrapArgs(baseView({ toolbox: null })));
    expect(mounts.some((m) => m.dest.endsWith("/.toolbox"))).toBe(false);
  });
});

describe("gpuDevicePaths", () => {
  const dev = mkdtempSync(join(tmpdir(), "sa-dev-"));
  afterAll(() => rmSync(dev, { recursive: true, force: true }));

  it("finds only the GPU nodes of a stand-in /dev, sorted, at their path there", () => {
    for (const f of ["nvidia0", "nvidiactl", "nvidia-uvm", "kfd", "null", "tty0", "sda", "xnvidia", "kfd2"]) writeFileSync(join(dev, f), "");
    for (const d of ["nvidia-caps", "dri", "input", "shm"]) mkdirSync(join(dev, d));
    expect(gpuDevicePaths(dev)).toEqual(["dri", "kfd", "nvidia-caps", "nvidia-uvm", "nvidia0", "nvidiactl"].map((n) => join(dev, n)));
  });

  it("a missing folder has none", () => {
    expect(gpuDevicePaths(join(dev, "no-such-folder"))).toEqual([]);
  });
});

describe("installCommand", () => {
  const cases: Array<[string, string, string]> = [
    ["Debian", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n', "sudo apt-get install -y bubblewrap"],
    ["Ubuntu", 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n', "sudo apt-get install -y bubblewrap"],
    ["Linux Mint (quoted ID_LIKE)", 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n', "sudo apt-get install -y bubblewrap"],
    ["Fedora", 'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\n', "sudo dnf install -y bubblewrap"],
    ["Rocky", 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n', "sudo dnf install -y bubblewrap"],
    ["Arch", 'NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n', "sudo pacman -S bubblewrap"],
    ["Manjaro", 'NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\n', "sudo pacman -S bubblewrap"],
  ];
  for (const [name, text, command] of cases) {
    it(name, () => expect(installCommand(text)).toBe(command));
  }

  it("an unknown or missing os-release still says what to install", () => {
    expect(installCommand("ID=plan9\n")).toMatch(/bubblewrap/);
    expect(installCommand(null)).toMatch(/bubblewrap/);
  });
});
