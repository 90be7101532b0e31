// The web console end to end: a real `semaphore-agent console` process (host + agent), a real local
// hub process, and Debian's Chromium driving the real renderer. One owner's session, in order:
// refusals, first-run setup, start, live jobs, history after a reload, the local demo.
import { createServer, type Server } from "node:http";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser, terminalText as terminalTextOf, waitForTerminal as waitForTerminalOf } from "../helpers/browser.js";
import { startConsole, type ConsoleProcess } from "../helpers/console.js";
import { job, startHub, stopAll, type HubProcess } from "../helpers/processes.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser();
  page = browser.page;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

const byTestId = (id: string) => page.getByTestId(id);

const terminalText = () => terminalTextOf(page);
const waitForTerminal = (pattern: RegExp, timeoutMs = 20_000) => waitForTerminalOf(page, pattern, timeoutMs);

function wsAttempt(url: string, headers: Record<string, string>): Promise<{ opened: boolean; status: number | null }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("open", () => {
      ws.close();
      resolve({ opened: true, status: 101 });
    });
    ws.on("unexpected-response", (_req, res) => {
      resolve({ opened: false, status: res.statusCode ?? null });
      res.resume();
      ws.terminate();
    });
    ws.on("error", () => resolve({ opened: false, status: null }));
  });
}

