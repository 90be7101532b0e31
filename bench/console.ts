// The web console under load, in Debian's Chromium (playwright-core): a real `semaphore-agent
// console` process (host + agent) connected to a local hub in this process, the real renderer.
//   (ui-latency) line printed by the job -> that line rendered in the page
//   (ui-flood)   a job writing 50 MB: time until the last byte is rendered, MB/s, the longest
//                main-thread stall, and how long clicks take to be answered meanwhile
//   (ui-memory)  the page's memory after the flood, and after a second one (bounded by scrollback)
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Page } from "playwright-core";
import WebSocket from "ws";
import { quantile, sleep, waitFor } from "./util.js";
import { startHub, makeJobRequest, type Hub } from "../hub/hub.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "bin/semaphore-agent");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const MB = 1024 * 1024;

export interface ConsoleBenchOptions {
  floodMb: number;
  latencyLines: number;
}

/** What the bench reads and leaves in the page (evaluated there; typed here without the DOM lib). */
interface Probe {
  terminalText(): string;
  stats(): { bytesWritten: number; writesPending: number };
  onParsed(cb: () => void): () => void;
}
interface PageGlobals {
  __semaphoreAgentProbe?: Probe;
  __stall: { max: number; last: number; timer: ReturnType<typeof setInterval> | undefined };
  __floodDoneAt: number | null;
  __lat: number[];
  __latSeen: Set<string>;
  __clicks: Array<{ handledAt: number; paintedAt: number | null }>;
}




class ConsoleProcess {
  readonly dir = mkdtempSync(join(tmpdir(), "sa-bench-console-"));
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";

