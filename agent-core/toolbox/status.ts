// toolboxStatus: Semaphore's table of toolbox features on self-hosted agents ("Supported toolbox
// features" of the self-hosted agents page), answered for this machine: whether each one works
// here, why, and the one thing to do when it does not.

import { constants, existsSync, readFileSync } from "node:fs";
import { access, lstat, stat } from "node:fs/promises";
import { delimiter, join } from "node:path";

import { readToolboxMetadata, toolboxDir, TOOLBOX_BIN_DIR_NAME } from "./layout.js";

export type ToolboxFeatureId = "cache" | "artifacts" | "test-results" | "checkout" | "debug" | "sem-version" | "sem-service";

/** Semaphore's own answer for self-hosted agents: "optional" needs setup (the cache backend). */
export type SelfHostedSupport = "yes" | "optional" | "no";

export interface ToolboxFeature {
  id: ToolboxFeatureId;
  /** As Semaphore's documentation names it. */
  name: string;
  selfHosted: SelfHostedSupport;
  /** Whether a job on this machine can use it now. */
  works: boolean;
  /** One sentence: what was found. */
  detail: string;
  /** The exact thing to do when it does not work (a command, or variables to set); null when nothing is needed. */
  fix: string | null;
}

export interface ToolboxStatus {
  /** `<home>/.toolbox/toolbox` exists. */
  installed: boolean;
  /** The release tag recorded by our install; null when unknown (not installed, or not installed by us). */
  version: string | null;
  /** `<home>/.toolbox`. */
  path: string;
  /** ISO 8601, from our install's record; null when unknown. */
  installedAt: string | null;
  /** Seven rows, in the order of Semaphore's table. */
  features: ToolboxFeature[];
}

export interface ToolboxStatusOptions {
  /** The job HOME. */
  home: string;
  /** The job's environment: the agent's environment plus its `env-vars` entries. */
  env: Readonly<Record<string, string | undefined>>;
  /** The PATH jobs get; default env.PATH. */
  pathEnv?: string | undefined;
  /** Default process.platform (chooses the git install command). */
  platform?: string | undefined;
  /** Contents of /etc/os-release (default: read it), to name the distribution's package manager. */
  osRelease?: string | undefined;
}

/** The command that installs and checks the toolbox. */
export const TOOLBOX_INSTALL_COMMAND = "semaphore-agent toolbox install";

/** Variables the cache CLI reads, per backend (cache-cli's storage setup). */
const CACHE_BACKEND_VARS: Record<string, { required: string[]; credentials: string }> = {
  s3: {
    required: ["SEMAPHORE_CACHE_S3_BUCKET"],
    credentials:
      "AWS credentials from the default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws), SEMAPHORE_CACHE_AWS_PROFILE, or SEMAPHORE_CACHE_USE_EC2_INSTANCE_PROFILE=true; an S3-compatible store with SEMAPHORE_CACHE_S3_URL (+ SEMAPHORE_CACHE_S3_KEY and SEMAPHORE_CACHE_S3_SECRET)",
  },
  gcs: {
    required: ["SEMAPHORE_CACHE_GCS_BUCKET"],
    credentials: "Google application default credentials (GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login)",
  },
  sftp: {
    required: ["SEMAPHORE_CACHE_URL", "SEMAPHORE_CACHE_USERNAME", "SEMAPHORE_CACHE_PRIVATE_KEY_PATH"],
    credentials: "the SSH key at SEMAPHORE_CACHE_PRIVATE_KEY_PATH",
  },
};
const PLACEHOLDER: Record<string, string> = {
  SEMAPHORE_CACHE_S3_BUCKET: "bucket",
  SEMAPHORE_CACHE_GCS_BUCKET: "bucket",
  SEMAPHORE_CACHE_URL: "host:port",
  SEMAPHORE_CACHE_USERNAME: "user",
  SEMAPHORE_CACHE_PRIVATE_KEY_PATH: "key file",
};
const CACHE_FIX =
  "set SEMAPHORE_CACHE_BACKEND=s3 and SEMAPHORE_CACHE_S3_BUCKET=<bucket> (or SEMAPHORE_CACHE_BACKEND=gcs and SEMAPHORE_CACHE_GCS_BUCKET=<bucket>) in the agent's env-vars";

