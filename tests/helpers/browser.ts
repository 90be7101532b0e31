// Debian's Chromium driven by Playwright (playwright-core cannot download browsers here). Every
// browser started here is closed, and its fresh user-data dir removed, by `close()`.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = resolve(import.meta.dirname, "../../test-results/screenshots");

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), "sa-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a screenshot under test-results/screenshots/NAME.png (ignored by git) for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The job log's whole text as the page's probe reads it from the log (folded commands included). */
export async function terminalText(page: Page): Promise<string> {
  return await page.evaluate(() => {
    const probe = (window as unknown as { __semaphoreAgentProbe?: { terminalText(): string } }).__semaphoreAgentProbe;
    return probe ? probe.terminalText() : "";
  });
}

/** Waits until the job log shows `pattern` (polled; a timeout says what it shows instead). */
export async function waitForTerminal(page: Page, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await terminalText(page);
    if (pattern.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`terminal never showed ${pattern} within ${timeoutMs} ms; it shows:\n${text.slice(-3000)}`);
    await page.waitForTimeout(100);
  }
}
