// The debug terminal under a flood, in Debian's Chromium: a real `semaphore-agent console` process
// whose agent runs a job that waits; the page opens a debug terminal for it from the Job view (the
// "Open debug terminal" button) and types into the real shell as a person would.
//   (debug-flood) `yes | head -c N; echo marker` typed into the terminal: time from Enter until the
//                 terminal shows the marker, against the same command through a PTY read by nothing
//                 else (bench (a)'s floor, `script -qc`); CPU used by the console and Chromium; meanwhile the
//                 page's main-thread stalls, frame gaps, click latency and evaluate round trips, the
//                 console process's RSS, the page's JS heap, and the most output the page held
//                 unacknowledged (received - acked) against TERMINAL_HIGH_WATER
//   (debug-ctrl-c) an unbounded `yes` for a few seconds, then Ctrl-C: time until the prompt is shown
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CDPSession, Page } from "playwright-core";
import { TERMINAL_BATCH_CHARS, TERMINAL_HIGH_WATER } from "../agent-core/host/contract.js";
import { makeJobRequest } from "../hub/hub.js";
import { clickPoint, heap, installClickTimer, MB, startConsoleSession, startPageMonitor, stopPageMonitor, timedClick } from "./session.js";
import { cpuTicks, descendantsNamed, ptyFloorSeconds, quantile, rssMB, sleep, ticksPerSecond, waitFor } from "./util.js";

export interface DebugBenchOptions {
  /** Size of the bounded flood, in MB of 10^6 bytes. */
  floodMb: number;
  /** How long the unbounded `yes` runs before Ctrl-C. */
  yesSeconds: number;
}

/** The marker printed after the flood: the typed command line shows `$((6*7))`, only the output `42`. */
const DONE_TYPED = "echo FLOOD-DONE-$((6*7))";
const DONE_SHOWN = "^FLOOD-DONE-42$";
/** The prompt the bench sets, so that "the prompt is back" is one recognisable last line. */
const PS1_TYPED = "PS1='BENCH-$((6*7))\\$ '";
const PROMPT_SHOWN = "^BENCH-42[#$]$";

interface Stats {
  received: number;
  parsed: number;
  acked: number;
  pending: number;
}
interface Probe {
  debugTerminalText(): string;
  debugTerminalStats(): Stats;
}
/** What the bench leaves in the page (evaluated there; typed here without the DOM lib). */
interface PageGlobals {
  __semaphoreAgentProbe: Probe;
  __flow: { maxUnacked: number; maxPending: number; timer: ReturnType<typeof setInterval> | undefined };
  performance: { memory?: { usedJSHeapSize: number } };
}

const stats = (page: Page): Promise<Stats> =>
  page.evaluate(() => (globalThis as unknown as PageGlobals).__semaphoreAgentProbe.debugTerminalStats());

const perfMemoryMB = (page: Page): Promise<number> =>
  page.evaluate(() => ((globalThis as unknown as PageGlobals).performance.memory?.usedJSHeapSize ?? NaN) / (1024 * 1024));

/**
 * Resolves with the page's Date.now() once one of the terminal's last `lastLines` non-empty lines
 * matches `pattern`. The buffer's text is read only when the terminal has parsed everything it
 * received and at least `minParsed` characters (at most every 20 ms), or once a second regardless:
 * reading it is not free, and would slow what is measured.
 */
async function shownAt(page: Page, pattern: string, options: { lastLines: number; minParsed?: number; timeoutMs: number }): Promise<number> {
  const at = await page.evaluate(
    async ({ pattern, lastLines, minParsed, timeoutMs }) => {
      const probe = (globalThis as unknown as PageGlobals).__semaphoreAgentProbe;
      const re = new RegExp(pattern);
      const deadline = Date.now() + timeoutMs;
      let readAt = 0;
      let readParsed = -1;
      for (;;) {
        const s = probe.debugTerminalStats();
        const now = Date.now();
        const caughtUp = s.pending === 0 && s.parsed >= minParsed && s.parsed !== readParsed && now - readAt >= 20;
        if (caughtUp || now - readAt >= 1000) {
          readAt = now;
          readParsed = s.parsed;
          const lines = probe.debugTerminalText().split("\n").filter((l) => l.trim() !== "");
          if (lines.slice(-lastLines).some((l) => re.test(l))) return now;
        }
        if (now > deadline) return null;
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    { pattern, lastLines: options.lastLines, minParsed: options.minParsed ?? 0, timeoutMs: options.timeoutMs },
  );
  if (at === null) {
    const text = await page.evaluate(() => (globalThis as unknown as PageGlobals).__semaphoreAgentProbe.debugTerminalText().slice(-1000));
    throw new Error(`the debug terminal never showed /${pattern}/; it ends with:\n${text}`);
  }
  return at;
}

/** In the page, every 5 ms: the most output received and not acknowledged, and received and not parsed. */
async function startFlowSampler(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    w.__flow = { maxUnacked: 0, maxPending: 0, timer: undefined };
    w.__flow.timer = setInterval(() => {
      const s = w.__semaphoreAgentProbe.debugTerminalStats();
      w.__flow.maxUnacked = Math.max(w.__flow.maxUnacked, s.received - s.acked);
      w.__flow.maxPending = Math.max(w.__flow.maxPending, s.pending);
    }, 5);
  });
}

