// Real Semaphore jobs in the web console: an agent that keeps trying a hub that refuses it and
// then gets in with no click, and a job shaped like Semaphore's — identity variables, `checkout` of
// a local bare repository over file:// through the (fixture) toolbox, `artifact push` — on screen
// with its project, branch, commit and the Open in Semaphore link, found again by the History filter.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { FAST_TIMINGS, job, startHub, stopAll, tempDir, type HubProcess } from "../helpers/processes.js";
import { buildToolboxFixture, serveToolboxRelease, type ToolboxReleaseServer } from "../helpers/toolbox-fixture.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;
let repo: { url: string; sha: string; root: string };
/** Where the fixture toolbox's `artifact push` stores (Semaphore's artifact storage, on this machine). */
let store: string;
let release: ToolboxReleaseServer;

const byTestId = (id: string) => page.getByTestId(id);

/** A bare repository with two commits on main, as a project's remote. */
function bareRepository(): { url: string; sha: string; root: string } {
  const root = tempDir("sa-e2e-git-");
  const bare = join(root, "demo-app.git");
  const work = join(root, "work");
  const git = (cwd: string, ...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Alice Example", "-c", "user.email=alice@example.com", "-c", "init.defaultBranch=main", ...args], {
      cwd,
      encoding: "utf8",
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: root },
    }).trim();
  git(root, "init", "-q", "--bare", bare);
  git(root, "init", "-q", work);
  writeFileSync(join(work, "README.md"), "# demo-app\n");
  git(work, "add", ".");
  git(work, "commit", "-q", "-m", "First commit");
  writeFileSync(join(work, "build.sh"), "echo built\n");
  git(work, "add", ".");
  git(work, "commit", "-q", "-m", "Add the build");
  git(work, "push", "-q", bare, "HEAD:refs/heads/main");
  return { url: `file://${bare}`, sha: git(work, "rev-parse", "HEAD"), root };
}

beforeAll(async () => {
  hub = await startHub();
  // The toolbox's release, served the way GitHub serves it (redirects, checksums.txt), from 127.0.0.1.
  const fixture = buildToolboxFixture(tempDir("sa-e2e-toolbox-"));
  release = await serveToolboxRelease({ tarball: readFileSync(fixture.tarballPath), asset: fixture.asset, checksumsText: fixture.checksumsText });
  store = tempDir("sa-e2e-artifacts-");
  con = await startConsole({
    env: {
      // A back-off short enough for a test, long enough to see the countdown.
      SEMAPHORE_AGENT_TEST_TIMINGS: JSON.stringify({ ...FAST_TIMINGS, appRetryFirstMs: 1500, appRetryMaxMs: 3000 }),
      SEMAPHORE_AGENT_TOOLBOX_BASE_URL: release.baseUrl,
      TOOLBOX_FIXTURE_STORE: store,
    },
  });
  repo = bareRepository();
  browser = await launchBrowser();
  page = browser.page;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await release?.close();
  await stopAll();
});

