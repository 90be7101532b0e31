// `npm run bench`: figures for the agent's speed and footprint, measured side by side in one run.
// Nothing here is asserted; the printed numbers (and bench/out/results.json) are the result.
//   (a) log throughput: 200 MB of output through agent + hub vs. the PTY floor (`script`)
//   (b) pickup latency: schedule at the hub -> first user command starts, over 50 jobs
//   (c) idle agent: RSS and CPU over 60 s
//   (ui) the web console in Chromium: line latency, a 50 MB flood rendered, page memory (bench/console.ts)
//   (debug) the debug terminal in Chromium: a 50 MB `yes` flood vs. the PTY floor, the page meanwhile,
//           memory and flow control, Ctrl-C of an unbounded `yes` (bench/debug.ts)
//   (sandbox) what the strict sandbox costs: job start time and log throughput, none vs strict side by side
//   (pause) Pause, click -> disconnected at the hub, idle and with a running job (bench/pause.ts)
//   (gpu) what the 1 Hz GPU telemetry costs this process, on vs off (bench/gpu.ts)
//   (agents) memory per extra agent: 1 agent vs 4 (one per GPU) on the stand-in's 4 GPUs (bench/gpu.ts)
//   (start) a second `npm start -- --console` with nothing changed, to the console's URL (bench/start.ts)
//   (profile) where a 50 MB flood's time goes: the page, the console process and the hub profiled in one run (bench/profile.ts; only with --only profile)
// Options: --only a|b|c|ui|debug|sandbox|pause|gpu|agents|start|profile (repeatable; profile only when named), --pause-rounds N, --gpu-seconds N, --sandbox-jobs N, --sandbox-mb N, --mb N (size for a), --jobs N (for b), --idle-seconds N
// (for c), --ui-mb N (flood size for ui), --ui-lines N (latency lines for ui), --debug-mb N (flood size
// for debug), --debug-yes-seconds N (how long debug's unbounded `yes` runs before Ctrl-C).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuTicks, ptyFloorSeconds, quantile, rssMB, sleep, ticksPerSecond, waitFor } from "./util.js";
import { startHub, type Hub } from "../hub/hub.js";
import { consoleBenchmarks } from "./console.js";
import { debugBenchmarks } from "./debug.js";
import { pauseBenchmarks } from "./pause.js";
import { gpuSamplerCost, memoryPerAgent } from "./gpu.js";
import { startAgain } from "./start.js";
import { floodProfile } from "./profile.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "bin/semaphore-agent");

interface Options {
  only: Set<string>;
  mb: number;
  jobs: number;
  idleSeconds: number;
  uiMb: number;
  uiLines: number;
  debugMb: number;
  debugYesSeconds: number;
  sandboxJobs: number;
  sandboxMb: number;
  pauseRounds: number;
  gpuSeconds: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { only: new Set(), mb: 200, jobs: 50, idleSeconds: 60, uiMb: 50, uiLines: 100, debugMb: 50, debugYesSeconds: 5, sandboxJobs: 30, sandboxMb: 100, pauseRounds: 5, gpuSeconds: 30 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => Number(argv[++i]);
    if (a === "--only") o.only.add(String(argv[++i]));
    else if (a === "--mb") o.mb = next();
    else if (a === "--jobs") o.jobs = next();
    else if (a === "--idle-seconds") o.idleSeconds = next();
    else if (a === "--ui-mb") o.uiMb = next();
    else if (a === "--ui-lines") o.uiLines = next();
    else if (a === "--debug-mb") o.debugMb = next();
    else if (a === "--debug-yes-seconds") o.debugYesSeconds = next();
    else if (a === "--sandbox-jobs") o.sandboxJobs = next();
    else if (a === "--sandbox-mb") o.sandboxMb = next();
    else if (a === "--pause-rounds") o.pauseRounds = next();
    else if (a === "--gpu-seconds") o.gpuSeconds = next();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}



class AgentProcess {
  readonly child: ChildProcess;
  stderr = "";
  readonly dir = mkdtempSync(join(tmpdir(), "sa-bench-"));

