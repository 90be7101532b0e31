// The debug terminal end to end: a real `semaphore-agent console` process (host + agent), a real hub
// process, and Debian's Chromium driving the real renderer. A job with MY_SECRET='a b$c' runs; the
// owner opens a debug terminal beside its log, types into a real shell in a real PTY, floods it,
// closes it (the shell is gone, by PID), and after the job failed opens one from the history.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TERMINAL_BATCH_CHARS, TERMINAL_HIGH_WATER } from "../../agent-core/host/contract.js";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { ConsoleRpc as Rpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { isRunning, waitUntil } from "../helpers/jobs.js";
import { sleepers, uniqueSleepBase } from "../helpers/sandbox.js";
import { job, startHub, stopAll, type HubProcess } from "../helpers/processes.js";

const SECRET = "a b$c";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;
let jobId = "";

function wsStatus(headers: Record<string, string>): Promise<number | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${con.port}/ws`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? null);
      res.resume();
      ws.terminate();
    });
    ws.on("error", () => resolve(null));
  });
}

const byTestId = (id: string) => page.getByTestId(id);
/** The app's private job home (strict, the default): the jobs' and the debug shells' HOME. */
const jobHome = () => join(con.dataDir, "job-home");

async function debugText(): Promise<string> {
  return await page.evaluate(() => {
    const probe = (window as unknown as { __semaphoreAgentProbe?: { debugTerminalText(): string } }).__semaphoreAgentProbe;
    return probe ? probe.debugTerminalText() : "";
  });
}

async function debugStats(): Promise<{ received: number; parsed: number; acked: number; pending: number }> {
  return await page.evaluate(() => {
    const probe = (window as unknown as { __semaphoreAgentProbe: { debugTerminalStats(): { received: number; parsed: number; acked: number; pending: number } } }).__semaphoreAgentProbe;
    return probe.debugTerminalStats();
  });
}

/** Waits until the debug terminal shows a line matching `pattern` (after `since` characters of its text). */
async function waitForDebugLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await debugText();
    if (text.split("\n").some((l) => pattern.test(l.trimEnd()))) return text;
    if (Date.now() > deadline) throw new Error(`the debug terminal never showed ${pattern}; it shows:\n${text.slice(-2000)}`);
    await page.waitForTimeout(100);
  }
}

/** Clicks into the debug terminal and types a line, as a person would. */
async function typeLine(text: string): Promise<void> {
  await byTestId("debug-terminal").click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

async function shellPid(): Promise<number> {
  const pid = Number(await byTestId("debug-terminal").getAttribute("data-pid"));
  expect(pid).toBeGreaterThan(1);
  return pid;
}

/** To the History view and back to the job with its debug terminal; how long that took (ms). */
async function viewRoundTrip(): Promise<number> {
  const t0 = Date.now();
  await byTestId("nav-history").click();
  await byTestId("history-filter").waitFor({ timeout: 5000 });
  await byTestId("nav-job").click();
  await byTestId("debug-terminal").waitFor({ timeout: 5000 });
  return Date.now() - t0;
}

function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser({ width: 1400, height: 860 });
  page = browser.page;
  // Configure and start the agent through the console's own API (the UI path is tests/e2e/console.test.ts).
  const rpc = await Rpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token })).toMatchObject({ ok: true, result: { ok: true } });
  expect(await rpc.call("startAgent")).toMatchObject({ ok: true });
  rpc.close();
  await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe("debug terminal (real console, agent, hub, Chromium)", () => {
  it("without the console token no terminal can be opened", async () => {
    // No cookie, a wrong one, or the right one from another origin: the socket is refused before any message.
    expect(await wsStatus({ Origin: con.origin })).toBe(401);
    expect(await wsStatus({ Origin: con.origin, Cookie: `sad_console_${con.port}=wrong` })).toBe(401);
    expect(await wsStatus({ Origin: "http://evil.example", Cookie: `sad_console_${con.port}=${con.token}` })).toBe(403);
    // The page without the token is a 401, not the app.
    const res = await page.goto(`${con.origin}/`);
    expect(res?.status()).toBe(401);
    expect(await byTestId("debug-open").count()).toBe(0);
  });

  it("during a running job: open the debug terminal, the secret is there, pwd is the start dir", async () => {
    jobId = await hub.api.schedule(
      job({
        env: { MY_SECRET: SECRET },
        commands: ["echo job is running", 'while [ ! -f "$HOME/release" ]; do sleep 0.1; done', "echo released", "false"],
      }),
    );
    await page.goto(con.url);
    await byTestId("nav-job").click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(jobId);
    await expect.poll(async () => await byTestId("debug-open").isEnabled(), { timeout: 20_000 }).toBe(true);
    await byTestId("debug-open").click();
    await byTestId("debug-terminal").waitFor();
    expect(await byTestId("debug-terminal").getAttribute("data-job-id")).toBe(jobId);
    expect(await byTestId("debug-env-indicator").textContent()).toContain(jobId);
    expect(await byTestId("debug-env-indicator").textContent()).toMatch(/running/i);
    await waitForDebugLine(new RegExp(`Debug shell for job ${jobId}`));

    await typeLine(`printf '%s\\n' "$MY_SECRET"`);
    await waitForDebugLine(/^a b\$c$/);
    await typeLine("pwd");
    // The app's default, the strict sandbox: the shell starts in the private job home, not the owner's HOME.
    await waitForDebugLine(new RegExp(`^${jobHome().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
    expect(await byTestId("debug-env-indicator").textContent()).toContain(jobHome());
    // No manual equivalent: a terminal of the owner's own would not see the job's view.
    expect(await byTestId("debug-manual").textContent()).toMatch(/strict sandbox/);
    await screenshot(page, "20-debug-terminal-running-job");
  });

  it("`yes` for 5 s keeps the page responsive and memory bounded; Ctrl-C stops it", async () => {
    const consolePid = con.proc.pid;
    const rssBefore = rssKb(consolePid);
    const idleTrips: number[] = [];
    for (let i = 0; i < 3; i++) idleTrips.push(await viewRoundTrip());

    const heap = () => page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
    const heapBefore = await heap();
    await typeLine("yes");
    await expect.poll(async () => (await debugStats()).received, { timeout: 10_000 }).toBeGreaterThan(TERMINAL_HIGH_WATER);
    const end = Date.now() + 5000;
    let clicks = 0;
    let maxInFlight = 0;
    const roundTrips: number[] = [];
    const evalTrips: number[] = [];
    const clickTrips: number[] = [];
    while (Date.now() < end) {
      // The page still answers: switching views works while the flood runs.
      roundTrips.push(await viewRoundTrip());
      const t1 = Date.now();
      await page.evaluate(() => 1);
      evalTrips.push(Date.now() - t1);
      const t2 = Date.now();
      await byTestId("debug-tab").first().click();
      clickTrips.push(Date.now() - t2);
      clicks++;
      const stats = await debugStats();
      maxInFlight = Math.max(maxInFlight, stats.received - stats.acked);
    }
    // Frame gaps: the page keeps drawing while the terminal parses the flood.
    const fps = await page.evaluate(() => new Promise<number[]>((resolve) => {
      const gaps: number[] = []; let last = performance.now();
      const tick = (now: number) => { gaps.push(Math.round(now - last)); last = now; if (gaps.length < 20) requestAnimationFrame(tick); else resolve(gaps); };
      requestAnimationFrame(tick);
    }));
    const during = await debugStats();
    // Output kept flowing, and what was sent but not acknowledged never exceeded the window.
    expect(during.received).toBeGreaterThan(2 * TERMINAL_HIGH_WATER);
    expect(maxInFlight).toBeLessThanOrEqual(TERMINAL_HIGH_WATER + TERMINAL_BATCH_CHARS);
    expect(clicks).toBeGreaterThanOrEqual(2);
    const rssAfter = rssKb(consolePid);
    const heapAfter = await heap();
    // Figures for the reader (no timing is asserted): how the page kept up during the flood.
    console.log(`debug flood: view round trips idle ${idleTrips.join("/")} ms, flooded ${roundTrips.join("/")} ms; page eval ${evalTrips.join("/")} ms; tab clicks ${clickTrips.join("/")} ms; frame gaps ${fps.join(" ")} ms;`);
    console.log(`debug flood: ${(during.received / 1e6).toFixed(1)} M chars, console RSS ${(rssBefore / 1024).toFixed(0)} -> ${(rssAfter / 1024).toFixed(0)} MB, page heap ${(heapBefore / 1e6).toFixed(1)} -> ${(heapAfter / 1e6).toFixed(1)} MB, max unacked ${maxInFlight}`);
    // Memory stays bounded on both sides (the flood itself was over 10 MB of text).
    expect(rssAfter - rssBefore).toBeLessThan(100 * 1024);
    expect(heapAfter - heapBefore).toBeLessThan(64 * 1024 * 1024);

    await byTestId("debug-terminal").click();
    await page.keyboard.press("Control+C");
    await typeLine("echo stopped-$((40+2))");
    await waitForDebugLine(/^stopped-42$/, 30_000);
    const settled = await debugStats();
    await page.waitForTimeout(500);
    // Nothing more comes: `yes` is gone.
    expect((await debugStats()).received).toBe(settled.received);
  });

  it("closing the panel kills the shell (by PID)", async () => {
    const pid = await shellPid();
    expect(isRunning(pid)).toBe(true);
    // $! is a PID of the sandbox's own namespace: the host PID is found by the sleep's unique argument.
    const n = uniqueSleepBase();
    await typeLine(`sleep ${n} & echo bg-started`);
    await waitForDebugLine(/^bg-started$/);
    const bgPid = await waitUntil(() => sleepers([n]).get(n)?.[0], 10_000, `the background sleep ${n}`);
    expect(isRunning(bgPid)).toBe(true);
    await byTestId("debug-tab-close").click();
    await waitUntil(() => !isRunning(pid), 10_000, `debug shell ${pid} gone`);
    await waitUntil(() => !isRunning(bgPid), 10_000, `its background sleep ${bgPid} gone`);
    expect(await byTestId("debug-terminal").count()).toBe(0);
  });

  it("reloading the page kills its shells too", async () => {
    await byTestId("debug-open").click();
    await byTestId("debug-terminal").waitFor();
    const pid = await shellPid();
    await page.reload();
    await waitUntil(() => !isRunning(pid), 10_000, `debug shell ${pid} gone after the reload`);
  });

  it("after the job failed, open it from the history: the variable is still there", async () => {
    // Let the job fail: it was waiting for this file.
    writeFileSync(join(jobHome(), "release"), "");
    await hub.api.waitForJob(jobId, "finished");
    await byTestId("nav-history").click();
    const row = page.locator(`[data-testid="history-row"][data-job-id="${jobId}"]`);
    await expect.poll(async () => await row.getAttribute("data-result"), { timeout: 20_000 }).toBe("failed");
    await row.getByTestId("history-debug").click();
    await byTestId("debug-terminal").waitFor();
    expect(await byTestId("debug-terminal").getAttribute("data-job-id")).toBe(jobId);
    expect(await byTestId("debug-env-indicator").textContent()).toMatch(/kept/i);
    await waitForDebugLine(new RegExp(`Debug shell for job ${jobId}`));
    await typeLine(`printf '%s|%s\\n' "$MY_SECRET" "$SEMAPHORE_JOB_RESULT"`);
    await waitForDebugLine(/^a b\$c\|failed$/);
    await typeLine("pwd");
    await waitForDebugLine(new RegExp(`^${jobHome().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
    await screenshot(page, "21-debug-terminal-from-history");
  });

  it("another tab, even logged in, cannot type into this page's shell", async () => {
    const terminalId = (await byTestId("debug-terminal").getAttribute("data-terminal-id"))!;
    const pid = await shellPid();
    const other = await Rpc.open(con);
    try {
      const input = await other.call("terminalInput", { terminalId, data: "exit\r" });
      expect(input).toMatchObject({ ok: false, error: { code: "not-found" } });
      expect(await other.call("closeTerminal", { terminalId })).toMatchObject({ ok: true, result: { closed: false } });
      // Hostile messages get an error naming the field, and change nothing.
      expect(await other.call("terminalInput", { terminalId: "../../etc", data: "x" })).toMatchObject({ ok: false, error: { code: "invalid-request", message: expect.stringMatching(/terminalId/) } });
      expect(await other.call("resizeTerminal", { terminalId, cols: 1e9, rows: 1 })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/cols/) } });
      expect(isRunning(pid)).toBe(true);
      expect(other.events.filter((e) => e.type === "terminal-output")).toEqual([]);
      // Acknowledgements come as fast as a page parses: they are exempt from the rate limit (which
      // still answers a burst of other requests with "too many requests").
      const acks = await other.burst(400, "ackTerminal", { terminalId, chars: 1 });
      expect(acks.filter((a) => !a.ok)).toEqual([]);
      const burst = await other.burst(300, "getDebugInfo", { jobId });
      expect(burst.filter((a) => !a.ok).length).toBeGreaterThan(0);
      expect(burst.find((a) => !a.ok)).toMatchObject({ error: { message: expect.stringMatching(/too many requests/) } });
    } finally {
      other.close();
    }
    await typeLine("echo still-mine");
    await waitForDebugLine(/^still-mine$/);
  });

  it("forget removes the kept env files; the job can no longer be debugged", async () => {
    await byTestId("debug-forget").click();
    await byTestId("debug-forget-confirm").click();
    await expect.poll(async () => await byTestId("debug-open").isEnabled(), { timeout: 10_000 }).toBe(false);
    const rpc = await Rpc.open(con);
    try {
      expect(await rpc.call("getDebugInfo", { jobId })).toMatchObject({ ok: true, result: { available: false } });
      expect(await rpc.call("openTerminal", { jobId, cols: 80, rows: 24 })).toMatchObject({ ok: false, error: { code: "invalid-state" } });
    } finally {
      rpc.close();
    }
    // What was typed never went to the console's output (its log).
    const output = con.proc.stdout + con.proc.stderr;
    expect(output).not.toContain("still-mine");
    expect(output).not.toContain(SECRET);
  });
});
