// The owner's terms end to end: a real `semaphore-agent console` process (host + agent), a real hub
// process, and Debian's Chromium on the real renderer. Snooze says why and until when, with a live
// countdown, and the hub lists no connected agent until Resume; the weekly schedule is painted on
// the grid, saved, and comes back the same after a reload (and from the host); "Finish current job,
// then pause" shows its pending notice and Resume cancels it, the job finishing and the agent going
// on; "Stop this job" in the Job view ends the running job as stopped while the agent goes on taking
// jobs; and what this machine has given is counted.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { job, startHub, stopAll, type HubProcess } from "../helpers/processes.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;
let rpc: ConsoleRpc;

const byTestId = (id: string) => page.getByTestId(id);
/** The app's private job home: the jobs' HOME. */
const jobHome = () => join(con.dataDir, "job-home");
const text = async (id: string) => ((await byTestId(id).textContent()) ?? "").trim();

/** Connected to the hub and waiting for a job. */
const waiting = () => hub.api.waitForAgent((agents) => agents.some((a) => !a.disconnected && a.state === "waiting-for-jobs"), 30_000);

async function agentState(expected: string, timeout = 30_000): Promise<void> {
  await expect.poll(async () => await text("agent-state"), { timeout }).toBe(expected);
}

/** A Semaphore-shaped job that runs until `$HOME/<file>` exists. */
const blockingJob = (file: string, name: string) =>
  job({ env: { SEMAPHORE_PROJECT_NAME: "web-app", SEMAPHORE_JOB_NAME: name }, commands: [`echo ${name} started`, `while [ ! -f "$HOME/${file}" ]; do sleep 0.1; done`] });

/** The grid cell of a day (0 = Monday) and an hour. */
const cell = (day: number, hour: number) => page.locator(`[data-testid="settings-schedule-grid"] [data-day="${day}"][data-hour="${hour}"]`);

async function center(day: number, hour: number): Promise<{ x: number; y: number }> {
  const box = await cell(day, hour).boundingBox();
  if (box === null) throw new Error(`cell ${day}/${hour} is not on screen`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Presses the mouse on one cell, moves it over to another, and lets go. */
async function drag(fromDay: number, fromHour: number, toDay: number, toHour: number): Promise<void> {
  const from = await center(fromDay, fromHour);
  const to = await center(toDay, toHour);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
}

async function saveSettings(): Promise<void> {
  await byTestId("settings-save").click();
  await byTestId("settings-saved").waitFor({ timeout: 10_000 });
}

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser({ width: 1400, height: 900 });
  page = browser.page;
  // Connection settings through the console's own API (the UI path is tests/e2e/console.test.ts).
  rpc = await ConsoleRpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token })).toMatchObject({ ok: true, result: { ok: true } });
}, 60_000);

afterAll(async () => {
  rpc?.close();
  await browser?.close();
  await stopAll();
});