  constructor() {
    for (const d of ["data", "home", "tmp"]) mkdirSync(join(this.dir, d));
    this.child = spawn(process.execPath, [CLI, "console", "--port", "0", "--data-dir", join(this.dir, "data")], {
      cwd: join(this.dir, "home"),
      env: { ...process.env, HOME: join(this.dir, "home"), TMPDIR: join(this.dir, "tmp") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout?.on("data", (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr?.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
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
async function callHost(origin: string, port: number, token: string, method: string, params: unknown): Promise<unknown> {
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

async function heap(page: Page): Promise<{ jsHeapMB: number; domNodes: number }> {
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

/** Starts an in-page watchdog: the longest gap between 10 ms timer ticks is the longest main-thread stall. */
async function startStallMonitor(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    w.__stall = { max: 0, last: performance.now(), timer: undefined };
    w.__stall.timer = setInterval(() => {
      const now = performance.now();
      w.__stall.max = Math.max(w.__stall.max, now - w.__stall.last - 10);
      w.__stall.last = now;
    }, 10);
  });
}

async function stopStallMonitor(page: Page): Promise<number> {
  return await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    clearInterval(w.__stall.timer);
    return w.__stall.max;
  });
}

async function runFlood(hub: Hub, page: Page, floodMb: number): Promise<Record<string, number>> {
  const bytes = floodMb * MB;
  const line = "x".repeat(99);
  const before = await page.evaluate(() => (globalThis as unknown as PageGlobals).__semaphoreAgentProbe?.stats().bytesWritten ?? 0);
  // The page records when its terminal has parsed past the flood (cheap stats check per parse).
  await page.evaluate((target) => {
    const w = globalThis as unknown as PageGlobals;
    w.__floodDoneAt = null;
    const probe = (globalThis as unknown as PageGlobals).__semaphoreAgentProbe;
    if (!probe) throw new Error("no probe");
    const base = probe.stats().bytesWritten;
    const off = probe.onParsed(() => {
      const s = probe.stats();
      if (s.bytesWritten - base >= target && s.writesPending === 0) {
        w.__floodDoneAt = Date.now();
        off();
      }
    });
  }, bytes);
  await startStallMonitor(page);
  // Clicks go in as real input events (CDP), at the nav button; the page notes when its handler ran
  // and when the next frame was painted after it.
  const box = await page.getByTestId("nav-job").boundingBox();
  if (!box) throw new Error("nav-job has no box");
  await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals & { document: { addEventListener(t: string, f: () => void, c: boolean): void } };
    w.__clicks = [];
    w.document.addEventListener(
      "click",
      () => {
        const entry = { handledAt: Date.now(), paintedAt: null as number | null };
        w.__clicks.push(entry);
        (globalThis as unknown as { requestAnimationFrame(f: () => void): void }).requestAnimationFrame(() => {
          entry.paintedAt = Date.now();
        });
      },
      true,
    );
  });
  const { job_id } = hub.scheduleJob(
    makeJobRequest({ commands: [`echo FLOOD-START $(date +%s%3N); yes '${line}' | head -c ${bytes}; echo FLOOD-END`] }),
  );
  const clicks: number[] = [];
  const deadline = Date.now() + 600_000;
  let done: number | null = null;
  while (done === null) {
    if (Date.now() > deadline) throw new Error("the flood never finished rendering");
    const sentAt = Date.now();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const painted = await waitFor(
      "the click to be answered",
      async () => {
        const last = await page.evaluate(() => (globalThis as unknown as PageGlobals).__clicks.at(-1) ?? null);
        return last && last.handledAt >= sentAt && last.paintedAt !== null ? last.paintedAt : null;
      },
      30_000,
      5,
    );
    clicks.push(painted - sentAt);
    await sleep(250);
    done = await page.evaluate(() => (globalThis as unknown as PageGlobals).__floodDoneAt);
  }
  const maxStall = await stopStallMonitor(page);
  const events = hub.events(job_id);
  const startLine = events.find((e) => e.event === "cmd_output" && e.output.includes("FLOOD-START"));
  const m = startLine && startLine.event === "cmd_output" ? startLine.output.match(/FLOOD-START (\d+)/) : null;
  const jobStart = m ? Number(m[1]) : NaN;
  const text = await page.evaluate(() => (globalThis as unknown as PageGlobals).__semaphoreAgentProbe?.terminalText().slice(-4000) ?? "");
  if (!text.includes("FLOOD-END")) throw new Error("the flood's last line is not on screen");
  const rendered = (await page.evaluate(() => (globalThis as unknown as PageGlobals).__semaphoreAgentProbe?.stats().bytesWritten ?? 0)) - before;
  const seconds = (done - jobStart) / 1000;
  clicks.sort((a, b) => a - b);
  return {
    mb: floodMb,
    renderedMB: rendered / MB,
    secondsToLastByte: seconds,
    mbPerSecond: floodMb / seconds,
    maxMainThreadStallMs: maxStall,
    clicks: clicks.length,
    clickMedianMs: quantile(clicks, 0.5),
    clickMaxMs: clicks[clicks.length - 1] ?? NaN,
  };
}

async function runLatency(hub: Hub, page: Page, lines: number): Promise<Record<string, number>> {
  await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    w.__lat = [];
    w.__latSeen = new Set();
    const probe = (globalThis as unknown as PageGlobals).__semaphoreAgentProbe;
    if (!probe) throw new Error("no probe");
    probe.onParsed(() => {
      const now = Date.now();
      const tail = probe.terminalText().slice(-4000);
      for (const m of tail.matchAll(/LAT (\d+) (\d{13})/g)) {
        if (w.__latSeen.has(m[1] as string)) continue;
        w.__latSeen.add(m[1] as string);
        w.__lat.push(now - Number(m[2]));
      }
    });
  });
  const { job_id } = hub.scheduleJob(
    makeJobRequest({ commands: [`for i in $(seq 1 ${lines}); do echo "LAT $i $(date +%s%3N)"; sleep 0.1; done`] }),
  );
  await waitFor("the latency job", () => hub.job(job_id)?.status === "finished", 120_000, 100);
  const lat = await waitFor(
    "every latency line rendered",
    async () => {
      const v = await page.evaluate(() => (globalThis as unknown as PageGlobals).__lat);
      return v.length >= lines ? v : null;
    },
    30_000,
    100,
  );
  lat.sort((a, b) => a - b);
  return { lines: lat.length, medianMs: quantile(lat, 0.5), p95Ms: quantile(lat, 0.95), maxMs: lat[lat.length - 1] ?? NaN };
}

export async function consoleBenchmarks(o: ConsoleBenchOptions): Promise<Record<string, Record<string, number>>> {
  const hub = await startHub({ nextSyncAfter: 200 });
  const con = new ConsoleProcess();
  const userData = mkdtempSync(join(tmpdir(), "sa-bench-chromium-"));
  const browser = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 800 },
  });
  try {
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
    await page.goto(url);
    await page.getByTestId("nav-job").click();
    const baseline = await heap(page);

    const latency = await runLatency(hub, page, o.latencyLines);
    const flood = await runFlood(hub, page, o.floodMb);
    const afterFlood = await heap(page);
    await runFlood(hub, page, o.floodMb);
    const afterSecondFlood = await heap(page);
    return {
      "ui-latency": latency,
      "ui-flood": flood,
      "ui-memory": {
        baselineHeapMB: baseline.jsHeapMB,
        afterFloodHeapMB: afterFlood.jsHeapMB,
        afterSecondFloodHeapMB: afterSecondFlood.jsHeapMB,
        baselineDomNodes: baseline.domNodes,
        afterSecondFloodDomNodes: afterSecondFlood.domNodes,
      },
    };
  } finally {
    await browser.close().catch(() => undefined);
    rmSync(userData, { recursive: true, force: true });
    await con.stop();
    await hub.close();
  }
}
