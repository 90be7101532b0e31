// `semaphore-agent start | console | hub | run | toolbox`: the command-line face of the agent.
import { appendFileSync, closeSync, openSync } from "node:fs";
import { Agent } from "./agent/agent.js";
import { loadAgentConfig } from "./config/load.js";
import { ConfigError } from "./config/errors.js";
import { formatAgentEvent, parseLogLevel } from "./cli/printer.js";
import { timingsFromEnv, type AgentTimings } from "./timings.js";
import { HeadlessLending, lendingConfigured } from "./policy/headless.js";
import { checkDisk, type DiskGuardSettings } from "./disk/disk-guard.js";
import { diskGuardFromConfig, placementSettingsFromConfig } from "./sandbox/from-config.js";
import { JobPlacement } from "./sandbox/placement.js";
import type { AgentConfig } from "./config/types.js";
import { WakeableSleep } from "./util/sleep.js";
import { terminalLine } from "./util/terminal-text.js";
import { AGENT_VERSION } from "./version.js";
import { discoverGpus, headlessPlans, takeGpusFlag } from "./cli/gpus-flag.js";
import { nvidiaMinorOf } from "./gpu/plan.js";
import { compactWhenIdle } from "./util/memory.js";

const USAGE = `semaphore-agent ${AGENT_VERSION} — a Semaphore CI self-hosted agent

Usage:
  semaphore-agent start [--config-file FILE] [--endpoint HOST] [--token-file FILE] [flags]
      Run the agent headless: register with Semaphore, sync, run jobs. Flags are the official
      agent's (see README: --name, --no-https, --env-vars A=1,B=2, --disconnect-after-job, ...);
      each can also come from SEMAPHORE_AGENT_<KEY> or from the YAML config file. The token:
      SEMAPHORE_AGENT_TOKEN, 'token:' in the config file, or --token-file (--token TOKEN works
      too, but shows the token to every user of this machine in ps).
      --gpus all|per-gpu|UUID,...  lend the GPUs (nvidia-smi): one agent for all of them, one
      agent per GPU (<name>-gpu<index>, each with its own job home and TMPDIR), or one agent for
      the GPUs listed (repeat the flag for more agents). Jobs get CUDA_VISIBLE_DEVICES and
      NVIDIA_VISIBLE_DEVICES set to their agent's GPU UUIDs; one Ctrl-C stops them all.
  semaphore-agent console [--port N] [--data-dir DIR] [--install-service | --uninstall-service]
      Serve the desktop app's UI to a browser on this machine (127.0.0.1 only): prints one line,
      "Web console: http://127.0.0.1:PORT/?token=...", the URL to open. Settings, history and the
      agent are the app's (data in DIR, default $XDG_CONFIG_HOME/semaphore-agent-desktop).
      --install-service writes a systemd --user unit that runs it (port 8765 unless --port) and
      prints how to enable it; --uninstall-service removes it.
  semaphore-agent hub [--port N] [--registration-token T] [--next-sync-after MS]
      Start the local hub (a stand-in for Semaphore's control plane) on 127.0.0.1.
  semaphore-agent run JOB.yaml
      Run one job on this machine through an embedded hub and agent, printing its log live.
  semaphore-agent toolbox install [--version vX.Y.Z] [--from FILE|URL] [--home DIR]
      Install Semaphore's self-hosted toolbox (checkout, artifact, cache, ...) into DIR/.toolbox
      (default $HOME) without sudo: verified, replaced atomically; job shells load it.
  semaphore-agent toolbox status [--home DIR] [--config-file FILE]
      What of the toolbox works for jobs on this machine, and the fix for what does not.
  semaphore-agent version | help
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return await startCommand(rest);
    case "console":
      // Loaded on demand: the host (settings, history, demo hub) is not needed by the other commands.
      return await (await import("./cli/console-command.js")).runConsoleCommand(rest);
    // Loaded on demand, as the console is: the headless agent does not carry the hub in its memory.
    case "hub":
      return await (await import("./cli/hub-command.js")).runHubCommand(rest);
    case "run":
      return await (await import("./cli/run-command.js")).runJobFileCommand(rest);
    case "toolbox":
      return await (await import("./cli/toolbox-command.js")).runToolboxCommand(rest);
    case "version":
    case "--version":
      process.stdout.write(`${AGENT_VERSION}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`semaphore-agent: unknown command '${command}'\n\n${USAGE}`);
      return 1;
  }
}

