// The `strict` sandbox on Linux: bubblewrap (bwrap). This file builds its argument list from a
// SandboxView (pure, unit-tested) and checks that bwrap exists and can create namespaces here.
//
// The view, in bwrap's terms:
//   --ro-bind / /                 the system, read-only
//   --dev /dev, --proc /proc      a minimal /dev and a procfs of the job's own PID namespace (so no
//                                 /proc/<agent pid>: the agent's environment and memory are out of reach)
//   --tmpfs <hidden>              the owner's home, other users' homes, the app's data folder, the
//                                 agent's own folders, the owner's runtime folder (session bus, keyring)
//   --bind <private tmp> /tmp     a private /tmp per job (the agent writes the job's .env-* files there)
//   --bind <job home> <job home>  read-write, the job's HOME, same path inside and out
//   --ro-bind <toolbox> <job home>/.toolbox
//   --dev-bind <gpu nodes>        /dev/nvidia*, /dev/nvidia-caps, /dev/dri, /dev/kfd when present
//   --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try, network shared
//   --die-with-parent             the sandbox dies with the agent, even after kill -9
//   --cap-drop ALL                as root too: a root job must not unmount what hides the owner's files
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Everything the job sees, as host paths. Inside paths equal host paths except /tmp. */
export interface SandboxView {
  /** The job's HOME and starting folder: read-write, at the same path inside. */
  jobHome: string;
  /** Host folder mounted as the job's /tmp (read-write, private to the job). */
  privateTmp: string;
  /** Host folders (and files) hidden behind an empty tmpfs. */
  hidden: readonly string[];
  /** The machine's toolbox (`~/.toolbox` of the owner), mounted read-only at `<jobHome>/.toolbox`; null: none. */
  toolbox: string | null;
  /** Device nodes passed through (must exist; see gpuDevicePaths). */
  devices: readonly string[];
  /** The docker socket, passed only when the owner allowed it; null otherwise. */
  dockerSocket: string | null;
  /** Extra host paths the owner configured: read-only, and read-write (same path inside). */
  readOnly: readonly string[];
  readWrite: readonly string[];
  /** Extra mounts of one terminal or job: a host path shown read-only at an inside path. */
  extraReadOnly?: readonly { host: string; inside: string }[];
}

interface Mount {
  /** bwrap option: --tmpfs takes only the destination. */
  op: "--tmpfs" | "--bind" | "--ro-bind" | "--dev-bind";
  source?: string;
  dest: string;
  /** Hides come before binds at the same depth, so a bind inside a hidden folder is made after it. */
  rank: number;
}

const depth = (path: string): number => path.split("/").filter((p) => p !== "").length;

/** `child` is `parent` or lies inside it (both absolute, normalised). */
export function isInside(child: string, parent: string): boolean {
  if (parent === "/") return true;
  return child === parent || child.startsWith(`${parent.replace(/\/+$/, "")}/`);
}

/**
 * The bwrap arguments for `view`, without the command (the caller appends `--` and the command).
 * Mounts are ordered outermost first: a hidden folder's tmpfs before a bind that lies inside it
 * (the app's job home sits in its hidden data folder), a bind before the read-only toolbox inside it.
 */
export function buildBwrapArgs(view: SandboxView): string[] {
  const mounts: Mount[] = [];
  // What lies under /tmp is out of sight already (the job's /tmp is its own): hiding it again would
  // only make empty mount points in the private /tmp.
  const hidden = uniqueOutermost(view.hidden.filter((p) => p !== "/" && !isInside(p, "/tmp")));
  for (const path of hidden) mounts.push({ op: "--tmpfs", dest: path, rank: 0 });
  mounts.push({ op: "--bind", source: view.privateTmp, dest: "/tmp", rank: 1 });
  for (const path of view.readOnly) mounts.push({ op: "--ro-bind", source: path, dest: path, rank: 1 });
  for (const path of view.readWrite) mounts.push({ op: "--bind", source: path, dest: path, rank: 1 });
  mounts.push({ op: "--bind", source: view.jobHome, dest: view.jobHome, rank: 1 });
  if (view.toolbox !== null) mounts.push({ op: "--ro-bind", source: view.toolbox, dest: join(view.jobHome, ".toolbox"), rank: 2 });
  for (const device of view.devices) mounts.push({ op: "--dev-bind", source: device, dest: device, rank: 3 });
  if (view.dockerSocket !== null) mounts.push({ op: "--bind", source: view.dockerSocket, dest: view.dockerSocket, rank: 3 });
  for (const extra of view.extraReadOnly ?? []) mounts.push({ op: "--ro-bind", source: extra.host, dest: extra.inside, rank: 3 });
  // Stable: equal depth keeps the rank order above.
  mounts.sort((a, b) => depth(a.dest) - depth(b.dest) || a.rank - b.rank);

  const args = [
    "--die-with-parent",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
  ];
  for (const m of mounts) {
    if (m.op === "--tmpfs") args.push("--tmpfs", m.dest);
    else args.push(m.op, m.source ?? m.dest, m.dest);
  }
  args.push("--setenv", "TMPDIR", "/tmp", "--setenv", "HOME", view.jobHome, "--chdir", view.jobHome);
  return args;
}

