// Jobs that `semaphore-agent run` and the app's Local demo schedule at their embedded hub: the job
// file's request, made to look like one Semaphore sends.
//
// - Every job gets its id here (the job file's `job_id`, else its SEMAPHORE_JOB_ID, else a new UUID),
//   and SEMAPHORE_JOB_ID is set to it, as Semaphore sets it in every job.
// - A job file with `git_fixture: demo` checks out a local bare repository (file:// URL, so
//   `checkout` works without a network): createDemoGitRepo() makes it (in a temp folder of its own,
//   with two commits made by `git -c user.name=… -c user.email=…`, no git config of the user read or
//   needed), and prepareLocalJob() fills SEMAPHORE_GIT_URL, SEMAPHORE_GIT_BRANCH, SEMAPHORE_GIT_SHA
//   (the real head), SEMAPHORE_GIT_DIR (a folder inside that temp folder, so the clone goes away
//   with it) and SEMAPHORE_GIT_REPO_SLUG into the request, replacing values the file gives.
//   `run` makes one per run; the demo one per start; both remove it (DemoGitRepo.remove()).
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { JobDefinition, WireJobRequest } from "./job-file.js";

/** A job file asked for something that cannot be given (the message says what and why). */
export class LocalJobError extends Error {}

/** The local repository of `git_fixture: demo`. */
export interface DemoGitRepo {
  /** `file:///…/demo-app.git`: a bare repository. */
  url: string;
  branch: string;
  /** The branch's head, 40 hex digits. */
  sha: string;
  /** Where `checkout` clones it: an absolute folder inside `root`. */
  checkoutDir: string;
  /** `demo-org/demo-app`. */
  slug: string;
  /** The temp folder holding all of it. */
  root: string;
  /** Removes `root` (the repository and any clone of it). Idempotent. */
  remove(): void;
}

export const DEMO_GIT_BRANCH = "main";
export const DEMO_GIT_SLUG = "demo-org/demo-app";
/** No git command of ours may hang the demo's start. */
const GIT_TIMEOUT_MS = 20_000;

const README = `# demo-app

A tiny repository made by semaphore-agent for its checkout example (examples/checkout.yaml).
`;
const BUILD = `#!/bin/sh
# The "build" of the checkout example: what it built from, in out.txt.
set -e
echo "demo-app built from $(git rev-parse --short HEAD) on $(git rev-parse --abbrev-ref HEAD)"
`;

function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      // Nothing of the user's or the system's git config (signing, hooks, templates) takes part.
      ["-c", "user.name=Demo Author", "-c", "user.email=demo-author@example.com", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", ...args],
      {
        cwd,
        timeout: GIT_TIMEOUT_MS,
        env: {
          PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
          LANG: "C",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_TERMINAL_PROMPT: "0",
          HOME: cwd,
        },
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const why = code === "ENOENT" ? "git is not installed (not found on PATH)" : `git ${args[0]} failed: ${String(stderr).trim().split("\n")[0] || error.message}`;
          reject(new LocalJobError(why));
        } else resolve(String(stdout).trim());
      },
    );
  });
}

/**
 * Makes the demo repository: a work tree with two commits on `main`, cloned bare into
 * `<root>/demo-app.git`. Throws LocalJobError (git missing, git failing) after removing what it made.
 */
export async function createDemoGitRepo(): Promise<DemoGitRepo> {
  const root = mkdtempSync(join(tmpdir(), "semaphore-agent-demo-git-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    const work = join(root, "work");
    mkdirSync(work);
    await git(["init", "--quiet", work], root);
    await git(["symbolic-ref", "HEAD", `refs/heads/${DEMO_GIT_BRANCH}`], work);
    writeFileSync(join(work, "README.md"), README);
    await git(["add", "README.md"], work);
    await git(["commit", "--quiet", "-m", "Initial commit"], work);
    writeFileSync(join(work, "build.sh"), BUILD);
    chmodSync(join(work, "build.sh"), 0o755);
    await git(["add", "build.sh"], work);
    await git(["commit", "--quiet", "-m", "Add the build script"], work);
    const sha = await git(["rev-parse", "HEAD"], work);
    const bare = join(root, "demo-app.git");
    await git(["clone", "--quiet", "--bare", work, bare], root);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(root, "workspace"));
    return {
      url: pathToFileURL(bare).href,
      branch: DEMO_GIT_BRANCH,
      sha,
      checkoutDir: join(root, "workspace", "demo-app"),
      slug: DEMO_GIT_SLUG,
      root,
      remove,
    };
  } catch (error) {
    remove();
    throw error instanceof LocalJobError ? error : new LocalJobError((error as Error).message);
  }
}

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/** Sets `name` in `vars` in place (its first entry; later duplicates dropped), or after `after`, or last. */
function setVar(vars: WireJobRequest["env_vars"], name: string, value: string, after?: string): WireJobRequest["env_vars"] {
  const encoded = b64(value);
  const at = vars.findIndex((v) => v.name === name);
  if (at >= 0) return vars.flatMap((v, i) => (v.name !== name ? [v] : i === at ? [{ name, value: encoded }] : []));
  const anchor = after === undefined ? -1 : vars.findIndex((v) => v.name === after);
  const out = [...vars];
  out.splice(anchor >= 0 ? anchor + 1 : out.length, 0, { name, value: encoded });
  return out;
}

function varValue(vars: WireJobRequest["env_vars"], name: string): string | undefined {
  const entry = [...vars].reverse().find((v) => v.name === name);
  return entry === undefined ? undefined : Buffer.from(entry.value, "base64").toString("utf8");
}

/**
 * The request to schedule for a job file: its id chosen and in SEMAPHORE_JOB_ID, and for
 * `git_fixture: demo` the SEMAPHORE_GIT_* variables of `git`. `git` is the repository, or why there
 * is none (an Error), or null when none was made; a job that needs one and has none throws
 * LocalJobError saying why.
 */
export function prepareLocalJob(definition: JobDefinition, git: DemoGitRepo | Error | null): WireJobRequest {
  const request: WireJobRequest = { ...definition.request, env_vars: [...definition.request.env_vars] };
  const givenJobId = varValue(request.env_vars, "SEMAPHORE_JOB_ID");
  if (request.job_id !== undefined && givenJobId !== undefined && givenJobId !== request.job_id) {
    throw new LocalJobError(`job_id (${request.job_id}) and SEMAPHORE_JOB_ID (${givenJobId}) differ: give one, or the same id`);
  }
  const jobId = request.job_id ?? (givenJobId !== undefined && givenJobId !== "" ? givenJobId : randomUUID());
  request.job_id = jobId;
  request.env_vars = setVar(request.env_vars, "SEMAPHORE_JOB_ID", jobId, "SEMAPHORE_JOB_NAME");
  if (definition.gitFixture === "demo") {
    if (git === null || git instanceof Error) {
      const why = git instanceof Error ? git.message : "none was made";
      throw new LocalJobError(`this job checks out the demo git repository (git_fixture: demo), which could not be made: ${why}`);
    }
    request.env_vars = setVar(request.env_vars, "SEMAPHORE_GIT_URL", git.url);
    request.env_vars = setVar(request.env_vars, "SEMAPHORE_GIT_REPO_SLUG", git.slug);
    request.env_vars = setVar(request.env_vars, "SEMAPHORE_GIT_BRANCH", git.branch);
    request.env_vars = setVar(request.env_vars, "SEMAPHORE_GIT_SHA", git.sha);
    request.env_vars = setVar(request.env_vars, "SEMAPHORE_GIT_DIR", git.checkoutDir);
  }
  return request;
}
