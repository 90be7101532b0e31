// The GPU box end to end: a real `semaphore-agent console` process (host + agents) on the 2-GPU
// machine the stand-in nvidia-smi on its PATH describes, a real hub process, and Debian's Chromium
// on the real renderer. The GPU panel draws live charts from the samples; one agent per GPU is set
// in Settings and both come up; a job's GPU process shows as the job's on the panel and its view
// shows the live figures of the GPU it holds; once it ends its history entry keeps what it used,
// across a reload; the lend toggle takes a GPU back and its agent goes.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, screenshot, type Browser } from "../helpers/browser.js";
import { ConsoleRpc, startConsole, type ConsoleProcess } from "../helpers/console.js";
import { job, ROOT, startHub, stopAll, tempDir, type HubProcess } from "../helpers/processes.js";
import { sleepers, uniqueSleepBase, waitForSleepers } from "../helpers/sandbox.js";

let hub: HubProcess;
let con: ConsoleProcess;
let browser: Browser;
let page: Page;
let appsFile: string;
let jobId = "";
let jobGpu = -1;
const base = uniqueSleepBase();
const NAME = "e2e-gpu-box";

const byTestId = (id: string) => page.getByTestId(id);
const uuid = (i: number) => `GPU-${(0x5c3f0000 + i).toString(16)}-1b2c-4d5e-8f90-${String(i).padStart(12, "a")}`;

/** The canvas of a chart has drawn something (uPlot draws the series on a canvas). */
async function chartDrew(testId: string): Promise<boolean> {
  return await page.getByTestId(testId).evaluate((el) => {
    const canvas = el.querySelector("canvas");
    if (!canvas || canvas.width === 0 || canvas.height === 0) return false;
    const data = canvas.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data;
    if (!data) return false;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
    return false;
  });
}

