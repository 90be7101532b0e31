// First run and Settings in the web console, at a large and a small window (1400×900, 900×600): a
// real `semaphore-agent console` process with a fresh data folder, and Debian's Chromium. The first
// run asks for the organisation and the token only (or the local demo), the rest is under Advanced;
// a draft survives another view; an error clears as soon as its field is edited; a pasted config.yaml
// with a mistake stays in the dialog with one "did you mean"; the demo's examples read as prose.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { startConsole, type ConsoleProcess } from "../helpers/console.js";
import { stopAll } from "../helpers/processes.js";

afterAll(async () => {
  await stopAll();
});

const SIZES = [
  { width: 1400, height: 900 },
  { width: 900, height: 600 },
] as const;

describe.each(SIZES)("first run and Settings at $width×$height (console process, Chromium)", ({ width, height }) => {
  let con: ConsoleProcess;
  let browser: Browser;
  let page: Page;
  const byTestId = (id: string) => page.getByTestId(id);
  const shot = (name: string) => screenshot(page, `70-${name}-${width}`);
  /** The test ids of the form's fields a person can see now (inputs, lists, text areas). */
  const visibleFields = () =>
    page
      .locator("form.page-form :is(input, select, textarea):visible")
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-testid") ?? e.getAttribute("name") ?? e.tagName));

  beforeAll(async () => {
    con = await startConsole();
    browser = await launchBrowser({ width, height });
    page = browser.page;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("the first run asks for the organisation and the token only, with the local demo offered; Advanced is closed", async () => {
    await page.goto(con.url);
    await byTestId("settings-endpoint").waitFor();
    expect(await page.locator("h1").first().textContent()).toBe("Set up the agent");
    expect(await visibleFields()).toEqual(["settings-endpoint", "settings-token"]);
    expect(await byTestId("settings-try-demo").isVisible()).toBe(true);
    expect(await byTestId("settings-advanced").getAttribute("open")).toBeNull();
    expect(await byTestId("settings-advanced-toggle").isVisible()).toBe(true);
    for (const hidden of ["settings-name", "settings-no-https", "settings-lending", "settings-where-jobs-run", "settings-disk-guard"]) {
      expect(await byTestId(hidden).isVisible(), hidden).toBe(false);
    }
    // The toolbox is a recommendation below what is needed, not a step before it.
    const card = byTestId("toolbox-card");
    await card.waitFor();
    const [advancedBox, cardBox] = [await byTestId("settings-advanced").boundingBox(), await card.boundingBox()];
    expect(cardBox!.y).toBeGreaterThan(advancedBox!.y);
    await shot("first-run");
  });

  it("opening Advanced shows everything else", async () => {
    await byTestId("settings-advanced-toggle").click();
    await expect.poll(() => byTestId("settings-name").isVisible()).toBe(true);
    for (const shown of ["settings-no-https", "settings-lending", "settings-where-jobs-run", "settings-disk-guard", "settings-history-max-jobs", "settings-pre-job-hook"]) {
      await byTestId(shown).scrollIntoViewIfNeeded();
      expect(await byTestId(shown).isVisible(), shown).toBe(true);
    }
    expect((await visibleFields()).length).toBeGreaterThan(20);
    await byTestId("settings-advanced-toggle").scrollIntoViewIfNeeded();
    await shot("advanced-open");
  });

  it("a draft survives switching to another view and back, and says it is not saved", async () => {
    await byTestId("settings-endpoint").fill("acme.semaphoreci.com");
    await byTestId("settings-name").fill("draft-agent-name");
    await byTestId("settings-pre-job-hook").fill("/opt/hooks/pre.sh");
    await byTestId("settings-unsaved").waitFor();
    await byTestId("nav-agent").click();
    await byTestId("nav-history").click();
    await byTestId("nav-settings").click();
    await byTestId("settings-endpoint").waitFor();
    expect(await byTestId("settings-endpoint").inputValue()).toBe("acme.semaphoreci.com");
    expect(await byTestId("settings-name").inputValue()).toBe("draft-agent-name");
    expect(await byTestId("settings-pre-job-hook").inputValue()).toBe("/opt/hooks/pre.sh");
    expect(await byTestId("settings-advanced").getAttribute("open")).not.toBeNull(); // as it was left
    expect(await byTestId("settings-unsaved").textContent()).toMatch(/unsaved changes/i);
    await shot("draft-kept");
  });

  it("an error disappears as soon as its field is edited; the other fields' errors stay", async () => {
    await byTestId("settings-endpoint").fill("https://not a host/");
    await byTestId("settings-token").fill("t0k3n-for-the-first-run");
    await byTestId("settings-name").fill("short");
    await byTestId("settings-save").click();
    await byTestId("field-error-endpoint").waitFor();
    await byTestId("field-error-name").waitFor();
    expect(await byTestId("field-error-name").textContent()).toMatch(/8 to 80 characters long \(it has 5\)/);
    await byTestId("settings-endpoint").scrollIntoViewIfNeeded();
    await shot("errors");
    await byTestId("settings-endpoint").fill("acme.semaphoreci.com");
    expect(await byTestId("field-error-endpoint").count()).toBe(0);
    expect(await byTestId("field-error-name").count()).toBe(1);
    await byTestId("settings-name").scrollIntoViewIfNeeded();
    await shot("error-cleared");
    await byTestId("settings-name").press("End");
    await byTestId("settings-name").pressSequentially("-agent-1");
    expect(await byTestId("field-error-name").count()).toBe(0);
  });

  it("a pasted config.yaml with a mistake keeps its text and says the nearest key once, not prefixed twice", async () => {
    const typo = 'endpoint: "acme.semaphoreci.com"\nendpiont: "typo.example"\n';
    await byTestId("settings-import-paste").click();
    await byTestId("config-yaml-input").fill(typo);
    await byTestId("config-import-submit").click();
    const errors = byTestId("config-import-errors");
    await errors.waitFor();
    const said = (await errors.textContent()) ?? "";
    expect(said).toContain("endpiont is not a config.yaml option: did you mean endpoint?");
    expect(said.match(/did you mean/g)).toHaveLength(1);
    expect(said).not.toMatch(/endpiont\W+endpiont|config\.yaml: config\.yaml|yaml: yaml/i);
    expect(said).not.toContain("`");
    expect(await byTestId("config-yaml-input").inputValue()).toBe(typo); // kept
    expect(await byTestId("settings-unplaced-errors").count()).toBe(0); // in the dialog, not also in the form
    await shot("paste-typo");

    // Not YAML at all: where, in words, once.
    await byTestId("config-yaml-input").fill("endpoint: [unclosed\n");
    await byTestId("config-import-submit").click();
    await expect.poll(async () => (await errors.textContent()) ?? "").toMatch(/config\.yaml is not valid YAML at line \d+, column \d+/);
    expect(await errors.textContent()).not.toMatch(/yaml: yaml|config\.yaml: config\.yaml/i);
    expect(await byTestId("config-yaml-input").inputValue()).toBe("endpoint: [unclosed\n");

    // Fixed: imported, the dialog closes and the form shows the file's settings (the draft replaced).
    await byTestId("config-yaml-input").fill('endpoint: "acme.semaphoreci.com"\ntoken: "t0k3n-from-yaml"\nname: "imported-from-yaml"\n');
    await byTestId("config-import-submit").click();
    await expect.poll(() => byTestId("config-yaml-input").count(), { timeout: 10_000 }).toBe(0);
    expect(await byTestId("settings-name").inputValue()).toBe("imported-from-yaml");
    expect(await byTestId("settings-pre-job-hook").inputValue()).toBe("");
    await byTestId("settings-saved").waitFor();
    expect(await byTestId("settings-unsaved").count()).toBe(0);
  });

  it("the demo's example jobs are described in prose: no backtick on the page", async () => {
    await byTestId("nav-demo").click();
    const descriptions = page.locator("[data-testid^=demo-description-]");
    await expect.poll(() => descriptions.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    for (const text of await descriptions.allTextContents()) {
      expect(text.trim().length, text).toBeGreaterThan(20);
      expect(text, text).not.toContain("`");
    }
    expect(await byTestId("view-demo").textContent()).not.toContain("`");
    await shot("demo");
  });
});
