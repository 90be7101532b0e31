import { describe, expect, it } from "vitest";
import { decodeBase64Strict, decodeJobRequest } from "../../agent-core/job/request.js";

const validLogger = { method: "push", url: "http://localhost:4567/api/v1/logs/job-1", token: "jwt" };

function decode(overrides: Record<string, unknown>) {
  return decodeJobRequest({ job_id: "job-1", executor: "shell", logger: validLogger, ...overrides });
}

describe("decodeJobRequest", () => {
  it("decodes leniently: unknown fields ignored, missing arrays [], missing strings ''", () => {
    const result = decodeJobRequest({
      job_id: "job-1",
      logger: { method: "push", url: "https://logs.example.test/api/v1/logs/job-1" },
      commands: [{ directive: "echo hi" }],
      ssh_public_keys: [],
      compose: { containers: [] },
      something_new: { nested: true },
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const r = result.request;
    expect(r.executor).toBe("");
    expect(r.env_vars).toEqual([]);
    expect(r.files).toEqual([]);
    expect(r.epilogue_always_commands).toEqual([]);
    expect(r.epilogue_on_pass_commands).toEqual([]);
    expect(r.epilogue_on_fail_commands).toEqual([]);
    expect(r.commands).toEqual([{ directive: "echo hi", alias: "" }]);
    expect(r.callbacks).toEqual({ finished: "", teardown_finished: "", token: "" });
    expect(r.logger.token).toBe("");
    expect(r.logger.max_size_in_bytes).toBe(0);
  });

  it("accepts null arrays like Go's decoder", () => {
    const result = decode({ env_vars: null, files: null, commands: null });
    expect(result.ok).toBe(true);
  });

  it("accepts executor '' and 'shell'", () => {
    expect(decode({ executor: "" }).ok).toBe(true);
    expect(decode({ executor: "shell" }).ok).toBe(true);
  });

  it("rejects dockercompose as unsupported by a shell agent", () => {
    const result = decode({ executor: "dockercompose" });
    expect(result).toEqual({ ok: false, error: "executor: 'dockercompose' is not supported by this shell agent" });
  });

  it("rejects an unknown executor naming the field and the value", () => {
    const result = decode({ executor: "kubernetes" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^executor: /);
    expect(result.error).toContain("'kubernetes'");
  });

  it("treats a missing logger method as a job error (P-23)", () => {
    const result = decode({ logger: { url: validLogger.url } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^logger\.method: missing/);
  });

  it("rejects pull mode", () => {
    const result = decode({ logger: { ...validLogger, method: "pull" } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^logger\.method: 'pull'/);
  });

  it("requires logger.url for push", () => {
    expect(decode({ logger: { method: "push" } })).toEqual({ ok: false, error: "logger.url: missing" });
    expect(decode({ logger: null })).toEqual({ ok: false, error: "logger.method: missing (only 'push' is supported)" });
  });

  it("rejects a relative or non-http logger.url", () => {
    for (const url of ["/api/v1/logs/1", "localhost:4567/logs", "ftp://host/logs", "not a url"]) {
      const result = decode({ logger: { method: "push", url } });
      expect(result.ok, url).toBe(false);
      if (result.ok) continue;
      expect(result.error).toMatch(/^logger\.url: /);
    }
  });

  it("names the field of a structural error", () => {
    const result = decode({ files: [{ path: "a", content: "", mode: 644 }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain("files[0].mode");
  });

  it("says what was expected, in words, with the field's path", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ commands: [{ directive: "echo ok" }, { directive: 5 }] }, "commands[1].directive: expected a string"],
      [{ commands: [{ directive: "a", alias: ["x"] }] }, "commands[0].alias: expected a string"],
      [{ commands: "echo hi" }, "commands: expected an array"],
      [{ epilogue_on_fail_commands: ["echo"] }, "epilogue_on_fail_commands[0]: expected an object"],
      [{ env_vars: [{ name: 1, value: "" }] }, "env_vars[0].name: expected a string"],
      [{ logger: { ...validLogger, max_size_in_bytes: 1.5 } }, "logger.max_size_in_bytes: expected an integer"],
      [{ logger: "push" }, "logger: expected an object"],
    ];
    for (const [overrides, error] of cases) expect(decode(overrides)).toEqual({ ok: false, error });
  });

  it("rejects a body that is not an object", () => {
    for (const raw of [null, "job", 42, []]) expect(decodeJobRequest(raw).ok).toBe(false);
  });

  it("does not check base64 or file modes: those fail inside the steps", () => {
    const result = decode({
      env_vars: [{ name: "A", value: "not base64!" }],
      files: [{ path: "x", content: "@@@@", mode: "+x" }],
    });
    expect(result.ok).toBe(true);
  });
});

describe("decodeBase64Strict", () => {
  it("decodes standard padded base64", () => {
    expect(decodeBase64Strict("aGVsbG8gd29ybGQ=")?.toString()).toBe("hello world");
    expect(decodeBase64Strict("VkFMVUVfQQ==")?.toString()).toBe("VALUE_A");
    expect(decodeBase64Strict("cGFzc2Vk")?.toString()).toBe("passed");
    expect(decodeBase64Strict("")?.length).toBe(0);
    expect(decodeBase64Strict("+/+/")).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
  });

  it("tolerates line breaks anywhere, like Go", () => {
    expect(decodeBase64Strict("aGVs\nbG8g\r\nd29y\nbGQ=\n")?.toString()).toBe("hello world");
    expect(decodeBase64Strict("VkFMVUVfQQ=\n=")?.toString()).toBe("VALUE_A");
  });

  it("accepts non-zero trailing bits like Go's StdEncoding (not Strict)", () => {
    expect(decodeBase64Strict("QR==")?.toString()).toBe("A");
  });

  it.each([
    ["abc", "missing padding"],
    ["aGVsbG8", "missing padding"],
    ["a===", "too much padding"],
    ["====", "padding only"],
    ["=", "lone padding"],
    ["@@@@", "outside the alphabet"],
    ["ab-_", "url-safe alphabet"],
    ["aGVsbG8gd29ybGQ", "unpadded"],
    ["QQ==QQ==", "data after padding"],
    ["QQ=A", "padding in the middle"],
    ["aGVs bG8=", "space"],
    ["aGVs\tbG8=", "tab"],
    ["not base64!", "garbage"],
  ])("rejects %j (%s)", (input) => {
    expect(decodeBase64Strict(input)).toBeNull();
  });

  it("handles a large input without blowing the regex stack", () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
    expect(decodeBase64Strict(big.toString("base64"))?.equals(big)).toBe(true);
  });
});