describe("the owner's terms in the web console (console process, agent, hub, Chromium)", () => {
  it("Snooze 1 h: the reason and a live countdown, no agent at the hub; Resume brings it back waiting for jobs", async () => {
    await page.goto(con.url);
    await byTestId("nav-agent").click();
    await byTestId("agent-start").click();
    await waiting();
    await agentState("Waiting for jobs");
    expect(await text("lending-line")).toBe("Lending this machine");
    expect(await byTestId("lending-resume").count()).toBe(0);

    // A custom time in the past is refused before asking the host.
    await byTestId("lending-snooze").click();
    await byTestId("lending-snooze-custom").click();
    await byTestId("lending-snooze-custom-input").fill("2020-01-01T08:00");
    await byTestId("lending-snooze-custom-ok").click();
    expect(await text("lending-snooze-custom-error")).toBe("Choose a time in the future");
    await screenshot(page, "40-snooze-menu-custom");
    await page.keyboard.press("Escape");
    expect(await byTestId("lending-snooze-menu").count()).toBe(0);

    const before = Date.now();
    await byTestId("lending-snooze").click();
    await byTestId("lending-snooze-1h").click();
    const countdown = byTestId("lending-countdown");
    await countdown.waitFor({ timeout: 10_000 });
    const until = Number(await countdown.getAttribute("data-until"));
    expect(until).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(until).toBeLessThan(Date.now() + 3_600_000);
    const first = await text("lending-countdown");
    expect(first).toMatch(/^Snoozed until (\w{3} )?\d\d:\d\d · (1 h 0 min|59 min \d+ s) left$/);
    // It ticks every second.
    await expect.poll(async () => await text("lending-countdown"), { timeout: 5_000 }).toMatch(/^Snoozed until (\w{3} )?\d\d:\d\d · 59 min \d+ s left$/);
    const ticked = await text("lending-countdown");
    await expect.poll(async () => await text("lending-countdown"), { timeout: 5_000 }).not.toBe(ticked);
    // The reason, and the hold: the agent has left Semaphore.
    // After 23:00 the hour ahead is tomorrow: the weekday is said.
    expect(await text("lending-line")).toMatch(/^Snoozed until (\w{3} )?\d\d:\d\d \(resumes at (\w{3} )?\d\d:\d\d\)$/);
    await agentState("Snoozed");
    await hub.api.waitForAgent((agents) => agents.length > 0 && agents.every((a) => a.disconnected), 30_000);
    expect(await byTestId("lending-pause").count()).toBe(1);
    await screenshot(page, "41-agent-snoozed");

    await byTestId("lending-resume").click();
    await waiting();
    await agentState("Waiting for jobs");
    expect(await byTestId("lending-countdown").count()).toBe(0);
    expect(await text("lending-line")).toBe("Lending this machine");
    expect(await byTestId("lending-resume").count()).toBe(0);
  });

  it("the weekly schedule: painted and toggled on the grid, saved, the same after a reload and from the host", async () => {
    // Days other than today, so the window is never open now: the agent is then held outside it.
    const today = (new Date().getDay() + 6) % 7; // Monday = 0
    const painted = (today + 2) % 7;
    const toggled = (today + 3) % 7;
    await byTestId("nav-settings").click();
    const section = byTestId("settings-lending");
    await section.scrollIntoViewIfNeeded();
    expect(await byTestId("settings-schedule-enabled").isChecked()).toBe(false);
    expect(await byTestId("settings-schedule-grid").locator("[data-on]").count()).toBe(7 * 24);
    await byTestId("settings-schedule-preset-none").click();
    expect(await byTestId("settings-schedule-grid").locator('[data-on="true"]').count()).toBe(0);

    // Click and drag from 19:00 to 22:00: the cells passed are painted on.
    await drag(painted, 19, painted, 22);
    for (const hour of [19, 20, 21, 22]) expect(await cell(painted, hour).getAttribute("data-on")).toBe("true");
    expect(await cell(painted, 18).getAttribute("data-on")).toBe("false");
    expect(await cell(painted, 23).getAttribute("data-on")).toBe("false");
    // A click toggles one cell, twice back off.
    await cell(toggled, 10).click();
    await cell(toggled, 11).click();
    await cell(toggled, 11).click();
    expect(await cell(toggled, 10).getAttribute("data-on")).toBe("true");
    expect(await cell(toggled, 11).getAttribute("data-on")).toBe("false");
    // The keyboard toggles a cell too (Space on the focused cell).
    await cell(toggled, 12).focus();
    await page.keyboard.press("Space");
    expect(await cell(toggled, 12).getAttribute("data-on")).toBe("true");
    await page.keyboard.press("Space");
    expect(await cell(toggled, 12).getAttribute("data-on")).toBe("false");
    // A drag that starts on an "on" cell erases; one that starts on an "off" cell paints them back.
    await drag(painted, 21, painted, 22);
    expect(await cell(painted, 21).getAttribute("data-on")).toBe("false");
    expect(await cell(painted, 22).getAttribute("data-on")).toBe("false");
    expect(await cell(painted, 20).getAttribute("data-on")).toBe("true");
    await drag(painted, 21, painted, 22);

    await byTestId("settings-schedule-enabled").check();
    expect(await text("settings-schedule-summary")).toBe("5 hours a week, in local time.");
    await byTestId("settings-lend-on-running-schedule").selectOption("stop");
    // Notifications: one kind turned off; in a browser tab the page asks the browser's permission,
    // and start at login points at the console's systemd service.
    await byTestId("settings-notify-pauses").uncheck();
    expect(await byTestId("settings-notify-permission").count()).toBe(1);
    expect(await text("settings-start-at-login-console")).toContain("semaphore-agent console --install-service");
    await byTestId("settings-notify").scrollIntoViewIfNeeded();
    await screenshot(page, "42b-settings-notify");
    await saveSettings();
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "42-settings-schedule-grid");

    // The host has it, Monday first.
    const saved = (await rpc.call("getSettings")).result as { lendSchedule: { days: number[][] } | null; lendOnRunningJob: Record<string, string> };
    const expected = Array.from({ length: 7 }, (_, day) => (day === painted ? [19, 20, 21, 22] : day === toggled ? [10] : []));
    expect(saved.lendSchedule).toEqual({ days: expected });
    expect(saved.lendOnRunningJob.schedule).toBe("stop");
    expect((saved as unknown as { notifyPauses: boolean; notifyJobs: boolean }).notifyPauses).toBe(false);
    expect((saved as unknown as { notifyPauses: boolean; notifyJobs: boolean }).notifyJobs).toBe(true);

    // After a reload the grid shows the same cells.
    await page.reload();
    await byTestId("nav-settings").click();
    await byTestId("settings-lending").scrollIntoViewIfNeeded();
    expect(await byTestId("settings-schedule-enabled").isChecked()).toBe(true);
    const on = await byTestId("settings-schedule-grid")
      .locator('[data-on="true"]')
      .evaluateAll((cells) => cells.map((c) => `${c.getAttribute("data-day")}:${c.getAttribute("data-hour")}`));
    expect(on.sort()).toEqual([...[19, 20, 21, 22].map((h) => `${painted}:${h}`), `${toggled}:10`].sort());
    expect(await byTestId("settings-lend-on-running-schedule").inputValue()).toBe("stop");
    expect(await byTestId("settings-notify-pauses").isChecked()).toBe(false);

    // Now is outside the window: the agent leaves Semaphore and says when it comes back.
    await byTestId("nav-agent").click();
    await agentState("Outside your schedule");
    expect(await text("lending-line")).toMatch(/^Outside your schedule \(next window .*19:00\)$/);
    await hub.api.waitForAgent((agents) => agents.every((a) => a.disconnected), 30_000);
    await screenshot(page, "43-agent-outside-schedule");

    // Any time again: it comes back by itself.
    await byTestId("nav-settings").click();
    await byTestId("settings-schedule-enabled").uncheck();
    expect(await text("settings-schedule-summary")).toBe("Any time: the schedule is not used.");
    await saveSettings();
    expect(((await rpc.call("getSettings")).result as { lendSchedule: unknown }).lendSchedule).toBeNull();
    await byTestId("nav-agent").click();
    await waiting();
    await agentState("Waiting for jobs");
  });

  it("Finish current job, then pause: the pending notice; Resume cancels it; the job finishes and the agent goes on", async () => {
    const id = await hub.api.schedule(blockingJob("go", "GPU benchmark"));
    await hub.api.waitForJob(id, "running", 30_000);
    await agentState(`Running job ${id}`);

    await byTestId("lending-pause").click();
    await byTestId("lending-pause-menu").waitFor();
    expect(await text("lending-pause-now")).toContain("Pause now (stops the running job)");
    expect(await text("lending-pause-after-job")).toContain("Finish current job, then pause");
    await screenshot(page, "44-pause-menu-with-job");
    await byTestId("lending-pause-after-job").click();
    const pending = byTestId("lending-pending");
    await pending.waitFor({ timeout: 10_000 });
    expect(await text("lending-pending")).toBe("Pausing after job web-app · GPU benchmark — Resume to cancel");
    expect(await pending.getAttribute("data-kind")).toBe("after-job");
    await byTestId("lending-resume").waitFor();
    await screenshot(page, "45-pausing-after-job");

    await byTestId("lending-resume").click();
    await expect.poll(async () => await byTestId("lending-pending").count(), { timeout: 10_000 }).toBe(0);
    expect(await byTestId("lending-resume").count()).toBe(0);
    expect(await text("lending-line")).toBe("Lending this machine");

    writeFileSync(join(jobHome(), "go"), "");
    expect((await hub.api.waitForJob(id, "finished", 30_000)).result).toBe("passed");
    await waiting();
    await agentState("Waiting for jobs");
    // Still connected: it takes the next job.
    const next = await hub.api.schedule(job({ env: { SEMAPHORE_PROJECT_NAME: "docs" }, commands: ["echo next"] }));
    expect((await hub.api.waitForJob(next, "finished", 30_000)).result).toBe("passed");
    expect((await hub.api.agents()).filter((a) => !a.disconnected)).toHaveLength(1);
  });

  it("Stop this job in the Job view: the job ends stopped, the agent goes on waiting for jobs; what this machine has given counts it", async () => {
    const id = await hub.api.schedule(blockingJob("never", "Long build"));
    await hub.api.waitForJob(id, "running", 30_000);
    await byTestId("nav-job").click();
    await expect.poll(async () => await text("job-id"), { timeout: 10_000 }).toBe(id);
    await expect.poll(async () => await text("job-result"), { timeout: 10_000 }).toBe("Running");
    await byTestId("job-stop").click();
    await byTestId("job-stop-confirm").waitFor();
    await screenshot(page, "46-job-stop-confirm");
    // Cancel keeps it running.
    await byTestId("job-stop-cancel").click();
    expect(await byTestId("job-stop-confirm").count()).toBe(0);
    expect((await hub.api.job(id)).status).toBe("running");

    await byTestId("job-stop").click();
    await byTestId("job-stop-confirm").click();
    expect((await hub.api.waitForJob(id, "finished", 30_000)).result).toBe("stopped");
    await expect.poll(async () => await text("job-result"), { timeout: 10_000 }).toBe("Stopped");
    await expect.poll(async () => await byTestId("job-stopped-by").count(), { timeout: 10_000 }).toBe(1);
    expect(await text("job-stopped-by")).toBe("Stopped by you");
    expect(await byTestId("job-stop").count()).toBe(0);
    await screenshot(page, "47-job-stopped-by-you");

    // The agent did not leave: it waits for the next job.
    await waiting();
    await byTestId("nav-agent").click();
    await agentState("Waiting for jobs");
    expect((await hub.api.agents()).filter((a) => !a.disconnected)).toHaveLength(1);

    // What this machine has given: the three jobs of this session, per project.
    const given = (await rpc.call("getGiven")).result as { jobs: number; byProject: { project: string; jobs: number }[] };
    expect(given.jobs).toBe(3);
    await expect.poll(async () => await text("given-jobs"), { timeout: 10_000 }).toBe("3");
    const projects = await byTestId("given-project").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-project")));
    expect(projects.sort()).toEqual(["docs", "web-app"]);
    expect(await page.locator('[data-testid="given-project"][data-project="web-app"]').textContent()).toContain("2 jobs");
    await byTestId("given-card").scrollIntoViewIfNeeded();
    await screenshot(page, "48-given-card");
  });
});
