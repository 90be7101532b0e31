// Where jobs run and the disk guard, end to end: a real `semaphore-agent console` process (host +
// agent), a real hub process, and Debian's Chromium on the real renderer. Settings shows the strict
// sandbox in force (bubblewrap is installed here) with the job home in the console's data folder;
// limits no disk can meet, set through Settings, pause the agent (the reason, the figures and what
// uses space on screen; no agent waiting at the hub) until lower limits let it start again by itself;
// the debug panel shows only the shells of the job on screen, naming the job and its sandbox; and on a
// machine without bubblewrap the fallback is said, with the command that installs it.
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { isRunning } from "../helpers/jobs.js";
import { job, startHub, stopAll, tempDir, type HubProcess } from "../helpers/processes.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;
/** The job scheduled while the agent was paused: it runs once the agent is back (then debugged from its kept env). */
let queuedJobId = "";

const byTestId = (id: string) => page.getByTestId(id);
/** The app's private job home: the jobs' HOME. */
const jobHome = () => join(con.dataDir, "job-home");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

async function debugText(): Promise<string> {
  return await page.evaluate(() => {
    const probe = (window as unknown as { __semaphoreAgentProbe?: { debugTerminalText(): string } }).__semaphoreAgentProbe;
    return probe ? probe.debugTerminalText() : "";
  });
}

async function saveSettings(): Promise<void> {
  await byTestId("settings-save").click();
  await byTestId("settings-saved").waitFor({ timeout: 10_000 });
}

