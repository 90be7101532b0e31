// The toolbox in job shells: with the fixture toolbox installed in the job's HOME, a job run by the
// real JobRunner in a real `bash --login` PTY has `checkout` as a function and the toolbox commands
// on PATH (a real checkout of a local git repository, a real `artifact push`), and its event log has
// exactly the shape of the same job without the toolbox: loading it is silent, even for a toolbox
// that prints. The debug terminal's start-up (bash and zsh) loads it too.
import { parse } from "valibot";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { JobLogEvent, JobResult } from "../../agent-core/job/events.js";
import { JobRunner } from "../../agent-core/job/runner.js";
import { planDebugShell } from "../../agent-core/host/debug-shell.js";
import { JobRequestSchema } from "../../agent-core/protocol/types.js";
import { TOOLBOX_BASH_LINE, TOOLBOX_ZSH_LINE } from "../../agent-core/toolbox/index.js";
import { TOOLBOX_BIN_DIR_NAME, TOOLBOX_DIR_NAME } from "../../agent-core/toolbox/layout.js";
import { installFixtureToolbox, readFixtureRecord } from "../helpers/toolbox-fixture.js";

let base: string;
const runners: JobRunner[] = [];

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "toolbox-shell-"));
});

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.close()));
  rmSync(base, { recursive: true, force: true });
});

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** A job HOME (with its own tmp and work folders) under the test's folder. */
function jobHome(name: string): { home: string; tmp: string; work: string } {
  const home = join(base, name, "home");
  const tmp = join(base, name, "tmp");
  const work = join(base, name, "work");
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp);
  mkdirSync(work, { mode: 0o700 });
  return { home, tmp, work };
}

async function runJob(
  dirs: { home: string; tmp: string; work: string },
  commands: string[],
  envVars: Record<string, string> = {},
): Promise<{ result: JobResult; events: JobLogEvent[] }> {
  const events: JobLogEvent[] = [];
  const request = parse(JobRequestSchema, {
    job_id: "job-1",
    executor: "shell",
    logger: { method: "push", url: "http://127.0.0.1:1/api/v1/logs/job-1", token: "t" },
    env_vars: Object.entries(envVars).map(([name, value]) => ({ name, value: b64(value) })),
    commands: commands.map((directive) => ({ directive })),
  });
  const runner = new JobRunner({
    request,
    config: { envVars: [], preJobHookPath: "", postJobHookPath: "", failOnPreJobHookError: false, sourcePreJobHook: false },
    shellEnv: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dirs.home, TMPDIR: dirs.tmp, LANG: "C.UTF-8", TERM: "dumb" },
    cwd: dirs.home,
    workDir: dirs.work,
    tmpDir: dirs.tmp,
    home: dirs.home,
    emit: (e) => events.push(e),
  } as ConstructorParameters<typeof JobRunner>[0]);
  runners.push(runner);
  const result = await runner.run();
  return { result, events };
}

/** The log as Semaphore shows it: event kinds, directives, exit codes and the output joined per command. */
function shape(events: JobLogEvent[]): string[] {
  const out: string[] = [];
  let pending: string | null = null;
  const flush = () => {
    if (pending !== null) out.push(`output ${JSON.stringify(pending)}`);
    pending = null;
  };
  for (const e of events) {
    if (e.event === "cmd_output") {
      pending = (pending ?? "") + e.output;
      continue;
    }
    flush();
    if (e.event === "cmd_started") out.push(`started ${e.directive}`);
    else if (e.event === "cmd_finished") out.push(`finished ${e.directive} ${e.exit_code}`);
    else if (e.event === "job_finished") out.push(`job_finished ${e.result}`);
    else out.push(e.event);
  }
  flush();
  return out;
}

/** The joined output of the first command `directive` in a shape() log ("" when it printed nothing). */
function outputIn(log: string[], directive: string): string {
  const i = log.indexOf(`started ${directive}`);
  if (i < 0) throw new Error(`no command ${directive} in\n${log.join("\n")}`);
  return log[i + 1]?.startsWith("output ") ? (JSON.parse(log[i + 1]!.slice(7)) as string) : "";
}

/** A git repository with one commit, for checkout. */
function gitRepo(): { url: string; sha: string } {
  const repo = join(base, "repo");
  mkdirSync(repo);
  const git = (...args: string[]) =>
    execFileSync("git", args, {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t", GIT_CONFIG_GLOBAL: "/dev/null" },
    }).trim();
  git("init", "--quiet", "--initial-branch=main");
  writeFileSync(join(repo, "README.md"), "hello from the repository\n");
  git("add", "README.md");
  git("commit", "--quiet", "-m", "first");
  return { url: `file://${repo}`, sha: git("rev-parse", "HEAD") };
}

