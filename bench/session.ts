// What the browser benchmarks (console.ts, debug.ts) share: a real `semaphore-agent console` process
// whose agent is connected to a local hub in this process, Debian's Chromium (playwright-core) on its
// page, and the in-page instruments: heap, main-thread stalls and frame gaps, timed clicks.
// startConsoleSession() hands back one close() that stops all of it (browser, console, hub).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import WebSocket from "ws";
import { waitFor } from "./util.js";
import { startHub, type Hub } from "../hub/hub.js";
import type { HubOptions } from "../hub/types.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "bin/semaphore-agent");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** The flags of tests/helpers/browser.ts. */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
export const MB = 1024 * 1024;

export class ConsoleProcess {
  readonly dir = mkdtempSync(join(tmpdir(), "sa-bench-console-"));
  readonly home = join(this.dir, "home");
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";

  /** `nodeArgs`: flags for node itself (e.g. --cpu-prof, which NODE_OPTIONS may not carry). */
  constructor(nodeArgs: readonly string[] = []) {
    for (const d of ["data", "home", "tmp"]) mkdirSync(join(this.dir, d));
    this.child = spawn(process.execPath, [...nodeArgs, CLI, "console", "--port", "0", "--data-dir", join(this.dir, "data")], {
      cwd: this.home,
      env: { ...process.env, HOME: this.home, TMPDIR: join(this.dir, "tmp") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async url(): Promise<{ url: string; origin: string; port: number; token: string }> {
    const m = await waitFor("the console URL", () => this.stdout.match(/Web console: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=(\S+)/), 30_000);
    return { url: `${m[1]}/?token=${m[3]}`, origin: m[1] as string, port: Number(m[2]), token: m[3] as string };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One request over the console's WebSocket, as the page would send it. */
export async function callHost(origin: string, port: number, token: string, method: string, params: unknown): Promise<unknown> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: origin, Cookie: `sad_console_${port}=${token}` } });
  try {
    await new Promise<void>((res, rej) => {
      ws.once("open", () => res());
      ws.once("error", rej);
    });
    return await new Promise((res, rej) => {
      ws.on("message", (data) => {
        const msg = JSON.parse(String(data)) as { kind: string; id?: number; ok?: boolean; result?: unknown; error?: { message: string } };
        if (msg.kind !== "response" || msg.id !== 1) return;
        if (msg.ok) res(msg.result);
        else rej(new Error(`${method}: ${msg.error?.message}`));
      });
      ws.send(JSON.stringify({ id: 1, method, params }));
    });
  } finally {
    ws.close();
  }
}

export interface ConsoleSession {
  hub: Hub;
  con: ConsoleProcess;
  browser: BrowserContext;
  page: Page;
  /** The console's URL with its token. */
  url: string;
  /** Stops the browser, the console (its agent and debug shells with it) and the hub. */
  close(): Promise<void>;
}

/**
 * Starts a hub, a console process and Chromium; configures the console's agent for the hub and
 * starts it (through the console's own API), and waits until the agent waits for jobs. The page is
 * not opened yet (`session.page.goto(session.url)`). On any failure everything started is stopped.
 */
export async function startConsoleSession(hubOptions: HubOptions = {}, consoleNodeArgs: readonly string[] = []): Promise<ConsoleSession> {
  const hub = await startHub(hubOptions);
  const con = new ConsoleProcess(consoleNodeArgs);
  const userData = mkdtempSync(join(tmpdir(), "sa-bench-chromium-"));
  let browser: BrowserContext | null = null;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    rmSync(userData, { recursive: true, force: true });
    await con.stop();
    await hub.close();
  };
  try {
    browser = await chromium.launchPersistentContext(userData, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
    const { url, origin, port, token } = await con.url();
    const settings = (await callHost(origin, port, token, "getSettings", {})) as Record<string, unknown>;
    const { tokenSet: _t, tokenStorage: _s, configured: _c, ...input } = settings;
    const saved = (await callHost(origin, port, token, "saveSettings", {
      settings: { ...input, endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken },
    })) as { ok: boolean; errors?: unknown };
    if (!saved.ok) throw new Error(`saveSettings: ${JSON.stringify(saved.errors)}`);
    await callHost(origin, port, token, "startAgent", {});
    await waitFor("the agent to wait for jobs", () => hub.agents().some((a) => a.state === "waiting-for-jobs"), 30_000, 50);
    const page = browser.pages()[0] ?? (await browser.newPage());
    return { hub, con, browser, page, url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The page's JS heap (CDP, after a forced GC) and its DOM node count. */
export async function heap(page: Page): Promise<{ jsHeapMB: number; domNodes: number }> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.collectGarbage");
    await cdp.send("Performance.enable");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
    return { jsHeapMB: get("JSHeapUsedSize") / MB, domNodes: get("Nodes") };
  } finally {
    await cdp.detach();
  }
}

/** What the instruments leave in the page (evaluated there; typed here without the DOM lib). */
interface MonitorGlobals {
  __monitor: { lags: number[]; frames: number[]; stop(): void };
  __clicks: Array<{ handledAt: number; paintedAt: number | null }>;
  requestAnimationFrame(f: (now: number) => void): number;
  cancelAnimationFrame(id: number): void;
  document: { addEventListener(t: string, f: () => void, c: boolean): void };
}

/**
 * Starts in-page instruments: a 10 ms timer whose every lateness (gap - 10 ms) is a main-thread
 * stall sample and, with `frames`, a requestAnimationFrame loop noting the gap between frames (it
 * asks for a frame every vsync, so it is left out where that would change what is measured).
 */
export async function startPageMonitor(page: Page, options: { frames?: boolean } = {}): Promise<void> {
  await page.evaluate((withFrames) => {
    const w = globalThis as unknown as MonitorGlobals;
    const lags: number[] = [];
    const frames: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lags.push(Math.max(0, now - last - 10));
      last = now;
    }, 10);
    let lastFrame = -1;
    let frame = 0;
    let stopped = false;
    const tick = (now: number) => {
      if (stopped) return;
      if (lastFrame >= 0) frames.push(now - lastFrame);
      lastFrame = now;
      frame = w.requestAnimationFrame(tick);
    };
    if (withFrames) frame = w.requestAnimationFrame(tick);
    w.__monitor = {
      lags,
      frames,
      stop() {
        stopped = true;
        clearInterval(timer);
        w.cancelAnimationFrame(frame);
      },
    };
  }, options.frames === true);
}

/** Stops the instruments; the main-thread stall samples and frame gaps (ms), in the order seen. */
export async function stopPageMonitor(page: Page): Promise<{ lags: number[]; frames: number[] }> {
  return await page.evaluate(() => {
    const w = globalThis as unknown as MonitorGlobals;
    w.__monitor.stop();
    return { lags: w.__monitor.lags, frames: w.__monitor.frames };
  });
}

/** The page notes, for every click, when its handler ran and when the next frame came after it. */
export async function installClickTimer(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as MonitorGlobals;
    w.__clicks = [];
    w.document.addEventListener(
      "click",
      () => {
        const entry = { handledAt: Date.now(), paintedAt: null as number | null };
        w.__clicks.push(entry);
        w.requestAnimationFrame(() => {
          entry.paintedAt = Date.now();
        });
      },
      true,
    );
  });
}

/** Where to click the element `testId` (its middle). */
export async function clickPoint(page: Page, testId: string): Promise<{ x: number; y: number }> {
  const box = await page.getByTestId(testId).first().boundingBox();
  if (!box) throw new Error(`${testId} has no box`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/**
 * A real mouse click (CDP input event) at `at`; ms from sending it to the next frame after its
 * handler ran (installClickTimer first).
 */
export async function timedClick(page: Page, at: { x: number; y: number }): Promise<number> {
  const sentAt = Date.now();
  await page.mouse.click(at.x, at.y);
  const painted = await waitFor(
    "the click to be answered",
    async () => {
      const last = await page.evaluate(() => (globalThis as unknown as MonitorGlobals).__clicks.at(-1) ?? null);
      return last && last.handledAt >= sentAt && last.paintedAt !== null ? last.paintedAt : null;
    },
    30_000,
    5,
  );
  return painted - sentAt;
}
