// Layout, keyboard and the state indicators, end to end: a real `semaphore-agent console` process (host
// + agent), a real hub process, and Debian's Chromium on the real renderer, at 1400×900 and at 900×600.
// The console's page for a wrong token; the local demo and the real agent kept apart after a stop and
// a reload (names, servers, per-run job counts, demo marks); every view without sideways scrolling or a
// clipped control, with visible focus rings; the divider between the log and the debug shell (pointer
// and keys, both terminals refitted, the shell told its size); Tab leaves the read-only log and Esc
// then Tab the shell; one "Do it by hand" and one "Forget kept env files"; one date format; the agent's
// own variables never listed; and, the console gone, every indicator says the connection is lost.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { job, startHub, stopAll, type HubProcess } from "../helpers/processes.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;
/** Problems the page reported (CSP refusals, errors), checked where it matters. */
const consoleMessages: string[] = [];

const byTestId = (id: string) => page.getByTestId(id);

const SIZES = [
  { width: 1400, height: 900 },
  { width: 900, height: 600 },
] as const;
const VIEWS = ["agent", "gpus", "job", "history", "settings", "demo"] as const;
/** "4 Dec 2026 04:12": the one way the app writes a moment. */
const DATE = "\\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \\d{4} \\d{2}:\\d{2}";

/** A Semaphore job's identity variables (long names, to stress the layout). */
const identity = (project: string, jobName: string, branch: string) => ({
  SEMAPHORE_PROJECT_NAME: project,
  SEMAPHORE_JOB_NAME: jobName,
  SEMAPHORE_GIT_BRANCH: branch,
  SEMAPHORE_GIT_SHA: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
  SEMAPHORE_GIT_COMMIT_AUTHOR: "alice",
  SEMAPHORE_WORKFLOW_NUMBER: "42",
  SEMAPHORE_WORKFLOW_TRIGGERED_BY: "push",
  SEMAPHORE_ORGANIZATION_URL: "https://acme.semaphoreci.com",
  SEMAPHORE_JOB_ID: "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f",
});

let demoJobId = "";
let realJobIds: string[] = [];
let runningJobId = "";

async function debugText(): Promise<string> {
  return await page.evaluate(() => {
    const probe = (window as unknown as { __semaphoreAgentProbe?: { debugTerminalText(): string } }).__semaphoreAgentProbe;
    return probe ? probe.debugTerminalText() : "";
  });
}

async function waitForDebugLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await debugText();
    if (text.split("\n").some((l) => pattern.test(l.trimEnd()))) return text;
    if (Date.now() > deadline) throw new Error(`the debug terminal never showed ${pattern}; it shows:\n${text.slice(-2000)}`);
    await page.waitForTimeout(100);
  }
}

async function openView(view: (typeof VIEWS)[number]): Promise<void> {
  await byTestId(`nav-${view}`).click();
  await byTestId(view === "gpus" ? "gpu-panel" : `view-${view}`).waitFor({ timeout: 10_000 });
  await page.waitForTimeout(300); // fonts, fits and ResizeObservers settle
}