async function stopFlowSampler(page: Page): Promise<{ maxUnacked: number; maxPending: number }> {
  return await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals;
    clearInterval(w.__flow.timer);
    return { maxUnacked: w.__flow.maxUnacked, maxPending: w.__flow.maxPending };
  });
}

/** The console process's RSS, sampled every 50 ms from /proc/PID/status. */
class RssSampler {
  max: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.max = rssMB(pid);
    this.timer = setInterval(() => {
      this.max = Math.max(this.max, rssMB(this.pid));
    }, 50);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** CPU ticks used so far by each of `pids` (0 for one that is gone). */
const cpuOf = (pids: number[]): Map<number, number> => new Map(pids.map((pid) => [pid, cpuTicks(pid) || 0]));

/** CPU seconds `pids` used between two cpuOf() samples. */
function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>, ticks: number): number {
  let used = 0;
  for (const [pid, t] of after) used += t - (before.get(pid) ?? 0);
  return used / ticks;
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted.at(-1) ?? NaN };
};

export async function debugBenchmarks(o: DebugBenchOptions): Promise<Record<string, Record<string, number | string>>> {
  const bytes = Math.round(o.floodMb * 1e6);
  const flood = `yes | head -c ${bytes}`;
  const floorSeconds = ptyFloorSeconds(flood);

  const { hub, con, page, url, close } = await startConsoleSession({ nextSyncAfter: 200 });
  let rss: RssSampler | null = null;
  let cdp: CDPSession | null = null;
  try {
    // A job that waits (so it can be debugged while it runs) with a variable of its own.
    const { job_id } = hub.scheduleJob(
      makeJobRequest({ env: { BENCH_VAR: "debug bench" }, commands: ['while [ ! -f "$HOME/release" ]; do sleep 0.1; done'] }),
    );
    await page.goto(url);
    await page.getByTestId("nav-job").click();
    await waitFor("the job in the Job view", async () => (await page.getByTestId("job-id").textContent())?.includes(job_id), 20_000, 100);
    await waitFor("the debug button to be enabled", () => page.getByTestId("debug-open").isEnabled(), 20_000, 100);
    const openedAt = Date.now();
    await page.getByTestId("debug-open").click();
    const terminal = page.getByTestId("debug-terminal");
    await terminal.waitFor();
    await shownAt(page, `Debug shell for job ${job_id}`, { lastLines: 50, timeoutMs: 20_000 });
    const openMs = Date.now() - openedAt;
    const renderer = (await page.locator('[data-testid="debug-terminal"] .debug-xterm').getAttribute("data-renderer")) ?? "?";
    await terminal.click();
    await page.keyboard.type(`${PS1_TYPED}; echo "var=$BENCH_VAR"`);
    await page.keyboard.press("Enter");
    await shownAt(page, PROMPT_SHOWN, { lastLines: 1, timeoutMs: 10_000 });
    await shownAt(page, "^var=debug bench$", { lastLines: 3, timeoutMs: 1000 });

    // -- the bounded flood -------------------------------------------------------------------
    cdp = await page.context().newCDPSession(page);
    const liveHeapMB = async () => ((await cdp!.send("Runtime.getHeapUsage")).usedSize as number) / MB;
    const heapBefore = await heap(page);
    const perfBefore = await perfMemoryMB(page);
    const rssBefore = rssMB(con.pid);
    await page.keyboard.type(`${flood}; ${DONE_TYPED}`);
    const before = await stats(page);
    await startFlowSampler(page);
    await startPageMonitor(page, { frames: true });
    const at = await clickPoint(page, "nav-job");
    await installClickTimer(page);
    rss = new RssSampler(con.pid);
    const ticks = ticksPerSecond();
    const chromiumPids = descendantsNamed(process.pid, "chromium");
    const consoleCpuBefore = cpuTicks(con.pid);
    const chromiumCpuBefore = cpuOf(chromiumPids);
    const enterAt = Date.now();
    await page.keyboard.press("Enter");
    // "y\n" lines: the PTY turns each \n into \r\n, so the terminal gets 1.5 characters per byte.
    const done = shownAt(page, DONE_SHOWN, { lastLines: 3, minParsed: before.parsed + bytes * 1.5 - 1024, timeoutMs: 300_000 });
    let finished = false;
    done.then(
      () => (finished = true),
      () => (finished = true),
    );
    const clicks: number[] = [];
    const evals: number[] = [];
    let peakLiveHeap = 0;
    while (!finished) {
      clicks.push(await timedClick(page, at));
      const e0 = Date.now();
      await page.evaluate(() => 0);
      evals.push(Date.now() - e0);
      peakLiveHeap = Math.max(peakLiveHeap, await liveHeapMB());
      await sleep(200);
    }
    const doneAt = await done;
    const consoleCpuSeconds = (cpuTicks(con.pid) - consoleCpuBefore) / ticks;
    const chromiumCpuSeconds = cpuSecondsBetween(chromiumCpuBefore, cpuOf(chromiumPids), ticks);
    const monitor = await stopPageMonitor(page);
    const after = await stats(page);
    const floodSeconds = (doneAt - enterAt) / 1000;
    const floodRssPeak = rss.max;

    // -- unbounded `yes`, then Ctrl-C --------------------------------------------------------
    await terminal.click(); // the clicks above moved the focus to the nav bar
    await page.keyboard.type("yes");
    await page.keyboard.press("Enter");
    const yesStart = await stats(page);
    const yesT0 = Date.now();
    await sleep(o.yesSeconds * 1000);
    const yesEnd = await stats(page);
    const yesSeconds = (Date.now() - yesT0) / 1000;
    const ctrlCAt = Date.now();
    await page.keyboard.press("Control+C");
    const promptAt = await shownAt(page, PROMPT_SHOWN, { lastLines: 1, timeoutMs: 60_000 });
    const atPrompt = await stats(page);
    await sleep(1000);
    const settled = await stats(page);
    const flow = await stopFlowSampler(page);
    rss.stop();
    const rssPeak = rss.max;
    const rssAfter = rssMB(con.pid);
    const perfAfter = await perfMemoryMB(page);
    const heapAfter = await heap(page);

    const lag = summary(monitor.lags);
    const frames = summary(monitor.frames);
    const click = summary(clicks);
    const evalRt = summary(evals);
    writeFileSync(join(con.home, "release"), ""); // let the job finish
    await waitFor("the job to finish", () => hub.job(job_id)?.status === "finished", 10_000, 50).catch(() => undefined);
    return {
      "debug-flood": {
        renderer,
        openMs,
        mb: bytes / 1e6,
        floorSeconds,
        floorMBps: bytes / 1e6 / floorSeconds,
        seconds: floodSeconds,
        mbPerSecond: bytes / 1e6 / floodSeconds,
        ratio: floodSeconds / floorSeconds,
        charsParsed: after.parsed - before.parsed,
        mainThreadLagMedianMs: lag.median,
        mainThreadLagP95Ms: lag.p95,
        mainThreadLagMaxMs: lag.max,
        frameGapMedianMs: frames.median,
        frameGapP95Ms: frames.p95,
        frameGapMaxMs: frames.max,
        frames: frames.n,
        clicks: click.n,
        clickMedianMs: click.median,
        clickMaxMs: click.max,
        evalMedianMs: evalRt.median,
        evalMaxMs: evalRt.max,
        consoleCpuSeconds,
        chromiumCpuSeconds,
        chromiumProcesses: chromiumPids.length,
        rssBeforeMB: rssBefore,
        rssPeakFloodMB: floodRssPeak,
      },
      "debug-ctrl-c": {
        yesSeconds,
        yesMBps: (yesEnd.received - yesStart.received) / 1.5 / 1e6 / yesSeconds,
        ctrlCToPromptMs: promptAt - ctrlCAt,
        charsAfterCtrlC: atPrompt.received - yesEnd.received,
        charsAfterPrompt: settled.received - atPrompt.received,
      },
      "debug-memory": {
        highWater: TERMINAL_HIGH_WATER,
        maxUnacked: flow.maxUnacked,
        maxUnackedBound: TERMINAL_HIGH_WATER + TERMINAL_BATCH_CHARS,
        maxPending: flow.maxPending,
        rssBeforeMB: rssBefore,
        rssPeakMB: rssPeak,
        rssAfterMB: rssAfter,
        perfMemoryBeforeMB: perfBefore,
        perfMemoryAfterMB: perfAfter,
        heapBeforeMB: heapBefore.jsHeapMB,
        heapPeakLiveMB: peakLiveHeap,
        heapAfterMB: heapAfter.jsHeapMB,
        domNodesBefore: heapBefore.domNodes,
        domNodesAfter: heapAfter.domNodes,
      },
    };
  } finally {
    rss?.stop();
    await cdp?.detach().catch(() => undefined);
    await close();
  }
}
