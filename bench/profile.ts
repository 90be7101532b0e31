// (profile) Where a 50 MB flood's time goes, each process profiled in the same run: the page
// (Chromium's renderer, through CDP's Profiler), the console process (host, agent, shell executor:
// node --cpu-prof, written when it exits) and this process (the local hub that takes the log,
// through node:inspector). Prints each one's sampled CPU and its heaviest functions by self time.
import { readdirSync, readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { runFlood } from "./console.js";
import { startConsoleSession } from "./session.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time per function (and per category: idle, GC, program, our code, a library), in ms. */
function summarise(profile: CpuProfile): { sampledMs: number; busyMs: number; top: { name: string; ms: number }[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i] as number, (self.get(samples[i] as number) ?? 0) + (deltas[i] ?? 0) / 1000);
  const byName = new Map<string, number>();
  let idle = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame;
    const fn = frame?.functionName || "(anonymous)";
    if (fn === "(idle)") {
      idle += ms;
      continue;
    }
    const where = frame?.url ? ` ${basename(frame.url.split("?")[0] ?? "")}:${(frame.lineNumber ?? 0) + 1}` : "";
    const name = `${fn}${where}`;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  const sampledMs = (profile.endTime - profile.startTime) / 1000;
  const top = [...byName.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms).slice(0, 10);
  return { sampledMs, busyMs: sampledMs - idle, top };
}

export async function floodProfile(floodMb: number): Promise<Record<string, unknown>> {
  const profDir = mkdtempSync(join(tmpdir(), "sa-bench-prof-"));
  const session = await startConsoleSession({ nextSyncAfter: 200 }, ["--cpu-prof", `--cpu-prof-dir=${profDir}`]);
  const { hub, page, url } = session;
  const inspector = new Session();
  inspector.connect();
  const out: Record<string, unknown> = {};
  try {
    await page.goto(url);
    await page.getByTestId("nav-job").click();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
    await inspector.post("Profiler.enable");
    await inspector.post("Profiler.setSamplingInterval", { interval: 1000 });
    await cdp.send("Profiler.start");
    await inspector.post("Profiler.start");
    const flood = await runFlood(hub, page, floodMb);
    const pageProfile = (await cdp.send("Profiler.stop")).profile as unknown as CpuProfile;
    const hubProfile = (await inspector.post("Profiler.stop")).profile as unknown as CpuProfile;
    await cdp.detach();
    out.flood = flood;
    out.page = summarise(pageProfile);
    out.hub = summarise(hubProfile);
  } finally {
    inspector.disconnect();
    await session.close(); // the console exits: node writes its profile
  }
  const file = readdirSync(profDir).find((f) => f.endsWith(".cpuprofile"));
  // The console's profile spans its whole life; the flood is most of its busy time.
  if (file) out.console = summarise(JSON.parse(readFileSync(join(profDir, file), "utf8")) as CpuProfile);
  const flood = out.flood as Record<string, number>;
  console.log(`\n(profile) a ${floodMb} MB flood in the web console: ${flood.mbPerSecond?.toFixed(1)} MB/s; CPU by process and the heaviest functions (self time)`);
  for (const key of ["page", "console", "hub"] as const) {
    const s = out[key] as ReturnType<typeof summarise> | undefined;
    if (!s) {
      console.log(`    ${key}: no profile`);
      continue;
    }
    const label = { page: "the page (Chromium renderer)", console: "the console process (host, agent, shell; whole life)", hub: "the hub (this process)" }[key];
    console.log(`    ${label}: ${(s.busyMs / 1000).toFixed(2)} s busy of ${(s.sampledMs / 1000).toFixed(2)} s sampled`);
    for (const t of s.top.slice(0, 8)) console.log(`      ${t.ms.toFixed(0).padStart(6)} ms  ${t.name}`);
  }
  return out;
}
