// The job log as GitHub Actions' and Buildkite's job pages read: a real `semaphore-agent console`
// process (host + agent), a real hub process, and Debian's Chromium on the real renderer. Epilogues
// labelled with their kind and the agent's own steps named, in the log's headers and in the command
// list; the commands skipped after a failure listed greyed and named at the end of the log; a
// command ended by a stop says who stopped it (you, Semaphore) instead of a red exit 1; all of it
// again after a reload, from the history. Each command a section that folds: a running job shows the
// command that runs, a finished one opens on its failure; a click in the command list jumps to a
// section; timestamps per line toggled; long lines wrapped at spaces (no word cut) or scrolled
// sideways; a log of a million lines folded, searched and scrolled. Screenshots at 1400×900 and 900×600.
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser, terminalText as terminalTextOf, waitForTerminal as waitForTerminalOf } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { job, startHub, stopAll, tempDir, type HubProcess } from "../helpers/processes.js";
import { formatTime } from "../../agent-core/util/date-format.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;

const byTestId = (id: string) => page.getByTestId(id);
const SIZES = [
  { width: 1400, height: 900, name: "1400" },
  { width: 900, height: 600, name: "900" },
] as const;

const terminalText = () => terminalTextOf(page);
const waitForTerminal = (pattern: RegExp, timeoutMs = 20_000) => waitForTerminalOf(page, pattern, timeoutMs);

/** The command list as the page shows it: directive, state, kind, the tag line, the directive's colour. */
async function commandList(): Promise<{ directive: string; state: string; kind: string; tags: string; colour: string; duration: string }[]> {
  return await byTestId("job-command").evaluateAll((els) =>
    els.map((el) => ({
      directive: el.querySelector(".directive")?.textContent ?? "",
      state: el.getAttribute("data-state") ?? "",
      kind: el.getAttribute("data-kind") ?? "",
      tags: el.querySelector(".command-tags")?.textContent ?? "",
      colour: getComputedStyle(el.querySelector(".directive")!).color,
      duration: el.querySelector(".duration")?.textContent ?? "",
    })),
  );
}

async function openJob(id: string): Promise<void> {
  await byTestId("nav-job").click();
  await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(id);
}

/** A screenshot at each size, the last one at 1400×900 again; `check` runs at each size first. */
async function screenshots(name: string, check?: () => Promise<void>): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.waitForTimeout(400);
    await check?.();
    await screenshot(page, `${name}-${size.name}`);
  }
  await page.setViewportSize({ width: SIZES[0].width, height: SIZES[0].height });
}

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser({ width: 1400, height: 900 });
  page = browser.page;
  const rpc = await ConsoleRpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token, sandbox: "none" })).toMatchObject({ ok: true, result: { ok: true } });
  expect((await rpc.call("startAgent", {})).ok).toBe(true);
  rpc.close();
  await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));
  await page.goto(con.url);
  await byTestId("nav-job").waitFor();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

let failedId = "";
let stoppedByYouId = "";
let stoppedBySemaphoreId = "";

