// Debug terminals through the Host, with a real agent running real jobs for a real hub on 127.0.0.1:
// real shells in real PTYs that source the job's env files (spec §6), while the job runs and, from
// the kept copies, after it failed; ownership per client; flow control with acknowledgements; and no
// shell left behind when a terminal, its client or the host closes.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeJobRequest, startHub, type Hub } from "../../hub/hub.js";
import { TERMINAL_BATCH_CHARS, TERMINAL_HIGH_WATER, type HostClient, type HostEvent, type SettingsInput } from "../../agent-core/host/contract.js";
import { DebugTerminals } from "../../agent-core/host/debug-terminals.js";
import { Host } from "../../agent-core/host/host.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import { DEFAULT_TIMINGS, type AgentTimings } from "../../agent-core/timings.js";
import { isRunning, waitUntil } from "../helpers/jobs.js";
import { delay, FAST_TIMINGS, ROOT, stopAll, tempDir } from "../helpers/processes.js";
import { removeVarTempDirs, varTempDir } from "../helpers/sandbox.js";

const TIMINGS: AgentTimings = { ...DEFAULT_TIMINGS, ...FAST_TIMINGS, httpTimeoutMs: 5000, registerAttempts: 3 };
const SECRET = "a b$c";
/** Typed into terminals only: must never show up in the host's broadcast events or its files. */
const TYPED_MARKER = "typed-only-in-the-terminal-7f3e";

afterAll(async () => {
  await stopAll();
});

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** `text` as a whole line of terminal output (bash may end the echoed input line with mode switches and a bare CR). */
const line = (text: string) => new RegExp(`(^|[\\r\\n])${escapeRe(text)}\\r?\\n`);

/** A window or tab as the host sees it: a HostClient whose terminal output is collected (and acked). */
class TestClient {
  readonly api: HostClient;
  readonly output = new Map<string, string>();
  readonly received = new Map<string, number>();
  readonly exits = new Map<string, { exitCode: number | null; signal: number | null }>();
  readonly events: HostEvent[] = [];
  autoAck = true;

  constructor(host: Host) {
    this.api = host.connect((event) => this.onEvent(event));
  }

  text(terminalId: string): string {
    return this.output.get(terminalId) ?? "";
  }

  async open(jobId: string) {
    const terminal = await this.api.openTerminal({ jobId, cols: 120, rows: 30 });
    this.output.set(terminal.terminalId, this.output.get(terminal.terminalId) ?? "");
    return terminal;
  }

  /** Types a line and waits for `expected` in the output that follows. */
  async run(terminalId: string, command: string, expected: RegExp, timeoutMs = 15_000): Promise<string> {
    const from = this.text(terminalId).length;
    await this.api.terminalInput({ terminalId, data: `${command}\r` });
    return waitUntil(() => {
      const after = this.text(terminalId).slice(from);
      return expected.test(after) ? after : null;
    }, timeoutMs, `${JSON.stringify(expected.source)} after typing ${JSON.stringify(command)}`).catch((error: Error) => {
      throw new Error(`${error.message}; the terminal showed ${JSON.stringify(this.text(terminalId).slice(from).slice(-400))}`);
    });
  }

  async ackAll(terminalId: string, chars: number): Promise<void> {
    if (chars > 0) await this.api.ackTerminal({ terminalId, chars });
  }

  private onEvent(event: HostEvent): void {
    this.events.push(event);
    if (event.type === "terminal-output") {
      this.output.set(event.terminalId, this.text(event.terminalId) + event.data);
      this.received.set(event.terminalId, (this.received.get(event.terminalId) ?? 0) + event.data.length);
      if (this.autoAck) void this.api.ackTerminal({ terminalId: event.terminalId, chars: event.data.length }).catch(() => {});
    } else if (event.type === "terminal-exit") {
      this.exits.set(event.terminalId, { exitCode: event.exitCode, signal: event.signal });
    }
  }
}