beforeAll(async () => {
  hub = await startHub();
  appsFile = join(tempDir("sa-e2e-gpu-apps-"), "apps");
  writeFileSync(appsFile, "");
  con = await startConsole({ env: { PATH: `${join(ROOT, "tests/helpers/bin")}:${process.env.PATH}`, FAKE_NVIDIA_GPUS: "2", FAKE_NVIDIA_APPS_FILE: appsFile } });
  browser = await launchBrowser({ width: 1400, height: 900 });
  page = browser.page;
  const rpc = await ConsoleRpc.open(con);
  expect(await rpc.saveSettingsWith({ endpoint: hub.endpoint, noHttps: true, token: hub.token, name: NAME })).toMatchObject({ ok: true, result: { ok: true } });
  rpc.close();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe("the GPU box in the web console (console process, agents, hub, Chromium)", () => {
  it("the GPU panel shows each GPU with live charts drawn from the samples", async () => {
    await page.goto(con.url);
    await byTestId("nav-gpus").click();
    await byTestId("gpu-panel").waitFor();
    for (const i of [0, 1]) {
      await byTestId(`gpu-card-${i}`).waitFor({ timeout: 15_000 });
      expect(await byTestId(`gpu-uuid-${i}`).textContent()).toBe(uuid(i));
      expect(await byTestId(`gpu-name-${i}`).textContent()).toContain("NVIDIA A100-SXM4-40GB");
    }
    // A few seconds of samples: each chart has drawn its line, and its readout shows the newest value.
    for (const metric of ["utilization", "memory", "temperature", "power"]) {
      await expect.poll(() => chartDrew(`gpu-chart-0-${metric}`), { timeout: 20_000 }).toBe(true);
      await expect.poll(async () => (await byTestId(`gpu-chart-0-${metric}-value`).textContent()) ?? "", { timeout: 20_000 }).toMatch(/\d/);
    }
    const watts = async () => (await byTestId("gpu-chart-1-power-value").textContent()) ?? "";
    const first = await watts();
    // The stand-in's power changes every sample: the readout follows it live.
    await expect.poll(watts, { timeout: 20_000 }).not.toBe(first);
    expect(await byTestId("gpu-machine-cpu").textContent()).toMatch(/%/);
    await screenshot(page, "50-gpu-panel");
  });

  it("one agent per GPU, set in Settings: both agents come up under their own names", async () => {
    await byTestId("nav-settings").click();
    await byTestId("settings-gpu-agents").scrollIntoViewIfNeeded();
    await byTestId("settings-gpu-agents-per-gpu").check();
    await byTestId("settings-save").click();
    await byTestId("settings-saved").waitFor({ timeout: 10_000 });
    await screenshot(page, "51-settings-gpu-agents");
    await byTestId("nav-agent").click();
    await byTestId("agents-list").waitFor({ timeout: 10_000 });
    expect(await page.locator("[data-agent-id]").count()).toBe(2);
    await byTestId("agent-start").click();
    await hub.api.waitForAgent((agents) => [0, 1].every((i) => agents.some((a) => a.name === `${NAME}-gpu${i}` && a.state === "waiting-for-jobs")), 30_000);
    for (const i of [0, 1]) {
      await expect.poll(async () => (await byTestId(`agent-row-gpu${i}-name`).textContent()) ?? "", { timeout: 10_000 }).toContain(`${NAME}-gpu${i}`);
      expect(await byTestId(`agent-row-gpu${i}-gpus`).textContent()).toContain(`GPU ${i}`);
    }
    await screenshot(page, "52-agents-per-gpu");
  });

  it("a job's GPU process is the job's on the panel, and its view shows the live figures of its GPU", async () => {
    // The job holds "its GPU" (a sleep standing in for the CUDA process) until a file appears in its home.
    jobId = await hub.api.schedule(job({ commands: [`sleep ${base} & held=$!; while [ ! -e "$HOME/release" ]; do sleep 0.2; done; kill $held`] }));
    await hub.api.waitForJob(jobId, "running", 30_000);
    const agentName = (await hub.api.job(jobId)).agent ?? "";
    jobGpu = Number(/gpu(\d)$/.exec(agentName)?.[1]);
    expect([0, 1]).toContain(jobGpu);
    await waitForSleepers([base], "the job's GPU process");
    const pid = (sleepers([base]).get(base) as number[])[0];
    writeFileSync(appsFile, `${pid}:python3:6144:${jobGpu}`);

    await byTestId("nav-gpus").click();
    const jobGroup = byTestId(`gpu-processes-${jobGpu}`).getByTestId("gpu-process-job");
    await jobGroup.waitFor({ timeout: 20_000 });
    expect(await jobGroup.getAttribute("data-job-id")).toBe(jobId);
    expect(await jobGroup.textContent()).toContain("python3");
    await screenshot(page, "53-gpu-panel-job-process");

    await jobGroup.getByRole("button").click();
    await byTestId("job-gpu-live").waitFor({ timeout: 10_000 });
    const live = byTestId("job-gpu-live-gpu");
    expect(await live.count()).toBe(1);
    expect(await live.getAttribute("data-uuid")).toBe(uuid(jobGpu));
    expect(await byTestId("job-gpu-live-power").textContent()).toMatch(/\d+ W/);
    expect(await byTestId("job-gpu-live-temperature").textContent()).toMatch(/\d+ °C/);
    await screenshot(page, "54-job-gpu-live");
  });

  it("once the job ends, its view and history entry keep what it used, across a reload", async () => {
    const jobHome = join(con.dataDir, "agents", `gpu${jobGpu}`, "job-home");
    expect(existsSync(jobHome)).toBe(true);
    writeFileSync(join(jobHome, "release"), "");
    await hub.api.waitForJob(jobId, "finished", 30_000);
    const row = byTestId("job-usage-gpu");
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute("data-uuid")).toBe(uuid(jobGpu));
    expect(await row.textContent()).toMatch(/6\.0 GiB|6144 MiB/);
    expect(await row.textContent()).toMatch(/Wh/);
    const usage = async () => ({ wall: await byTestId("job-usage-wall").textContent(), cpu: await byTestId("job-usage-cpu").textContent(), gpu: await row.textContent() });
    const before = await usage();
    expect(before.cpu).toMatch(/\d/);
    await screenshot(page, "55-job-usage");

    await page.reload();
    await byTestId("nav-history").click();
    const entry = page.locator(`[data-testid="history-row"][data-job-id="${jobId}"]`);
    await entry.waitFor({ timeout: 10_000 });
    expect(await entry.getByTestId("history-job-agent").textContent()).toContain(`${NAME}-gpu${jobGpu}`);
    expect(await entry.getByTestId("history-job-usage").textContent()).toMatch(/Wh/);
    await entry.click();
    await byTestId("job-usage-gpu").waitFor({ timeout: 10_000 });
    expect(await usage()).toEqual(before);
  });

  it("the lend toggle takes a GPU back: its agent leaves Semaphore and the list", async () => {
    await byTestId("nav-gpus").click();
    const other = jobGpu === 0 ? 1 : 0;
    await byTestId(`gpu-lend-${other}`).uncheck();
    await expect.poll(async () => await byTestId(`gpu-card-${other}`).getAttribute("data-lent"), { timeout: 10_000 }).toBe("false");
    await hub.api.waitForAgent((agents) => agents.some((a) => a.name === `${NAME}-gpu${other}` && a.disconnected), 30_000);
    await byTestId("nav-agent").click();
    // One agent left: the page shows it as the machine's agent again (no list of one).
    await expect.poll(async () => await page.locator("[data-agent-id]").count(), { timeout: 15_000 }).toBe(0);
    const rpc = await ConsoleRpc.open(con);
    const snapshot = (await rpc.call("getSnapshot")).result as { agents: { id: string }[] };
    rpc.close();
    expect(snapshot.agents.map((a) => a.id)).toEqual([`gpu${jobGpu}`]);
    await byTestId("nav-gpus").click();
    expect(await byTestId(`gpu-agent-${other}`).textContent()).toBe("Kept for you: no agent gets it, and no job sees it");
    await screenshot(page, "56-gpu-taken-back");
  });
});