/** Where the page scrolls sideways, and each visible control outside the viewport or its scroll container. */
async function layoutProblems(): Promise<string[]> {
  return await page.evaluate(() => {
    const problems: string[] = [];
    const name = (el: Element) => {
      const id = el.getAttribute("data-testid");
      const label = el.getAttribute("aria-label") ?? (el.textContent ?? "").trim().slice(0, 40);
      return `<${el.tagName.toLowerCase()}${id ? ` data-testid="${id}"` : ""}${el.className && typeof el.className === "string" ? ` class="${el.className}"` : ""}> "${label}"`;
    };
    const se = document.scrollingElement!;
    if (se.scrollWidth > se.clientWidth) problems.push(`the page scrolls sideways: ${se.scrollWidth} > ${se.clientWidth}`);
    // The app's own scrollers (the window itself never scrolls: body is overflow hidden).
    for (const el of Array.from(document.querySelectorAll(".main, .content, .job-view, .job-body, .job-side"))) {
      if (el.scrollWidth <= el.clientWidth + 1) continue;
      // Which of its descendants stick out on the right (the culprits, innermost first).
      const edge = el.getBoundingClientRect().left + el.clientLeft + el.clientWidth;
      const out = Array.from(el.querySelectorAll("*"))
        .filter((d) => d.getBoundingClientRect().right > edge + 1 && d.children.length === 0)
        .slice(0, 3)
        .map((d) => name(d).slice(0, 100));
      problems.push(`${name(el).slice(0, 80)} scrolls sideways: ${el.scrollWidth} > ${el.clientWidth} (${out.join("; ")})`);
    }
    const controls = Array.from(
      document.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href], summary, [role="button"], [role="tab"], [role="separator"], [tabindex]:not([tabindex="-1"])'),
    );
    for (const el of controls) {
      if (el.closest(".xterm")) continue; // xterm's own input helper sits off-screen by design
      // Not rendered: display none, visibility hidden, or the content of a closed <details>.
      if (!(el as HTMLElement & { checkVisibility(o?: object): boolean }).checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) continue;
      const first = el.getBoundingClientRect();
      if (first.width <= 1 || first.height <= 1) continue; // visually hidden (sr-only)
      el.scrollIntoView({ block: "nearest", inline: "nearest" });
      const r = el.getBoundingClientRect();
      const slack = 1;
      if (r.left < -slack || r.top < -slack || r.right > window.innerWidth + slack || r.bottom > window.innerHeight + slack) {
        problems.push(`${name(el)} lies outside the viewport: ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} of ${window.innerWidth}×${window.innerHeight}`);
        continue;
      }
      for (let p = el.parentElement; p !== null && p !== document.body; p = p.parentElement) {
        const ps = getComputedStyle(p);
        const clipsX = ps.overflowX !== "visible";
        const clipsY = ps.overflowY !== "visible";
        if (!clipsX && !clipsY) continue;
        const pr = p.getBoundingClientRect();
        const left = pr.left + p.clientLeft;
        const top = pr.top + p.clientTop;
        const right = left + p.clientWidth;
        const bottom = top + p.clientHeight;
        if ((clipsX && (r.left < left - slack || r.right > right + slack)) || (clipsY && (r.top < top - slack || r.bottom > bottom + slack))) {
          problems.push(`${name(el)} is clipped by ${name(p).slice(0, 120)}: ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} inside ${Math.round(left)},${Math.round(top)}–${Math.round(right)},${Math.round(bottom)}`);
          break;
        }
      }
    }
    window.scrollTo(0, 0);
    return problems;
  });
}

/** What has the keyboard focus: its test id (or its nearest one's), and whether a focus ring shows. */
async function focused(): Promise<{ where: string; inLog: boolean; inShell: boolean; ring: boolean; tag: string }> {
  return await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (el === null || el === document.body) return { where: "body", inLog: false, inShell: false, ring: true, tag: "body" };
    const shows = (e: Element | null, pseudo?: string) => {
      if (e === null) return false;
      const s = getComputedStyle(e, pseudo);
      return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 1) || (s.boxShadow !== "none" && s.boxShadow !== "");
    };
    const wrap = el.closest(".terminal-wrap, .debug-term-wrap");
    const ring = shows(el) || shows(el.closest(".search")) || shows(el.nextElementSibling) || (wrap !== null && shows(wrap, "::after"));
    const owner = el.closest("[data-testid]");
    return {
      where: `${owner?.getAttribute("data-testid") ?? "?"} ${el.tagName.toLowerCase()} ${el.getAttribute("aria-label") ?? (el.textContent ?? "").trim().slice(0, 30)}`,
      inLog: el.closest('[data-testid="job-terminal"]') !== null,
      inShell: el.closest('[data-testid="debug-terminal"]') !== null,
      ring,
      tag: el.tagName.toLowerCase(),
    };
  });
}

/** Tabs through the view (leaving the shell with Esc then Tab); the focused places without a visible ring. */
async function tabWithoutRing(presses: number): Promise<string[]> {
  await page.locator("body").click({ position: { x: 1, y: 1 } }).catch(() => undefined);
  const missing: string[] = [];
  for (let i = 0; i < presses; i++) {
    const before = await focused();
    if (before.inShell) await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    const now = await focused();
    if (!now.ring) missing.push(now.where);
  }
  return missing;
}