/** The toolbox install and each feature of Semaphore's table, for a job with `home` and `env`. */
export async function toolboxStatus(opts: ToolboxStatusOptions): Promise<ToolboxStatus> {
  const dir = toolboxDir(opts.home);
  const installed = await isFile(join(dir, "toolbox"));
  const metadata = installed ? await readToolboxMetadata(dir) : null;
  const has = async (name: string): Promise<boolean> => installed && (await isExecutable(join(dir, name)));
  const missing = (what: string): Pick<ToolboxFeature, "works" | "detail" | "fix"> => ({
    works: false,
    detail: installed ? `the toolbox in ${dir} has no ${what}` : `the toolbox is not installed (no ${join(dir, "toolbox")})`,
    fix: TOOLBOX_INSTALL_COMMAND,
  });
  const platform = opts.platform ?? process.platform;
  const pathEnv = opts.pathEnv ?? opts.env.PATH ?? "";
  // What a job runs for `name`: our bin folder comes first on its PATH; an install made by the
  // official script has its links in /usr/local/bin instead, found on the PATH.
  const commandPath = async (name: string): Promise<string | null> => {
    const linked = join(dir, TOOLBOX_BIN_DIR_NAME, name);
    return (await isExecutable(linked)) ? linked : await lookPath(name, pathEnv);
  };
  const unlinked = (name: string): Pick<ToolboxFeature, "works" | "detail" | "fix"> => ({
    works: false,
    detail: `${join(dir, name)} is neither linked in ${join(dir, TOOLBOX_BIN_DIR_NAME)} nor on the PATH jobs get`,
    fix: TOOLBOX_INSTALL_COMMAND,
  });

  const cache = async (): Promise<Pick<ToolboxFeature, "works" | "detail" | "fix">> => {
    if (!(await has("cache"))) return missing("cache command");
    if ((await commandPath("cache")) === null) return unlinked("cache");
    const backend = opts.env.SEMAPHORE_CACHE_BACKEND ?? "";
    if (backend === "") return { works: false, detail: "no cache backend configured: SEMAPHORE_CACHE_BACKEND is not set", fix: CACHE_FIX };
    const known = CACHE_BACKEND_VARS[backend];
    if (!known) {
      return { works: false, detail: `SEMAPHORE_CACHE_BACKEND=${backend} is not a backend the cache CLI knows (s3, gcs, sftp)`, fix: CACHE_FIX };
    }
    const unset = known.required.filter((name) => !opts.env[name]);
    if (unset.length > 0) {
      return {
        works: false,
        detail: `SEMAPHORE_CACHE_BACKEND=${backend} but ${unset.join(", ")} ${unset.length === 1 ? "is" : "are"} not set`,
        fix: `set ${unset.map((n) => `${n}=<${PLACEHOLDER[n] ?? "value"}>`).join(" and ")} in the agent's env-vars`,
      };
    }
    return {
      works: true,
      // Names only: the values are the job's (a bucket name is not secret, but nothing else here prints values).
      detail: `${backend} backend configured (${known.required.join(", ")} set); credentials: ${known.credentials}; SEMAPHORE_PROJECT_ID comes with each job`,
      fix: null,
    };
  };

  const checkout = async (): Promise<Pick<ToolboxFeature, "works" | "detail" | "fix">> => {
    if (!installed || !(await isFile(join(dir, "libcheckout")))) return missing("libcheckout");
    const git = await lookPath("git", pathEnv);
    if (git === null) return { works: false, detail: "git is not on the PATH jobs get", fix: gitInstallCommand(platform, opts.osRelease) };
    // checkout runs `retry git clone …`.
    if ((await commandPath("retry")) === null) return (await has("retry")) ? unlinked("retry") : missing("retry command (checkout uses it)");
    return { works: true, detail: `checkout from ${join(dir, "libcheckout")}, using ${git}`, fix: null };
  };

  const cli = async (name: string, what: string): Promise<Pick<ToolboxFeature, "works" | "detail" | "fix">> => {
    if (!(await has(name))) return missing(`${name} command`);
    const path = await commandPath(name);
    return path === null ? unlinked(name) : { works: true, detail: `${path} (${what})`, fix: null };
  };

  const features: ToolboxFeature[] = [
    { id: "cache", name: "Using the cache", selfHosted: "optional", ...(await cache()) },
    { id: "artifacts", name: "Artifact storage", selfHosted: "yes", ...(await cli("artifact", "Semaphore gives each job its artifact token")) },
    { id: "test-results", name: "Test results and flaky tests", selfHosted: "yes", ...(await cli("test-results", "reports are stored with the artifact command")) },
    { id: "checkout", name: "Checking code with checkout", selfHosted: "yes", ...(await checkout()) },
    {
      id: "debug",
      name: "Starting debug jobs",
      selfHosted: "no",
      works: false,
      detail: "Semaphore cannot attach to a job on a self-hosted agent (sem debug)",
      fix: "use the app's debug terminal (Job view → Open debug terminal): a shell with the job's environment",
    },
    {
      id: "sem-version",
      name: "Changing language versions with sem-version",
      selfHosted: "no",
      works: false,
      detail: "sem-version is not part of the self-hosted toolbox",
      fix: "install the versions you need on this machine and pick one in the job (e.g. with mise, asdf, nvm or pyenv)",
    },
    {
      id: "sem-service",
      name: "Managing databases with sem-service",
      selfHosted: "no",
      works: false,
      detail: "sem-service is not part of the self-hosted toolbox",
      fix: "start the service in the job with Docker (e.g. docker run -d -p 5432:5432 -e POSTGRES_PASSWORD=postgres postgres:16) or install it on this machine",
    },
  ];
  return { installed, version: metadata?.version ?? null, path: dir, installedAt: metadata?.installedAt ?? null, features };
}

/** The exact command that installs git here. */
export function gitInstallCommand(platform: string, osRelease?: string): string {
  if (platform === "darwin") return "xcode-select --install (or: brew install git)";
  let text = osRelease;
  if (text === undefined) {
    try {
      text = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
    } catch {
      text = "";
    }
  }
  const field = (name: string): string[] =>
    (new RegExp(`^${name}=("?)([^"\\n]*)\\1$`, "m").exec(text ?? "")?.[2] ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  const ids = [...field("ID"), ...field("ID_LIKE")];
  if (ids.some((id) => id === "debian" || id === "ubuntu")) return "sudo apt-get install -y git";
  if (ids.some((id) => id === "fedora" || id === "rhel" || id === "centos")) return "sudo dnf install -y git";
  if (ids.includes("alpine")) return "sudo apk add git";
  if (ids.includes("arch")) return "sudo pacman -S --needed git";
  if (ids.some((id) => id.includes("suse"))) return "sudo zypper install -y git";
  return "install git with your package manager (e.g. sudo apt-get install -y git)";
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

async function isExecutable(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => null);
  if (!st) return false;
  return (await isFile(path)) && (await access(path, constants.X_OK).then(() => true, () => false));
}

async function lookPath(file: string, pathEnv: string): Promise<string | null> {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, file);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}