describe("web console (real console process, real agent, real hub, Chromium)", () => {
  it("refuses a wrong token, for the page and for the WebSocket", async () => {
    const res = await page.goto(`${con.origin}/?token=not-the-token`);
    expect(res?.status()).toBe(401);
    expect(await page.textContent("body")).toMatch(/token/i);
    const noToken = await page.goto(`${con.origin}/`);
    expect(noToken?.status()).toBe(401);
    const ws = await wsAttempt(`ws://127.0.0.1:${con.port}/ws`, { Origin: con.origin, Cookie: `sad_console_${con.port}=not-the-token` });
    expect(ws.opened).toBe(false);
    expect(ws.status).toBe(401);
  });

  it("refuses a WebSocket from another origin, even with the right cookie", async () => {
    const right = await wsAttempt(`ws://127.0.0.1:${con.port}/ws`, { Origin: con.origin, Cookie: `sad_console_${con.port}=${con.token}` });
    expect(right.opened).toBe(true);
    const wrong = await wsAttempt(`ws://127.0.0.1:${con.port}/ws`, { Origin: "http://evil.example", Cookie: `sad_console_${con.port}=${con.token}` });
    expect(wrong).toEqual({ opened: false, status: 403 });

    // The same from a real page on another origin (another port on 127.0.0.1: same site, so the
    // browser does send the console's cookie once the owner has logged in; only the Origin check stands).
    await page.goto(con.url);
    const evil: Server = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<!doctype html><title>pending</title><script>
        const ws = new WebSocket("ws://127.0.0.1:${con.port}/ws");
        ws.onopen = () => { document.title = "opened"; };
        ws.onerror = () => { document.title = "refused"; };
      </script>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", () => r()));
    try {
      const address = evil.address();
      const evilPort = typeof address === "object" && address ? address.port : 0;
      await page.goto(`http://127.0.0.1:${evilPort}/`);
      await page.waitForFunction(() => document.title !== "pending", undefined, { timeout: 10_000 });
      expect(await page.title()).toBe("refused");
    } finally {
      evil.close();
    }
  });

  it("first-run setup: a validation error in place, then a successful save", async () => {
    await page.goto(con.url);
    await expect.poll(() => page.url()).toBe(`${con.origin}/`); // the token left the address bar
    await byTestId("settings-endpoint").waitFor();
    await screenshot(page, "01-first-run");
    await byTestId("settings-endpoint").fill("https://not a host/");
    await byTestId("settings-token").fill(hub.token);
    await byTestId("settings-save").click();
    await byTestId("field-error-endpoint").waitFor();
    expect(await byTestId("field-error-endpoint").textContent()).toMatch(/endpoint|host/i);
    await screenshot(page, "02-settings-validation-error");

    // The error goes as soon as the field is edited.
    await byTestId("settings-endpoint").fill(hub.endpoint);
    expect(await byTestId("field-error-endpoint").count()).toBe(0);
    // The first run asks for the organisation and the token; plain HTTP (for this local hub) is under Advanced.
    await byTestId("settings-advanced-toggle").click();
    await byTestId("settings-no-https").check();
    await byTestId("settings-save").click();
    await byTestId("settings-saved").waitFor();
    expect(await byTestId("field-error-endpoint").count()).toBe(0);
    // The token is stored, never shown back.
    expect(await byTestId("settings-token").inputValue()).toBe("");
    expect(await page.content()).not.toContain(hub.token);
  });

  it("Start shows the agent waiting for jobs", async () => {
    await byTestId("nav-agent").click();
    await byTestId("agent-start").click();
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toMatch(/waiting for jobs/i);
    await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));
    expect(await byTestId("agent-endpoint").textContent()).toContain(hub.endpoint);
    await screenshot(page, "03-agent-waiting");
  });

  it("a server that answers 500 shows its message and the next retry, then recovers", async () => {
    await hub.api.fault({ target: "sync", mode: "500", count: 1000 });
    try {
      await expect.poll(async () => (await byTestId("agent-error").count()) > 0, { timeout: 20_000 }).toBe(true);
      const error = (await byTestId("agent-error").textContent()) ?? "";
      expect(error).toMatch(/500/);
      expect(error).toMatch(/retry/i);
      await screenshot(page, "03b-agent-error");
    } finally {
      await fetch(`${hub.url}/private/faults`, { method: "DELETE" });
    }
    await expect.poll(async () => await byTestId("agent-error").count(), { timeout: 20_000 }).toBe(0);
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toMatch(/waiting for jobs/i);
  });

  let passedId = "";
  let failedId = "";
  let stoppedId = "";

  it("a scheduled job's output appears live in xterm, with command headers and exit codes", async () => {
    // The job waits for a file in its private job home (under the default strict sandbox the test's
    // /tmp is not the job's): the app's job home is in the console's data folder.
    const gate = join(con.dataDir, "job-home", "go-live");
    passedId = await hub.api.schedule(
      job({
        env: { GREETING: "hello from the hub" },
        commands: [
          'echo "$GREETING"',
          "printf '\\033[32mgreen text\\033[0m\\n'",
          "echo waiting-for-gate; while [ ! -e ~/go-live ]; do sleep 0.05; done; echo gate-open",
        ],
      }),
    );
    await byTestId("nav-job").click();
    // Live: the first lines are on screen while the job is still blocked on the gate.
    const during = await waitForTerminal(/waiting-for-gate/);
    expect(during).toContain("hello from the hub");
    expect(during).toContain('echo "$GREETING"');
    expect((await hub.api.job(passedId)).status).toBe("running");
    expect(await byTestId("job-result").textContent()).toMatch(/running/i);
    expect(await byTestId("job-env-names").textContent()).toContain("GREETING");
    expect(await byTestId("job-env-names").textContent()).not.toContain("hello from the hub");
    await screenshot(page, "04-job-running");

    writeFileSync(gate, "");
    await hub.api.waitForJob(passedId, "finished");
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/passed/i);
    const text = await waitForTerminal(/gate-open[\s\S]*exit 0/);
    expect(text).toContain("green text");
    const commands = byTestId("job-command");
    await expect.poll(() => commands.count()).toBeGreaterThanOrEqual(3);
    for (const code of await commands.evaluateAll((els) => els.map((e) => e.getAttribute("data-exit-code")))) {
      expect(code).toBe("0");
    }
    await screenshot(page, "05-job-passed");
  });

  it("a failing job shows failed", async () => {
    failedId = await hub.api.schedule(job({ commands: ["echo about-to-fail", "sh -c 'exit 3'", "echo never-runs"], always: ["echo epilogue-ran"] }));
    await hub.api.waitForJob(failedId, "finished");
    await byTestId("nav-job").click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(failedId);
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/failed/i);
    const text = await waitForTerminal(/^epilogue-ran$/m); // the epilogue's output, not just its header
    expect(text).toMatch(/^about-to-fail$/m);
    expect(text).toMatch(/✘ exit 3 ·/);
    // Never run: no output of it, and the log names it as skipped after the failure.
    expect(text).not.toMatch(/^never-runs$/m);
    expect(text).toContain("Skipped after the failure: echo never-runs");
    await screenshot(page, "06-job-failed");
  });

  it("a job stopped from the hub shows stopped", async () => {
    stoppedId = await hub.api.schedule(job({ commands: ["echo long-job-started; sleep 60"] }));
    await hub.api.waitForEvents(stoppedId, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("long-job-started")));
    await hub.api.stop(stoppedId);
    await hub.api.waitForJob(stoppedId, "finished");
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/stopped/i);
    expect((await hub.api.job(stoppedId)).result).toBe("stopped");
  });

  it("after a reload, the history lists the finished jobs and opens each with its full log", async () => {
    await page.reload();
    await byTestId("nav-history").click();
    const rows = byTestId("history-row");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const listed = await rows.evaluateAll((els) => els.map((e) => [e.getAttribute("data-job-id"), e.getAttribute("data-result")]));
    // Newest first.
    expect(listed.slice(0, 3)).toEqual([
      [stoppedId, "stopped"],
      [failedId, "failed"],
      [passedId, "passed"],
    ]);
    await screenshot(page, "07-history");

    await byTestId("history-filter").selectOption("failed");
    await expect.poll(() => rows.count()).toBe(1);
    await rows.first().click();
    await expect.poll(async () => await byTestId("job-id").textContent()).toContain(failedId);
    const failedLog = await waitForTerminal(/^epilogue-ran$/m);
    expect(failedLog).toMatch(/^about-to-fail$/m);
    expect(failedLog).toMatch(/✘ exit 3 ·/);

    await byTestId("nav-history").click();
    await byTestId("history-filter").selectOption("all");
    await page.locator(`[data-testid="history-row"][data-job-id="${passedId}"]`).click();
    const passedLog = await waitForTerminal(/gate-open/);
    expect(passedLog).toContain("hello from the hub");
    expect(passedLog).toContain("green text");
    await screenshot(page, "08-history-job");
    expect(await hub.api.violations()).toEqual([]);
  });

  it("Stop after current job lets the running job finish, then the agent stops", async () => {
    const gate = join(con.dataDir, "job-home", "go-drain");
    const id = await hub.api.schedule(job({ commands: ["echo almost-done; while [ ! -e ~/go-drain ]; do sleep 0.05; done"] }));
    await hub.api.waitForEvents(id, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("almost-done")));
    await byTestId("nav-agent").click();
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toContain(`Running job ${id}`);
    await byTestId("agent-stop-after-job").click();
    await page.getByText("The agent stops once this job has finished.").waitFor();
    expect((await hub.api.job(id)).status).toBe("running"); // the job was left alone
    await screenshot(page, "08b-stop-after-job");
    writeFileSync(gate, "");
    expect((await hub.api.waitForJob(id, "finished")).result).toBe("passed");
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toMatch(/stopped/i);
    expect(await byTestId("agent-counts").textContent()).toMatch(/2 passed.*1 failed.*1 stopped/);
  });

  it("Start again, then Stop: the agent leaves the hub and the page says stopped", async () => {
    await byTestId("agent-start").click();
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toMatch(/waiting for jobs/i);
    await byTestId("agent-stop").click();
    await expect.poll(async () => await byTestId("agent-state").textContent(), { timeout: 20_000 }).toMatch(/stopped/i);
    await hub.api.waitForAgent((agents) => agents.length >= 2 && agents.every((a) => a.disconnected));
    // Counts are per run: this one ran no job (the run before counted 2 passed, 1 failed, 1 stopped).
    expect(await byTestId("agent-counts").textContent()).toBe("0 passed · 0 failed · 0 stopped");
    expect(await hub.api.violations()).toEqual([]);
  });

  it("the local demo runs a shipped example without any account", async () => {
    await byTestId("nav-demo").click();
    await byTestId("demo-start").click();
    await byTestId("demo-run-hello-world").click();
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 30_000 }).toMatch(/passed/i);
    await waitForTerminal(/exit 0/);
    await screenshot(page, "09-demo-job");
    await byTestId("nav-demo").click();
    await screenshot(page, "10-demo");
    await byTestId("demo-stop").click();
    await expect.poll(async () => await byTestId("demo-start").isVisible(), { timeout: 20_000 }).toBe(true);
  });

  it("after a restart of the console, the settings and the history are still there", async () => {
    con.proc.signal("SIGTERM");
    expect(await con.proc.waitForExit(30_000)).toBe(0);
    const again = await startConsole({ dataDir: con.dataDir });
    con = again;
    await page.goto(again.url);
    await byTestId("nav-history").click();
    const rows = byTestId("history-row");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const ids = await rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-job-id")));
    expect(ids).toEqual(expect.arrayContaining([passedId, failedId, stoppedId]));
    await page.locator(`[data-testid="history-row"][data-job-id="${failedId}"]`).click();
    expect(await waitForTerminal(/^epilogue-ran$/m)).toMatch(/^about-to-fail$/m);
    await byTestId("nav-settings").click();
    expect(await byTestId("settings-endpoint").inputValue()).toBe(hub.endpoint);
    expect(await byTestId("settings-token").inputValue()).toBe("");
    expect(await byTestId("settings-token").getAttribute("placeholder")).toMatch(/stored/);
    await screenshot(page, "11-settings-after-restart");
  });

  it("imports an official config.yaml (a wrong key is named, with the key it was meant to be) and exports one without the token", async () => {
    await byTestId("nav-settings").click();
    await byTestId("settings-import-paste").click();
    await byTestId("config-yaml-input").fill(`endpoint: "${hub.endpoint}"\nendpiont: "typo.example"\n`);
    await byTestId("config-import-submit").click();
    // The dialog stays open with the text and says what is wrong (it no longer closes on an error).
    await byTestId("config-import-errors").waitFor();
    expect(await byTestId("config-import-errors").textContent()).toContain("endpiont is not a config.yaml option: did you mean endpoint?");
    expect(await byTestId("config-yaml-input").inputValue()).toContain("endpiont");
    await screenshot(page, "12-import-error");

    await byTestId("config-yaml-input").fill(
      `endpoint: "${hub.endpoint}"\nno-https: true\nname: "imported-agent-name"\nenv-vars: ["FROM_YAML=yes"]\n`,
    );
    await byTestId("config-import-submit").click();
    await expect.poll(async () => await byTestId("settings-name").inputValue(), { timeout: 10_000 }).toBe("imported-agent-name");
    expect(await byTestId("settings-env-var-name-0").inputValue()).toBe("FROM_YAML");
    expect(await byTestId("settings-token").getAttribute("placeholder")).toMatch(/stored/); // kept

    await byTestId("settings-export").click();
    const exported = await byTestId("config-export-text").inputValue();
    expect(exported).toContain("imported-agent-name");
    expect(exported).toContain("FROM_YAML=yes");
    expect(exported).not.toContain(hub.token);
  });

  it("keeps its data private: owner-only files, and the token only in its own file", () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          expect(statSync(path).mode & 0o077, `${path} is private`).toBe(0);
          walk(path);
        } else files.push(path);
      }
    };
    walk(con.dataDir);
    expect(files.some((f) => f.endsWith(".jsonl"))).toBe(true); // the history is there
    for (const file of files) {
      expect(statSync(file).mode & 0o077, `${file} is private`).toBe(0);
      if (!file.endsWith("registration-token")) expect(readFileSync(file, "utf8"), file).not.toContain(hub.token);
    }
  });
});