describe("real Semaphore jobs in the web console (console process, agent, hub, Chromium)", () => {
  it("first-run setup warns that the toolbox is missing and installs it, verified, with its table", async () => {
    await page.goto(con.url);
    await byTestId("settings-endpoint").waitFor();
    await byTestId("toolbox-missing").waitFor();
    const checkout = page.locator("[data-testid=toolbox-feature][data-feature=checkout]");
    expect(await checkout.getAttribute("data-works")).toBe("false");
    expect(await checkout.textContent()).toContain("semaphore-agent toolbox install");
    expect(await page.locator("[data-testid=toolbox-feature][data-feature=sem-service]").textContent()).toMatch(/No/);
    await screenshot(page, "19a-first-run-toolbox-missing");
    await byTestId("toolbox-install").click();
    await expect.poll(async () => (await byTestId("toolbox-verified").count()) > 0, { timeout: 20_000 }).toBe(true);
    expect(await byTestId("toolbox-verified").textContent()).toMatch(/sha256|checksum/i);
    expect(await byTestId("toolbox-version").textContent()).toMatch(/^Installed v1\.23\.4 in /);
    expect(await byTestId("toolbox-missing").count()).toBe(0);
    await byTestId("toolbox-card").scrollIntoViewIfNeeded();
    await screenshot(page, "19b-first-run-toolbox-installed");
    expect(existsSync(join(con.home, ".toolbox", "toolbox"))).toBe(true);
    expect(release.requests.some((r) => r.includes("checksums.txt"))).toBe(true);
  });

  it("keeps trying a hub that refuses registration, says why with a countdown, then waits for jobs with no click", async () => {
    await byTestId("settings-endpoint").fill(hub.endpoint);
    await byTestId("settings-token").fill(hub.token);
    // Plain HTTP (for this local hub) is under Advanced, closed on the first run.
    await byTestId("settings-advanced-toggle").click();
    await byTestId("settings-no-https").check();
    await byTestId("settings-save").click();
    await byTestId("settings-saved").waitFor();
    const card = byTestId("toolbox-card");
    await card.waitFor();
    expect(await byTestId("toolbox-version").textContent()).toMatch(/^Installed v1\.23\.4 in /);
    expect(await page.locator("[data-testid=toolbox-feature][data-feature=checkout]").getAttribute("data-works")).toBe("true");
    await card.scrollIntoViewIfNeeded();
    await screenshot(page, "19c-settings-toolbox-installed");

    // Jobs run in the default strict sandbox: the project's remote (a folder under /tmp here) and the
    // artifact storage are outside it unless the owner lists them.
    const rpc = await ConsoleRpc.open(con);
    const { tokenSet: _t, tokenStorage: _s, configured: _c, ...current } = (await rpc.call("getSettings")).result as Record<string, unknown>;
    const saved = await rpc.call("saveSettings", { settings: { ...current, token: hub.token, sandboxReadOnlyPaths: [repo.root], sandboxReadWritePaths: [store] } });
    rpc.close();
    expect(saved).toMatchObject({ ok: true });

    await hub.api.fault({ target: "register", mode: "401", count: 3 });
    await byTestId("nav-agent").click();
    await byTestId("agent-start").click();
    await expect.poll(async () => (await byTestId("agent-error").textContent()) ?? "", { timeout: 20_000 }).toMatch(/registration token was refused/);
    const error = (await byTestId("agent-error").textContent()) ?? "";
    expect(error).toMatch(/HTTP 401/);
    expect(error).toMatch(/retrying (in \d+ s|now)/);
    expect(await byTestId("agent-state").textContent()).toBe("Connecting…");
    expect(await byTestId("agent-retry-now").count()).toBe(1);
    await screenshot(page, "20-agent-connecting-refused");

    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 30_000 }).toMatch(/waiting for jobs/i);
    expect(await byTestId("agent-error").count()).toBe(0);
    // The three refusals are one Activity entry with a count, not three lines.
    const refused = page.getByTestId("activity-entry").filter({ hasText: "registration token was refused" });
    expect(await refused.count()).toBe(1);
    expect(Number((await refused.getByTestId("activity-count").textContent())?.replace("×", ""))).toBeGreaterThanOrEqual(2);
    await screenshot(page, "21-agent-connected-after-refusals");
  });

  it("runs a job shaped like Semaphore's: checkout over file://, the SHA, an artifact; the page says whose job it is", async () => {
    const jobUuid = "4f0a6c2e-1b7d-4e0c-9a8f-2d3b5c6e7f80";
    const id = await hub.api.schedule(
      job({
        env: {
          SEMAPHORE_PROJECT_NAME: "demo-app",
          SEMAPHORE_PROJECT_ID: "7b2c8e4a-5d6f-4a1b-9c3d-2e4f6a8b0c1d",
          SEMAPHORE_JOB_NAME: "Build and test",
          SEMAPHORE_JOB_ID: jobUuid,
          SEMAPHORE_JOB_TYPE: "pipeline_job",
          SEMAPHORE_WORKFLOW_NUMBER: "42",
          SEMAPHORE_WORKFLOW_TRIGGERED_BY: "push",
          SEMAPHORE_GIT_URL: repo.url,
          SEMAPHORE_GIT_REPO_SLUG: "acme/demo-app",
          SEMAPHORE_GIT_BRANCH: "main",
          SEMAPHORE_GIT_REF_TYPE: "branch",
          SEMAPHORE_GIT_SHA: repo.sha,
          SEMAPHORE_GIT_DIR: "demo-app",
          SEMAPHORE_GIT_COMMIT_AUTHOR: "alice",
          SEMAPHORE_ORGANIZATION_URL: "https://acme.semaphoreci.com",
          SEMAPHORE_ARTIFACT_TOKEN: "artifact-token-value-never-shown",
        },
        commands: [
          // As Semaphore's own checkout does, it leaves the job in the cloned folder.
          "checkout",
          'test "$PWD" = "$HOME/$SEMAPHORE_GIT_DIR"',
          'test "$(git rev-parse HEAD)" = "$SEMAPHORE_GIT_SHA" && echo head-is-the-sha',
          "bash build.sh > out.txt",
          "artifact push job out.txt",
        ],
      }),
    );
    await hub.api.waitForJob(id, "finished");
    const result = (await hub.api.job(id)).result;
    if (result !== "passed") throw new Error(`the job ${result}:\n${JSON.stringify(await hub.api.events(id)).slice(-3000)}`);
    await byTestId("nav-job").click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(id);
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/passed/i);
    expect(await byTestId("job-title").textContent()).toBe("demo-app · Build and test");
    const origin = (await byTestId("job-origin").textContent()) ?? "";
    expect(origin).toContain("branch main");
    expect(origin).toContain(`@ ${repo.sha.slice(0, 7)}`);
    expect(origin).toContain("by alice");
    expect(origin).toContain("workflow #42, triggered by push");
    const link = page.getByTestId("job-view").getByTestId("open-in-semaphore").or(page.locator(".job-head [data-testid=open-in-semaphore]")).first();
    expect(await link.getAttribute("href")).toBe(`https://acme.semaphoreci.com/jobs/${jobUuid}`);
    expect(await page.content()).not.toContain("artifact-token-value-never-shown");
    await screenshot(page, "22-job-like-semaphore");

    // What the job did on this machine: built from the checked-out commit and pushed the artifact; the
    // private job home is clean again (the default policy) and the owner's HOME was never touched.
    expect(readFileSync(join(store, "job", "out.txt"), "utf8")).toBe("built\n");
    expect(existsSync(join(con.dataDir, "job-home", "demo-app"))).toBe(false);
    expect(existsSync(join(con.home, "demo-app"))).toBe(false);

    // History: the row names the job; the project filter finds it, another branch does not.
    await byTestId("nav-history").click();
    const row = page.locator(`[data-testid=history-row][data-job-id="${id}"]`);
    await row.waitFor();
    expect(await row.getByTestId("history-job-title").textContent()).toBe("demo-app · Build and test");
    await byTestId("history-project").selectOption("demo-app");
    await expect.poll(async () => await byTestId("history-row").count(), { timeout: 10_000 }).toBe(1);
    expect(await byTestId("history-row").first().getAttribute("data-job-id")).toBe(id);
    await byTestId("history-search").fill("no-such-author");
    await expect.poll(async () => await byTestId("history-row").count(), { timeout: 10_000 }).toBe(0);
    await byTestId("history-search").fill("alice");
    await expect.poll(async () => await byTestId("history-row").count(), { timeout: 10_000 }).toBe(1);
    await screenshot(page, "23-history-filtered-by-project");
  });
});
