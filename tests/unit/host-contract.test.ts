// The contract's request validation: what both bridges (Electron IPC, the console's WebSocket) run
// on every message from the UI before it reaches the host.
import { describe, expect, it } from "vitest";
import { dispatchRequest, HostError, HOST_METHODS, parseRequest, type HostApi } from "../../agent-core/host/contract.js";

describe("parseRequest", () => {
  it("accepts a well-formed request and returns its parsed params", () => {
    const parsed = parseRequest({ id: 7, method: "readJobLog", params: { jobId: "abc", from: 10 } });
    expect(parsed).toEqual({ ok: true, id: 7, method: "readJobLog", params: { jobId: "abc", from: 10 } });
  });

  it("treats null params of a method without parameters as {}", () => {
    expect(parseRequest({ id: 1, method: "getSnapshot", params: null })).toEqual({ ok: true, id: 1, method: "getSnapshot", params: {} });
    expect(parseRequest({ id: 2, method: "getSnapshot" })).toEqual({ ok: true, id: 2, method: "getSnapshot", params: {} });
    const missing = parseRequest({ id: 3, method: "getJob" });
    expect(!missing.ok && missing.error.message).toMatch(/^getJob: params\.jobId: /);
  });

  it.each([
    ["not an object", "hello", null],
    ["no id", { method: "getSnapshot", params: {} }, null],
    ["negative id", { id: -1, method: "getSnapshot", params: {} }, null],
    ["fractional id", { id: 1.5, method: "getSnapshot", params: {} }, null],
    ["extra envelope key", { id: 3, method: "getSnapshot", params: {}, extra: true }, 3],
  ])("rejects a bad envelope (%s)", (_what, raw, id) => {
    const parsed = parseRequest(raw);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.id).toBe(id);
    expect(parsed.error.code).toBe("invalid-request");
  });

  it("names the unknown key of an envelope", () => {
    const parsed = parseRequest({ id: 3, method: "getSnapshot", params: {}, extra: true });
    expect(!parsed.ok && parsed.error.message).toMatch(/extra/);
  });

  it("rejects an unknown method, keeping the id for the answer", () => {
    const parsed = parseRequest({ id: 4, method: "rm -rf", params: {} });
    expect(parsed).toMatchObject({ ok: false, id: 4, error: { code: "invalid-request" } });
    expect(!parsed.ok && parsed.error.message).toMatch(/^method: /);
  });

  it("names the offending parameter", () => {
    const parsed = parseRequest({ id: 5, method: "readJobLog", params: { jobId: "abc", from: -1 } });
    expect(parsed).toMatchObject({ ok: false, id: 5, error: { code: "invalid-request" } });
    expect(!parsed.ok && parsed.error.message).toMatch(/^readJobLog: params\.from: /);
  });

  it("names nested fields of saveSettings with their index", () => {
    const settings = {
      endpoint: "x.semaphoreci.com",
      name: "",
      noHttps: false,
      envVars: [{ name: "A", value: "1" }, { name: 5, value: "2" }],
      files: [],
      preJobHookPath: "",
      postJobHookPath: "",
      shutdownHookPath: "",
      failOnPreJobHookError: false,
      sourcePreJobHook: false,
      uploadJobLogs: "never",
      disconnectAfterJob: false,
      disconnectAfterIdleTimeout: 0,
      interruptionGracePeriod: 0,
      historyMaxJobs: 200,
      historyMaxMegabytes: 500,
    };
    const parsed = parseRequest({ id: 6, method: "saveSettings", params: { settings } });
    expect(!parsed.ok && parsed.error.message).toMatch(/params\.settings\.envVars\[1\]\.name: /);
  });

  it("rejects extra parameter keys, naming them", () => {
    const parsed = parseRequest({ id: 8, method: "stopAgent", params: { when: "now", force: true } });
    expect(parsed).toMatchObject({ ok: false, id: 8 });
    expect(!parsed.ok && parsed.error.message).toMatch(/force/);
    const bad = parseRequest({ id: 9, method: "stopAgent", params: { when: "later" } });
    expect(!bad.ok && bad.error.message).toMatch(/params\.when: /);
  });

  it("rejects a method that needs parameters when they are missing, naming one", () => {
    for (const method of ["stopAgent", "saveSettings", "importConfig", "getJob", "readJobLog", "runExample"] as const) {
      expect(HOST_METHODS).toContain(method);
      const parsed = parseRequest({ id: 1, method, params: {} });
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.error.message).toMatch(new RegExp(`^${method}: params\\.\\w+: `));
    }
  });
});

describe("dispatchRequest", () => {
  it("turns a HostError into its code and message, and other errors into internal", async () => {
    const api = {
      getSnapshot: async () => {
        throw new HostError("invalid-state", "nope");
      },
      getSettings: async () => {
        throw new Error("boom");
      },
    } as unknown as HostApi;
    expect(await dispatchRequest(api, { ok: true, id: 1, method: "getSnapshot", params: {} })).toEqual({
      kind: "response",
      id: 1,
      ok: false,
      error: { code: "invalid-state", message: "nope" },
    });
    expect(await dispatchRequest(api, { ok: true, id: 2, method: "getSettings", params: {} })).toMatchObject({ ok: false, error: { code: "internal", message: "boom" } });
  });
});
