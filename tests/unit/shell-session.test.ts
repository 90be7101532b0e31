// Real bash in a real PTY (spec §5.2–§5.4, §5.9).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { startShellSession } from "../../agent-core/shell/session.js";
import type { ShellSession } from "../../agent-core/shell/types.js";

let workDir: string;
const sessions: ShellSession[] = [];

beforeEach(() => {
  workDir = mkdtempSync(join(tmpdir(), "shell-session-test-"));
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.kill()));
  rmSync(workDir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out[k] = v;
  return out;
}

async function start(dir = workDir): Promise<ShellSession> {
  const s = await startShellSession({ env: env(), cwd: process.cwd(), workDir: dir });
  sessions.push(s);
  return s;
}

async function run(s: ShellSession, command: string): Promise<{ exitCode: number; chunks: string[]; text: string }> {
  const chunks: string[] = [];
  const r = await s.run(command, (t) => chunks.push(t));
  return { exitCode: r.exitCode, chunks, text: chunks.join("") };
}

/** Gone = no /proc entry or a zombie (dead, waiting to be reaped by init). */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "latin1");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[3]) === sid && f[0] !== "Z" && f[0] !== "X") out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function procSid(pid: number): number | undefined {
  const f = procStatFields(pid);
  return f ? Number(f[3]) : undefined;
}

function procComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(process.platform === "win32")("shell session", () => {
  it("echo hello gives exactly one output and exit code 0", async () => {
    const s = await start();
    expect(s.alive).toBe(true);
    const t0 = Math.floor(Date.now() / 1000);
    const r = await s.run("echo hello", () => {});
    expect(r.exitCode).toBe(0);
    expect(r.startedAt).toBeGreaterThanOrEqual(t0);
    expect(r.finishedAt).toBeGreaterThanOrEqual(r.startedAt);
    expect(await run(s, "echo hello")).toEqual({ exitCode: 0, chunks: ["hello\n"], text: "hello\n" });
    expect(await run(s, "echo -n hi")).toEqual({ exitCode: 0, chunks: ["hi"], text: "hi" });
    expect(await run(s, "true")).toEqual({ exitCode: 0, chunks: [], text: "" });
  });

  it("writes the command file with the command text", async () => {
    const s = await start();
    await run(s, "echo one\necho two");
    expect(readFileSync(join(workDir, "current-agent-cmd"), "utf8")).toBe("echo one\necho two");
    expect((await run(s, "echo a")).text).toBe("a\n");
    expect(readFileSync(join(workDir, "current-agent-cmd"), "utf8")).toBe("echo a");
  });

  it("delivers a 217-character line as a single chunk", async () => {
    const s = await start();
    const line = "0123456789".repeat(21) + "abcdefg";
    expect(line.length).toBe(217);
    expect(await run(s, `echo ${line}`)).toEqual({ exitCode: 0, chunks: [line + "\n"], text: line + "\n" });
  });

  it("keeps state between commands and starts in HOME", async () => {
    const s = await start();
    expect((await run(s, "pwd")).text).toBe(`${process.env.HOME}\n`);
    await run(s, "export FOO=bar; cd /tmp; myfn() { echo fn-$1; }");
    expect((await run(s, 'echo "$FOO"; pwd; myfn x')).text).toBe("bar\n/tmp\nfn-x\n");
    // Spec §5.2: a terminal, no prompt, no echo of the input.
    expect((await run(s, "test -t 1 && echo tty; echo \"[$PS1]\"")).text).toBe("tty\n[]\n");
  });

  it("keeps the inherited TERM and uses a 200x50 window", async () => {
    const s = await startShellSession({ env: { ...env(), TERM: "dumb" }, cwd: process.cwd(), workDir });
    sessions.push(s);
    expect((await run(s, 'echo "$TERM"; stty size')).text).toBe("dumb\n50 200\n");
  });

  it("reports exit codes", async () => {
    const s = await start();
    expect((await run(s, "false")).exitCode).toBe(1);
    const bad = await run(s, "badcommand");
    expect(bad.exitCode).toBe(127);
    expect(bad.text).toContain("command not found");
    expect((await run(s, "echo 'exit 130' | sh")).exitCode).toBe(130);
    expect((await run(s, "(exit 255)")).exitCode).toBe(255);
    expect((await run(s, "echo still here")).text).toBe("still here\n");
  });

  it("ends a command with 130 when its foreground process is killed by SIGINT, and the shell stays usable", async () => {
    const s = await start();
    // Interactive bash abandons the rest of the wrapper line here (no end marker); the prompt
    // marker ends the command instead of letting it hang.
    const killed = await run(s, "echo a; bash -c 'kill -INT $$'; echo never");
    expect(killed).toEqual({ exitCode: 130, chunks: ["a\n\n"], text: "a\n\n" });
    expect(await run(s, "for i in 1 2; do bash -c 'kill -INT $$'; echo never; done")).toMatchObject({ exitCode: 130 });
    expect(await run(s, "kill -INT $$")).toMatchObject({ exitCode: 130 });
    expect(await run(s, "echo still here")).toEqual({ exitCode: 0, chunks: ["still here\n"], text: "still here\n" });
    // Not exported: the job's processes do not inherit it.
    expect((await run(s, 'env | grep -c "^PROMPT_COMMAND=" || true')).text).toBe("0\n");
  });

  it("gives exit code 1 when the shell exits, and 1 for every later command", async () => {
    const s = await start();
    const r = await s.run("exit 3", () => {});
    expect(r.exitCode).toBe(1);
    expect(s.alive).toBe(false);
    const later = await s.run("echo never", () => {});
    expect(later.exitCode).toBe(1);
    expect((await s.runSilent("echo never")).exitCode).toBe(1);
  });

  it("runSilent returns the output instead of streaming it", async () => {
    const s = await start();
    const r = await s.runSilent("echo $((6 * 7)); echo x >&2");
    expect(r).toMatchObject({ exitCode: 0, output: "42\nx\n" });
  });

  it("fails a command whose file cannot be written with exit 1 and zero timestamps", async () => {
    const s = await start(join(workDir, "does-not-exist"));
    expect(await s.run("echo hi", () => {})).toEqual({ exitCode: 1, startedAt: 0, finishedAt: 0 });
    expect(s.alive).toBe(true);
  });

  it("keeps lone CRs, normalises CRLF and replaces invalid bytes one by one", async () => {
    const s = await start();
    expect((await run(s, "printf '10%%\\r20%%\\r100%%\\n'")).text).toBe("10%\r20%\r100%\n");
    expect((await run(s, "printf 'a\\226\\226\\226\\226\\226b\\n'")).text).toBe("a\ufffd\ufffd\ufffd\ufffd\ufffdb\n");
    expect((await run(s, "printf 'h\\303\\251llo \\360\\237\\230\\200\\n'")).text).toBe("héllo 😀\n");
  });

  it("flushes a genuine 0x01 byte instead of swallowing it", async () => {
    const s = await start();
    expect(await run(s, "printf '\\001 foo'")).toMatchObject({ exitCode: 0, text: "\x01 foo" });
    const long = "y".repeat(60);
    expect(await run(s, `printf '\\001${long}\\n'; echo after`)).toMatchObject({
      exitCode: 0,
      text: `\x01${long}\nafter\n`,
    });
  });

  it("drops output produced by a background job before the start marker", async () => {
    const s = await start();
    const first = await run(s, "(sleep 0.3; echo BACKGROUND) &");
    expect(first.exitCode).toBe(0);
    await sleep(800);
    const r = await run(s, "echo next");
    expect(r.text).toBe("next\n");
  });

  it("delivers 1,000,000 lines of seq complete and in order", async () => {
    const s = await start();
    const parts: string[] = [];
    for (let i = 1; i <= 1_000_000; i++) parts.push(`${i}\n`);
    const expected = parts.join("");
    const r = await run(s, "seq 1 1000000");
    expect(r.exitCode).toBe(0);
    expect(r.text.length).toBe(expected.length);
    expect(r.text === expected).toBe(true);
    // Flood mode: a few large events, not 100-byte ones.
    expect(r.chunks.length).toBeLessThan(10_000);
    expect(r.chunks.some((c) => c.includes("\r\n"))).toBe(false);
  }, 30_000);

  it("kill() stops the running command and the whole process tree", async () => {
    const s = await start();
    const pidFile = join(workDir, "pids");
    const command = [
      `echo $$ > ${pidFile}`,
      `sleep 1000 & echo $! >> ${pidFile}`,
      `(trap '' TERM HUP; sleep 1000 & echo $! >> ${pidFile}; echo $BASHPID >> ${pidFile}; wait) &`,
      `nohup sleep 1000 > /dev/null 2>&1 & echo $! >> ${pidFile}`,
      // Orphaned at once (its parent subshell exits): found through its session id.
      `(sleep 1000 & echo $! >> ${pidFile})`,
      "sleep 1000",
    ].join("\n");
    const running = s.run(command, () => {});
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length < 6; i++) {
      await sleep(25);
      try {
        pids = readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number);
      } catch {
        // not written yet
      }
    }
    expect(pids.length).toBe(6);
    expect(pids[0]).toBe(s.pid);
    expect(pids.every((p) => !isGone(p))).toBe(true);
    await s.kill();
    // Resolves without waiting for `sleep 1000` (the test's timeout bounds it).
    const r = await running;
    expect(r.exitCode).toBe(1);
    expect(s.alive).toBe(false);
    expect(pids.filter((p) => !isGone(p))).toEqual([]);
    expect(sessionMembers(s.pid)).toEqual([]);
    // Idempotent, and later commands fail at once.
    await s.kill();
    expect((await s.run("echo hi", () => {})).exitCode).toBe(1);
  });

  it("puts a random job marker into the job's environment, different per session", async () => {
    const a = await start();
    const b = await start();
    const ra = await run(a, "printenv SEMAPHORE_AGENT_JOB_MARKER");
    const rb = await run(b, "printenv SEMAPHORE_AGENT_JOB_MARKER");
    expect(ra.text).toMatch(/^[0-9a-f]{32}\n$/);
    expect(rb.text).toMatch(/^[0-9a-f]{32}\n$/);
    expect(ra.text).not.toBe(rb.text);
    // Inherited by the job's processes, and not leaked into the agent's own environment.
    expect((await run(a, "sh -c 'printenv SEMAPHORE_AGENT_JOB_MARKER'")).text).toBe(ra.text);
    expect(process.env.SEMAPHORE_AGENT_JOB_MARKER).toBeUndefined();
  });

  it.skipIf(process.platform !== "linux")(
    "kill() also stops processes that daemonized out of the tree and the session (setsid)",
    async () => {
      const s = await start();
      const files = ["d1", "d2", "d3"].map((f) => join(workDir, f));
      const command = [
        // Double fork: the subshell exits at once, sleep is orphaned in a session of its own.
        `(setsid sleep 1001 & echo $! > ${files[0]})`,
        // setsid -f forks, the child makes a new session; the setsid parent exits.
        `setsid -f sh -c 'echo $$ > ${files[1]}; exec sleep 1002'`,
        // A background job is a group leader, so setsid forks here too.
        `nohup setsid sh -c 'echo $$ > ${files[2]}; exec sleep 1001' > /dev/null 2>&1 &`,
        "sleep 1000",
      ].join("\n");
      const running = s.run(command, () => {});
      const pids: number[] = [];
      try {
        for (let i = 0; i < 200 && pids.length < files.length; i++) {
          await sleep(25);
          pids.length = 0;
          for (const f of files) {
            try {
              const pid = Number(readFileSync(f, "utf8").trim());
              if (pid > 0) pids.push(pid);
            } catch {
              // not written yet
            }
          }
        }
        expect(pids.length).toBe(files.length);
        // Wait until each has exec'd sleep and left bash's session (as the test means them to).
        for (let i = 0; i < 200; i++) {
          if (pids.every((p) => procComm(p) === "sleep")) break;
          await sleep(25);
        }
        for (const p of pids) {
          expect(procComm(p)).toBe("sleep");
          expect(procSid(p)).toBe(p);
          expect(procSid(p)).not.toBe(s.pid);
        }
        await s.kill();
        expect((await running).exitCode).toBe(1);
        // Killed; reaping by init can take a moment here, a zombie counts as gone.
        for (let i = 0; i < 200 && pids.some((p) => !isGone(p)); i++) await sleep(25);
        expect(pids.filter((p) => !isGone(p))).toEqual([]);
      } finally {
        for (const p of pids) {
          if (!isGone(p) && procComm(p) === "sleep") {
            try {
              process.kill(p, "SIGKILL");
            } catch {
              // gone
            }
          }
        }
      }
    },
  );

  it("rejects when the shell binary does not exist", async () => {
    await expect(
      startShellSession({ env: env(), cwd: process.cwd(), workDir, shell: "/nonexistent/no-such-shell" }),
    ).rejects.toThrow(/no-such-shell/);
  });
});