describe("job log: epilogues, the agent's steps, skipped and stopped commands (console, agent, hub, Chromium)", () => {
  it("a job failing at command 2 of 4: its epilogues labelled by kind, the two env exports told apart, the rest skipped and greyed", async () => {
    failedId = await hub.api.schedule(
      job({
        commands: ["echo one", "echo two-fails; sh -c 'exit 3'", "echo three", "echo four"],
        always: ["echo cleanup-ran"],
        onPass: ["echo deploy"],
        onFail: ["echo notify-ran"],
      }),
    );
    await hub.api.waitForJob(failedId, "finished");
    await openJob(failedId);
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/failed/i);
    const text = await waitForTerminal(/Skipped after the failure/);
    expect(text).toMatch(/^▶ Exporting environment variables {2}agent step · the job's variables$/m);
    expect(text).toMatch(/^▶ Exporting environment variables {2}agent step · SEMAPHORE_JOB_RESULT$/m);
    expect(text).toMatch(/^▶ echo cleanup-ran {2}epilogue · always$/m);
    expect(text).toMatch(/^▶ echo notify-ran {2}epilogue · on fail$/m);
    expect(text).toMatch(/^✘ exit 3 · /m);
    expect(text).toMatch(/^⊘ Skipped after the failure: echo three, echo four$/m);
    expect(text).not.toContain("deploy");
    // What Semaphore got is untouched: its directives are the runner's.
    const sent = (await hub.api.events(failedId)).flatMap((e) => (e.event === "cmd_started" ? [e.directive] : []));
    expect(sent).toEqual(["Exporting environment variables", "Injecting Files", "echo one", "echo two-fails; sh -c 'exit 3'", "Exporting environment variables", "echo cleanup-ran", "echo notify-ran"]);

    const list = await commandList();
    expect(list.map((c) => [c.directive, c.state, c.kind])).toEqual([
      ["Exporting environment variables", "passed", "job-env"],
      ["Injecting Files", "passed", "files"],
      ["echo one", "passed", "command"],
      ["echo two-fails; sh -c 'exit 3'", "failed", "command"],
      ["echo three", "skipped", "command"],
      ["echo four", "skipped", "command"],
      ["Exporting environment variables", "passed", "result-env"],
      ["echo cleanup-ran", "passed", "epilogue-always"],
      ["echo notify-ran", "passed", "epilogue-on-fail"],
    ]);
    expect(list.find((c) => c.directive === "echo notify-ran")?.tags).toBe("epilogue · on fail");
    expect(list.find((c) => c.directive === "echo three")?.duration).toBe("skipped");
    expect(list.find((c) => c.directive === "echo two-fails; sh -c 'exit 3'")?.duration).toMatch(/ · exit 3$/);
    // Greyed: a skipped directive is drawn fainter than one that ran.
    const ran = list.find((c) => c.directive === "echo one")!.colour;
    expect(list.find((c) => c.directive === "echo three")!.colour).not.toBe(ran);
    await screenshots("80-job-log-epilogues-skipped", async () => {
      // At each size: the skipped commands are shown, marked skipped; the failed command's section is open and says its exit.
      for (const row of await page.locator('[data-testid="job-command"][data-state="skipped"]').all()) {
        expect(await row.isVisible()).toBe(true);
        expect(await row.locator(".duration").textContent()).toBe("skipped");
      }
      const failed = page.locator('[data-testid="job-log-section"][data-state="failed"]');
      expect(await failed.getAttribute("data-folded")).toBe("false");
      expect(await failed.locator(".log-end").textContent()).toMatch(/^✘ exit 3 · /);
    });
  });

  it("a job stopped with Stop this job: the running command says stopped by you, not exit 1, and so do the header and the result", async () => {
    stoppedByYouId = await hub.api.schedule(job({ commands: ["echo long-job-started; sleep 60", "echo never-runs"], always: ["echo cleanup"] }));
    await hub.api.waitForEvents(stoppedByYouId, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("long-job-started")));
    await openJob(stoppedByYouId);
    await waitForTerminal(/long-job-started/);
    // Running: the command's time so far.
    await expect.poll(async () => (await commandList()).at(-1)?.duration ?? "", { timeout: 10_000 }).toMatch(/^running · /);
    await byTestId("job-stop").click();
    await byTestId("job-stop-confirm").click();
    expect((await hub.api.waitForJob(stoppedByYouId, "finished")).result).toBe("stopped");
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/stopped/i);
    const text = await waitForTerminal(/Job stopped by you/);
    expect(text).toMatch(/^■ stopped by you · /m);
    expect(text).not.toMatch(/exit 1/);
    expect(text).toMatch(/^⊘ Skipped after the stop: echo never-runs, echo cleanup \(epilogue · always\)$/m);
    expect(await byTestId("job-stopped-by").textContent()).toBe("Stopped by you");
    const stopped = (await commandList()).find((c) => c.directive === "echo long-job-started; sleep 60");
    expect(stopped).toMatchObject({ state: "stopped", tags: "stopped by you" });
    expect(stopped?.duration).toMatch(/^(< )?\d+ s$/);
    expect((await commandList()).filter((c) => c.state === "skipped").map((c) => c.directive)).toEqual(["echo never-runs", "echo cleanup"]);
    await screenshots("81-job-log-stopped-by-you", async () => {
      // At each size: the stopped command says who stopped it, in the log's section and in the list; it is no red exit.
      const section = page.locator('[data-testid="job-log-section"][data-state="stopped"]').first();
      expect(await section.getAttribute("data-folded")).toBe("false");
      expect(await section.locator(".log-end").textContent()).toMatch(/^■ stopped by you · /);
      expect(await byTestId("job-command-stopped-by").isVisible()).toBe(true);
      expect(await page.locator('[data-testid="job-log-section"][data-state="failed"]').count()).toBe(0);
      expect(await startsAtTop(), "the short log of a stopped job starts at the top").toBe(true);
    });
  });

  it("a job stopped from Semaphore (the hub's stop-job) says stopped by Semaphore", async () => {
    stoppedBySemaphoreId = await hub.api.schedule(job({ commands: ["echo waiting-for-a-stop; sleep 60"] }));
    await hub.api.waitForEvents(stoppedBySemaphoreId, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("waiting-for-a-stop")));
    await openJob(stoppedBySemaphoreId);
    await waitForTerminal(/waiting-for-a-stop/);
    await hub.api.stop(stoppedBySemaphoreId);
    await hub.api.waitForJob(stoppedBySemaphoreId, "finished");
    const text = await waitForTerminal(/Job stopped by Semaphore/);
    expect(text).toMatch(/^■ stopped by Semaphore · /m);
    expect(text).not.toMatch(/exit 1/);
    expect(await byTestId("job-stopped-by").textContent()).toBe("Stopped by Semaphore");
    expect((await commandList()).at(-1)).toMatchObject({ state: "stopped", tags: "stopped by Semaphore" });
    await screenshots("82-job-log-stopped-by-semaphore");
  });

  it("after a reload, from the history, the same labels, skipped commands and stops", async () => {
    await page.reload();
    await byTestId("nav-history").click();
    await page.locator(`[data-testid="history-row"][data-job-id="${failedId}"]`).click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(failedId);
    const text = await waitForTerminal(/Skipped after the failure: echo three, echo four/);
    expect(text).toMatch(/^▶ echo notify-ran {2}epilogue · on fail$/m);
    expect((await commandList()).filter((c) => c.state === "skipped").map((c) => c.directive)).toEqual(["echo three", "echo four"]);

    for (const [id, who] of [
      [stoppedByYouId, "you"],
      [stoppedBySemaphoreId, "Semaphore"],
    ] as const) {
      await byTestId("nav-history").click();
      await page.locator(`[data-testid="history-row"][data-job-id="${id}"]`).click();
      await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(id);
      const log = await waitForTerminal(new RegExp(`Job stopped by ${who}`));
      expect(log).toMatch(new RegExp(`^■ stopped by ${who} · `, "m"));
      expect((await commandList()).find((c) => c.state === "stopped")?.tags).toBe(`stopped by ${who}`);
    }
    await screenshots("83-job-log-history-stopped");
    expect(await hub.api.violations()).toEqual([]);
  });
});

