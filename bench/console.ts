// The web console under load, in Debian's Chromium (playwright-core): a real `semaphore-agent
// console` process (host + agent) connected to a local hub in this process, the real renderer.
//   (ui-latency) line printed by the job -> that line rendered in the page
//   (ui-flood)   a job writing 50 MB: time until the last byte is rendered, MB/s, the longest
//                main-thread stall, and how long clicks take to be answered meanwhile
//   (ui-memory)  the page's memory after the flood, and after a second one (one job's log is held:
//                bounded by the log's limits, 2,000,000 lines / 160 M characters)
//   (ui-log)     a log of 1,000 lines and one of 1,000,000 side by side: search to its last line, fold
//                and unfold its section, scroll to its middle (each the median of 3, input -> drawn)
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
  __latOff?: () => void;
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
    w.__latOff = probe.onParsed(() => {
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
  // Its listener reads the log's text on every frame: gone before the flood, which it would slow.
  await page.evaluate(() => (globalThis as unknown as PageGlobals).__latOff?.());
  lat.sort((a, b) => a - b);
  return { lines: lat.length, medianMs: quantile(lat, 0.5), p95Ms: quantile(lat, 0.95), maxMs: lat[lat.length - 1] ?? NaN };
}

/** The little of the DOM the log checks use (evaluated in the page; typed here without the DOM lib). */
interface DomNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
interface DomGlobals {
  document: { querySelector(selector: string): DomNode | null; querySelectorAll(selector: string): ArrayLike<DomNode> };
}

/** Milliseconds from `act` until `drawn(arg)` holds in the page, checked every frame. */
async function timed<A>(page: Page, act: () => Promise<unknown>, drawn: (arg: A) => boolean, arg: A): Promise<number> {
  const t0 = Date.now();
  await act();
  await page.waitForFunction(drawn as (arg: unknown) => boolean, arg as unknown, { polling: "raf", timeout: 60_000 });
  return Date.now() - t0;
}

/** The `seq` job's own command: the third section (after the env export and the files). */
const SECTION = '[data-testid="job-log-section"][data-command="2"]';

const folded = (want: { selector: string; folded: string }) => (globalThis as unknown as DomGlobals).document.querySelector(want.selector)?.getAttribute("data-folded") === want.folded;

/** Search, fold, unfold and scroll a log of `lines` lines (a `seq` job), each the median of 3. */
async function runLogScale(hub: Hub, page: Page, lines: number): Promise<Record<string, number>> {
  const { job_id } = hub.scheduleJob(makeJobRequest({ commands: [`seq 1 ${lines}`] }));
  await waitFor(`the ${lines}-line job`, () => hub.job(job_id)?.status === "finished", 300_000, 100);
  // Opened again from History: the Job view re-reads the whole log from the local history.
  await page.getByTestId("nav-history").click();
  const loadStart = Date.now();
  await page.locator(`[data-testid="history-row"][data-job-id="${job_id}"]`).click();
  await page.waitForFunction(
    (n) => {
      const doc = (globalThis as unknown as DomGlobals).document;
      return Number(doc.querySelector('[data-testid="job-terminal"]')?.getAttribute("data-lines") ?? 0) > n && /passed/i.test(doc.querySelector('[data-testid="job-result"]')?.textContent ?? "");
    },
    lines,
    { polling: "raf", timeout: 300_000 },
  );
  const loadedMs = Date.now() - loadStart;
  const query = String(lines - 1);
  const header = page.locator(SECTION);
  const scroller = page.getByTestId("job-log-scroll");
  const input = page.getByTestId("job-search-input");
  const search: number[] = [];
  const fold: number[] = [];
  const unfold: number[] = [];
  const scroll: number[] = [];
  for (let round = 0; round < 3; round++) {
    await input.fill("");
    search.push(await timed(page, () => input.fill(query), (q) => (globalThis as unknown as DomGlobals).document.querySelector("mark.log-match.active")?.textContent === q, query));
    await input.fill("");
    await scroller.evaluate((el) => (el.scrollTop = 0));
    await page.waitForFunction((selector) => (globalThis as unknown as DomGlobals).document.querySelector(selector) !== null, SECTION, { polling: "raf" });
    if ((await header.getAttribute("data-folded")) === "true") await header.click();
    await page.waitForFunction(folded, { selector: SECTION, folded: "false" }, { polling: "raf" });
    fold.push(await timed(page, () => header.click(), folded, { selector: SECTION, folded: "true" }));
    unfold.push(await timed(page, () => header.click(), folded, { selector: SECTION, folded: "false" }));
    const target = Math.floor(lines / 2) - round * 97;
    scroll.push(
      await timed(
        page,
        () => scroller.evaluate((el, t) => (el.scrollTop = (t.target / t.lines) * el.scrollHeight), { target, lines }),
        (t) => {
          const rows = Array.from((globalThis as unknown as DomGlobals).document.querySelectorAll('[data-testid="job-log-rows"] .log-line .log-text'));
          const n = rows.map((e) => Number(e.textContent)).find((v) => v > 0);
          return n !== undefined && Math.abs(n - t.target) < t.slack;
        },
        { target, slack: Math.max(50, target / 100) },
      ),
    );
  }
  const med = (v: number[]) => quantile([...v].sort((a, b) => a - b), 0.5);
  return { lines, loadedMs, searchMs: med(search), foldMs: med(fold), unfoldMs: med(unfold), scrollMs: med(scroll), ...(await heap(page)) };
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
    const small = await runLogScale(hub, page, 1_000);
    const big = await runLogScale(hub, page, 1_000_000);
    return {
      "ui-log-small": small,
      "ui-log-big": big,
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
