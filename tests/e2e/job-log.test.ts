// The job log as GitHub Actions' and Buildkite's job pages read: a real `semaphore-agent console`
// process (host + agent), a real hub process, and Debian's Chromium on the real renderer. Epilogues
// labelled with their kind and the agent's own steps named, in the log's headers and in the command
// list; the commands skipped after a failure listed greyed and named at the end of the log; a
// command ended by a stop says who stopped it (you, Semaphore) instead of a red exit 1; all of it
// again after a reload, from the history. Screenshots at 1400×900 and 900×600.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser, terminalText as terminalTextOf, waitForTerminal as waitForTerminalOf } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { job, startHub, stopAll, type HubProcess } from "../helpers/processes.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;

const byTestId = (id: string) => page.getByTestId(id);
const SIZES = [
  { width: 1400, height: 900, name: "1400" },
  { width: 900, height: 600, name: "900" },
] as const;

const terminalText = () => terminalTextOf(page);
const waitForTerminal = (pattern: RegExp, timeoutMs = 20_000) => waitForTerminalOf(page, pattern, timeoutMs);

/** The command list as the page shows it: directive, state, kind, the tag line, the directive's colour. */
async function commandList(): Promise<{ directive: string; state: string; kind: string; tags: string; colour: string; duration: string }[]> {
  return await byTestId("job-command").evaluateAll((els) =>
    els.map((el) => ({
      directive: el.querySelector(".directive")?.textContent ?? "",
      state: el.getAttribute("data-state") ?? "",
      kind: el.getAttribute("data-kind") ?? "",
      tags: el.querySelector(".command-tags")?.textContent ?? "",
      colour: getComputedStyle(el.querySelector(".directive")!).color,
      duration: el.querySelector(".duration")?.textContent ?? "",
    })),
  );
}

async function openJob(id: string): Promise<void> {
  await byTestId("nav-job").click();
  await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(id);
}

/** A screenshot at each size, the last one at 1400×900 again; scrolls the command list so its end shows. */
async function screenshots(name: string): Promise<void> {
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.waitForTimeout(400);
    await screenshot(page, `${name}-${size.name}`);
  }
  await page.setViewportSize({ width: SIZES[0].width, height: SIZES[0].height });
}

beforeAll(async () => {
  hub = await startHub();
  con = await startConsole();
  browser = await launchBrowser({ width: 1400, height: 900 });
  page = browser.page;
  const rpc = await ConsoleRpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token, sandbox: "none" })).toMatchObject({ ok: true, result: { ok: true } });
  expect((await rpc.call("startAgent", {})).ok).toBe(true);
  rpc.close();
  await hub.api.waitForAgent((agents) => agents.some((a) => a.state === "waiting-for-jobs"));
  await page.goto(con.url);
  await byTestId("nav-job").waitFor();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

let failedId = "";
let stoppedByYouId = "";
let stoppedBySemaphoreId = "";

