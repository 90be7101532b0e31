// A job shaped like Semaphore's through `semaphore-agent run` (build first): the shipped
// examples/checkout.yaml with the fixture toolbox in a temp HOME checks out the local repository that
// `git_fixture: demo` makes (cli/local-jobs.ts), builds, pushes an artifact, and the header names the
// job. Without the toolbox it fails at `checkout`. Nothing is left behind.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT, runCli, stopAll, tempDir } from "../helpers/processes.js";
import { installFixtureToolbox } from "../helpers/toolbox-fixture.js";

afterEach(stopAll);

const EXAMPLE = join(ROOT, "examples/checkout.yaml");

describe("run examples/checkout.yaml", () => {
  it("checks out the demo repository at SEMAPHORE_GIT_SHA, builds, pushes out.txt, and names the job", async () => {
    const home = tempDir("sa-checkout-home-");
    const tmp = tempDir("sa-checkout-tmp-");
    const store = tempDir("sa-checkout-store-");
    await installFixtureToolbox(home);
    const run = runCli(["run", EXAMPLE], { HOME: home, TMPDIR: tmp, TOOLBOX_FIXTURE_STORE: store, NO_COLOR: "1" });
    const code = await run.waitForExit(60_000);
    expect(code, `${run.stdout}\n---\n${run.stderr}`).toBe(0);

    // The header: whose job it is, before the first command.
    const header = /^job ([0-9a-f-]{36}): demo-app · Build — branch main @ ([0-9a-f]{7}) by demo-author · workflow #7, triggered by push$/m.exec(run.stdout);
    expect(header, run.stdout).not.toBeNull();
    const [, jobId, short] = header as RegExpExecArray;
    // The examples name no organisation (there is none behind the local hub): no Semaphore link.
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.stdout).not.toContain("\nopen: ");
    expect(run.stdout.indexOf("job ")).toBeLessThan(run.stdout.indexOf("▶ checkout"));

    // checkout really cloned the file:// repository; HEAD is the SHA the job was given.
    expect(run.stdout).toMatch(/▶ checkout\nPerforming a clone of file:\/\/\/.*\/demo-app\.git into \/.*\/demo-app\n/);
    expect(run.stdout).toContain(`HEAD is now at ${short}`);
    const head = /▶ git rev-parse HEAD\n([0-9a-f]{40})\n✔ exit 0/.exec(run.stdout);
    expect(head, run.stdout).not.toBeNull();
    expect(head![1]!.slice(0, 7)).toBe(short);
    expect(run.stdout).toContain('▶ test "$(git rev-parse HEAD)" = "$SEMAPHORE_GIT_SHA"\n✔ exit 0');
    expect(run.stdout).toContain(`demo-app built from ${short} on main`);
    expect(run.stdout).toContain("▶ artifact push job out.txt\n✔ exit 0");
    expect(run.stdout.trimEnd().split("\n").at(-1)).toMatch(/^Job passed in /);

    // The artifact store holds what the build wrote.
    expect(readFileSync(join(store, "job", "out.txt"), "utf8")).toBe(`demo-app built from ${short} on main\n`);
    // SEMAPHORE_JOB_ID is the job's id; the repository and its clone are gone with the run.
    expect(run.stdout).toMatch(new RegExp(`Exporting SEMAPHORE_JOB_ID\\n`));
    expect(readdirSync(tmp).filter((n) => n.startsWith("semaphore-agent-demo-git-"))).toEqual([]);
    // The clone was made in the repository's temp folder, not in HOME.
    expect(existsSync(join(home, "demo-app"))).toBe(false);
  });

  it("without the toolbox, fails at checkout: command not found", async () => {
    const home = tempDir("sa-checkout-home-");
    const tmp = tempDir("sa-checkout-tmp-");
    const run = runCli(["run", EXAMPLE], { HOME: home, TMPDIR: tmp, NO_COLOR: "1" });
    expect(await run.waitForExit(60_000)).toBe(1);
    expect(run.stdout).toMatch(/▶ checkout\n.*checkout: command not found\n✘ exit 127/);
    expect(run.stdout).not.toContain("▶ git rev-parse HEAD");
    expect(run.stdout).toMatch(/Job failed in/);
    expect(readdirSync(tmp).filter((n) => n.startsWith("semaphore-agent-demo-git-"))).toEqual([]);
    expect(existsSync(join(home, ".toolbox"))).toBe(false);
  });

  it("without git, refuses the job with the reason and exits 1", async () => {
    const tmp = tempDir("sa-checkout-tmp-");
    // A PATH with node alone: no git.
    const bin = tempDir("sa-checkout-bin-");
    const run = runCli(["run", EXAMPLE], { HOME: tempDir("sa-checkout-home-"), TMPDIR: tmp, PATH: bin, NO_COLOR: "1" });
    expect(await run.waitForExit(30_000)).toBe(1);
    expect(run.stderr).toMatch(/checkout\.yaml: this job checks out the demo git repository \(git_fixture: demo\), which could not be made: git is not installed/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
