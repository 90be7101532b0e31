import { describe, expect, it } from "vitest";
import { idleAgentSnapshot, type AgentSnapshot, type SettingsView } from "../../agent-core/host/contract.js";
import { draftFrom, LENDING_DEFAULTS, newEnvRow, SANDBOX_DEFAULTS, sameDraft, toSettingsInput } from "../../renderer/views/settings-draft.js";
import { defaultSettings } from "../../agent-core/host/settings.js";
import { agentErrorText, agentStatus, countsText, effectiveResult, formatAgo, formatDuration, safeExternalUrl } from "../../renderer/view-model.js";
import { settingsView } from "../helpers/settings-view.js";

const agent = (patch: Partial<AgentSnapshot> = {}): AgentSnapshot => idleAgentSnapshot({ counts: { passed: 3, failed: 1, stopped: 0 }, ...patch });

describe("the agent's state in words", () => {
  it("names every phase", () => {
    expect(agentStatus(agent()).words).toBe("Stopped");
    expect(agentStatus(agent({ phase: "stopped" })).words).toBe("Stopped");
    expect(agentStatus(agent({ phase: "registering" })).words).toBe("Connecting…");
    expect(agentStatus(agent({ phase: "waiting-for-jobs" })).words).toBe("Waiting for jobs");
    expect(agentStatus(agent({ phase: "finished-job" })).words).toBe("Waiting for jobs");
    expect(agentStatus(agent({ phase: "running-job", jobId: "a1b2" })).words).toBe("Running job a1b2");
    expect(agentStatus(agent({ phase: "starting-job", jobId: "a1b2" })).words).toBe("Running job a1b2");
    expect(agentStatus(agent({ phase: "stopping-job", jobId: "a1b2" })).words).toBe("Stopping job a1b2");
    expect(agentStatus(agent({ phase: "finished-job", jobId: "a1b2" })).words).toBe("Finishing job a1b2");
    expect(agentStatus(agent({ phase: "waiting-for-jobs", stopping: true })).words).toBe("Stopping…");
    expect(agentStatus(agent({ phase: "shutting-down" })).words).toBe("Stopping…");
  });

  it("says Disconnected while it cannot reach the server, with the server's message and the retry", () => {
    const a = agent({ phase: "waiting-for-jobs", error: { scope: "sync", message: "503 Service Unavailable", at: 0, retryAt: 14_000 } });
    expect(agentStatus(a).words).toBe("Disconnected");
    expect(agentErrorText(a, 10_000)).toBe("503 Service Unavailable — retrying in 4 s");
    expect(agentErrorText(a, 14_500)).toBe("503 Service Unavailable — retrying now");
    // Before the first successful registration it is "Connecting", never "Disconnected" (issue 9).
    const registering = agent({ phase: "registering", error: { scope: "register", message: "401 Unauthorized", at: 0, retryAt: null } });
    expect(agentStatus(registering).words).toBe("Connecting…");
    expect(agentStatus(registering).tone).toBe("warn");
    expect(agentErrorText(registering, 0)).toBe("401 Unauthorized");
    // A retry minutes away names its time as well.
    const later = agent({ phase: "registering", error: { scope: "register", message: "x", at: 0, retryAt: 150_000 } });
    expect(agentErrorText(later, 0)).toMatch(/^x — next try at \d\d:\d\d \(in 2 min 30 s\)$/);
  });

  it("says Error when the last run ended badly, and shows why", () => {
    const a = agent({ phase: "stopped", lastExit: { reason: "UNABLE_TO_REGISTER", exitCode: 1, at: 0, message: "Could not register: 401" } });
    expect(agentStatus(a)).toEqual({ words: "Error", tone: "error", running: false });
    expect(agentErrorText(a, 0)).toBe("Could not register: 401");
    expect(agentStatus(agent({ lastExit: { reason: "REQUESTED", exitCode: 0, at: 0, message: "" } })).words).toBe("Stopped");
  });

  it("a job error leaves the state as it is", () => {
    const a = agent({ phase: "running-job", jobId: "j", error: { scope: "logs", message: "log push failed", at: 0, retryAt: null } });
    expect(agentStatus(a).words).toBe("Running job j");
    expect(agentErrorText(a, 0)).toBe("log push failed");
  });

  it("counts, durations and times", () => {
    expect(countsText({ passed: 3, failed: 1, stopped: 0 })).toBe("3 passed · 1 failed · 0 stopped");
    expect(formatDuration(1234)).toBe("1 s");
    expect(formatDuration(600)).toBe("0.6 s");
    expect(formatDuration(125_000)).toBe("2 min 5 s");
    expect(formatDuration(3 * 3600_000 + 60_000)).toBe("3 h 1 min");
    expect(formatAgo(null, 0)).toBe("never");
    expect(formatAgo(1_000, 13_000)).toBe("12 s ago");
    expect(effectiveResult("running", "passed")).toBe("passed");
    expect(effectiveResult("lost", "passed")).toBe("lost");
    expect(effectiveResult(null, null)).toBeNull();
  });

  it("opens only https links", () => {
    expect(safeExternalUrl("https://semaphoreci.com/docs")).toBe("https://semaphoreci.com/docs");
    expect(safeExternalUrl("http://example.com")).toBeNull();
    expect(safeExternalUrl("javascript:alert(1)")).toBeNull();
    expect(safeExternalUrl("file:///etc/passwd")).toBeNull();
    expect(safeExternalUrl("not a url")).toBeNull();
  });
});