/** Drops duplicates and paths inside another hidden path (the outer tmpfs hides them already). */
function uniqueOutermost(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths.map((p) => p.replace(/\/+$/, "") || "/"))].sort((a, b) => depth(a) - depth(b));
  const kept: string[] = [];
  for (const path of sorted) if (!kept.some((outer) => isInside(path, outer))) kept.push(path);
  return kept;
}

/** The GPU device nodes bwrap passes through, as the nvidia and amdgpu drivers create them. */
export const GPU_DEVICE_PATTERNS = ["/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri", "/dev/kfd"] as const;

/**
 * The GPU device nodes present under `devDir` (default /dev): `nvidia0`, `nvidiactl`, `nvidia-uvm`,
 * `nvidia-uvm-tools`, `nvidia-modeset`, the `nvidia-caps` folder, `dri` (render nodes) and `kfd`
 * (ROCm). Paths are reported as under /dev, whatever `devDir` is (tests use a stand-in folder).
 * `onlyMinors`: keep only these `/dev/nvidia<N>` nodes (null: all).
 */
export function gpuDevicePaths(devDir = "/dev", exists: (path: string) => boolean = existsSync, onlyMinors: readonly number[] | null = null): string[] {
  let names: string[];
  try {
    names = readdirSync(devDir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.sort()) {
    let wanted = name.startsWith("nvidia") || name === "dri" || name === "kfd";
    // An agent lending some GPUs passes only their /dev/nvidia<minor> (the control nodes always).
    const minor = /^nvidia(\d+)$/.exec(name);
    if (wanted && minor && onlyMinors !== null) wanted = onlyMinors.includes(Number(minor[1]));
    if (wanted && exists(join(devDir, name))) found.push(join(devDir, name));
  }
  return found;
}

export type BwrapProbe =
  | { ok: true; path: string; version: string }
  | { ok: false; reason: string; install: string | null };

/** Finds `bwrap` on PATH and runs a tiny sandbox with the namespaces `strict` needs. */
export async function probeBubblewrap(env: NodeJS.ProcessEnv = process.env): Promise<BwrapProbe> {
  if (process.platform !== "linux") {
    return { ok: false, reason: `the strict sandbox needs Linux (bubblewrap); this is ${process.platform}`, install: null };
  }
  const path = findOnPath("bwrap", env.PATH);
  if (path === null) return { ok: false, reason: "bubblewrap (bwrap) is not installed", install: installCommand() };
  const run = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(path, args, { timeout: 10_000, env: { PATH: env.PATH ?? "/usr/bin:/bin" } }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}`.trim() });
      });
    });
  const version = await run(["--version"]);
  const trial = await run([
    "--die-with-parent",
    "--unshare-pid",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--tmpfs",
    "/tmp",
    "--",
    "true",
  ]);
  if (trial.code !== 0) {
    const said = trial.out.split("\n")[0] ?? "";
    return {
      ok: false,
      reason: `bubblewrap cannot create namespaces on this kernel${said ? ` (${said})` : ""}; unprivileged user namespaces may be turned off (sysctl kernel.unprivileged_userns_clone or an AppArmor profile)`,
      install: null,
    };
  }
  return { ok: true, path, version: version.out.replace(/^bubblewrap\s+/, "") };
}

function findOnPath(file: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? "/usr/bin:/bin").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The exact command that installs bubblewrap on this distribution (from /etc/os-release). */
export function installCommand(osRelease: string | null = readOsRelease()): string {
  const fields = new Map<string, string>();
  for (const line of (osRelease ?? "").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1] as string, (m[2] as string).replace(/^"|"$/g, ""));
  }
  const ids = `${fields.get("ID") ?? ""} ${fields.get("ID_LIKE") ?? ""}`;
  if (/\b(debian|ubuntu)\b/.test(ids)) return "sudo apt-get install -y bubblewrap";
  if (/\b(fedora|rhel|centos)\b/.test(ids)) return "sudo dnf install -y bubblewrap";
  if (/\barch\b/.test(ids)) return "sudo pacman -S bubblewrap";
  if (/\b(opensuse|suse)\b/.test(ids)) return "sudo zypper install bubblewrap";
  if (/\balpine\b/.test(ids)) return "sudo apk add bubblewrap";
  return "install your distribution's bubblewrap package (e.g. sudo apt-get install -y bubblewrap)";
}

function readOsRelease(): string | null {
  try {
    return readFileSync("/etc/os-release", "utf8");
  } catch {
    return null;
  }
}
