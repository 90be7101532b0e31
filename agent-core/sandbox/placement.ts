// Where and how one agent's jobs run: the job home, the sandbox level in force (strict when asked
// and bubblewrap works; otherwise none, said out loud), and for each job a JobSpace: the private
// /tmp, the paths the agent writes on the host and the shell reads inside, and the command prefix
// that puts the job's bash into the sandbox.
import { constants, readFileSync, realpathSync, statSync } from "node:fs";
import { mkdir, open, realpath, rm, unlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { buildBwrapArgs, gpuDevicePaths, isInside, probeBubblewrap, type BwrapProbe, type SandboxView } from "./bwrap.js";
import { cleanJobHome, prepareJobHome, type WorkspacePolicy } from "./job-home.js";

export type SandboxLevel = "none" | "strict";
export const SANDBOX_LEVELS: readonly SandboxLevel[] = ["none", "strict"];

export interface PlacementSettings {
  /** What the owner asked for. */
  sandbox: SandboxLevel;
  /** The job home (absolute). Equal to the owner's HOME only under `none` (the official agent's way). */
  jobHome: string;
  workspace: WorkspacePolicy;
  /** Relative paths in the job home that survive the clean. */
  keep: readonly string[];
  /** Pass the docker socket into the sandbox (gives root on the machine). */
  allowDocker: boolean;
  readOnlyPaths: readonly string[];
  readWritePaths: readonly string[];
  /** Folders hidden from strict jobs besides the homes: the app's data folder, the agent's journal. */
  hiddenPaths: readonly string[];
  /** The owner's HOME (hidden under strict). */
  ownerHome: string;
  /** The machine's toolbox (the owner's `~/.toolbox`). */
  toolbox: string;
  /** Where GPU device nodes are looked for (default /dev; a stand-in folder in tests). */
  devDir?: string;
  /** Only these NVIDIA device minors go into the sandbox (the agent's GPUs); absent or null: every GPU. */
  gpuMinors?: readonly number[] | null;
  /** The docker socket's path (default /var/run/docker.sock). */
  dockerSocket?: string;
  /** The owner's runtime folder (XDG_RUNTIME_DIR: session bus, keyring), hidden under strict. */
  runtimeDir?: string;
}

/** The sandbox level in force and why it differs from what was asked, if it does. */
export interface SandboxState {
  requested: SandboxLevel;
  level: SandboxLevel;
  /** Shown wherever the level is: why strict is not in force, with the install command. Null when as asked. */
  notice: string | null;
  /** The command that installs bubblewrap here, when that is what is missing. */
  install: string | null;
  jobHome: string;
  workspace: WorkspacePolicy;
}

/** Per job: the paths on both sides of the sandbox, and how to start a shell inside it. */
export interface JobSpace {
  level: SandboxLevel;
  home: string;
  /** Where the agent writes the `.env-*` files and the command file on the host. */
  tmpHost: string;
  /** Where the job's shell sees that folder. */
  tmpShell: string;
  /** Program and arguments put before `bash --login` (bwrap ... --), or null under none. */
  wrap: { file: string; args: string[] } | null;
  /** The sandbox view (strict only): the debug terminal opens in the same one. */
  view: SandboxView | null;
  /**
   * Where an injected file (a path as the job sees it) is written on the host, and the folders it
   * must stay in; or why it cannot be (outside the sandbox's writable folders). Under none: as is.
   */
  placeFile(dest: string): { host: string; roots: string[] | null } | { error: string };
  /** Removes the private /tmp and, with the clean policy, empties the job home. */
  finish(): Promise<void>;
}

export class JobPlacement {
  private constructor(
    readonly settings: PlacementSettings,
    readonly state: SandboxState,
    private readonly bwrapPath: string | null,
  ) {}

  /** Checks bubblewrap once when strict is asked for, prepares the job home, cleans what a crash left in it. */
  static async open(
    settings: PlacementSettings,
    probe: () => Promise<BwrapProbe> = probeBubblewrap,
    options: { cleanHome?: boolean } = {},
  ): Promise<JobPlacement> {
    let level: SandboxLevel = settings.sandbox;
    let notice: string | null = null;
    let install: string | null = null;
    let bwrapPath: string | null = null;
    if (settings.sandbox === "strict") {
      const found = await probe();
      if (found.ok) bwrapPath = found.path;
      else {
        level = "none";
        install = found.install;
        notice = `Jobs run without the strict sandbox: ${found.reason}${found.install ? `. Install it with: ${found.install}` : ""}. They still run in the private job home.`;
      }
    }
    const jobHome = settings.jobHome;
    if (level === "strict" && samePath(jobHome, settings.ownerHome)) {
      throw new Error(`job-home must not be your HOME (${settings.ownerHome}) under the strict sandbox: leave it unset for a private one`);
    }
    const state: SandboxState = { requested: settings.sandbox, level, notice, install, jobHome, workspace: settings.workspace };
    const placement = new JobPlacement(settings, state, bwrapPath);
    if (!samePath(jobHome, settings.ownerHome)) {
      await prepareJobHome(jobHome, settings.toolbox, level);
      // A job of an earlier run that crashed may have left its files (and secrets) here.
      if (settings.workspace === "clean" && options.cleanHome !== false) await cleanJobHome(jobHome, settings.keep);
    }
    return placement;
  }

  get level(): SandboxLevel {
    return this.state.level;
  }

  /** The job home is private (not the owner's HOME): it may be cleaned and is shown as such. */
  get privateHome(): boolean {
    return !samePath(this.settings.jobHome, this.settings.ownerHome);
  }

  /**
   * The view a strict job (or a debug terminal) gets, with `privateTmp` as its /tmp. `agentDirs`:
   * the agent's own folders (its work folder, its TMPDIR) to hide as well.
   */
  viewFor(privateTmp: string, agentDirs: readonly string[] = []): SandboxView {
    const s = this.settings;
    const devices = gpuDevicePaths(s.devDir ?? "/dev", undefined, s.gpuMinors ?? null);
    const socket = s.dockerSocket ?? "/var/run/docker.sock";
    const hidden = [s.ownerHome, "/home", "/root", ...otherHomes(), ...s.hiddenPaths, ...agentDirs];
    if (s.runtimeDir) hidden.push(s.runtimeDir);
    return {
      jobHome: real(s.jobHome),
      privateTmp,
      // Paths under /tmp are gone already: the job's /tmp is its own.
      hidden: hidden
        .filter((p) => p !== "" && isAbsolute(p))
        .map(real)
        // bwrap cannot mount on a path that does not exist in the read-only system.
        .filter((p) => existsPath(p) && !isInside(p, "/tmp") && !isInside(p, real(s.jobHome))),
      toolbox: existsDir(s.toolbox) ? real(s.toolbox) : null,
      devices,
      dockerSocket: s.allowDocker && existsPath(socket) ? real(socket) : null,
      readOnly: s.readOnlyPaths.filter(existsPath).map(real),
      readWrite: s.readWritePaths.filter(existsPath).map(real),
    };
  }

  /** The bwrap command for `view`, followed by `--` (the caller adds the program). */
  wrapFor(view: SandboxView): { file: string; args: string[] } {
    if (this.bwrapPath === null) throw new Error("the strict sandbox is not available");
    return { file: this.bwrapPath, args: [...buildBwrapArgs(view), "--"] };
  }

  /**
   * The space of one job. `workDir`: the agent's private folder (0700); the job's private /tmp is
   * made in it. `agentTmp`: the agent's TMPDIR, where none-level env files go (spec §6).
   */
  async prepareJob(workDir: string, agentTmp: string): Promise<JobSpace> {
    const home = this.settings.jobHome;
    if (this.level === "none") {
      if (this.privateHome) await prepareJobHome(home, this.settings.toolbox, "none");
      return {
        level: "none",
        home,
        tmpHost: agentTmp,
        tmpShell: agentTmp,
        wrap: null,
        view: null,
        placeFile: (dest) => ({ host: dest, roots: null }),
        finish: async () => {
          if (this.privateHome && this.settings.workspace === "clean") await cleanJobHome(home, this.settings.keep);
        },
      };
    }
    await prepareJobHome(home, this.settings.toolbox, "strict");
    const privateTmp = join(workDir, "tmp");
    await rm(privateTmp, { recursive: true, force: true });
    await mkdir(privateTmp, { mode: 0o700 });
    const view = this.viewFor(privateTmp, [workDir, agentTmp === "/tmp" ? "" : agentTmp]);
    const writable = [
      { inside: view.jobHome, host: view.jobHome },
      { inside: "/tmp", host: privateTmp },
      ...view.readWrite.map((p) => ({ inside: p, host: p })),
    ];
    return {
      level: "strict",
      home,
      tmpHost: privateTmp,
      tmpShell: "/tmp",
      wrap: this.wrapFor(view),
      view,
      placeFile: (dest) => {
        // Which writable folder the path is in is decided on the cleaned path; the path written keeps
        // its `..` segments as the job gave them (mkdir -p makes `x/` of `x/../f`, as in Go), and must
        // still land inside the same folder on the host.
        const inside = join("/", dest);
        for (const w of writable) {
          if (!isInside(inside, w.inside)) continue;
          const host =
            w.inside === w.host
              ? dest
              : dest.startsWith(`${w.inside}/`)
                ? `${w.host}${dest.slice(w.inside.length)}`
                : join(w.host, relative(w.inside, inside));
          if (!isInside(join("/", host), w.host)) break;
          return { host, roots: writable.map((x) => x.host) };
        }
        return { error: `outside the sandbox's writable folders (the job home, /tmp${view.readWrite.length ? " and the configured read-write paths" : ""})` };
      },
      finish: async () => {
        await rm(privateTmp, { recursive: true, force: true, maxRetries: 2 });
        if (this.settings.workspace === "clean") await cleanJobHome(home, this.settings.keep);
      },
    };
  }
}

/**
 * Writes `content` to `host`, a path in a folder the job can write to, without following a link the
 * job may have put there: the last component is opened O_NOFOLLOW, and the folder it is in must
 * resolve inside `roots`. Under none (`roots` null) it is a plain write.
 */
export async function openForJob(host: string, roots: string[] | null, flags: "w" | "wx", mode: number) {
  if (roots === null) return await open(host, flags, mode);
  const dir = await realpath(dirname(host));
  if (!roots.some((root) => isInside(dir, real(root)))) throw new Error(`${dirname(host)} leads outside the sandbox's writable folders`);
  const f = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | (flags === "wx" ? constants.O_EXCL : constants.O_TRUNC);
  return await open(join(dir, host.slice(dirname(host).length + 1)), f, mode);
}

/** The job's command file, rewritten for every command: any link or FIFO the job put there is removed first. */
export async function writeCommandFile(host: string, command: string): Promise<void> {
  await unlink(host).catch(() => undefined);
  const handle = await open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(command);
  } finally {
    await handle.close();
  }
}

/** Other users' homes from the password database (uid >= 1000), outside the system folders. */
function otherHomes(): string[] {
  passwdHomes ??= readPasswdHomes();
  return passwdHomes;
}

let passwdHomes: string[] | null = null;
function readPasswdHomes(): string[] {
  let text = "";
  try {
    text = readFileSync("/etc/passwd", "utf8");
  } catch {
    return [];
  }
  const homes: string[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    const uid = Number(f[2]);
    const home = f[5] ?? "";
    if (!Number.isInteger(uid) || uid < 1000 || uid === 65534) continue;
    if (!isAbsolute(home) || home === "/" || /^\/(usr|bin|sbin|lib|proc|sys|dev|run|tmp|etc|var|nonexistent)(\/|$)/.test(home)) continue;
    homes.push(home);
  }
  return homes;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function existsPath(path: string): boolean {
  try {
    realpathSync(path);
    return true;
  } catch {
    return false;
  }
}

function existsDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function samePath(a: string, b: string): boolean {
  return real(a).replace(/\/+$/, "") === real(b).replace(/\/+$/, "");
}
