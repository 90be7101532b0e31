// "Did you mean …?" for a mistyped config.yaml key, and the character counting of the settings'
// text limits (agent-core/config/suggest.ts, text.ts, and the contract's schemas built on them).
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../agent-core/config/errors.js";
import { loadAgentConfig } from "../../agent-core/config/load.js";
import { CONFIG_FILE_KEYS, editDistance, nearestKey, suggestConfigKey } from "../../agent-core/config/suggest.js";
import { characterCount, characterLimitProblem, tooLongMessage } from "../../agent-core/config/text.js";
import { parseRequest, SettingsInputSchema } from "../../agent-core/host/contract.js";
import { defaultSettings } from "../../agent-core/host/settings.js";

describe("editDistance (optimal string alignment)", () => {
  it.each([
    ["endpoint", "endpoint", 0],
    ["endpiont", "endpoint", 1], // two letters swapped: one edit, not two
    ["tokn", "token", 1],
    ["nmae", "name", 1],
    ["", "name", 4],
    ["kitten", "sitting", 3],
    ["ca", "abc", 3], // OSA, not unrestricted Damerau–Levenshtein (which says 2)
  ])("%s → %s: %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it("counts characters, not UTF-16 code units", () => {
    expect(editDistance("né😀", "ne😀")).toBe(1);
  });
});

describe("the nearest official key", () => {
  it.each([
    ["endpiont", "endpoint"],
    ["tokne", "token"],
    ["nmae", "name"],
    ["no-htps", "no-https"],
    ["env_vars", "env-vars"],
    ["envVars", "env-vars"],
    ["Upload-Job-Logs", "upload-job-logs"],
    ["disconect-after-job", "disconnect-after-job"],
    ["interuption-grace-period", "interruption-grace-period"],
    ["sandbox-read-only-path", "sandbox-read-only-paths"],
  ])("%s: did you mean %s?", (typo, key) => {
    expect(suggestConfigKey(typo)).toBe(key);
  });

  it.each(["foo", "x", "", "kubernetes", "hello-world", "token-file"])("%j is too far from every key to guess", (word) => {
    expect(suggestConfigKey(word)).toBeNull();
  });

  it("offers only keys a file may hold (not config-file)", () => {
    expect(CONFIG_FILE_KEYS).toContain("endpoint");
    expect(CONFIG_FILE_KEYS).toContain("sandbox");
    expect(CONFIG_FILE_KEYS).not.toContain("config-file");
    expect(suggestConfigKey("config-fil")).toBeNull();
  });

  it("a tie goes to the candidate listed first; the word itself is never suggested", () => {
    expect(nearestKey("bat", ["cat", "hat"])).toBe("cat");
    expect(nearestKey("cat", ["cat"])).toBeNull();
  });

  it("the agent's loader says it once, after the key it does not know", () => {
    const load = (yaml: string) => () => loadAgentConfig({ argv: ["--config-file", "config.yaml", "--token", "t"], env: {}, readFile: () => yaml });
    let error: unknown;
    try {
      load('endpoint: "acme.semaphoreci.com"\nendpiont: "typo"\n')();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe("endpiont");
    expect((error as ConfigError).message).toBe("config.yaml: Unrecognized option 'endpiont' (did you mean 'endpoint'?)");
    expect(load("endpoint: x\nfoo: 1\n")).toThrow(/^config\.yaml: Unrecognized option 'foo'$/);
  });
});

describe("character counting", () => {
  it.each([
    ["plain ASCII", "gpu-box-1", 9],
    ["an accented letter, precomposed", "café", 4],
    ["an accented letter, combining", "cafe\u0301", 4],
    ["an emoji outside the BMP (2 UTF-16 units)", "ok 😀", 4],
    ["an emoji with a skin tone", "👍🏽", 1],
    ["a family (ZWJ sequence)", "👨‍👩‍👧", 1],
    ["a flag", "🇫🇷", 1],
    ["CJK", "構築機", 3],
    ["CR LF is one", "a\r\nb", 3],
    ["empty", "", 0],
  ])("%s", (_what, text, count) => {
    expect(characterCount(text)).toBe(count);
  });

  it("says the limit in characters, with the count", () => {
    expect(tooLongMessage(80, 95)).toBe("must be at most 80 characters long (it has 95)");
    expect(characterLimitProblem("😀".repeat(10), 10)).toBeNull(); // 20 code units, 10 characters
    expect(characterLimitProblem("😀".repeat(11), 10)).toBe("must be at most 10 characters long (it has 11)");
  });
});

describe("the settings' text limits count characters", () => {
  const input = (patch: Record<string, unknown>) => ({ ...defaultSettings(), endpoint: "acme.semaphoreci.com", ...patch });

  it("4096 emoji fit a 4096-character field (8192 UTF-16 code units); 4097 do not, and the message says characters", () => {
    expect(SettingsInputSchema.safeParse(input({ preJobHookPath: "😀".repeat(4096) })).success).toBe(true);
    const refused = SettingsInputSchema.safeParse(input({ preJobHookPath: "😀".repeat(4097) }));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([["preJobHookPath", "must be at most 4096 characters long (it has 4097)"]]);
  });

  it("the same through the request validation: the field named once, the limit in characters", () => {
    const parsed = parseRequest({ id: 1, method: "saveSettings", params: { settings: input({ name: "é".repeat(4100), envVars: [{ name: "A", value: "x".repeat(65537) }] }) } });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.message).toBe(
      "saveSettings: params.settings.name: must be at most 4096 characters long (it has 4100); params.settings.envVars[0].value: must be at most 65536 characters long (it has 65537)",
    );
    expect(parsed.error.message).not.toMatch(/UTF|code unit|Too big/);
  });

  it("a huge string is refused without being counted", () => {
    const refused = SettingsInputSchema.safeParse(input({ token: "a".repeat(8 * 4096 + 1) }));
    expect(refused.error?.issues[0]?.message).toBe("must be at most 4096 characters long");
  });
});
