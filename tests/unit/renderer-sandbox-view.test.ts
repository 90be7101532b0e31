// Where jobs run and the disk guard in the renderer's words (renderer/sandbox-view.ts), and the
// Settings draft's sandbox and disk fields (renderer/views/settings-draft.ts). Pure: no DOM.
import { describe, expect, it } from "vitest";
import { idleAgentSnapshot, type DiskView, type SandboxStatus } from "../../agent-core/host/contract.js";
import {
  debugPanelTitle,
  diskCallout,
  diskGuardSentence,
  formatDiskBytes,
  sandboxDowngraded,
  sandboxLine,
  shownSandbox,
  spaceLow,
  spaceWords,
  workspaceWords,
} from "../../renderer/sandbox-view.js";
import { agentStatus } from "../../renderer/view-model.js";
import { draftFrom, lineOfListError, sandboxSettingsOf, toSettingsInput } from "../../renderer/views/settings-draft.js";
import { settingsView } from "../helpers/settings-view.js";

const status = (patch: Partial<SandboxStatus> = {}): SandboxStatus => ({
  requested: "strict",
  level: "strict",
  notice: null,
  install: null,
  jobHome: "/data/app/job-home",
  privateHome: true,
  workspace: "clean",
  ...patch,
});

const GB = 1e9;
const space = (freeBytes: number, totalBytes: number, thresholdBytes: number): DiskView["spaces"][number] => ({ label: "job home", path: "/data", freeBytes, totalBytes, thresholdBytes });
const disk = (patch: Partial<DiskView> = {}): DiskView => ({ state: "low", reason: "Only 3.2 GB free on /data (job home), below 10 GB", checkedAt: 1, spaces: [space(3.2 * GB, 500 * GB, 10 * GB)], usage: null, ...patch });

describe("disk sizes", () => {
  it("are decimal, as disks are sold", () => {
    expect(formatDiskBytes(0)).toBe("0 B");
    expect(formatDiskBytes(950)).toBe("950 B");
    expect(formatDiskBytes(1000)).toBe("1.0 KB");
    expect(formatDiskBytes(3.2 * GB)).toBe("3.2 GB");
    expect(formatDiskBytes(512 * GB)).toBe("512 GB");
    expect(formatDiskBytes(999_960_000)).toBe("1.0 GB"); // never "1000.0 MB"
    expect(formatDiskBytes(-1)).toBe("—");
    expect(formatDiskBytes(Number.NaN)).toBe("—");
  });

  it("a watched filesystem: free of total, its limit, and whether it is below", () => {
    expect(spaceWords(space(3.2 * GB, 500 * GB, 10 * GB))).toBe("3.2 GB free of 500 GB (limit 10.0 GB)");
    expect(spaceLow(space(3.2 * GB, 500 * GB, 10 * GB))).toBe(true);
    expect(spaceLow(space(30 * GB, 500 * GB, 10 * GB))).toBe(false);
  });
});

describe("the disk guard's sentence in Settings", () => {
  it("says both limits and the floor, as typed", () => {
    expect(diskGuardSentence(10, 10, 1)).toBe("Stops taking jobs when free space is below the smaller of 10 GB and 10 %; stops a running job below 1 GB.");
    expect(diskGuardSentence(" 20 ", "5", "")).toBe("Stops taking jobs when free space is below the smaller of 20 GB and 5 %; stops a running job below … GB.");
  });

  it("0 turns a limit off, and all three the guard", () => {
    expect(diskGuardSentence("0", "10", "1")).toBe("Stops taking jobs when free space is below 10 %; stops a running job below 1 GB.");
    expect(diskGuardSentence("10", "0", "0")).toBe("Stops taking jobs when free space is below 10 GB; never stops a running job for space.");
    expect(diskGuardSentence("0", "0", "2")).toBe("Takes jobs whatever the free space; stops a running job below 2 GB.");
    expect(diskGuardSentence(0, 0, 0)).toBe("The disk guard is off: jobs are taken and run whatever the free space.");
  });
});

describe("the sandbox in words", () => {
  it("names the level and the job home", () => {
    expect(sandboxLine(status())).toBe("Sandbox: strict · job home /data/app/job-home");
    expect(sandboxLine(status({ requested: "none", level: "none" }))).toBe("Sandbox: none (private home) · job home /data/app/job-home");
    expect(sandboxLine(status({ requested: "none", level: "none", privateHome: false, jobHome: "/home/me" }))).toBe("Sandbox: none · job home /home/me");
    expect(workspaceWords(status())).toBe("cleaned after each job");
    expect(workspaceWords(status({ workspace: "keep" }))).toBe("kept between jobs");
    expect(workspaceWords(status({ privateHome: false }))).toBe("jobs run in your own home folder");
  });

  it("a strict sandbox that is not in force is always said", () => {
    expect(sandboxDowngraded(status())).toBe(false);
    expect(sandboxDowngraded(status({ requested: "none", level: "none" }))).toBe(false);
    const missing = status({ level: "none", notice: "bubblewrap is not installed: jobs run without the sandbox", install: "sudo apt-get install -y bubblewrap" });
    expect(sandboxDowngraded(missing)).toBe(true);
    // Even a host that sent no notice: the levels differ.
    expect(sandboxDowngraded(status({ level: "none" }))).toBe(true);
  });

  it("the Agent view shows the running agent's sandbox, else the saved settings'", () => {
    const saved = status({ jobHome: "/saved" });
    const running = status({ jobHome: "/running" });
    expect(shownSandbox(idleAgentSnapshot(), saved)).toBe(saved);
    expect(shownSandbox(idleAgentSnapshot({ sandbox: running }), saved)).toBe(running);
    expect(shownSandbox(null, null)).toBeNull();
  });

  it("the debug panel's header names the job and its sandbox", () => {
    expect(debugPanelTitle("web · build", "strict")).toBe("Debug · web · build · strict sandbox");
    expect(debugPanelTitle("4b1d0c2e-job", "none")).toBe("Debug · 4b1d0c2e-job · no sandbox");
  });
});