async function startCommand(argvIn: string[]): Promise<number> {
  let level;
  let config: AgentConfig;
  let configFile: string | null;
  let timings: AgentTimings;
  let agents: { label: string | null; config: AgentConfig; placement: JobPlacement; env: NodeJS.ProcessEnv; gpus: string }[] = [];
  // Every line start prints or logs carries text from outside (the server's answers, job ids, the
  // config): tokens are redacted and control characters escaped, so a server cannot make it print
  // the token it was sent or drive the terminal.
  let secrets: () => string[] = () => [];
  const print = (text: string) => process.stderr.write(`${terminalLine(text, secrets())}\n`);
  try {
    level = parseLogLevel(process.env.SEMAPHORE_AGENT_LOG_LEVEL);
    const { argv, gpus } = takeGpusFlag(argvIn);
    const loaded = loadAgentConfig({ argv, env: process.env });
    ({ config, configFile } = loaded);
    secrets = () => [config.token];
    for (const warning of loaded.warnings) print(`semaphore-agent: warning: ${warning}`);
    timings = timingsFromEnv(process.env);
    if (gpus === null) {
      agents = [{ label: null, config, placement: await JobPlacement.open(placementSettingsFromConfig(config, process.env)), env: process.env, gpus: "" }];
    } else {
      const found = await discoverGpus(process.env);
      if ("error" in found) throw new ConfigError("gpus", `--gpus: no GPU to lend: ${found.error}`);
      const plans = headlessPlans(gpus, found.gpus, config.name, process.env);
      for (const p of plans) {
        const own: AgentConfig = { ...config, name: p.name, jobHome: p.jobHome ?? config.jobHome };
        const env = { ...process.env, ...p.env };
        const settings = placementSettingsFromConfig(own, env);
        settings.gpuMinors = p.plan.gpus.map((g) => nvidiaMinorOf(found.gpus.find((f) => f.uuid === g.uuid) ?? { index: g.index, busId: null }));
        const placement = await JobPlacement.open(settings);
        agents.push({ label: plans.length > 1 ? p.name : null, config: own, placement, env, gpus: `GPU ${p.plan.gpus.map((g) => g.index).join(", ")} (${p.plan.gpus.map((g) => g.uuid).join(", ")})` });
      }
    }
  } catch (error) {
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    print(`semaphore-agent: ${message}`);
    return 1;
  }
  print(`semaphore-agent ${AGENT_VERSION}: starting${agents.length > 1 ? ` ${agents.length} agents` : ""}${configFile ? ` with ${configFile}` : ""} for ${config.noHttps ? "http" : "https"}://${config.endpoint}`);
  for (const a of agents) {
    const state = a.placement.state;
    const who = a.label === null ? "semaphore-agent" : `semaphore-agent [${a.label}]`;
    if (a.gpus) print(`${who}: lends ${a.gpus}`);
    if (state.requested === "strict" || a.placement.privateHome) {
      print(`${who}: jobs run in ${state.jobHome} (sandbox: ${state.level}${a.placement.privateHome ? `, job home ${state.workspace === "clean" ? "cleaned after each job" : "kept"}` : ""})`);
    }
    if (state.notice) print(`${who}: warning: ${state.notice}`);
  }
  // SEMAPHORE_AGENT_LOG_FILE_PATH (spec §9.3): the same lines are appended to that file too.
  const logFile = process.env.SEMAPHORE_AGENT_LOG_FILE_PATH ? openLogFile(process.env.SEMAPHORE_AGENT_LOG_FILE_PATH) : null;
  const write = (line: string) => {
    process.stderr.write(`${line}\n`);
    if (logFile !== null) {
      try {
        appendFileSync(logFile, `${line}\n`);
      } catch {
        // A full disk must not stop the agent; stderr still has the line.
      }
    }
  };
  const running = new Set<Agent>();
  let interrupted = false;
  const waitForSpace = new WakeableSleep();
  // Only the first SIGINT/SIGTERM counts; later ones are swallowed (spec §3.7): the server decides.
  // One Ctrl-C interrupts every agent of the set.
  const onSignal = () => {
    interrupted = true;
    for (const agent of running) agent.interrupt();
    waitForSpace.wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const exits = await Promise.all(
      agents.map((a) =>
        runHeadlessAgent({
          ...a,
          timings,
          level,
          write: a.label === null ? write : (line) => write(`[${a.label}] ${line}`),
          running,
          waitForSpace,
          interrupted: () => interrupted,
        }),
      ),
    );
    return Math.max(...exits);
  } finally {
    if (logFile !== null) closeSync(logFile);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

interface HeadlessRun {
  config: AgentConfig;
  placement: JobPlacement;
  env: NodeJS.ProcessEnv;
  timings: AgentTimings;
  level: ReturnType<typeof parseLogLevel>;
  write: (line: string) => void;
  /** The agents running now (a signal interrupts them all). */
  running: Set<Agent>;
  waitForSpace: WakeableSleep;
  interrupted: () => boolean;
}

/** One agent of the set: registers, runs jobs, and waits out the disk guard and the owner's terms; its exit code. */
async function runHeadlessAgent(r: HeadlessRun): Promise<number> {
  const { config, placement, timings, write } = r;
  const diskGuard = diskGuardFromConfig(config);
  const lending = lendingConfigured(config) ? new HeadlessLending(config) : null;
  for (;;) {
    // The owner's terms may hold the agent before it ever registers: Semaphore would send it jobs.
    if (lending !== null) {
      const why = await lending.check();
      if (why !== null) {
        write(terminalLine(`semaphore-agent: not taking jobs: ${why}; not registering until that changes`, []));
        if (!(await lendingAllows(lending, timings, r.waitForSpace, r.interrupted))) return 0;
        write(terminalLine("semaphore-agent: lending again: registering", []));
      }
    }
    if (r.interrupted()) return 0;
    const current = new Agent({ config, timings, env: r.env, placement, diskGuard, lendingCheck: lending === null ? undefined : () => lending.check() });
    r.running.add(current);
    const unsubscribe = current.on((event) => {
      const formatted = formatAgentEvent(event, r.level);
      if (formatted) write(terminalLine(formatted, current.secrets));
      // Idle again (registered, or a job over): what start-up or the job left goes back to the system.
      if (event.type === "phase" && event.phase === "waiting-for-jobs") compactWhenIdle();
    });
    let exit;
    try {
      exit = await current.start();
    } finally {
      unsubscribe();
      r.running.delete(current);
    }
    // The disk guard or the owner's terms drained the agent: it waits, then registers again by itself.
    if (exit.drained === undefined || r.interrupted() || (diskGuard === null && lending === null)) return exit.exitCode;
    const every = timings.diskIdleCheckMs >= 1000 ? `${Math.round(timings.diskIdleCheckMs / 1000)} s` : `${timings.diskIdleCheckMs} ms`;
    write(terminalLine(`semaphore-agent: paused, not taking jobs: ${exit.drained.replace(/\.+$/, "")}; checking every ${every}`, []));
    if (diskGuard !== null && !(await spaceIsBack(placement, diskGuard, timings, r.waitForSpace, r.interrupted))) return 0;
    if (lending !== null && !(await lendingAllows(lending, timings, r.waitForSpace, r.interrupted))) return 0;
    write(terminalLine("semaphore-agent: allowed again (space, your terms): registering again", []));
  }
}

/** Waits until the disk guard says ok (true), or a signal came (false). */
async function spaceIsBack(
  placement: JobPlacement,
  guard: DiskGuardSettings,
  timings: AgentTimings,
  sleep: WakeableSleep,
  stopped: () => boolean,
): Promise<boolean> {
  const paths = [
    { label: "job home", path: placement.settings.jobHome },
    { label: "TMPDIR", path: process.env.TMPDIR || "/tmp" },
  ];
  for (;;) {
    if (stopped()) return false;
    if ((await checkDisk(paths, guard)).state === "ok") return true;
    await sleep.sleep(timings.diskIdleCheckMs);
  }
}

/** Waits until the lending policy allows work (true), or a signal came (false). */
async function lendingAllows(lending: HeadlessLending, timings: AgentTimings, sleep: WakeableSleep, stopped: () => boolean): Promise<boolean> {
  for (;;) {
    if (stopped()) return false;
    if ((await lending.check()) === null) return true;
    await sleep.sleep(timings.lendingPollMs);
  }
}

function openLogFile(path: string): number | null {
  try {
    return openSync(path, "a", 0o600);
  } catch (error) {
    const message = `semaphore-agent: cannot open SEMAPHORE_AGENT_LOG_FILE_PATH ${path}: ${(error as Error).message}; logging to stderr only`;
    process.stderr.write(`${terminalLine(message, [])}\n`);
    return null;
  }
}
