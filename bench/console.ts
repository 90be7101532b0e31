// The web console under load, in Debian's Chromium (playwright-core): a real `semaphore-agent
// console` process (host + agent) connected to a local hub in this process, the real renderer.
//   (ui-latency) line printed by the job -> that line rendered in the page
//   (ui-flood)   a job writing 50 MB: time until the last byte is rendered, MB/s, the longest
//                main-thread stall, and how long clicks take to be answered meanwhile
//   (ui-memory)  the page's memory after the flood, and after a second one (bounded by scrollback)
import type { Page } from "playwright-core";
import { quantile, sleep, waitFor } from "./util.js";
import { makeJobRequest, type Hub } from "../hub/hub.js";
import { clickPoint, heap, installClickTimer, MB, startConsoleSession, startPageMonitor, stopPageMonitor, timedClick } from "./session.js";

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
  __floodDoneAt: number | null;
  __lat: number[];
  __latSeen: Set<string>;
}

export async function runFlood(hub: Hub, page: Page, floodMb: number): Promise<Record<string, number>> {
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
  await startPageMonitor(page);
  // Clicks go in as real input events (CDP), at the nav button; the page notes when its handler ran
  // and when the next frame was painted after it.
  const at = await clickPoint(page, "nav-job");
  await installClickTimer(page);
  const { job_id } = hub.scheduleJob(
    makeJobRequest({ commands: [`echo FLOOD-START $(date +%s%3N); yes '${line}' | head -c ${bytes}; echo FLOOD-END`] }),
  );
  const clicks: number[] = [];
  const deadline = Date.now() + 600_000;
  let done: number | null = null;
  while (done === null) {
    if (Date.now() > deadline) throw new Error("the flood never finished rendering");
    clicks.push(await timedClick(page, at));
    await sleep(250);
    done = await page.evaluate(() => (globalThis as unknown as PageGlobals).__floodDoneAt);
  }
  const maxStall = Math.max(0, ...(await stopPageMonitor(page)).lags);
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
  const { hub, page, url, close } = await startConsoleSession({ nextSyncAfter: 200 });
  try {
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
    await close();
  }
}