describe("the disk guard's callout", () => {
  it("is there while the agent is held, with the hold's reason", () => {
    const agent = idleAgentSnapshot({ hold: { kind: "disk", reason: "Only 3.2 GB free on /data (job home), below 10 GB", since: 5, next: null, until: null }, disk: disk() });
    expect(diskCallout(agent)).toEqual({ tone: "error", title: "Not taking jobs: Only 3.2 GB free on /data (job home), below 10 GB", disk: disk() });
    expect(agentStatus(agent)).toEqual({ words: "Paused (disk guard)", tone: "warn", running: true });
  });

  it("warns while the disk is low or critical, and says nothing once it is ok", () => {
    expect(diskCallout(idleAgentSnapshot({ phase: "running-job", disk: disk() }))?.tone).toBe("warn");
    expect(diskCallout(idleAgentSnapshot({ disk: disk({ state: "critical", reason: null }) }))).toMatchObject({ tone: "error", title: "Disk almost full: free space is below the hard floor" });
    expect(diskCallout(idleAgentSnapshot({ disk: disk({ state: "ok" }) }))).toBeNull();
    expect(diskCallout(idleAgentSnapshot())).toBeNull();
    expect(diskCallout(null)).toBeNull();
  });
});

describe("the Settings draft's sandbox and disk fields", () => {
  const view = settingsView({
    sandbox: "none",
    jobHomeCleanup: "keep",
    jobHomeKeep: [".cache/pip"],
    sandboxAllowDocker: true,
    sandboxReadOnlyPaths: ["/data/sets"],
    sandboxReadWritePaths: [],
    diskMinFreeGb: 20,
    diskMinFreePercent: 5,
    diskHardFloorGb: 2,
  } as never);

  it("round-trip", () => {
    expect(sandboxSettingsOf(view)).toMatchObject({ sandbox: "none", jobHomeKeep: [".cache/pip"], diskMinFreeGb: 20 });
    const { input, errors } = toSettingsInput(draftFrom(view));
    expect(errors).toEqual([]);
    expect(input).toMatchObject({
      sandbox: "none",
      jobHomeCleanup: "keep",
      jobHomeKeep: [".cache/pip"],
      sandboxAllowDocker: true,
      sandboxReadOnlyPaths: ["/data/sets"],
      sandboxReadWritePaths: [],
      diskMinFreeGb: 20,
      diskMinFreePercent: 5,
      diskHardFloorGb: 2,
    });
  });

  it("lists are one entry a line; a host error of entry i names its line", () => {
    const c = toSettingsInput({ ...draftFrom(view), sandboxReadWritePaths: "\n/scratch\n\n  relative/path  \n" });
    expect(c.input?.sandboxReadWritePaths).toEqual(["/scratch", "relative/path"]);
    expect(c.lines.sandboxReadWritePaths).toEqual([2, 4]);
    expect(lineOfListError("sandboxReadWritePaths[1]", c.lines)).toEqual({ list: "sandboxReadWritePaths", index: 1, line: 4 });
    expect(lineOfListError("jobHomeKeep[0]", c.lines)).toEqual({ list: "jobHomeKeep", index: 0, line: 1 });
    expect(lineOfListError("jobHomeKeep[7]", c.lines)).toEqual({ list: "jobHomeKeep", index: 7, line: null });
    expect(lineOfListError("envVars[0]", c.lines)).toBeNull();
    expect(lineOfListError("diskMinFreeGb", c.lines)).toBeNull();
  });

  it("disk limits are whole numbers in range, checked before asking the host", () => {
    const c = toSettingsInput({ ...draftFrom(view), diskMinFreeGb: "ten", diskMinFreePercent: "101", diskHardFloorGb: "-1" });
    expect(c.input).toBeNull();
    expect(c.errors).toEqual([
      { field: "diskMinFreeGb", message: "Enter a whole number" },
      { field: "diskMinFreePercent", message: "Enter 100 or less" },
      { field: "diskHardFloorGb", message: "Enter a whole number" },
    ]);
    expect(toSettingsInput({ ...draftFrom(view), diskMinFreeGb: "1000000", diskMinFreePercent: "100" }).input).toMatchObject({ diskMinFreeGb: 1_000_000, diskMinFreePercent: 100 });
  });
});