describe("job log: epilogues, the agent's steps, skipped and stopped commands (console, agent, hub, Chromium)", () => {
  it("a job failing at command 2 of 4: its epilogues labelled by kind, the two env exports told apart, the rest skipped and greyed", async () => {
    failedId = await hub.api.schedule(
      job({
        commands: ["echo one", "echo two-fails; sh -c 'exit 3'", "echo three", "echo four"],
        always: ["echo cleanup-ran"],
        onPass: ["echo deploy"],
        onFail: ["echo notify-ran"],
      }),
    );
    await hub.api.waitForJob(failedId, "finished");
    await openJob(failedId);
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/failed/i);
    const text = await waitForTerminal(/Skipped after the failure/);
    expect(text).toMatch(/^▶ Exporting environment variables {2}agent step · the job's variables$/m);
    expect(text).toMatch(/^▶ Exporting environment variables {2}agent step · SEMAPHORE_JOB_RESULT$/m);
    expect(text).toMatch(/^▶ echo cleanup-ran {2}epilogue · always$/m);
    expect(text).toMatch(/^▶ echo notify-ran {2}epilogue · on fail$/m);
    expect(text).toMatch(/^✘ exit 3 · /m);
    expect(text).toMatch(/^⊘ Skipped after the failure: echo three, echo four$/m);
    expect(text).not.toContain("deploy");
    // What Semaphore got is untouched: its directives are the runner's.
    const sent = (await hub.api.events(failedId)).flatMap((e) => (e.event === "cmd_started" ? [e.directive] : []));
    expect(sent).toEqual(["Exporting environment variables", "Injecting Files", "echo one", "echo two-fails; sh -c 'exit 3'", "Exporting environment variables", "echo cleanup-ran", "echo notify-ran"]);

    const list = await commandList();
    expect(list.map((c) => [c.directive, c.state, c.kind])).toEqual([
      ["Exporting environment variables", "passed", "job-env"],
      ["Injecting Files", "passed", "files"],
      ["echo one", "passed", "command"],
      ["echo two-fails; sh -c 'exit 3'", "failed", "command"],
      ["echo three", "skipped", "command"],
      ["echo four", "skipped", "command"],
      ["Exporting environment variables", "passed", "result-env"],
      ["echo cleanup-ran", "passed", "epilogue-always"],
      ["echo notify-ran", "passed", "epilogue-on-fail"],
    ]);
    expect(list.find((c) => c.directive === "echo notify-ran")?.tags).toBe("epilogue · on fail");
    expect(list.find((c) => c.directive === "echo three")?.duration).toBe("skipped");
    expect(list.find((c) => c.directive === "echo two-fails; sh -c 'exit 3'")?.duration).toMatch(/ · exit 3$/);
    // Greyed: a skipped directive is drawn fainter than one that ran.
    const ran = list.find((c) => c.directive === "echo one")!.colour;
    expect(list.find((c) => c.directive === "echo three")!.colour).not.toBe(ran);
    await screenshots("80-job-log-epilogues-skipped");
  });

  it("a job stopped with Stop this job: the running command says stopped by you, not exit 1, and so do the header and the result", async () => {
    stoppedByYouId = await hub.api.schedule(job({ commands: ["echo long-job-started; sleep 60", "echo never-runs"], always: ["echo cleanup"] }));
    await hub.api.waitForEvents(stoppedByYouId, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("long-job-started")));
    await openJob(stoppedByYouId);
    await waitForTerminal(/long-job-started/);
    // Running: the command's time so far.
    await expect.poll(async () => (await commandList()).at(-1)?.duration ?? "", { timeout: 10_000 }).toMatch(/^running · /);
    await byTestId("job-stop").click();
    await byTestId("job-stop-confirm").click();
    expect((await hub.api.waitForJob(stoppedByYouId, "finished")).result).toBe("stopped");
    await expect.poll(async () => await byTestId("job-result").textContent(), { timeout: 20_000 }).toMatch(/stopped/i);
    const text = await waitForTerminal(/Job stopped by you/);
    expect(text).toMatch(/^■ stopped by you · /m);
    expect(text).not.toMatch(/exit 1/);
    expect(text).toMatch(/^⊘ Skipped after the stop: echo never-runs, echo cleanup \(epilogue · always\)$/m);
    expect(await byTestId("job-stopped-by").textContent()).toBe("Stopped by you");
    const stopped = (await commandList()).find((c) => c.directive === "echo long-job-started; sleep 60");
    expect(stopped).toMatchObject({ state: "stopped", tags: "stopped by you" });
    expect(stopped?.duration).toMatch(/^(< )?\d+ s$/);
    expect((await commandList()).filter((c) => c.state === "skipped").map((c) => c.directive)).toEqual(["echo never-runs", "echo cleanup"]);
    await screenshots("81-job-log-stopped-by-you");
  });

  it("a job stopped from Semaphore (the hub's stop-job) says stopped by Semaphore", async () => {
    stoppedBySemaphoreId = await hub.api.schedule(job({ commands: ["echo waiting-for-a-stop; sleep 60"] }));
    await hub.api.waitForEvents(stoppedBySemaphoreId, (events) => events.some((e) => e.event === "cmd_output" && e.output.includes("waiting-for-a-stop")));
    await openJob(stoppedBySemaphoreId);
    await waitForTerminal(/waiting-for-a-stop/);
    await hub.api.stop(stoppedBySemaphoreId);
    await hub.api.waitForJob(stoppedBySemaphoreId, "finished");
    const text = await waitForTerminal(/Job stopped by Semaphore/);
    expect(text).toMatch(/^■ stopped by Semaphore · /m);
    expect(text).not.toMatch(/exit 1/);
    expect(await byTestId("job-stopped-by").textContent()).toBe("Stopped by Semaphore");
    expect((await commandList()).at(-1)).toMatchObject({ state: "stopped", tags: "stopped by Semaphore" });
    await screenshots("82-job-log-stopped-by-semaphore");
  });

  it("after a reload, from the history, the same labels, skipped commands and stops", async () => {
    await page.reload();
    await byTestId("nav-history").click();
    await page.locator(`[data-testid="history-row"][data-job-id="${failedId}"]`).click();
    await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(failedId);
    const text = await waitForTerminal(/Skipped after the failure: echo three, echo four/);
    expect(text).toMatch(/^▶ echo notify-ran {2}epilogue · on fail$/m);
    expect((await commandList()).filter((c) => c.state === "skipped").map((c) => c.directive)).toEqual(["echo three", "echo four"]);

    for (const [id, who] of [
      [stoppedByYouId, "you"],
      [stoppedBySemaphoreId, "Semaphore"],
    ] as const) {
      await byTestId("nav-history").click();
      await page.locator(`[data-testid="history-row"][data-job-id="${id}"]`).click();
      await expect.poll(async () => await byTestId("job-id").textContent(), { timeout: 20_000 }).toContain(id);
      const log = await waitForTerminal(new RegExp(`Job stopped by ${who}`));
      expect(log).toMatch(new RegExp(`^■ stopped by ${who} · `, "m"));
      expect((await commandList()).find((c) => c.state === "stopped")?.tags).toBe(`stopped by ${who}`);
    }
    await screenshots("83-job-log-history-stopped");
    expect(await hub.api.violations()).toEqual([]);
  });
});