async function openHistoryRow(jobId: string): Promise<void> {
  await byTestId("nav-history").click();
  await page.locator(`[data-testid="history-row"][data-job-id="${jobId}"]`).click();
  await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 10_000 }).toBe(jobId);
}

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser({ width: 1400, height: 900 });
  page = browser.page;
  // Connection settings through the console's own API (the UI path is tests/e2e/console.test.ts).
  const rpc = await ConsoleRpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token })).toMatchObject({ ok: true, result: { ok: true } });
  rpc.close();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe("sandbox and disk guard in the web console (console process, agent, hub, Chromium)", () => {
  it("Settings shows the strict sandbox in force, the job home in the data folder, and field errors naming the line", async () => {
    await page.goto(con.url);
    await byTestId("nav-settings").click();
    const level = byTestId("settings-sandbox");
    await level.waitFor();
    expect(await level.getAttribute("data-value")).toBe("strict");
    expect(await byTestId("settings-sandbox-strict").isChecked()).toBe(true);
    expect(await level.textContent()).toMatch(/cannot see your home/);
    const status = byTestId("view-settings").getByTestId("sandbox-level");
    await status.waitFor({ timeout: 10_000 });
    expect(await status.getAttribute("data-level")).toBe("strict");
    const line = (await status.textContent()) ?? "";
    expect(line).toContain("Sandbox: strict");
    expect(line).toContain(`job home ${jobHome()}`);
    expect(line).toContain("cleaned after each job");
    // bubblewrap works here: nothing to warn about.
    expect(await byTestId("sandbox-notice").count()).toBe(0);
    expect(await byTestId("settings-job-home-cleanup").inputValue()).toBe("clean");
    expect(await byTestId("settings-sandbox-allow-docker").isChecked()).toBe(false);
    expect(await byTestId("settings-docker-warning").textContent()).toMatch(/root on this machine/);
    expect(await byTestId("settings-disk-guard-sentence").textContent()).toBe(
      "Stops taking jobs when free space is below the smaller of 10 GB and 10 %; stops a running job below 1 GB.",
    );
    await byTestId("settings-where-jobs-run").scrollIntoViewIfNeeded();
    await screenshot(page, "30-settings-where-jobs-run");

    // A percentage over 100 is refused before asking the host; a relative path by the host, naming its line.
    await byTestId("settings-disk-min-free-percent").fill("150");
    await byTestId("settings-sandbox-read-only-paths").fill("/usr/share\n\ndata/sets");
    await byTestId("settings-save").click();
    await expect.poll(async () => await byTestId("field-error-diskMinFreePercent").textContent(), { timeout: 10_000 }).toContain("Enter 100 or less");
    await byTestId("settings-disk-min-free-percent").fill("10");
    await byTestId("settings-save").click();
    const pathError = byTestId("field-error-sandboxReadOnlyPaths[1]");
    await pathError.waitFor({ timeout: 10_000 });
    expect(await pathError.textContent()).toMatch(/^Line 3: must be an absolute path/);
    await pathError.scrollIntoViewIfNeeded();
    await screenshot(page, "31-settings-sandbox-path-error");
    await byTestId("settings-sandbox-read-only-paths").fill("");
    await saveSettings();
  });

  it("limits no disk can meet pause the agent: the reason, the figures, what uses space; lower limits resume it by itself", async () => {
    await byTestId("settings-disk-guard").scrollIntoViewIfNeeded();
    await byTestId("settings-disk-min-free-gb").fill("1000000");
    await byTestId("settings-disk-min-free-percent").fill("100");
    expect(await byTestId("settings-disk-guard-sentence").textContent()).toContain("below the smaller of 1000000 GB and 100 %");
    await saveSettings();

    await byTestId("nav-agent").click();
    await byTestId("agent-start").click();
    const callout = byTestId("disk-guard-callout");
    await callout.waitFor({ timeout: 30_000 });
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 10_000 }).toBe("Paused (disk guard)");
    expect(await callout.getAttribute("data-held")).toBe("true");
    const reason = (await byTestId("disk-guard-reason").textContent()) ?? "";
    expect(reason).toMatch(/^Not taking jobs: Only \d+(\.\d)? [KMGTP]?B free on /);
    expect(reason).toContain(jobHome());
    // Each watched filesystem with its figures, below its limit.
    const spaces = byTestId("disk-space");
    expect(await spaces.count()).toBeGreaterThan(0);
    expect(await spaces.first().textContent()).toMatch(/free of .* \(limit .*\)/);
    expect(await spaces.first().getAttribute("data-low")).toBe("true");
    // What here uses space, measured.
    await byTestId("disk-usage").waitFor({ timeout: 20_000 });
    const usage = byTestId("disk-usage-entry");
    expect(await usage.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-label")))).toEqual(["job home", "job history", "kept env files", "toolbox"]);
    expect(await usage.first().textContent()).toMatch(/\d+(\.\d)? [KMGTP]?B$/);
    // The sandbox is said here too.
    expect(await byTestId("view-agent").getByTestId("sandbox-level").textContent()).toContain("Sandbox: strict");

    // The hub has no agent waiting for jobs, and a job scheduled meanwhile stays queued.
    await hub.api.waitForAgent((agents) => agents.length > 0 && agents.every((a) => a.disconnected), 20_000);
    queuedJobId = await hub.api.schedule(
      job({ env: { SEMAPHORE_PROJECT_NAME: "web-app", SEMAPHORE_JOB_NAME: "Unit tests", QUEUED_SECRET: "kept" }, commands: ["echo ran after the pause"] }),
    );
    expect((await hub.api.agents()).filter((a) => !a.disconnected && a.state === "waiting-for-jobs")).toEqual([]);
    expect(await hub.api.job(queuedJobId)).toMatchObject({ status: "queued", agent: null });
    await screenshot(page, "32-agent-paused-by-disk-guard");

    // Lower limits: the paused agent looks again at once and starts taking jobs by itself.
    // The callout's figures are redrawn while the agent waits (free space, what uses it), so the click
    // goes to the button itself, not to where it was a moment ago. One loaded CI run timed out here
    // with Settings never shown; a mouse click landing beside a button that had just moved is the
    // likeliest cause. If it comes back, the two checks below say which step failed.
    await byTestId("disk-guard-settings").dispatchEvent("click");
    await byTestId("view-settings").waitFor({ timeout: 10_000 });
    expect(await byTestId("settings-advanced").getAttribute("open"), "Advanced is open on a configured agent's Settings").not.toBeNull();
    await byTestId("settings-disk-guard").scrollIntoViewIfNeeded();
    await byTestId("settings-disk-min-free-gb").fill("1");
    await byTestId("settings-disk-min-free-percent").fill("1");
    await saveSettings();
    await byTestId("nav-agent").click();
    await hub.api.waitForAgent((agents) => agents.some((a) => !a.disconnected && (a.state === "waiting-for-jobs" || a.jobs.includes(queuedJobId))), 30_000);
    const ran = await hub.api.waitForJob(queuedJobId, "finished", 30_000);
    expect(ran.result).toBe("passed");
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toBe("Waiting for jobs");
    expect(await byTestId("disk-guard-callout").count()).toBe(0);
    await screenshot(page, "33-agent-resumed-after-disk-guard");
  });

  it("the debug panel shows only the terminals of the job on screen, named with its sandbox", async () => {
    const runningId = await hub.api.schedule(
      job({
        env: { SEMAPHORE_PROJECT_NAME: "web-app", SEMAPHORE_JOB_NAME: "GPU benchmark" },
        commands: ["echo benchmark running", 'while [ ! -f "$HOME/release" ]; do sleep 0.1; done'],
      }),
    );
    await hub.api.waitForJob(runningId, "running", 30_000);

    // A terminal on the finished job (its env files were kept), from the History.
    await byTestId("nav-history").click();
    await page.locator(`[data-testid="history-row"][data-job-id="${queuedJobId}"]`).getByTestId("history-debug").click();
    const terminal = byTestId("debug-terminal");
    await terminal.waitFor({ timeout: 10_000 });
    expect(await byTestId("job-id").textContent()).toBe(queuedJobId);
    expect(await terminal.getAttribute("data-job-id")).toBe(queuedJobId);
    const firstTerminal = (await terminal.getAttribute("data-terminal-id"))!;
    const firstPid = Number(await terminal.getAttribute("data-pid"));
    await expect.poll(debugText, { timeout: 20_000 }).toMatch(new RegExp(`Debug shell for job ${escape(queuedJobId)}`));
    expect(await byTestId("debug-panel-header").textContent()).toBe("Debug · web-app · Unit tests · strict sandbox");
    expect(await byTestId("debug-panel-header").getAttribute("data-sandbox")).toBe("strict");
    await screenshot(page, "34-debug-finished-job");

    // The running job's view: the first job's shell is not shown next to its log, "Open debug terminal" is.
    await openHistoryRow(runningId);
    expect(await byTestId("debug-panel").count()).toBe(0);
    expect(await byTestId("debug-terminal").count()).toBe(0);
    await expect.poll(async () => await byTestId("debug-open").isEnabled(), { timeout: 20_000 }).toBe(true);
    expect(await byTestId("debug-open").textContent()).toContain("Open debug terminal");
    expect(await byTestId("debug-elsewhere").textContent()).toContain("1 debug terminal of another job is open");
    // It keeps running, unseen.
    expect(isRunning(firstPid)).toBe(true);
    await screenshot(page, "35-debug-other-job-not-shown");

    // Its own terminal: only that one in the panel, named for this job.
    await byTestId("debug-open").click();
    await expect.poll(async () => await byTestId("debug-terminal").getAttribute("data-job-id"), { timeout: 10_000 }).toBe(runningId);
    expect(await byTestId("debug-tab").count()).toBe(1);
    expect(await byTestId("debug-panel-header").textContent()).toBe("Debug · web-app · GPU benchmark · strict sandbox");
    await expect.poll(debugText, { timeout: 20_000 }).toMatch(new RegExp(`Debug shell for job ${escape(runningId)}`));
    await screenshot(page, "36-debug-running-job-own-terminal");

    // Back to the first job: its own shell again, the same one, still alive.
    await openHistoryRow(queuedJobId);
    await expect.poll(async () => await byTestId("debug-terminal").getAttribute("data-terminal-id"), { timeout: 10_000 }).toBe(firstTerminal);
    expect(await byTestId("debug-tab").count()).toBe(1);
    expect(await byTestId("debug-panel-header").textContent()).toContain("Unit tests");
    expect(isRunning(firstPid)).toBe(true);

    writeFileSync(join(jobHome(), "release"), "");
    expect((await hub.api.waitForJob(runningId, "finished", 30_000)).result).toBe("passed");
  });

  it("without bubblewrap, strict is asked but not in force: Settings and the Agent view say so, with the install command", async () => {
    // A console whose PATH has bash but no bwrap: the machine of an owner who has not installed it.
    const bin = tempDir("sa-e2e-no-bwrap-bin-");
    symlinkSync("/bin/bash", join(bin, "bash"));
    const bare = await startConsole({ env: { PATH: bin } });
    await page.goto(bare.url);
    await byTestId("nav-settings").click();
    // A console never configured shows the first run: where jobs run is under Advanced.
    await byTestId("settings-advanced-toggle").click();
    const notice = byTestId("view-settings").getByTestId("sandbox-notice");
    await notice.waitFor({ timeout: 10_000 });
    expect(await byTestId("settings-sandbox").getAttribute("data-value")).toBe("strict");
    const status = byTestId("view-settings").getByTestId("sandbox-level");
    expect(await status.getAttribute("data-level")).toBe("none");
    expect(await status.getAttribute("data-requested")).toBe("strict");
    expect(await notice.textContent()).toMatch(/bubblewrap/);
    const install = byTestId("view-settings").getByTestId("sandbox-install-command");
    const command = (await install.textContent()) ?? "";
    expect(command).toMatch(/bubblewrap/);
    expect(await install.evaluate((el) => el.tagName)).toBe("CODE");
    await byTestId("settings-where-jobs-run").scrollIntoViewIfNeeded();
    await screenshot(page, "37-settings-no-bubblewrap");

    // The Agent view says it too, before any start: never a silent fallback.
    await byTestId("nav-agent").click();
    const agentNotice = byTestId("view-agent").getByTestId("sandbox-notice");
    await agentNotice.waitFor({ timeout: 10_000 });
    expect(await byTestId("view-agent").getByTestId("sandbox-install-command").textContent()).toBe(command);
    expect(await byTestId("view-agent").getByTestId("sandbox-level").textContent()).toContain("Sandbox: none");
    await screenshot(page, "38-agent-no-bubblewrap");
  });
});
