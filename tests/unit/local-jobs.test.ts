// Jobs of `run` and the Local demo (cli/local-jobs.ts): the job id in SEMAPHORE_JOB_ID, the demo git
// repository of `git_fixture: demo` (made with real git, removed after), and a demo without git.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseJobDefinition, parseJobFile } from "../../agent-core/cli/job-file.js";
import { createDemoGitRepo, LocalJobError, prepareLocalJob, type DemoGitRepo } from "../../agent-core/cli/local-jobs.js";
import { LocalDemo } from "../../agent-core/host/demo.js";

const vars = (request: { env_vars: { name: string; value: string }[] }) =>
  Object.fromEntries(request.env_vars.map((v) => [v.name, Buffer.from(v.value, "base64").toString("utf8")]));

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe("prepareLocalJob", () => {
  it("gives every job an id and SEMAPHORE_JOB_ID equal to it", () => {
    const plain = prepareLocalJob(parseJobDefinition("commands: [echo hi]\n", "j.yaml"), null);
    expect(plain.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(vars(plain)).toEqual({ SEMAPHORE_JOB_ID: plain.job_id });
    const again = prepareLocalJob(parseJobDefinition("commands: [echo hi]\n", "j.yaml"), null);
    expect(again.job_id).not.toBe(plain.job_id);

    const named = prepareLocalJob(parseJobDefinition("job_id: my-job\ncommands: [echo]\n", "j.yaml"), null);
    expect([named.job_id, vars(named).SEMAPHORE_JOB_ID]).toEqual(["my-job", "my-job"]);
    const fromVar = prepareLocalJob(parseJobDefinition("env_vars: [{name: SEMAPHORE_JOB_ID, value: abc}]\ncommands: [echo]\n", "j.yaml"), null);
    expect([fromVar.job_id, vars(fromVar).SEMAPHORE_JOB_ID]).toEqual(["abc", "abc"]);
    expect(fromVar.env_vars.filter((v) => v.name === "SEMAPHORE_JOB_ID")).toHaveLength(1);
    expect(() =>
      prepareLocalJob(parseJobDefinition("job_id: a\nenv_vars: [{name: SEMAPHORE_JOB_ID, value: b}]\ncommands: [echo]\n", "j.yaml"), null),
    ).toThrow(LocalJobError);
  });

  it("fills SEMAPHORE_GIT_* from the demo repository for git_fixture: demo, and says why when there is none", () => {
    const text = "git_fixture: demo\nenv_vars: [{name: SEMAPHORE_GIT_SHA, value: stale}, {name: KEEP, value: k}]\ncommands: [checkout]\n";
    expect(() => parseJobDefinition("git_fixture: other\n", "j.yaml")).toThrow(/git_fixture/);
    const definition = parseJobDefinition(text, "j.yaml");
    expect(definition.gitFixture).toBe("demo");
    expect(parseJobFile(text, "j.yaml")).toEqual(definition.request);
    const repo: DemoGitRepo = {
      url: "file:///tmp/x/demo-app.git",
      branch: "main",
      sha: "a".repeat(40),
      checkoutDir: "/tmp/x/workspace/demo-app",
      slug: "demo-org/demo-app",
      root: "/tmp/x",
      remove: () => undefined,
    };
    const request = prepareLocalJob(definition, repo);
    expect(vars(request)).toMatchObject({
      SEMAPHORE_GIT_URL: repo.url,
      SEMAPHORE_GIT_BRANCH: "main",
      SEMAPHORE_GIT_SHA: repo.sha,
      SEMAPHORE_GIT_DIR: repo.checkoutDir,
      SEMAPHORE_GIT_REPO_SLUG: "demo-org/demo-app",
      KEEP: "k",
    });
    expect(request.env_vars.filter((v) => v.name === "SEMAPHORE_GIT_SHA")).toHaveLength(1);
    expect(() => prepareLocalJob(definition, new LocalJobError("git is not installed (not found on PATH)"))).toThrow(
      /git_fixture: demo\), which could not be made: git is not installed/,
    );
    expect(() => prepareLocalJob(definition, null)).toThrow(LocalJobError);
  });
});

describe("createDemoGitRepo", () => {
  it("makes a bare repository with two commits on main whose head is the sha, and removes it", async () => {
    const repo = await createDemoGitRepo();
    cleanup.push(repo.remove);
    const bare = fileURLToPath(repo.url);
    expect(repo.url).toMatch(/^file:\/\/\/.*\/demo-app\.git$/);
    expect(execFileSync("git", ["--git-dir", bare, "rev-parse", "refs/heads/main"], { encoding: "utf8" }).trim()).toBe(repo.sha);
    expect(repo.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(execFileSync("git", ["--git-dir", bare, "rev-list", "--count", "main"], { encoding: "utf8" }).trim()).toBe("2");
    expect(execFileSync("git", ["--git-dir", bare, "ls-tree", "--name-only", "main"], { encoding: "utf8" }).split("\n")).toEqual(
      expect.arrayContaining(["README.md", "build.sh"]),
    );
    expect(repo.checkoutDir.startsWith(repo.root)).toBe(true);
    repo.remove();
    repo.remove();
    expect(existsSync(repo.root)).toBe(false);
  });
});

describe("LocalDemo and the checkout example", () => {
  it("without git still starts; the example is refused with the reason; stop removes the repository", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sa-demo-examples-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "hello-world.yaml"), "# Hi.\ncommands: [echo hi]\n");
    writeFileSync(join(dir, "checkout.yaml"), "# Checks out.\ngit_fixture: demo\ncommands: [checkout]\n");

    const path = process.env.PATH;
    process.env.PATH = dir; // no git here
    const noGit = new LocalDemo(dir);
    try {
      await noGit.start();
    } finally {
      process.env.PATH = path;
    }
    try {
      expect(noGit.running).toBe(true);
      expect(() => noGit.schedule("checkout")).toThrow(/The example checkout cannot run here: .*git is not installed/);
      expect(noGit.schedule("hello-world").jobId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await noGit.stop();
    }

    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith("semaphore-agent-demo-git-")));
    const demo = new LocalDemo(dir);
    await demo.start();
    const made = readdirSync(tmpdir()).filter((n) => n.startsWith("semaphore-agent-demo-git-") && !before.has(n));
    expect(made).toHaveLength(1);
    expect(demo.schedule("checkout").jobId).toMatch(/^[0-9a-f-]{36}$/);
    await demo.stop();
    expect(existsSync(join(tmpdir(), made[0]!))).toBe(false);
  });
});