function settingsFor(hub: Hub, overrides: Partial<SettingsInput> = {}): SettingsInput {
  return { ...defaultSettings(), endpoint: hub.endpoint, noHttps: true, token: hub.registrationToken, name: "host-debug-agent", sandbox: "none", ...overrides };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const isGone = (pid: number) => !isRunning(pid);

describe("debug terminals through the host", () => {
  let hub: Hub;
  let host: Host;
  let home: string;
  /** The app's private job home (in its data folder): the job's HOME and start folder. */
  let jobHome: string;
  let dataDir: string;
  const broadcast: HostEvent[] = [];
  let a: TestClient;
  let b: TestClient;
  let jobId = "";

  beforeAll(async () => {
    hub = await startHub({ nextSyncAfter: 100 });
    home = tempDir("sa-debug-home-");
    dataDir = tempDir("sa-debug-data-");
    jobHome = join(dataDir, "job-home");
    host = await Host.open({
      dataDir,
      secretCodec: plainFileCodec(),
      env: { PATH: process.env.PATH, HOME: home, TMPDIR: home, LANG: "C.UTF-8", SHELL: "/bin/bash" },
      timings: TIMINGS,
      examplesDir: join(ROOT, "examples"),
    });
    host.subscribe((e) => broadcast.push(e));
    expect(await host.saveSettings({ settings: settingsFor(hub) })).toMatchObject({ ok: true });
    await host.startAgent({});
    await waitUntil(() => host.agentSnapshot.phase === "waiting-for-jobs", 15_000, "the agent waiting for jobs");
    a = new TestClient(host);
    b = new TestClient(host);
  });
  afterAll(async () => {
    await host.close({ timeoutMs: 10_000 });
    await hub.close();
  });

  it("cannot open a terminal for a job that is not there, and says why", async () => {
    const info = await a.api.getDebugInfo({ jobId: "no-such-job" });
    expect(info).toMatchObject({ available: false, source: null, reason: expect.stringMatching(/No job no-such-job/) });
    await expect(a.api.openTerminal({ jobId: "no-such-job", cols: 80, rows: 24 })).rejects.toMatchObject({ code: "invalid-state" });
  });

  it("opens a shell in the running job's environment: the variable, the start dir, a banner naming the job", async () => {
    ({ job_id: jobId } = hub.scheduleJob(
      makeJobRequest({
        env: { MY_SECRET: SECRET },
        commands: ['touch "$HOME/started"', 'while [ ! -f "$HOME/release" ]; do sleep 0.05; done', "false"],
      }),
    ));
    await waitUntil(() => statSync(join(jobHome, "started"), { throwIfNoEntry: false }), 20_000, "the job's first command");
    const info = await a.api.getDebugInfo({ jobId });
    expect(info).toMatchObject({ jobId, available: true, source: "running", home: jobHome, shell: "bash", keptAt: null });
    expect(info.envFiles).toHaveLength(1);
    expect(info.envFiles[0]).toMatch(new RegExp(`^${escapeRe(home)}/\\.env-\\d+$`));
    expect(info.manual).toEqual(["bash --login", `source ${info.envFiles[0]}`, `cd ${jobHome}`]);

    const terminal = await a.open(jobId);
    expect(terminal).toMatchObject({ jobId, source: "running", envFiles: info.envFiles, home: jobHome, pid: expect.any(Number) });
    expect(isRunning(terminal.pid)).toBe(true);
    await waitUntil(() => a.text(terminal.terminalId).includes(`Debug shell for job ${jobId}`), 15_000, "the banner");
    await a.run(terminal.terminalId, `printf '%s\\n' "$MY_SECRET"`, line(SECRET));
    await a.run(terminal.terminalId, "pwd", line(jobHome));
    // A second terminal at once, for the same job.
    const second = await a.open(jobId);
    expect(second.terminalId).not.toBe(terminal.terminalId);
    await a.run(second.terminalId, `echo "second:$MY_SECRET"`, line(`second:${SECRET}`));
    await a.api.closeTerminal({ terminalId: second.terminalId });

    // The copy kept for later: owner-only, byte for byte the agent's file.
    const kept = (await a.api.listKeptEnvs({})).find((k) => k.jobId === jobId);
    expect(kept).toMatchObject({ files: 1 });
    const copies = filesUnder(join(dataDir, "debug-env")).filter((p) => p.endsWith(".env"));
    expect(copies).toHaveLength(1);
    expect(readFileSync(copies[0]!)).toEqual(readFileSync(info.envFiles[0]!));
    expect(statSync(copies[0]!).mode & 0o777).toBe(0o600);
    expect(statSync(join(copies[0]!, "..")).mode & 0o777).toBe(0o700);

    // Closing kills the shell and what it started in the background.
    const bg = await a.run(terminal.terminalId, `sleep 300 & echo "bg=$!"`, /bg=(\d+)\r?\n/);
    const bgPid = Number(/bg=(\d+)/.exec(bg)![1]);
    expect(isRunning(bgPid)).toBe(true);
    expect(await a.api.closeTerminal({ terminalId: terminal.terminalId })).toEqual({ closed: true });
    expect(isGone(terminal.pid)).toBe(true);
    await waitUntil(() => isGone(bgPid), 5000, "the background sleep killed");
    await waitUntil(() => a.exits.has(terminal.terminalId), 5000, "the terminal-exit event");
    await expect(a.api.terminalInput({ terminalId: terminal.terminalId, data: "echo\r" })).rejects.toMatchObject({ code: "not-found" });
  });

  it("only the client that opened a terminal sees it or acts on it", async () => {
    const terminal = await a.open(jobId);
    await a.run(terminal.terminalId, `echo ${TYPED_MARKER}-$((2+3))`, line(`${TYPED_MARKER}-5`));
    await expect(b.api.terminalInput({ terminalId: terminal.terminalId, data: "exit\r" })).rejects.toMatchObject({ code: "not-found" });
    await expect(b.api.resizeTerminal({ terminalId: terminal.terminalId, cols: 10, rows: 5 })).rejects.toMatchObject({ code: "not-found" });
    expect(await b.api.closeTerminal({ terminalId: terminal.terminalId })).toEqual({ closed: false });
    expect(b.output.size).toBe(0);
    expect(b.events.filter((e) => e.type.startsWith("terminal-"))).toEqual([]);
    // Resizing reaches the shell.
    await a.api.resizeTerminal({ terminalId: terminal.terminalId, cols: 97, rows: 31 });
    await a.run(terminal.terminalId, "stty size", line("31 97"));
    // Its client going away (a closed window, a dropped socket) kills it.
    a.api.dispose();
    await waitUntil(() => isGone(terminal.pid), 5000, "the shell of a disposed client killed");
    await expect(a.api.openTerminal({ jobId, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "invalid-state" });
    a = new TestClient(host);
  });

  it("flow control: a terminal nobody acknowledges stops at the high-water mark, and resumes when acked", async () => {
    const terminal = await a.open(jobId);
    await waitUntil(() => a.text(terminal.terminalId).includes("Debug shell for job"), 15_000, "the banner");
    a.autoAck = false;
    const before = a.received.get(terminal.terminalId) ?? 0;
    await a.api.terminalInput({ terminalId: terminal.terminalId, data: "yes\r" });
    const limit = TERMINAL_HIGH_WATER + TERMINAL_BATCH_CHARS;
    await waitUntil(() => (a.received.get(terminal.terminalId) ?? 0) >= TERMINAL_HIGH_WATER, 15_000, "output up to the high-water mark");
    // Stalled, not growing: `yes` is blocked in the kernel.
    await delay(500);
    const stalled = a.received.get(terminal.terminalId) ?? 0;
    expect(stalled).toBeLessThanOrEqual(limit + before);
    await delay(300);
    expect(a.received.get(terminal.terminalId)).toBe(stalled);
    // Acknowledging lets more through.
    await a.ackAll(terminal.terminalId, stalled);
    await waitUntil(() => (a.received.get(terminal.terminalId) ?? 0) > stalled + TERMINAL_HIGH_WATER / 2, 15_000, "more output after the ack");
    // Ctrl-C stops it; the shell is usable again.
    a.autoAck = true;
    await a.api.terminalInput({ terminalId: terminal.terminalId, data: "\x03" });
    await a.ackAll(terminal.terminalId, a.received.get(terminal.terminalId)!);
    await a.run(terminal.terminalId, "echo flood-$((6*7))", line("flood-42"), 30_000);
    await a.api.closeTerminal({ terminalId: terminal.terminalId });
  });

  it("after the job failed, a terminal from the kept copy still has the variable, and the job's result", async () => {
    writeFileSync(join(jobHome, "release"), "");
    await waitUntil(() => broadcast.some((e) => e.type === "job-finished" && e.job.id === jobId), 20_000, "the job finished");
    expect(broadcast.find((e) => e.type === "job-finished" && e.job.id === jobId)).toMatchObject({ job: { result: "failed" } });
    // The agent removed its own files (spec §6)...
    expect(readdirSync(home).filter((n) => n.startsWith(".env-"))).toEqual([]);
    // ...the app kept both: the export step's and the pre-epilogue one with SEMAPHORE_JOB_RESULT.
    const info = await a.api.getDebugInfo({ jobId });
    expect(info).toMatchObject({ available: true, source: "kept", keptAt: expect.any(Number) });
    expect(info.envFiles).toHaveLength(2);
    expect(info.manual.slice(1)).toEqual([...info.envFiles.map((f) => `source ${f}`), `cd ${jobHome}`]);
    const terminal = await a.open(jobId);
    expect(terminal.source).toBe("kept");
    await waitUntil(() => a.text(terminal.terminalId).includes(`Debug shell for job ${jobId}`), 15_000, "the banner");
    await a.run(terminal.terminalId, `printf '%s|%s\\n' "$MY_SECRET" "$SEMAPHORE_JOB_RESULT"`, line(`${SECRET}|failed`));
    await a.run(terminal.terminalId, "pwd", line(jobHome));
    // `exit` ends it like any shell: the client hears the exit code.
    await a.api.terminalInput({ terminalId: terminal.terminalId, data: "exit 3\r" });
    await waitUntil(() => a.exits.get(terminal.terminalId), 10_000, "the exit");
    expect(a.exits.get(terminal.terminalId)).toMatchObject({ exitCode: 3 });
    expect(isGone(terminal.pid)).toBe(true);
  });

  it("forget deletes the kept copy; retention keeps only the last N jobs", async () => {
    const before = broadcast.length;
    expect(await a.api.forgetJobEnv({ jobId })).toEqual({ forgotten: true });
    expect(await a.api.forgetJobEnv({ jobId })).toEqual({ forgotten: false });
    const info = await a.api.getDebugInfo({ jobId });
    expect(info).toMatchObject({ available: false, reason: expect.stringMatching(/not kept any more/) });
    await expect(a.api.openTerminal({ jobId, cols: 80, rows: 24 })).rejects.toMatchObject({ code: "invalid-state", message: info.reason });
    await waitUntil(() => broadcast.slice(before).find((e) => e.type === "kept-envs"), 5000, "a kept-envs event");
    expect(filesUnder(join(dataDir, "debug-env"))).toEqual([]);

    expect(await host.saveSettings({ settings: { ...settingsFor(hub), debugKeepJobs: 2 } })).toMatchObject({ ok: true, settings: { debugKeepJobs: 2 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { job_id: id } = hub.scheduleJob(makeJobRequest({ env: { N: String(i) }, commands: ["true"] }));
      ids.push(id);
      await waitUntil(() => broadcast.some((e) => e.type === "job-finished" && e.job.id === id), 20_000, `job ${i} finished`);
    }
    expect((await a.api.listKeptEnvs({})).map((k) => k.jobId)).toEqual([ids[2], ids[1]]);
    expect((await a.api.getDebugInfo({ jobId: ids[0]! })).available).toBe(false);
    // Settings without the field keep the stored value.
    const { debugKeepJobs: _omit, ...withoutKeep } = settingsFor(hub);
    expect(await host.saveSettings({ settings: withoutKeep })).toMatchObject({ ok: true, settings: { debugKeepJobs: 2 } });
    // 0: nothing is kept (the copies there go at once).
    expect(await host.saveSettings({ settings: { ...settingsFor(hub), debugKeepJobs: 0 } })).toMatchObject({ ok: true });
    expect(await a.api.listKeptEnvs({})).toEqual([]);
    expect((await a.api.getDebugInfo({ jobId: ids[2]! })).reason).toMatch(/turned off in Settings/);
  });

  it("never puts terminal input or output into the host's events or files", () => {
    expect(JSON.stringify(broadcast)).not.toContain(TYPED_MARKER);
    expect(JSON.stringify(broadcast)).not.toContain(SECRET);
    for (const file of filesUnder(dataDir)) expect(readFileSync(file, "utf8")).not.toContain(TYPED_MARKER);
  });

  it("closing the host kills every open debug shell", async () => {
    expect(await host.saveSettings({ settings: { ...settingsFor(hub), debugKeepJobs: 5 } })).toMatchObject({ ok: true });
    const { job_id: id } = hub.scheduleJob(makeJobRequest({ env: { MY_SECRET: SECRET }, commands: ["true"] }));
    await waitUntil(() => broadcast.some((e) => e.type === "job-finished" && e.job.id === id), 20_000, "the job finished");
    const one = await a.open(id);
    const two = await b.open(id);
    expect(host.debugShellPids.sort()).toEqual([one.pid, two.pid].sort());
    await host.close({ timeoutMs: 10_000 });
    expect(isGone(one.pid)).toBe(true);
    expect(isGone(two.pid)).toBe(true);
  });
});

// zsh users (the macOS default) get zsh: their own start-up files run, then the job's env files.
const ZSH = ["/usr/bin/zsh", "/bin/zsh"].find((path) => statSync(path, { throwIfNoEntry: false }));

/** A DebugTerminals of its own with one shell for a job kept in `home`, and the text it printed. */
function bareShell(home: string, loginShell: string, envFiles: string[], env: Record<string, string>) {
  const terminals = new DebugTerminals({ tmpRoot: home });
  const out = { text: "" };
  const owner = { send: (e: HostEvent) => (e.type === "terminal-output" ? void (out.text += e.data) : undefined) };
  const info = terminals.open(owner, { jobId: "bare-job", cols: 200, rows: 30, source: "kept", envFiles, home, loginShell, env, banner: "Debug shell for job bare-job" });
  return { terminals, owner, info, out };
}

describe.skipIf(ZSH === undefined)("a zsh login shell as the debug shell", () => {
  it("reads the user's zsh files, then the job's env files win; ZDOTDIR is left as it was", async () => {
    const home = tempDir("sa-debug-zsh-");
    writeFileSync(join(home, ".zshenv"), "export FROM_ZSHENV=1\n");
    writeFileSync(join(home, ".zprofile"), "export FROM_ZPROFILE=1\n");
    writeFileSync(join(home, ".zshrc"), "export MY_SECRET=from-zshrc\nPROMPT='zsh> '\n");
    writeFileSync(join(home, ".zlogin"), "export FROM_ZLOGIN=1\n");
    const envFile = join(home, ".env-1");
    writeFileSync(envFile, "export MY_SECRET='a b$c'\n", { mode: 0o600 });
    const { terminals, owner, info, out } = bareShell(home, ZSH!, [envFile], { PATH: process.env.PATH ?? "", HOME: home, LANG: "C.UTF-8" });
    try {
      expect(info.shell).toBe("zsh");
      await waitUntil(() => out.text.includes("Debug shell for job bare-job"), 15_000, "the banner");
      terminals.input(owner, info.terminalId, `printf '%s|' "$MY_SECRET" $FROM_ZSHENV $FROM_ZPROFILE $FROM_ZLOGIN "\${ZDOTDIR-unset}"; pwd\r`);
      await waitUntil(() => line(`a b$c|1|1|1|unset|${home}`).test(out.text), 15_000, "the zsh answer");
    } finally {
      await terminals.closeAll();
    }
    expect(isGone(info.pid)).toBe(true);
  });
});

describe("a login shell that cannot source the env files", () => {
  it("fish gets bash, and the banner says so", async () => {
    const home = tempDir("sa-debug-fish-");
    const { terminals, info, out } = bareShell(home, "/usr/bin/fish", [], { PATH: process.env.PATH ?? "", HOME: home });
    try {
      expect(info.shell).toBe("bash");
      await waitUntil(() => /your login shell fish cannot source the job's env files, so this is bash/.test(out.text), 15_000, "the banner's note");
    } finally {
      await terminals.closeAll();
    }
    expect(isGone(info.pid)).toBe(true);
  });
});

describe("a shell that exits while its output waits for acknowledgement", () => {
  it("loses nothing: the end of the output and the exit both arrive, however late the acks", async () => {
    const home = tempDir("sa-debug-late-ack-");
    // A small window, so a few hundred KB of `yes` pause the PTY; the page acks 400 ms late.
    const terminals = new DebugTerminals({ tmpRoot: home, highWater: 64 * 1024, lowWater: 16 * 1024 });
    try {
      for (let round = 0; round < 3; round++) {
        let text = "";
        let exited = false;
        const owner = {
          send: (e: HostEvent) => {
            if (e.type === "terminal-exit") exited = true;
            if (e.type !== "terminal-output") return;
            text += e.data;
            const chars = e.data.length;
            setTimeout(() => terminals.ack(owner, info.terminalId, chars), 400);
          },
        };
        const info = terminals.open(owner, { jobId: "late-ack", cols: 80, rows: 24, source: "kept", envFiles: [], home, loginShell: "/bin/bash", env: { PATH: process.env.PATH ?? "", HOME: home }, banner: "late-ack" });
        terminals.input(owner, info.terminalId, "yes | head -c 300000; echo LAST-LINE-$((6*7)); exit\r");
        await waitUntil(() => exited, 30_000, "the shell's exit");
        expect(text).toMatch(line("LAST-LINE-42"));
        expect(text.split("y\r\n").length - 1).toBeGreaterThanOrEqual(150_000);
      }
    } finally {
      await terminals.closeAll();
    }
  });
});

describe("the debug terminal of a strict job", () => {
  it("opens in the job's sandbox: the job's home and start folder, not the owner's files, the app's data or the host's /proc", async () => {
    const hub = await startHub({ nextSyncAfter: 100 });
    // Outside /tmp, so that hiding them is what is tested (the sandbox's /tmp is private anyway).
    const owner = varTempDir("sa-debug-owner-");
    const dataDir = varTempDir("sa-debug-data-");
    writeFileSync(join(owner, "secret.txt"), "the owner's secret\n");
    const host = await Host.open({
      dataDir,
      secretCodec: plainFileCodec(),
      env: { PATH: process.env.PATH, HOME: owner, TMPDIR: owner, LANG: "C.UTF-8", SHELL: "/bin/bash" },
      timings: TIMINGS,
      examplesDir: join(ROOT, "examples"),
    });
    try {
      expect(await host.saveSettings({ settings: settingsFor(hub, { sandbox: "strict" }) })).toMatchObject({ ok: true });
      await host.startAgent({});
      await waitUntil(() => host.agentSnapshot.phase === "waiting-for-jobs", 15_000, "the agent waiting for jobs");
      expect(host.agentSnapshot.sandbox?.level).toBe("strict");
      const jobHome = join(dataDir, "job-home");
      const { job_id: jobId } = hub.scheduleJob(
        makeJobRequest({ env: { MY_SECRET: SECRET }, commands: ['echo job-was-here > "$HOME/job-file"', 'while [ ! -f "$HOME/release" ]; do sleep 0.05; done'] }),
      );
      await waitUntil(() => readdirSync(jobHome).includes("job-file"), 15_000, "the job writing into its home");
      const client = new TestClient(host);
      const terminal = await client.open(jobId);
      expect(terminal.sandbox).toBe("strict");
      expect((await client.api.getDebugInfo({ jobId })).sandbox).toBe("strict");
      await client.run(terminal.terminalId, 'echo "home=$HOME pwd=$PWD secret=$MY_SECRET"', line(`home=${jobHome} pwd=${jobHome} secret=${SECRET}`));
      // The job's files are there: it is the job's home, shared with the running job.
      await client.run(terminal.terminalId, "cat ~/job-file", line("job-was-here"));
      await client.run(terminal.terminalId, `cat ${owner}/secret.txt 2>&1 | head -c 300; echo; echo owner-done`, line("owner-done"));
      expect(client.text(terminal.terminalId)).not.toContain("the owner's secret");
      await client.run(terminal.terminalId, `ls -A ${owner} | wc -l; ls -A ${dataDir}`, /(^|[\r\n])0\r?\njob-home\r?\n/);
      await client.run(terminal.terminalId, `test -e /proc/${process.pid}/environ && echo proc-visible || echo proc-hidden`, line("proc-hidden"));
      // What the shell writes lands in the job home on the host, not in the owner's HOME.
      await client.run(terminal.terminalId, "echo from-the-terminal > ~/release; echo wrote", line("wrote"));
      expect(readFileSync(join(jobHome, "release"), "utf8")).toBe("from-the-terminal\n");
      expect(readdirSync(owner).includes("release")).toBe(false);
      await waitUntil(() => hub.job(jobId)?.status === "finished", 15_000, "the released job to finish");
    } finally {
      await host.close({ timeoutMs: 10_000 });
      await hub.close();
      removeVarTempDirs();
    }
  });
});