/** The sections (command headers) the log draws now: name, folded, state, what the header says of the end, where it is. */
async function sections(): Promise<{ directive: string; folded: boolean; state: string; end: string; top: number; time: string | null }[]> {
  return await page.locator('[data-testid="job-log-section"]').evaluateAll((els) =>
    els.map((el) => ({
      directive: el.querySelector(".log-dir")?.textContent ?? "",
      folded: el.getAttribute("data-folded") === "true",
      state: el.getAttribute("data-state") ?? "",
      end: el.querySelector(".log-end")?.textContent ?? "",
      top: el.getBoundingClientRect().top,
      time: el.querySelector(".log-time")?.textContent ?? null,
    })),
  );
}

/** The drawn lines' text (timestamps aside), in order. */
async function drawnLines(): Promise<string[]> {
  return await page.locator('[data-testid="job-log-rows"] .log-line').evaluateAll((els) => els.map((el) => (el.querySelector(".log-text, .log-dir")?.textContent ?? "").trimEnd()));
}

const scroller = () => byTestId("job-log-scroll");

/** The first drawn line is at the top of the log's view (one frame's reading, in the page). */
async function startsAtTop(): Promise<boolean> {
  return await page.evaluate(() => {
    const view = document.querySelector('[data-testid="job-log-scroll"]')!.getBoundingClientRect();
    const first = document.querySelector('[data-testid="job-log-rows"] .log-line')!.getBoundingClientRect();
    return Math.abs(first.top - view.top) < 2;
  });
}