describe("the toolbox in job shells", () => {
  it("checkout is a function, the commands are on PATH from the install's bin folder; checkout and artifact push really work", async () => {
    const dirs = jobHome("with");
    await installFixtureToolbox(dirs.home);
    const { url, sha } = gitRepo();
    const { result, events } = await runJob(
      dirs,
      ["type -t checkout", "command -v artifact", "command -v retry", "checkout", "pwd", "git rev-parse HEAD", "artifact push job README.md"],
      { SEMAPHORE_GIT_URL: url, SEMAPHORE_GIT_BRANCH: "main", SEMAPHORE_GIT_DIR: "project", SEMAPHORE_GIT_SHA: sha },
    );
    const log = shape(events);
    expect(result, log.join("\n")).toBe("passed");
    const outputOf = (directive: string) => outputIn(log, directive);
    expect(outputOf("type -t checkout")).toBe("function\n");
    expect(outputOf("command -v artifact")).toBe(`${join(dirs.home, ".toolbox", "bin", "artifact")}\n`);
    expect(outputOf("command -v retry")).toBe(`${join(dirs.home, ".toolbox", "bin", "retry")}\n`);
    expect(outputOf("checkout")).toContain(`HEAD is now at ${sha.slice(0, 7)}`);
    expect(outputOf("pwd")).toBe(`${join(dirs.home, "project")}\n`);
    expect(outputOf("git rev-parse HEAD")).toBe(`${sha}\n`);
    expect(readFixtureRecord(dirs.home)).toEqual(["artifact push job README.md"]);
    expect(readFileSync(join(dirs.home, ".toolbox", ".fixture-store", "job", "README.md"), "utf8")).toBe("hello from the repository\n");
  });

  it("the event log has the same shape with and without the toolbox, even when the toolbox prints while loading", async () => {
    const commands = ["echo one", "printf 'two\\nthree\\n'", "false || echo four"];
    const without = await runJob(jobHome("without"), commands);
    const quiet = jobHome("quiet");
    await installFixtureToolbox(quiet.home);
    const withToolbox = await runJob(quiet, commands);
    const noisy = jobHome("noisy");
    await installFixtureToolbox(noisy.home, {
      files: { toolbox: "echo NOISE-OUT\necho NOISE-ERR >&2\nsource ~/.toolbox/libcheckout\nread -r line || true\n" },
    });
    const withNoisy = await runJob(noisy, commands);
    expect(without.result).toBe("passed");
    expect(shape(withToolbox.events)).toEqual(shape(without.events));
    expect(shape(withNoisy.events)).toEqual(shape(without.events));
    expect(withNoisy.events.length).toBe(without.events.length);
    expect(JSON.stringify(withNoisy.events)).not.toContain("NOISE");
  });

  it("the snippets spell the install's layout (the toolbox file and our bin folder)", () => {
    for (const line of [TOOLBOX_BASH_LINE, TOOLBOX_ZSH_LINE]) {
      expect(line).toContain(`"$HOME/${TOOLBOX_DIR_NAME}/toolbox"`);
      expect(line).toContain(`export PATH="$HOME/${TOOLBOX_DIR_NAME}/${TOOLBOX_BIN_DIR_NAME}:$PATH"`);
      expect(line).not.toContain("\n");
    }
  });

  it("a HOME without a toolbox: nothing is loaded, nothing is added to PATH", async () => {
    const dirs = jobHome("none");
    const onPath = 'case ":$PATH:" in *"/.toolbox/"*) echo on-path;; *) echo clean;; esac';
    const log = shape((await runJob(dirs, ["type -t checkout || echo none", onPath])).events);
    expect(outputIn(log, "type -t checkout || echo none")).toBe("none\n");
    expect(outputIn(log, onPath)).toBe("clean\n");
    expect(existsSync(join(dirs.home, ".toolbox"))).toBe(false);
  });
});

describe("the toolbox in the debug terminal's start-up", () => {
  const probe = 'printf "%s|%s\\n" "$(type -t checkout 2>/dev/null || whence -w checkout)" "$(command -v artifact)"';

  it("bash: checkout defined and the bin folder first on PATH", async () => {
    const dirs = jobHome("debug-bash");
    await installFixtureToolbox(dirs.home);
    const initDir = join(base, "init-bash");
    mkdirSync(initDir);
    const plan = planDebugShell({ loginShell: "/bin/bash", envFiles: [], home: dirs.home, banner: "debug", initDir });
    for (const f of plan.files) writeFileSync(join(initDir, f.name), f.content);
    expect(plan.files[0]!.content).toContain(TOOLBOX_BASH_LINE);
    const out = execFileSync("bash", [...plan.args, "-c", probe], {
      env: { PATH: process.env.PATH, HOME: dirs.home, TERM: "dumb" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(out.trim().split("\n").at(-1)).toBe(`function|${join(dirs.home, ".toolbox", "bin", "artifact")}`);
  });

  it.skipIf(!existsSync("/usr/bin/zsh") && !existsSync("/bin/zsh"))("zsh: the same, through ksh emulation", async () => {
    const dirs = jobHome("debug-zsh");
    await installFixtureToolbox(dirs.home);
    const initDir = join(base, "init-zsh");
    mkdirSync(initDir);
    const zsh = existsSync("/usr/bin/zsh") ? "/usr/bin/zsh" : "/bin/zsh";
    const plan = planDebugShell({ loginShell: zsh, envFiles: [], home: dirs.home, banner: "debug", initDir });
    for (const f of plan.files) writeFileSync(join(initDir, f.name), f.content);
    const out = execFileSync(zsh, [...plan.args, "-c", probe], {
      env: { PATH: process.env.PATH, HOME: dirs.home, TERM: "dumb", ...plan.env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(out.trim().split("\n").at(-1)).toBe(`checkout: function|${join(dirs.home, ".toolbox", "bin", "artifact")}`);
  });
});