  constructor(hub: Hub, extraArgs: string[] = []) {
    const home = join(this.dir, "home");
    const tmp = join(this.dir, "tmp");
    mkdirSync(home);
    mkdirSync(tmp);
    this.child = spawn(
      process.execPath,
      [CLI, "start", "--endpoint", hub.endpoint, "--no-https", "--token", hub.registrationToken, ...extraArgs],
      { cwd: home, env: { ...process.env, HOME: home, TMPDIR: tmp }, stdio: ["ignore", "ignore", "pipe"] },
    );
    this.child.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGKILL");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}


async function waitForIdleAgent(hub: Hub, agent: AgentProcess): Promise<string> {
  const view = await waitFor(
    "the agent to register and wait for jobs",
    () => hub.agents().find((a) => a.register.pid === agent.pid && a.state === "waiting-for-jobs"),
    30_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nagent stderr:\n${agent.stderr}`);
  });
  return view.name;
}

/** Prints the first command's start time (ns) so latency is measured from inside the job. */
const NOW_NS = "date +%s%N";

function outputsOf(hub: Hub, jobId: string): string[] {
  return hub.events(jobId).flatMap((e) => (e.event === "cmd_output" ? [e.output] : []));
}

// ---------------------------------------------------------------------------------------------
// (a) throughput

async function throughput(o: Options): Promise<Record<string, number>> {
  const lines = Math.round((o.mb * 1_000_000) / 100);
  // 99 characters + newline = 100 bytes per line.
  const line = "semaphore-agent-desktop throughput benchmark: the quick brown fox jumps over the lazy dog ".padEnd(99, "0");
  const command = `yes '${line}' | head -n ${lines}`;
  const bytes = lines * 100;

  const floorSeconds = ptyFloorSeconds(command);

  const hub = await startHub({ nextSyncAfter: 1000 });
  const agent = new AgentProcess(hub);
  try {
    await waitForIdleAgent(hub, agent);
    const { job_id } = hub.scheduleJob({
      commands: [{ directive: NOW_NS }, { directive: command }],
      env_vars: [],
      files: [],
    });
    // Finished = the hub holds job_finished (which follows every output event).
    await waitFor(
      "the job's last event at the hub",
      () => {
        const view = hub.job(job_id);
        if (!view || view.event_count === 0) return false;
        const last = hub.logLines(job_id).at(-1);
        return last?.includes('"job_finished"') ?? false;
      },
      600_000,
      10,
    );
    const endNs = process.hrtime.bigint();
    const endWallNs = BigInt(Date.now()) * 1_000_000n;
    const outputs = outputsOf(hub, job_id);
    const events = hub.events(job_id);
    const startNs = BigInt((outputs[0] ?? "0").trim());
    const agentSeconds = Number(endWallNs - startNs) / 1e9;
    void endNs;
    // Output of the flood command: everything after the first command's finish.
    let received = 0;
    let inFlood = false;
    for (const e of events) {
      if (e.event === "cmd_started") inFlood = e.directive === command;
      else if (e.event === "cmd_output" && inFlood) received += Buffer.byteLength(e.output);
    }
    const violations = hub.violations().length;
    const result = {
      bytes,
      receivedBytes: received,
      events: events.length,
      floorSeconds,
      floorMBps: bytes / 1e6 / floorSeconds,
      agentSeconds,
      agentMBps: bytes / 1e6 / agentSeconds,
      ratio: agentSeconds / floorSeconds,
      violations,
    };
    console.log(`\n(a) log throughput — ${(bytes / 1e6).toFixed(0)} MB of text lines`);
    console.log(`    floor  script -qc CMD /dev/null > /dev/null : ${floorSeconds.toFixed(2)} s  ${result.floorMBps.toFixed(1)} MB/s`);
    console.log(`    agent  first command start -> hub holds job_finished : ${agentSeconds.toFixed(2)} s  ${result.agentMBps.toFixed(1)} MB/s`);
    console.log(`    ratio  agent / floor = ${result.ratio.toFixed(2)}   (target <= 1.5)`);
    console.log(`    hub received ${received} of ${bytes} output bytes in ${events.length} events; protocol violations: ${violations}`);
    return result;
  } finally {
    await agent.stop();
    await hub.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) pickup latency

async function pickup(o: Options): Promise<Record<string, number>> {
  const nextSyncAfter = 1000;
  const hub = await startHub({ nextSyncAfter });
  const agent = new AgentProcess(hub);
  const latencies: number[] = [];
  try {
    const name = await waitForIdleAgent(hub, agent);
    // Jobs arrive at points spread evenly over the sync cycle (in shuffled order): the same
    // distribution as random arrivals, without the sampling noise of 50 random draws.
    const phases = Array.from({ length: o.jobs }, (_, i) => ((i + 0.5) / o.jobs) * nextSyncAfter).sort(() => Math.random() - 0.5);
    for (const phase of phases) {
      // The hub records the agent's sync as it answers it; `phase` ms after that, the job arrives.
      const syncs = hub.agent(name)?.sync_count ?? 0;
      await waitFor(
        "the agent's next sync while waiting for jobs",
        () => {
          const view = hub.agent(name);
          return view?.state === "waiting-for-jobs" && view.sync_count > syncs;
        },
        30_000,
        2,
      );
      await sleep(phase);
      const scheduledNs = BigInt(Date.now()) * 1_000_000n;
      const { job_id } = hub.scheduleJob({ commands: [{ directive: NOW_NS }], env_vars: [], files: [] });
      await waitFor("the job to finish", () => hub.job(job_id)?.status === "finished", 60_000);
      const started = BigInt((outputsOf(hub, job_id)[0] ?? "0").trim());
      latencies.push(Number(started - scheduledNs) / 1e6);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    const p95 = quantile(sorted, 0.95);
    console.log(`\n(b) pickup latency — schedule at the hub -> first user command starts, ${o.jobs} jobs`);
    console.log(`    next_sync_after = ${nextSyncAfter} ms`);
    console.log(`    median ${median.toFixed(0)} ms (target <= ${nextSyncAfter / 2 + 100} ms)   p95 ${p95.toFixed(0)} ms (target <= ${nextSyncAfter + 150} ms)   min ${sorted[0]?.toFixed(0)} ms   max ${sorted.at(-1)?.toFixed(0)} ms`);
    console.log(`    protocol violations: ${hub.violations().length}`);
    return { nextSyncAfter, jobs: o.jobs, median, p95, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN };
  } finally {
    await agent.stop();
    await hub.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (c) idle agent

async function idle(o: Options): Promise<Record<string, number>> {
  const hub = await startHub({ nextSyncAfter: 1000 });
  const agent = new AgentProcess(hub);
  try {
    await waitForIdleAgent(hub, agent);
    await sleep(2000); // let start-up allocations settle
    const ticks = ticksPerSecond();
    const t0 = Date.now();
    const c0 = cpuTicks(agent.pid);
    let maxRss = rssMB(agent.pid);
    while (Date.now() - t0 < o.idleSeconds * 1000) {
      await sleep(1000);
      maxRss = Math.max(maxRss, rssMB(agent.pid));
    }
    const seconds = (Date.now() - t0) / 1000;
    const cpuPercent = ((cpuTicks(agent.pid) - c0) / ticks / seconds) * 100;
    const endRss = rssMB(agent.pid);
    const syncs = hub.agents().find((a) => a.register.pid === agent.pid)?.sync_count ?? 0;
    // Then one job with some output (its log goes through the log worker): what stays after it.
    const { job_id } = hub.scheduleJob({ commands: [{ directive: "seq 1 200000" }], env_vars: [], files: [] });
    await waitFor("the job to finish", () => hub.job(job_id)?.status === "finished", 60_000);
    let duringRss = rssMB(agent.pid);
    const after = Date.now();
    while (Date.now() - after < 5000) {
      await sleep(250);
      duringRss = Math.max(duringRss, rssMB(agent.pid));
    }
    const afterJobRss = rssMB(agent.pid);
    console.log(`\n(c) idle agent — ${seconds.toFixed(0)} s waiting for jobs, syncing every second (${syncs} syncs in total)`);
    console.log(`    RSS max ${maxRss.toFixed(1)} MB, at end ${endRss.toFixed(1)} MB (target <= 55 MB)   CPU ${cpuPercent.toFixed(2)} % (target <= 1 %)`);
    console.log(`    after a job of 200,000 lines: RSS ${afterJobRss.toFixed(1)} MB 5 s later (at most ${duringRss.toFixed(1)} MB meanwhile; the log worker ends 1 s after its job)`);
    return { seconds, maxRssMB: maxRss, endRssMB: endRss, cpuPercent, afterJobRssMB: afterJobRss };
  } finally {
    await agent.stop();
    await hub.close();
  }
}

async function consoleUi(o: Options): Promise<Record<string, Record<string, number>>> {
  console.log(`\n(ui) web console in Chromium: line latency over ${o.uiLines} lines, then a ${o.uiMb} MB flood, twice`);
  const r = await consoleBenchmarks({ floodMb: o.uiMb, latencyLines: o.uiLines });
  const f = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? "n/a" : n.toFixed(d));
  const lat = r["ui-latency"] ?? {};
  const flood = r["ui-flood"] ?? {};
  const mem = r["ui-memory"] ?? {};
  console.log(`  line -> rendered: median ${f(lat.medianMs, 0)} ms, p95 ${f(lat.p95Ms, 0)} ms, max ${f(lat.maxMs, 0)} ms over ${lat.lines} lines   (target: median < 100 ms)`);
  console.log(`  ${flood.mb} MB flood: last byte rendered ${f(flood.secondsToLastByte, 2)} s after the job started (${f(flood.mbPerSecond)} MB/s)`);
  console.log(`  main thread during the flood: longest stall ${f(flood.maxMainThreadStallMs, 0)} ms; ${flood.clicks} clicks (input event -> handler -> next frame painted): median ${f(flood.clickMedianMs, 0)} ms, max ${f(flood.clickMaxMs, 0)} ms   (target: every click < 200 ms)`);
  console.log(`  page JS heap: ${f(mem.baselineHeapMB)} MB before, ${f(mem.afterFloodHeapMB)} MB after the flood, ${f(mem.afterSecondFloodHeapMB)} MB after a second one; DOM nodes ${mem.baselineDomNodes} -> ${mem.afterSecondFloodDomNodes}   (target: one job's log, bounded by the log's limits)`);
  const small = r["ui-log-small"] ?? {};
  const big = r["ui-log-big"] ?? {};
  const ratio = (k: string) => f((big[k] as number) / Math.max(1, small[k] as number));
  console.log(`  a log of ${small.lines} lines vs one of ${big.lines} lines (input -> drawn, median of 3; the big one's page heap ${f(big.jsHeapMB)} MB):`);
  for (const [k, name] of [["searchMs", "search to the last line"], ["foldMs", "fold its section"], ["unfoldMs", "unfold it"], ["scrollMs", "scroll to the middle"]] as const) {
    console.log(`    ${name.padEnd(24)} ${f(small[k], 0).padStart(5)} ms vs ${f(big[k], 0).padStart(5)} ms  (x${ratio(k)})`);
  }
  console.log(`    opened from History (the whole log re-read from the local store): ${f(small.loadedMs, 0)} ms vs ${f(big.loadedMs, 0)} ms   (target: a million lines fold, search and scroll in well under a second)`);
  return r;
}

async function debugTerminal(o: Options): Promise<Record<string, Record<string, number | string>>> {
  console.log(`\n(debug) debug terminal in Chromium: \`yes | head -c ${Math.round(o.debugMb * 1e6)}\` typed into it, then \`yes\` for ${o.debugYesSeconds} s and Ctrl-C`);
  const started = Date.now();
  const r = await debugBenchmarks({ floodMb: o.debugMb, yesSeconds: o.debugYesSeconds });
  const f = (n: number | string | undefined, d = 1) => (typeof n !== "number" || Number.isNaN(n) ? "n/a" : n.toFixed(d));
  const fl = r["debug-flood"] ?? {};
  const cc = r["debug-ctrl-c"] ?? {};
  const mem = r["debug-memory"] ?? {};
  console.log(`  xterm renderer: ${fl.renderer}; terminal opened (click -> banner shown) in ${f(fl.openMs, 0)} ms`);
  console.log(`  floor  script -qc CMD /dev/null > /dev/null : ${f(fl.floorSeconds, 2)} s  ${f(fl.floorMBps)} MB/s`);
  console.log(`  debug terminal  Enter -> marker after the flood shown : ${f(fl.seconds, 2)} s  ${f(fl.mbPerSecond)} MB/s  (${f((fl.charsParsed as number) / 1e6)} M chars parsed)`);
  console.log(`  ratio  debug terminal / floor = ${f(fl.ratio, 2)}`);
  const cores = (await import("node:os")).cpus().length;
  console.log(`  CPU in the flood (${f(fl.seconds, 1)} s x ${cores} cores = ${f((fl.seconds as number) * cores, 1)} CPU-s): console process ${f(fl.consoleCpuSeconds)} s, Chromium (${fl.chromiumProcesses} processes) ${f(fl.chromiumCpuSeconds)} s`);
  console.log(`  page during the flood: main-thread lag (10 ms timer) median ${f(fl.mainThreadLagMedianMs, 0)} / p95 ${f(fl.mainThreadLagP95Ms, 0)} / max ${f(fl.mainThreadLagMaxMs, 0)} ms; frame gaps median ${f(fl.frameGapMedianMs, 0)} / p95 ${f(fl.frameGapP95Ms, 0)} / max ${f(fl.frameGapMaxMs, 0)} ms over ${fl.frames} frames`);
  console.log(`                         ${fl.clicks} clicks (input event -> handler -> next frame): median ${f(fl.clickMedianMs, 0)} ms, max ${f(fl.clickMaxMs, 0)} ms; page.evaluate round trip median ${f(fl.evalMedianMs, 0)} ms, max ${f(fl.evalMaxMs, 0)} ms   (target: every click < 200 ms)`);
  console.log(`  flow control: max unacknowledged ${mem.maxUnacked} chars (received - acked, page side) vs TERMINAL_HIGH_WATER ${mem.highWater} (+ one batch: ${mem.maxUnackedBound}); max unparsed ${mem.maxPending} chars`);
  console.log(`  console RSS: ${f(mem.rssBeforeMB)} MB before, peak ${f(fl.rssPeakFloodMB)} MB in the flood, ${f(mem.rssPeakMB)} MB in all, ${f(mem.rssAfterMB)} MB after`);
  console.log(`  page JS heap: performance.memory ${f(mem.perfMemoryBeforeMB)} -> ${f(mem.perfMemoryAfterMB)} MB; after GC ${f(mem.heapBeforeMB)} -> ${f(mem.heapAfterMB)} MB, peak seen ${f(mem.heapPeakLiveMB)} MB (no GC); DOM nodes ${mem.domNodesBefore} -> ${mem.domNodesAfter}`);
  console.log(`  unbounded yes: ${f(cc.yesMBps)} MB/s for ${f(cc.yesSeconds)} s; Ctrl-C -> prompt shown ${f(cc.ctrlCToPromptMs, 0)} ms (${cc.charsAfterCtrlC} chars still came); ${cc.charsAfterPrompt} chars in the second after the prompt`);
  console.log(`  (this part took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// (sandbox) what strict costs

/**
 * Two agents side by side, each with its own hub and the same kind of private job home (cleaned
 * after each job): one with `--sandbox none`, one with `--sandbox strict` (bubblewrap). Jobs go to
 * them in turn, one at a time, so both see the same machine.
 *   start: the hub hands the job over (its started_at, in the sync answer) -> the first command
 *          runs (`date +%s%N` inside the job): fetch, job home, env file, the shell (in bwrap), the preamble.
 *   throughput: as (a), `--sandbox-mb` MB of text lines, four rounds each, alternating (the median).
 */
const SANDBOX_FLOOD_ROUNDS = 4;

async function sandboxCost(o: Options): Promise<Record<string, unknown>> {
  const levels = ["none", "strict"] as const;
  const sides = await Promise.all(
    levels.map(async (level) => {
      const hub = await startHub({ nextSyncAfter: 200 });
      const agent = new AgentProcess(hub, ["--sandbox", level, "--job-home", join(tmpdir(), `sa-bench-jobhome-${level}-${process.pid}`)]);
      return { level, hub, agent, starts: [] as number[], floods: [] as number[] };
    }),
  );
  try {
    for (const side of sides) await waitForIdleAgent(side.hub, side.agent);
    const runJob = async (side: (typeof sides)[number], commands: string[]) => {
      const { job_id } = side.hub.scheduleJob({ commands: commands.map((directive) => ({ directive })), env_vars: [], files: [] });
      await waitFor(
        `the ${side.level} job's last event at the hub`,
        () => side.hub.logLines(job_id).at(-1)?.includes('"job_finished"') ?? false,
        600_000,
        5,
      );
      return job_id;
    };
    for (let i = 0; i < o.sandboxJobs; i++) {
      for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
        const id = await runJob(side, [NOW_NS]);
        const startedAt = Date.parse(side.hub.job(id)?.started_at ?? "");
        const firstNs = BigInt((outputsOf(side.hub, id)[0] ?? "0").trim());
        side.starts.push(Number(firstNs / 1000n) / 1000 - startedAt);
      }
    }
    const lines = Math.round((o.sandboxMb * 1_000_000) / 100);
    const line = "semaphore-agent-desktop sandbox benchmark: the quick brown fox jumps over the lazy dog ".padEnd(99, "0");
    const flood = `yes '${line}' | head -n ${lines}`;
    for (let round = 0; round < SANDBOX_FLOOD_ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const id = await runJob(side, [NOW_NS, flood]);
        const endMs = Date.now();
        const startNs = BigInt((outputsOf(side.hub, id)[0] ?? "0").trim());
        side.floods.push(endMs / 1000 - Number(startNs / 1_000_000n) / 1000);
      }
    }
    const result: Record<string, Record<string, number>> = {};
    console.log(`\n(sandbox) what the strict sandbox costs — ${o.sandboxJobs} jobs and ${SANDBOX_FLOOD_ROUNDS} × ${o.sandboxMb} MB floods per level, interleaved`);
    for (const side of sides) {
      const sorted = [...side.starts].sort((a, b) => a - b);
      const floodMedian = quantile([...side.floods].sort((a, b) => a - b), 0.5);
      result[side.level] = {
        startMedianMs: quantile(sorted, 0.5),
        startP95Ms: quantile(sorted, 0.95),
        startMinMs: sorted[0] ?? NaN,
        floodSeconds: floodMedian,
        floodMBps: o.sandboxMb / floodMedian,
        violations: side.hub.violations().length,
      };
      const r = result[side.level]!;
      console.log(
        `    ${side.level.padEnd(6)} job start (handed over -> first command) median ${r.startMedianMs!.toFixed(0)} ms, p95 ${r.startP95Ms!.toFixed(0)} ms, min ${r.startMinMs!.toFixed(0)} ms;` +
          `  log throughput ${r.floodMBps!.toFixed(1)} MB/s (median of ${side.floods.map((s) => s.toFixed(2)).join(" / ")} s); protocol violations ${r.violations}`,
      );
    }
    const none = result.none!;
    const strict = result.strict!;
    result.ratio = { startMedian: strict.startMedianMs! / none.startMedianMs!, startExtraMs: strict.startMedianMs! - none.startMedianMs!, throughput: strict.floodMBps! / none.floodMBps! };
    console.log(`    strict / none: job start ${result.ratio.startMedian!.toFixed(2)}× (+${result.ratio.startExtraMs!.toFixed(0)} ms median), log throughput ${result.ratio.throughput!.toFixed(2)}×`);
    return result;
  } finally {
    for (const side of sides) {
      await side.agent.stop();
      await side.hub.close();
      rmSync(join(tmpdir(), `sa-bench-jobhome-${side.level}-${process.pid}`), { recursive: true, force: true });
    }
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const want = (k: string) => o.only.size === 0 || o.only.has(k);
  const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
  console.log(`semaphore-agent benchmarks (node ${process.version}, ${(await import("node:os")).cpus().length} cores)`);
  if (want("a")) results.throughput = await throughput(o);
  if (want("b")) results.pickup = await pickup(o);
  if (want("c")) results.idle = await idle(o);
  if (want("ui")) results.console = await consoleUi(o);
  if (want("debug")) results.debug = await debugTerminal(o);
  if (want("sandbox")) results.sandbox = await sandboxCost(o);
  if (want("pause")) results.pause = await pauseBenchmarks(o.pauseRounds);
  if (want("gpu")) results.gpu = await gpuSamplerCost(o.gpuSeconds);
  if (want("agents")) results.agents = await memoryPerAgent();
  if (want("start")) results.start = await startAgain();
  // Profiling slows every process down: only when asked for.
  if (o.only.has("profile")) results.profile = await floodProfile(o.uiMb);
  mkdirSync(join(ROOT, "bench/out"), { recursive: true });
  writeFileSync(join(ROOT, "bench/out/results.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to bench/out/results.json`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