/** Opens a job from the History view (running or finished), whatever job the Job view follows. */
async function showJob(id: string): Promise<void> {
  await byTestId("nav-history").click();
  await page.locator(`[data-testid="history-row"][data-job-id="${id}"]`).click();
  await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(id);
}

/** The first command: its output tries HTML, colours, a title escape and a link. */
const FIRST = `echo first-done; echo '<img src=x onerror="window.__xss=1">'; printf '\\033[31mred\\033[0m \\033]0;title\\007https://example.com/x\\n'`;

const WORDS = Array.from({ length: 220 }, (_, i) => `word${i + 1}`).join(" ");

describe("job log: sections that fold, a jump from the command list, timestamps, wrapping, a million lines", () => {
  let sectionsId = "";
  const dir = tempDir("sa-joblog-");
  const release = join(dir, "release");

  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // However the first test ends, its job is let go: the agent is free for the next.
  const letGo = () => writeFileSync(release, "go\n");

  it("a running job shows the command that runs, the ones before folded; once it fails, only the failure is open", async () => {
    sectionsId = await hub.api.schedule(
      job({
        commands: [
          FIRST,
          `echo ${WORDS}`,
          `echo waiting-for-release; while [ ! -e ${release} ]; do sleep 0.05; done; echo released; sh -c 'exit 4'`,
          "echo never",
        ],
      }),
    );
    await hub.api.waitForEvents(sectionsId, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("waiting-for-release")));
    try {
      await showJob(sectionsId);
      await expect
        .poll(async () => (await sections()).map((x) => [x.directive.split(" ")[0] === "echo" ? x.directive.slice(0, 20) : x.directive, x.folded, x.state]), { timeout: 20_000 })
        .toEqual([
          ["Exporting environment variables", true, "ok"],
          ["Injecting Files", true, "ok"],
          [FIRST.slice(0, 20), true, "ok"],
          [`echo ${WORDS}`.slice(0, 20), true, "ok"],
          ["echo waiting-for-rel", false, "running"],
        ]);
      expect((await sections()).at(-1)!.end).toMatch(/^● /); // its time so far
      expect(await drawnLines()).toContain("waiting-for-release");
      expect(await startsAtTop(), "a short log starts at the top of the view while following").toBe(true);
      expect(await byTestId("job-follow").getAttribute("aria-pressed")).toBe("true");
      await screenshot(page, "84-job-log-running-1400");
      // Text selected in a running log holds still: following stops, and the running header's clock
      // (redrawn every second) does not take the selection away.
      // A triple click on the line's text selects the line.
      await page.locator('[data-testid="job-log-rows"] .log-line .log-text', { hasText: /^waiting-for-release$/ }).click({ clickCount: 3, position: { x: 12, y: 9 } });
      await expect.poll(async () => await byTestId("job-follow").getAttribute("aria-pressed")).toBe("false");
      await expect.poll(async () => await byTestId("job-copy").getAttribute("aria-label")).toBe("Copy selection");
      const clock = (await sections()).at(-1)!.end;
      await expect.poll(async () => (await page.evaluate(() => document.getSelection()?.toString() ?? "")).trim(), { timeout: 3_000 }).toBe("waiting-for-release");
      // The clock's next redraw (it ticks each second): a frame drawn a second or more from now.
      await page.evaluate(
        () =>
          new Promise<void>((resolve) => {
            const probe = (window as unknown as { __semaphoreAgentProbe: { onParsed(cb: () => void): () => void } }).__semaphoreAgentProbe;
            const since = performance.now();
            const off = probe.onParsed(() => {
              if (performance.now() - since < 1000) return;
              off();
              resolve();
            });
          }),
      );
      expect((await page.evaluate(() => document.getSelection()?.toString() ?? "")).trim()).toBe("waiting-for-release");
      // Back to the end: the selection goes, following and the clock come back.
      await byTestId("job-follow").click();
      await expect.poll(async () => await byTestId("job-follow").getAttribute("aria-pressed")).toBe("true");
      expect(await page.evaluate(() => document.getSelection()?.toString() ?? "")).toBe("");
      await expect.poll(async () => (await sections()).at(-1)!.end, { timeout: 5_000 }).not.toBe(clock);
    } finally {
      letGo();
    }
    expect((await hub.api.waitForJob(sectionsId, "finished")).result).toBe("failed");
    await waitForTerminal(/Job failed/);
    await expect.poll(async () => (await sections()).filter((x) => !x.folded).map((x) => x.directive), { timeout: 10_000 }).toEqual([`echo waiting-for-release; while [ ! -e ${release} ]; do sleep 0.05; done; echo released; sh -c 'exit 4'`]);
    expect((await sections()).find((x) => !x.folded)).toMatchObject({ state: "failed", end: expect.stringMatching(/^✘ exit 4 · /) });
    expect(existsSync(release)).toBe(true);
  });

  it("reopened from the history it opens on the failure; at both sizes a header folds and unfolds it, the command list jumps to a section", async () => {
    await page.reload();
    await showJob(sectionsId);
    await waitForTerminal(/Job failed/);
    await expect.poll(async () => (await sections()).filter((x) => !x.folded).map((x) => x.state)).toEqual(["failed"]);
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      // Fold and unfold "echo first-done" by its header.
      const header = page.locator('[data-testid="job-log-section"]', { hasText: "echo first-done" });
      expect(await header.getAttribute("data-folded")).toBe("true");
      expect(await drawnLines()).not.toContain("first-done");
      await header.click();
      await expect.poll(async () => await header.getAttribute("data-folded")).toBe("false");
      expect(await drawnLines()).toContain("first-done");
      // Output is text: its HTML is shown, never made; its colour is drawn, its title escape dropped, its https link made.
      const rows = byTestId("job-log-rows");
      expect(await drawnLines()).toContain('<img src=x onerror="window.__xss=1">');
      expect(await rows.locator("img").count()).toBe(0);
      expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
      expect(await drawnLines()).toContain("red https://example.com/x");
      expect(await rows.locator("span", { hasText: /^red$/ }).evaluate((el) => getComputedStyle(el).color)).toBe("rgb(244, 112, 103)");
      expect(await rows.locator("a", { hasText: "https://example.com/x" }).getAttribute("href")).toBe("https://example.com/x");
      await screenshot(page, `85-job-log-unfolded-${size.name}`);
      await header.click();
      await expect.poll(async () => await header.getAttribute("data-folded")).toBe("true");
      expect(await drawnLines()).not.toContain("first-done");

      // Fold everything, then jump from the command list: that section opens at the top of the log.
      await byTestId("job-fold-all").click();
      await expect.poll(async () => (await sections()).every((x) => x.folded)).toBe(true);
      await page.locator('[data-testid="job-command-jump"]', { hasText: "echo first-done" }).click();
      await expect.poll(async () => await header.getAttribute("data-folded")).toBe("false");
      // Shown: at the top of the log, or as near as the log's end lets it scroll.
      const view = (await scroller().boundingBox())!;
      const at = (await header.boundingBox())!.y;
      expect(at).toBeGreaterThanOrEqual(view.y);
      expect(at + 18).toBeLessThanOrEqual(view.y + view.height);
      expect(await scroller().evaluate((el) => el.scrollTop === 0 || el.scrollTop >= el.scrollHeight - el.clientHeight - 1)).toBe(true);
      expect(await header.getAttribute("class")).toContain("jumped");
      // The list marks the command now at the top of the log.
      await expect.poll(async () => await page.locator('[data-testid="job-command"]', { hasText: "echo first-done" }).getAttribute("aria-current")).toBe("true");
      expect(await byTestId("job-follow").getAttribute("aria-pressed")).toBe("false");
      await screenshot(page, `86-job-log-jumped-${size.name}`);
      // From the keyboard: Enter in the log folds the command at its top, and unfolds it again.
      await scroller().focus();
      await page.keyboard.press("Enter");
      await expect.poll(async () => await header.getAttribute("data-folded")).toBe("true");
      await page.keyboard.press("Enter");
      await expect.poll(async () => await header.getAttribute("data-folded")).toBe("false");
      await byTestId("job-unfold-all").click();
      await expect.poll(async () => (await sections()).every((x) => !x.folded)).toBe(true);
      await byTestId("job-fold-all").click();
    }
    await page.setViewportSize({ width: SIZES[0].width, height: SIZES[0].height });
  });

  it("timestamps per line, from the events, toggled on and off; the choice survives a reload", async () => {
    const events = await hub.api.events(sectionsId);
    const startedAt = events.find((e) => e.event === "cmd_started" && e.directive === FIRST)!.timestamp;
    expect(await page.locator(".log-time").count()).toBe(0);
    await byTestId("job-timestamps").click();
    expect(await byTestId("job-timestamps").getAttribute("aria-pressed")).toBe("true");
    await expect.poll(async () => (await sections()).find((x) => x.directive === FIRST)?.time).toBe(formatTime(startedAt * 1000));
    const times = await page.locator(".log-time").allTextContents();
    expect(times.length).toBeGreaterThan(5);
    for (const t of times) expect(t).toMatch(/^\d\d:\d\d:\d\d$/);
    // The failure opened again (the test before folded everything): its output lines carry their times too.
    const failed = page.locator('[data-testid="job-log-section"][data-state="failed"]');
    if ((await failed.getAttribute("data-folded")) === "true") await failed.click();
    await expect.poll(async () => await failed.getAttribute("data-folded")).toBe("false");
    await expect.poll(async () => await page.locator(".log-line", { hasText: /^\d\d:\d\d:\d\dreleased$/ }).count()).toBe(1);
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.waitForTimeout(100);
      await screenshot(page, `87-job-log-timestamps-${size.name}`);
    }
    await page.setViewportSize({ width: SIZES[0].width, height: SIZES[0].height });
    await page.reload();
    await showJob(sectionsId);
    await waitForTerminal(/Job failed/);
    expect(await byTestId("job-timestamps").getAttribute("aria-pressed")).toBe("true");
    await expect.poll(async () => await page.locator(".log-time").count()).toBeGreaterThan(5);
    await byTestId("job-timestamps").click();
    await expect.poll(async () => await page.locator(".log-time").count()).toBe(0);
  });

  it("a long line wraps at spaces with no word cut, or scrolls sideways when the owner turns wrapping off", async () => {
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.locator('[data-testid="job-command-jump"]', { hasText: "word220" }).click();
      const line = page.locator('[data-testid="job-log-rows"] .log-line', { hasText: /^word1 word2 / });
      await line.waitFor();
      expect(await byTestId("job-wrap").getAttribute("aria-pressed")).toBe("true");
      // Read in one go in the page (a redraw between finding the line and reading it would detach it).
      const wrapped = await page.evaluate(() => {
        const el = Array.from(document.querySelectorAll('[data-testid="job-log-rows"] .log-line')).find((e) => e.textContent?.startsWith("word1 word2 "))!;
        const text = el.querySelector(".log-text")!;
        const node = text.firstChild!;
        const content = node.textContent ?? "";
        // Every word on one row: a Range over it has one box.
        const cut: string[] = [];
        let at = 0;
        for (const word of content.split(" ")) {
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + word.length);
          if (range.getClientRects().length !== 1) cut.push(word);
          at += word.length + 1;
        }
        const scroll = el.closest(".log-scroll")!;
        return { height: el.getBoundingClientRect().height, cut, sideways: scroll.scrollWidth > scroll.clientWidth + 1 };
      });
      expect(wrapped.height, "the line wraps onto several rows").toBeGreaterThan(18 * 3);
      expect(wrapped.cut, "words cut across rows").toEqual([]);
      expect(wrapped.sideways).toBe(false);
      await screenshot(page, `88-job-log-wrapped-${size.name}`);
      await byTestId("job-wrap").click();
      await expect.poll(async () => await byTestId("job-wrap").getAttribute("aria-pressed")).toBe("false");
      await expect.poll(async () => await line.evaluate((el) => el.getBoundingClientRect().height)).toBe(18);
      expect(await scroller().evaluate((el) => el.scrollWidth > el.clientWidth + 1000)).toBe(true);
      await screenshot(page, `88-job-log-sideways-${size.name}`);
      await byTestId("job-wrap").click();
      await expect.poll(async () => await byTestId("job-wrap").getAttribute("aria-pressed")).toBe("true");
    }
    await page.setViewportSize({ width: SIZES[0].width, height: SIZES[0].height });
  });

  it("a log of a million lines: searched to its end, folded, unfolded and scrolled to its middle", async () => {
    const id = await hub.api.schedule(job({ commands: ["seq 1 1000000"] }));
    expect((await hub.api.waitForJob(id, "finished", 120_000)).result).toBe("passed");
    await showJob(id);
    await waitForTerminal(/Job passed/, 120_000);
    expect(Number(await byTestId("job-terminal").getAttribute("data-lines"))).toBeGreaterThan(1_000_000);
    const input = byTestId("job-search-input");
    await input.fill("999999");
    await expect.poll(async () => await byTestId("job-search-count").textContent(), { timeout: 20_000 }).toBe("1/1");
    const active = page.locator("mark.log-match.active");
    await expect.poll(async () => await active.textContent()).toBe("999999");
    const box = (await scroller().boundingBox())!;
    const mark = (await active.boundingBox())!;
    expect(mark.y).toBeGreaterThanOrEqual(box.y);
    expect(mark.y + mark.height).toBeLessThanOrEqual(box.y + box.height);
    await input.fill("");
    const header = page.locator('[data-testid="job-log-section"]', { hasText: "seq 1 1000000" });
    await scroller().evaluate((el) => (el.scrollTop = 0));
    await header.click();
    await expect.poll(async () => await header.getAttribute("data-folded")).toBe("true");
    expect(await scroller().evaluate((el) => el.scrollHeight < 50 * 18)).toBe(true);
    await header.click();
    await expect.poll(async () => await header.getAttribute("data-folded")).toBe("false");
    await scroller().evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
    await expect
      .poll(async () => {
        const numbers = (await drawnLines()).map(Number).filter((n) => Number.isInteger(n) && n > 0);
        return numbers.length > 0 && Math.abs(numbers[0]! - 500_000) < 2000;
      })
      .toBe(true);
    // Deep in its output, the command's header is held at the top of the log, and folds it from there.
    const held = byTestId("job-log-sticky");
    await expect.poll(async () => (await held.count()) > 0 && (await held.textContent())?.includes("seq 1 1000000")).toBe(true);
    await screenshot(page, "89-job-log-million-middle");
    await held.click();
    await expect.poll(async () => await header.getAttribute("data-folded")).toBe("true");
    expect(await held.count()).toBe(0);
    await expect.poll(async () => (await header.boundingBox())?.y ?? -1).toBeGreaterThanOrEqual((await scroller().boundingBox())!.y);
  }, 180_000);
});