async function terminalSize(selector: string): Promise<{ rows: number; cols: number }> {
  return await page.locator(selector).evaluate((el) => ({ rows: Number((el as HTMLElement).dataset.rows), cols: Number((el as HTMLElement).dataset.cols) }));
}

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser({ width: 1400, height: 900 });
  page = browser.page;
  page.on("pageerror", (error) => consoleMessages.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" || /Content Security Policy/i.test(message.text())) consoleMessages.push(message.text());
  });
  // Connection settings through the console's own API (the UI path is tests/e2e/console.test.ts). No
  // sandbox, so "Do it by hand" has commands (the strict case is tests/e2e/debug.test.ts).
  const rpc = await ConsoleRpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token, sandbox: "none" })).toMatchObject({ ok: true, result: { ok: true } });
  rpc.close();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe("layout, keyboard and state indicators (console process, agent, hub, Chromium; 1400×900 and 900×600)", () => {
  it("a wrong or missing token gets a page styled like the app that says what to do, within the CSP", async () => {
    for (const [target, reason] of [
      ["/?token=not-this-runs-token", "wrong"],
      ["/", "missing"],
    ] as const) {
      for (const size of SIZES) {
        await page.setViewportSize(size);
        consoleMessages.length = 0;
        const res = await page.goto(`${con.origin}${target}`);
        expect(res?.status()).toBe(401);
        expect(res?.headers()["content-type"]).toBe("text/html; charset=utf-8");
        expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
        const card = byTestId("unauthorized-page");
        expect(await card.getAttribute("data-reason")).toBe(reason);
        const text = (await card.textContent()) ?? "";
        // Where the URL is (both ways of starting the console), and what to do without it.
        expect(text).toContain("npm start");
        expect(text).toContain("semaphore-agent console");
        expect(text).toContain(`Web console: http://127.0.0.1:${con.port}/?token=`);
        expect(text).toMatch(/Restart the console/);
        if (reason === "wrong") expect(text).toMatch(/not this console’s/);
        // The app's colours and font, drawn by the page's own inline style (allowed), with no script at all.
        const look = await page.evaluate(() => ({
          body: getComputedStyle(document.body).backgroundColor,
          card: getComputedStyle(document.querySelector("main")!).backgroundColor,
          font: getComputedStyle(document.body).fontFamily,
          scripts: document.scripts.length,
        }));
        expect(look).toMatchObject({ body: "rgb(15, 18, 22)", card: "rgb(24, 29, 36)", scripts: 0 });
        expect(look.font).toMatch(/system-ui/);
        expect(consoleMessages.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
        expect(await layoutProblems()).toEqual([]);
        await screenshot(page, `60-layout-${size.width}-token-${reason}`);
      }
    }
    await page.setViewportSize(SIZES[0]);
  });

  it("demo and real never mix: after the demo stops and after a reload, no demo name, hub or count is the agent's; counts are per run", async () => {
    await page.goto(con.url);
    await byTestId("nav-demo").click();
    await byTestId("demo-start").click();
    await byTestId("demo-run-hello-world").click();
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 30_000 }).toMatch(/passed/i);
    demoJobId = (await byTestId("job-id").textContent()) ?? "";
    // A demo job is marked as such in its header.
    await byTestId("job-demo").waitFor();
    // While the demo runs the Agent view says so, and its counts are the demo's.
    await byTestId("nav-agent").click();
    await byTestId("agent-demo-badge").waitFor();
    await expect.poll(async () => await byTestId("agent-counts").textContent(), { timeout: 10_000 }).toBe("1 passed · 0 failed · 0 stopped (demo)");
    expect(await byTestId("agent-endpoint").textContent()).toMatch(/local demo hub/);

    await byTestId("nav-demo").click();
    await byTestId("demo-stop").click();
    await expect.poll(async () => await byTestId("demo-start").isVisible(), { timeout: 20_000 }).toBe(true);

    const demoApart = async (when: string) => {
      await byTestId("nav-agent").click();
      await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 10_000 }).toMatch(/stopped/i);
      expect(await byTestId("agent-demo-badge").count(), when).toBe(0);
      expect(await byTestId("view-agent").textContent(), when).not.toMatch(/local demo hub/i);
      expect(await page.locator(".brand-sub").textContent(), when).toBe("Self-hosted agent");
      // Details: no demo name next to the real server, no demo counts as the agent's.
      expect(await byTestId("agent-name").textContent(), when).not.toMatch(/local-demo/);
      expect(await byTestId("agent-endpoint").textContent(), when).toContain(hub.endpoint);
      expect(await byTestId("agent-counts").textContent(), when).not.toMatch(/1 passed/);
      expect(await byTestId("agent-counts").getAttribute("data-demo"), when).toBe("true");
      // The demo job stays marked as the demo's, in the History and in its header.
      await byTestId("nav-history").click();
      const row = page.locator(`[data-testid="history-row"][data-job-id="${demoJobId}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.getAttribute("data-mode"), when).toBe("demo");
      expect(await row.getByTestId("history-demo").textContent(), when).toBe("Demo");
      await row.click();
      await byTestId("job-demo").waitFor();
    };
    await demoApart("after the demo stopped");
    await byTestId("nav-agent").click();
    await screenshot(page, "61-layout-1400-agent-after-demo");
    await page.reload();
    await byTestId("nav-agent").waitFor({ timeout: 10_000 }).catch(async (error: unknown) => {
      await screenshot(page, "61-debug-reload");
      throw new Error(`${String(error)}; page: ${page.url()} ${(await page.textContent("body"))?.slice(0, 300)}; console: ${consoleMessages.join(" | ")}`);
    });
    await demoApart("after a reload");

    // The real agent: a run of its own, counted from 0, under its own name and server.
    await byTestId("nav-agent").click();
    await byTestId("agent-start").click();
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toMatch(/waiting for jobs/i);
    expect(await byTestId("agent-counts").textContent()).toBe("0 passed · 0 failed · 0 stopped");
    expect(await byTestId("agent-counts").getAttribute("data-demo")).toBe("false");
    expect(await byTestId("agent-name").textContent()).not.toMatch(/local-demo/);
    expect(await byTestId("agent-endpoint").textContent()).toContain(hub.endpoint);
    for (let i = 0; i < 3; i++) {
      const id = await hub.api.schedule(
        job({ env: identity("api-server-with-a-rather-long-project-name", `Unit tests, shard ${i + 1} of 3`, "feature/a-rather-long-branch-name"), commands: ["echo hi", i === 1 ? "false" : "true"] }),
      );
      realJobIds.push(id);
      await hub.api.waitForJob(id, "finished");
    }
    await expect.poll(async () => await byTestId("agent-counts").textContent(), { timeout: 10_000 }).toBe("2 passed · 1 failed · 0 stopped");
    await byTestId("nav-history").click();
    for (const id of realJobIds) {
      const row = page.locator(`[data-testid="history-row"][data-job-id="${id}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.getAttribute("data-mode")).toBe("semaphore");
      expect(await row.getByTestId("history-demo").count()).toBe(0);
    }
    expect(await page.locator(`[data-testid="history-row"][data-job-id="${demoJobId}"]`).getByTestId("history-demo").count()).toBe(1);
    await screenshot(page, "61-layout-1400-history-demo-and-real");
  });

  it("a running job with a debug shell: the agent's own variables are not listed, one 'Do it by hand', dates in one format", async () => {
    runningJobId = await hub.api.schedule(
      job({
        env: {
          ...identity("web-app", "Integration tests against the staging database", "main"),
          // The agent's own markers, sent by an odd server: never listed as the job's.
          SEMAPHORE_AGENT_DEBUG_MARKER: "x",
          SEMAPHORE_AGENT_JOB_MARKER: "y",
          MY_VAR: "1",
        },
        commands: ["for i in $(seq 1 120); do echo \"line $i of the integration log\"; done", "sleep 600"],
      }),
    );
    await hub.api.waitForEvents(runningJobId, (events) => events.some((e) => e.event === "cmd_started" && e.directive === "sleep 600"));
    // The Job view shows the job opened from the History last: the running one is a click away.
    await byTestId("nav-job").click();
    await page.getByRole("button", { name: "Show the running job" }).click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toBe(runningJobId);
    const names = byTestId("job-env-names");
    await expect.poll(async () => await names.textContent(), { timeout: 10_000 }).toContain("MY_VAR");
    expect(await names.textContent()).not.toContain("SEMAPHORE_AGENT_DEBUG_MARKER");
    expect(await names.textContent()).not.toContain("SEMAPHORE_AGENT_JOB_MARKER");
    expect(await names.textContent()).toContain("SEMAPHORE_PROJECT_NAME");
    expect(await byTestId("job-demo").count()).toBe(0);
    // The widest toolbar (Stop this job, Open in Semaphore, the debug button, search, the log's options, follow, copy) fits on one row at 1400 px.
    await byTestId("job-stop").waitFor();
    await byTestId("open-in-semaphore").waitFor();
    const tops = await page.locator(".job-tools > *").evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2)));
    expect(new Set(tops).size, `toolbar rows: ${tops.join(", ")}`).toBe(1);

    await expect.poll(async () => await byTestId("debug-open").isEnabled(), { timeout: 20_000 }).toBe(true);
    await byTestId("debug-open").click();
    await byTestId("debug-terminal").waitFor();
    await waitForDebugLine(new RegExp(`Debug shell for job ${runningJobId}`));
    // One "Do it by hand" (in the side column), no "Forget" for the running job (nothing kept to forget yet).
    expect(await page.locator("summary", { hasText: "Do it by hand" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Forget kept env files" }).count()).toBe(0);
    expect(await byTestId("debug-manual-commands").textContent()).toMatch(/source /);
    // How to leave the shell, next to it.
    expect(await byTestId("debug-escape-hint").textContent()).toBe("Esc then Tab leaves the shell");

    // A finished job opened with its kept env: still one of each, now with Forget; its dates in the one format.
    await byTestId("nav-history").click();
    const finished = page.locator(`[data-testid="history-row"][data-job-id="${realJobIds[0]}"]`);
    await finished.getByTestId("history-debug").click();
    await byTestId("debug-terminal").waitFor();
    await expect.poll(async () => await byTestId("debug-terminal").getAttribute("data-job-id")).toBe(realJobIds[0]);
    await waitForDebugLine(new RegExp(`kept on ${DATE}\\)`));
    expect(await page.locator("summary", { hasText: "Do it by hand" }).count()).toBe(1);
    expect(await page.getByRole("button", { name: "Forget kept env files" }).count()).toBe(1);
    expect(await byTestId("debug-env-indicator").textContent()).toMatch(new RegExp(`kept copy from ${DATE}`));
    expect(await page.locator(".job-meta").getAttribute("title")).toMatch(new RegExp(`^Started ${DATE}$`));
    expect(await byTestId("job-started").textContent()).toMatch(/^started \d{2}:\d{2}$/); // today: the time alone
    await byTestId("nav-history").click();
    for (const cell of await byTestId("history-started").allTextContents()) expect(cell).toMatch(new RegExp(`^${DATE}$`));
    await byTestId("nav-agent").click();
    await expect.poll(async () => await byTestId("given-card").textContent(), { timeout: 10_000 }).toMatch(/since \d{1,2} [A-Z][a-z]{2} \d{4}/);
    for (const time of await page.locator('[data-testid="activity-entry"] time').allTextContents()) expect(time).toMatch(/^\d{2}:\d{2}:\d{2}$/);
    // Back to the running job's view, its shell beside the log, for the layout checks.
    await byTestId("nav-history").click();
    await page.locator(`[data-testid="history-row"][data-job-id="${runningJobId}"]`).click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 10_000 }).toBe(runningJobId);
    await byTestId("debug-terminal").waitFor();
  });

  for (const size of SIZES) {
    it(`at ${size.width}×${size.height}: every view without sideways scrolling or a clipped control, with focus rings`, async () => {
      await page.setViewportSize(size);
      for (const view of VIEWS) {
        await openView(view);
        await screenshot(page, `60-layout-${size.width}-${view}`);
        expect(await layoutProblems(), `${view} at ${size.width}×${size.height}`).toEqual([]);
        expect(await tabWithoutRing(25), `focus without a ring in ${view} at ${size.width}×${size.height}`).toEqual([]);
      }
      // Narrow: the sidebar is icons, each with its name.
      const nav = byTestId("nav-history");
      expect(await nav.getAttribute("aria-label")).toMatch(/^History/);
      expect(await nav.getAttribute("title")).toMatch(/^History/);
      const labelShown = await nav.locator(".nav-label").isVisible();
      expect(labelShown).toBe(size.width >= 1400);
      // History: rows stacked at the narrow size, Duration, Log and Debug inside the card.
      await openView("history");
      const row = page.locator(`[data-testid="history-row"][data-job-id="${realJobIds[0]}"]`);
      expect(await row.evaluate((el) => getComputedStyle(el).display)).toBe(size.width >= 1400 ? "table-row" : "grid");
      const card = await page.locator(".history-card").boundingBox();
      const debugButton = await row.getByTestId("history-debug").boundingBox();
      expect(debugButton!.x + debugButton!.width).toBeLessThanOrEqual(card!.x + card!.width);
      // The job view: the log and the shell both get a usable height.
      await openView("job");
      // Its widest toolbar (a running job from Semaphore: Stop, Open in Semaphore, the debug button, search, the log's tools) keeps to one row.
      const tops = await page.locator(".job-tools > *").evaluateAll((els) => els.map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2)));
      expect(new Set(tops).size, `toolbar rows at ${size.width}: ${tops.join(", ")}`).toBe(1);
      const log = await terminalSize('[data-testid="job-terminal"]');
      const shell = await terminalSize('[data-testid="debug-terminal"] .debug-xterm');
      expect(log.rows, `log rows at ${size.width}×${size.height}`).toBeGreaterThanOrEqual(size.height >= 900 ? 30 : 7);
      expect(shell.rows, `shell rows at ${size.width}×${size.height}`).toBeGreaterThanOrEqual(size.height >= 900 ? 20 : 8);
    });
  }

  it("the divider between the log and the shell: dragged and moved with keys, both terminals fit, the shell knows its size", async () => {
    await page.setViewportSize(SIZES[1]);
    await openView("job");
    const split = byTestId("job-split");
    expect(await split.getAttribute("role")).toBe("separator");
    expect(await split.getAttribute("aria-orientation")).toBe("horizontal"); // stacked at 900 px
    expect(await split.getAttribute("aria-controls")).toBe("job-log debug-panel");
    const value = async () => Number(await split.getAttribute("aria-valuenow"));
    const sizes = async () => ({ log: await terminalSize('[data-testid="job-terminal"]'), shell: await terminalSize('[data-testid="debug-terminal"] .debug-xterm') });
    const start = await value();
    const before = await sizes();

    // Pointer: drag it 90 px down: the log grows, the shell shrinks.
    const box = (await split.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 + 90, { steps: 6 });
    await page.mouse.up();
    await expect.poll(value).toBeGreaterThan(start);
    await expect.poll(async () => (await sizes()).log.rows).toBeGreaterThan(before.log.rows);
    await expect.poll(async () => (await sizes()).shell.rows).toBeLessThan(before.shell.rows);
    expect(await layoutProblems()).toEqual([]);
    await screenshot(page, "62-layout-900-divider-dragged");

    // Keys on the separator: up gives the shell more, Home and End go to the ends.
    await split.focus();
    const dragged = await value();
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowUp");
    await expect.poll(value).toBe(dragged - 10);
    await page.keyboard.press("Home");
    await expect.poll(value).toBe(Number(await split.getAttribute("aria-valuemin")));
    const least = await sizes();
    expect(least.log.rows).toBeGreaterThanOrEqual(2);
    await page.keyboard.press("End");
    await expect.poll(value).toBe(Number(await split.getAttribute("aria-valuemax")));
    await expect.poll(async () => (await sizes()).shell.rows).toBeLessThan(least.shell.rows);
    // The ends never clip the shell's Copy bar or the log.
    expect(await layoutProblems()).toEqual([]);
    await screenshot(page, "62-layout-900-divider-end");
    for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowUp");
    const now = await sizes();
    await expect.poll(async () => (await sizes()).shell.rows).toBeGreaterThan(0);
    // The shell itself was told its new size (its PTY, through the host).
    await byTestId("debug-terminal").click();
    await page.keyboard.type("stty size");
    await page.keyboard.press("Enter");
    const settled = await sizes();
    await waitForDebugLine(new RegExp(`^${settled.shell.rows} ${settled.shell.cols}$`));
    expect(settled.shell.rows).toBeGreaterThanOrEqual(now.shell.rows - 1);

    // Side by side at 1400 px, the separator is vertical and keeps working.
    await page.setViewportSize(SIZES[0]);
    await expect.poll(async () => await split.getAttribute("aria-orientation")).toBe("vertical");
    await split.focus();
    const wide = await value();
    await page.keyboard.press("ArrowRight");
    await expect.poll(value).toBe(Math.min(wide + 5, Number(await split.getAttribute("aria-valuemax"))));
    await screenshot(page, "62-layout-1400-divider");
  });

  it("Tab and Shift+Tab leave the read-only log; the shell keeps Tab and leaves on Esc then Tab", async () => {
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await openView("job");
      await byTestId("job-terminal").click();
      expect((await focused()).inLog).toBe(true);
      await page.keyboard.press("Tab");
      const after = await focused();
      expect(after.inLog, `Tab from the log went to ${after.where}`).toBe(false);
      expect(after.ring).toBe(true);
      await page.keyboard.press("Shift+Tab");
      expect((await focused()).inLog).toBe(true);
      await page.keyboard.press("Shift+Tab");
      const back = await focused();
      expect(back.inLog, `Shift+Tab from the log went to ${back.where}`).toBe(false);
      expect(back.ring).toBe(true);

      // The shell: Tab completes in the shell; Esc then Tab moves on, Esc then Shift+Tab moves back.
      await byTestId("debug-terminal").click();
      await page.keyboard.type("echo tab-stay");
      await page.keyboard.press("Tab");
      expect((await focused()).inShell).toBe(true);
      await page.keyboard.press("Control+U");
      await page.keyboard.press("Escape");
      await page.keyboard.press("Tab");
      const out = await focused();
      expect(out.inShell, `Esc then Tab went to ${out.where}`).toBe(false);
      expect(out.ring).toBe(true);
      await page.keyboard.press("Shift+Tab");
      expect((await focused()).inShell).toBe(true);
      await page.keyboard.press("Escape");
      await page.keyboard.press("Shift+Tab");
      expect((await focused()).inShell).toBe(false);
      // The shell still works after that.
      await byTestId("debug-terminal").click();
      await page.keyboard.press("Control+U");
      await page.keyboard.type(`echo still-here-${size.width}`);
      await page.keyboard.press("Enter");
      await waitForDebugLine(new RegExp(`^still-here-${size.width}$`));
    }
  });

  it("the console gone, every indicator says the connection is lost; a console started again refuses the old page and says what to do", async () => {
    await page.setViewportSize(SIZES[0]);
    await openView("agent");
    await expect.poll(async () => await byTestId("sidebar-status").textContent()).toMatch(/Running job/);
    con.proc.signal("SIGTERM");
    expect(await con.proc.waitForExit(30_000)).toBe(0);
    await byTestId("connection-banner").waitFor({ timeout: 10_000 });
    const lostEverywhere = async (where: string) => {
      expect(await byTestId("sidebar-status").textContent(), where).toBe("Connection lost");
      expect(await byTestId("sidebar-status").getAttribute("data-lost"), where).toBe("true");
      expect(await byTestId("nav-live").getAttribute("data-stale"), where).toBe("true");
      expect(await page.locator(".sidebar").textContent(), where).not.toMatch(/Waiting for jobs|Running job/);
    };
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await openView("agent");
      await lostEverywhere(`agent view at ${size.width}`);
      expect(await byTestId("agent-state").textContent()).toBe("Connection lost");
      expect(await byTestId("agent-headline").getAttribute("data-lost")).toBe("true");
      expect(await byTestId("agent-stop").isDisabled()).toBe(true);
      await screenshot(page, `63-layout-${size.width}-connection-lost-agent`);
      await openView("job");
      await lostEverywhere(`job view at ${size.width}`);
      expect(await byTestId("job-result").textContent()).toBe("Connection lost");
      expect(await byTestId("job-log-lost").isVisible()).toBe(true);
      expect(await byTestId("job-stop").isDisabled()).toBe(true);
      expect(await byTestId("debug-open").isDisabled()).toBe(true);
      await screenshot(page, `63-layout-${size.width}-connection-lost-job`);
      await openView("history");
      const row = page.locator(`[data-testid="history-row"][data-job-id="${runningJobId}"]`);
      expect(await row.locator(".badge").first().textContent()).toBe("Connection lost");
      await openView("demo");
      expect(await byTestId("demo-state").textContent()).toBe("Connection lost");
      expect(await layoutProblems()).toEqual([]);
    }

    // The console again on the same port: a new run, a new token, so this page is refused; it says what to do.
    await page.setViewportSize(SIZES[1]);
    con = await startConsole({ dataDir: con.dataDir, home: con.home, tmp: con.tmp, port: con.port });
    await byTestId("unauthorised").waitFor({ timeout: 20_000 });
    const help = (await byTestId("unauthorised").textContent()) ?? "";
    expect(help).toContain("npm start");
    expect(help).toContain("semaphore-agent console");
    expect(help).toMatch(/Restart the console/);
    expect(await byTestId("sidebar-status").textContent()).toBe("Not authorised");
    expect(await layoutProblems()).toEqual([]);
    await screenshot(page, "63-layout-900-refused-after-restart");
    // The URL it printed lets the page in again.
    await page.goto(con.url);
    await expect.poll(async () => await byTestId("sidebar-status").getAttribute("data-lost"), { timeout: 20_000 }).toBe("false");
    expect(await byTestId("connection-banner").count()).toBe(0);
  });
});