describe("the settings form's draft", () => {
  const view: SettingsView = settingsView({
    tokenStorage: "safe-storage",
    name: "gpu-box-agent",
    envVars: [{ name: "GPU_COUNT", value: "2" }],
    files: ["/a:/b"],
    interruptionGracePeriod: 30,
  });


  it("round-trips the settings, keeping the stored token when none is typed", () => {
    const { input, errors } = toSettingsInput(draftFrom(view));
    expect(errors).toEqual([]);
    expect(input).toEqual({
      endpoint: "acme.semaphoreci.com",
      name: "gpu-box-agent",
      noHttps: false,
      envVars: [{ name: "GPU_COUNT", value: "2" }],
      files: ["/a:/b"],
      preJobHookPath: "",
      postJobHookPath: "",
      shutdownHookPath: "",
      failOnPreJobHookError: false,
      sourcePreJobHook: false,
      uploadJobLogs: "never",
      disconnectAfterJob: false,
      disconnectAfterIdleTimeout: 0,
      interruptionGracePeriod: 30,
      historyMaxJobs: 500,
      historyMaxMegabytes: 1024,
      debugKeepJobs: 10,
      // The sandbox, disk and lending settings: the app's defaults, as the fixture has them.
      ...SANDBOX_DEFAULTS,
      ...LENDING_DEFAULTS,
      notifyJobs: true,
      notifyConnection: true,
      notifyPauses: true,
      startAtLogin: false,
    });
    expect(toSettingsInput({ ...draftFrom(view), token: "new-token" }).input?.token).toBe("new-token");
  });

  it("SANDBOX_DEFAULTS and LENDING_DEFAULTS are the host's own defaults", () => {
    const d = defaultSettings();
    const pick = (defaults: object) => Object.fromEntries(Object.keys(defaults).map((k) => [k, d[k as keyof typeof d]]));
    expect(pick(SANDBOX_DEFAULTS)).toEqual(SANDBOX_DEFAULTS);
    expect(pick(LENDING_DEFAULTS)).toEqual(LENDING_DEFAULTS);
  });

  it("leaves out blank rows and lines, remembering which row each sent entry came from", () => {
    const draft = draftFrom(view);
    const blank = newEnvRow();
    const second = newEnvRow("B", "1");
    draft.envVars = [blank, ...draft.envVars, second];
    draft.files = "\n/x:/y\n\n/z:/w\n";
    const c = toSettingsInput(draft);
    expect(c.input?.envVars.map((e) => e.name)).toEqual(["GPU_COUNT", "B"]);
    expect(c.envRowKeys).toEqual([draft.envVars[1]!.key, second.key]);
    expect(c.input?.files).toEqual(["/x:/y", "/z:/w"]);
    expect(c.fileLines).toEqual([2, 4]);
  });

  it("refuses numbers that are not whole numbers before asking the host", () => {
    const c = toSettingsInput({ ...draftFrom(view), interruptionGracePeriod: "1.5", historyMaxJobs: "0" });
    expect(c.input).toBeNull();
    expect(c.errors).toEqual([
      { field: "interruptionGracePeriod", message: "Enter a whole number" },
      { field: "historyMaxJobs", message: "Enter 1 or more" },
    ]);
  });

  it("checks how many jobs' env files to keep: a whole number from 0 to 1000", () => {
    expect(toSettingsInput({ ...draftFrom(view), debugKeepJobs: "0" }).input?.debugKeepJobs).toBe(0);
    expect(toSettingsInput({ ...draftFrom(view), debugKeepJobs: " 1000 " }).input?.debugKeepJobs).toBe(1000);
    expect(toSettingsInput({ ...draftFrom(view), debugKeepJobs: "1001" }).errors).toEqual([{ field: "debugKeepJobs", message: "Enter 1000 or less" }]);
    expect(toSettingsInput({ ...draftFrom(view), debugKeepJobs: "-1" }).errors).toEqual([{ field: "debugKeepJobs", message: "Enter a whole number" }]);
    expect(toSettingsInput({ ...draftFrom(view), debugKeepJobs: "" }).input).toBeNull();
  });

  it("tells edits from the saved settings", () => {
    const a = draftFrom(view);
    expect(sameDraft(a, draftFrom(view))).toBe(true);
    expect(sameDraft({ ...a, name: "other-name" }, draftFrom(view))).toBe(false);
  });
});
