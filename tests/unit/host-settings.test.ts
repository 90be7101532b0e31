// Settings of the desktop app: field-level validation (the app's own checks and the agent's config
// rules), the token kept apart and never shown, files written 0600, config.yaml import and export.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAgentConfig } from "../../agent-core/config/load.js";
import type { SettingsInput } from "../../agent-core/host/contract.js";
import { plainFileCodec, type SecretCodec } from "../../agent-core/host/secret-store.js";
import { defaultSettings, SETTINGS_FILE, SettingsStore, TOKEN_FILE } from "../../agent-core/host/settings.js";

const TOKEN = "s3cr3t-registration-token-0123456789";

/** A reversible stand-in for Electron's safeStorage: enough to see the file does not hold the token in clear. */
function keychainCodec(): SecretCodec {
  return {
    storage: "safe-storage",
    encrypt: (plain) => Buffer.from(`enc:${Buffer.from(plain, "utf8").toString("base64").split("").reverse().join("")}`),
    decrypt: (data) => {
      const text = data.toString("utf8");
      if (!text.startsWith("enc:")) throw new Error("not encrypted by this keychain");
      return Buffer.from(text.slice(4).split("").reverse().join(""), "base64").toString("utf8");
    },
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sa-host-settings-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function input(overrides: Partial<SettingsInput> = {}): SettingsInput {
  return { ...defaultSettings(), endpoint: "acme.semaphoreci.com", token: TOKEN, ...overrides };
}

const fieldsOf = (result: ReturnType<SettingsStore["save"]>) => (result.ok ? [] : result.errors.map((e) => e.field));
const messageFor = (result: ReturnType<SettingsStore["save"]>, field: string) => (result.ok ? undefined : result.errors.find((e) => e.field === field)?.message);

describe("defaults", () => {
  it("are the agent's own defaults plus history retention", () => {
    const view = SettingsStore.open(dir, plainFileCodec()).view();
    expect(view).toMatchObject({
      endpoint: "",
      tokenSet: false,
      tokenStorage: "file",
      configured: false,
      uploadJobLogs: "never",
      interruptionGracePeriod: 0,
      disconnectAfterIdleTimeout: 0,
      historyMaxJobs: 200,
      historyMaxMegabytes: 500,
      envVars: [],
      files: [],
    });
  });
});

describe("the app's own settings, one at a time", () => {
  it("a GPU's lend toggle saves before the agent is configured, validated alone, and survives a reopen", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    expect(store.view()).toMatchObject({ gpuAgents: "one", gpuNotLent: [], gpuMaxTemperatureC: 85, gpuMaxPowerW: 0, gpuOwnerUsePauses: true });
    expect(store.setOwn("gpuNotLent", ["GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1"])).toMatchObject({ ok: true, settings: { configured: false, gpuNotLent: ["GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1"] } });
    expect(SettingsStore.open(dir, plainFileCodec()).current.gpuNotLent).toEqual(["GPU-5c3f0001-1b2c-4d5e-8f90-aaaaaaaaaaa1"]);
    const bad = store.setOwn("gpuNotLent", ["no spaces allowed"]);
    expect(bad).toMatchObject({ ok: false, errors: [{ field: "gpuNotLent[0]", message: expect.stringMatching(/expected a GPU UUID/) }] });
    expect(store.current.gpuNotLent).toHaveLength(1);
  });

  it("names the bad field of the GPU settings", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    const result = store.save(input({ gpuAgents: "two" as never, gpuMaxTemperatureC: 200, gpuGroups: [[]] }));
    expect(fieldsOf(result).sort()).toEqual(["gpuAgents", "gpuGroups[0]", "gpuMaxTemperatureC"]);
  });
});

describe("validation", () => {
  it("requires a token on the first save, and keeps the stored one later", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    const first = store.save(input({ token: undefined }));
    expect(fieldsOf(first)).toEqual(["token"]);
    expect(messageFor(first, "token")).toMatch(/required/);
    expect(store.save(input()).ok).toBe(true);
    const second = store.save(input({ token: "", name: "my-gpu-box-01" }));
    expect(second.ok).toBe(true);
    expect(store.toAgentConfig()).toMatchObject({ token: TOKEN, name: "my-gpu-box-01", endpoint: "acme.semaphoreci.com" });
  });

  it("explains an endpoint with a scheme", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).save(input({ endpoint: "https://acme.semaphoreci.com/" }));
    expect(fieldsOf(result)).toEqual(["endpoint"]);
    expect(messageFor(result, "endpoint")).toMatch(/host like acme\.semaphoreci\.com or 127\.0\.0\.1:8000, without a scheme/);
    expect(messageFor(result, "endpoint")).toMatch(/use "acme\.semaphoreci\.com"/);
  });

  it("reports every problem at once, each under its SettingsInput key", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).save(
      input({
        endpoint: "",
        token: undefined,
        name: "short",
        envVars: [
          { name: "OK_NAME", value: "1" },
          { name: "OK_NAME", value: "2" },
          { name: "1BAD", value: "x" },
        ],
        files: ["/etc/hosts:/etc/hosts", "/src:relative/dest", "no-colon"],
        preJobHookPath: "hooks/pre.sh",
      }),
    );
    expect(fieldsOf(result).sort()).toEqual(
      ["endpoint", "token", "name", "envVars[1].name", "envVars[2].name", "files[1]", "files[2]", "preJobHookPath"].sort(),
    );
    expect(messageFor(result, "envVars[2].name")).toMatch(/"1BAD" is not a valid shell variable name/);
    expect(messageFor(result, "envVars[1].name")).toMatch(/already set by envVars\[0\]/);
    expect(messageFor(result, "files[1]")).toMatch(/SRC:DEST with an absolute DEST/);
    expect(messageFor(result, "files[2]")).toMatch(/SRC:DEST/);
    expect(messageFor(result, "name")).toBe("must be 8 to 80 characters long (it has 5); leave it empty for a random name");
    expect(messageFor(result, "preJobHookPath")).toMatch(/absolute path/);
  });

  it("counts the agent name in characters, and says why bytes count when they differ", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    // 8 characters of plain ASCII: accepted; 7: refused, in characters.
    expect(store.save(input({ name: "gpu-box1" })).ok).toBe(true);
    expect(messageFor(store.save(input({ name: "gpu-box" })), "name")).toMatch(/^must be 8 to 80 characters long \(it has 7\)/);
    // 30 emoji are 30 characters but 120 bytes: over the agent's 80 bytes (spec §2.2), and the message says why.
    const emoji = messageFor(store.save(input({ name: "😀".repeat(30) })), "name");
    expect(emoji).toMatch(/80 bytes/);
    expect(emoji).toMatch(/it has 30 characters, 120 bytes/);
  });

  it("names the one bad line of a sandbox path list or the keep-list, once", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).save(
      input({ sandboxReadOnlyPaths: ["/srv/data", "relative/ro"], sandboxReadWritePaths: ["also-relative", "/srv/cache"], jobHomeKeep: [".cache/pip", "../escape"] }),
    );
    expect(fieldsOf(result).sort()).toEqual(["jobHomeKeep[1]", "sandboxReadOnlyPaths[1]", "sandboxReadWritePaths[0]"]);
    expect(messageFor(result, "sandboxReadOnlyPaths[1]")).toMatch(/absolute path/);
    expect(messageFor(result, "sandboxReadWritePaths[0]")).toMatch(/absolute path/);
    expect(messageFor(result, "jobHomeKeep[1]")).toMatch(/inside the job home/);
  });

  it("applies the agent's own config rules and maps them back to the setting", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).save(input({ endpoint: "acme.semaphoreci.com:99999" }));
    expect(fieldsOf(result)).toEqual(["endpoint"]);
    expect(messageFor(result, "endpoint")).toMatch(/port must be between 1 and 65535/);
  });

  it("reports a type error from the schema with the field's path", () => {
    const bad = { ...input(), envVars: [{ name: "A", value: 1 }] } as unknown as SettingsInput;
    expect(fieldsOf(SettingsStore.open(dir, plainFileCodec()).save(bad))).toEqual(["envVars[0].value"]);
  });

  it("stores nothing when a field is invalid", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    expect(store.save(input({ endpoint: "http://x" })).ok).toBe(false);
    expect(() => statSync(join(dir, SETTINGS_FILE))).toThrow();
    expect(() => statSync(join(dir, TOKEN_FILE))).toThrow();
  });
});

describe("the token", () => {
  it("is never in the view, settings.json or the export; both files are 0600", () => {
    const store = SettingsStore.open(dir, keychainCodec());
    const result = store.save(input({ envVars: [{ name: "GPU_COUNT", value: "2" }] }));
    expect(result.ok).toBe(true);
    const view = store.view();
    expect(view).toMatchObject({ tokenSet: true, tokenStorage: "safe-storage", configured: true });
    expect(JSON.stringify(view)).not.toContain(TOKEN);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    expect(readFileSync(join(dir, SETTINGS_FILE), "utf8")).not.toContain(TOKEN);
    expect(readFileSync(join(dir, TOKEN_FILE)).toString("latin1")).not.toContain(TOKEN);
    expect(store.exportConfig()).not.toContain(TOKEN);
    expect(statSync(join(dir, SETTINGS_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
    // Read back by a new store with the same keychain.
    expect(SettingsStore.open(dir, keychainCodec()).toAgentConfig().token).toBe(TOKEN);
  });

  it("is a plain 0600 file with the file codec", () => {
    SettingsStore.open(dir, plainFileCodec()).save(input());
    expect(readFileSync(join(dir, TOKEN_FILE), "utf8")).toBe(TOKEN);
    expect(statSync(join(dir, TOKEN_FILE)).mode & 0o777).toBe(0o600);
  });

  it("moves from a plain file into the keychain once one is available", () => {
    SettingsStore.open(dir, plainFileCodec()).save(input());
    const store = SettingsStore.open(dir, keychainCodec());
    expect(store.view().tokenSet).toBe(true);
    expect(readFileSync(join(dir, TOKEN_FILE), "utf8")).not.toContain(TOKEN);
    expect(store.toAgentConfig().token).toBe(TOKEN);
  });

  it("that cannot be decrypted counts as not set, with a problem to show", () => {
    SettingsStore.open(dir, keychainCodec()).save(input());
    writeFileSync(join(dir, TOKEN_FILE), "garbage");
    const store = SettingsStore.open(dir, keychainCodec());
    expect(store.view()).toMatchObject({ tokenSet: false, configured: false });
    expect(store.problems.join("\n")).toMatch(/cannot be decrypted/);
    expect(() => store.toAgentConfig()).toThrow(/registration token/);
  });
});

describe("settings.json", () => {
  it("survives a reopen", () => {
    const saved = input({ name: "workstation-42", noHttps: true, interruptionGracePeriod: 60, historyMaxJobs: 10, files: ["/a:/b"] });
    SettingsStore.open(dir, plainFileCodec()).save(saved);
    const { token: _token, ...expected } = saved;
    expect(SettingsStore.open(dir, plainFileCodec()).view()).toMatchObject({ ...expected, tokenSet: true, configured: true });
  });

  it("that is corrupt is set aside and the defaults apply", () => {
    writeFileSync(join(dir, SETTINGS_FILE), "{ not json");
    const store = SettingsStore.open(dir, plainFileCodec());
    expect(store.view().endpoint).toBe("");
    expect(store.problems.join("\n")).toMatch(/could not be read/);
  });
});

const OFFICIAL_YAML = `
endpoint: "acme.semaphoreci.com"
token: "${TOKEN}"
name: "gpu-box-in-the-corner"
no-https: false
env-vars: ["GPU_COUNT=2", "JAVA_OPTS=-Dx=y"]
files: ["/etc/ssl/ca.pem:/usr/local/share/ca.pem"]
pre-job-hook-path: "/opt/hooks/pre.sh"
post-job-hook-path: ""
fail-on-pre-job-hook-error: true
source-pre-job-hook: true
shutdown-hook-path: "/opt/hooks/shutdown.sh"
disconnect-after-job: false
disconnect-after-idle-timeout: 300
interruption-grace-period: 45
upload-job-logs: when-trimmed
`;

describe("import and export of config.yaml", () => {
  it("round-trips an official config.yaml (without the token)", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    const imported = store.importConfig(OFFICIAL_YAML);
    expect(imported).toMatchObject({ ok: true, settings: { tokenSet: true, envVars: [{ name: "GPU_COUNT", value: "2" }, { name: "JAVA_OPTS", value: "-Dx=y" }] } });
    const exported = store.exportConfig();
    expect(exported).not.toContain(TOKEN);
    expect(exported).toMatch(/^# token: /m);
    const load = (yaml: string, argv: string[] = []) => loadAgentConfig({ argv: ["--config-file", "c.yaml", ...argv], env: {}, readFile: () => yaml }).config;
    // The app adds its own sandbox (strict by default); the official keys come back as they were.
    expect(exported).toContain('sandbox: "strict"');
    expect(load(exported, ["--token", TOKEN])).toEqual({ ...load(OFFICIAL_YAML), sandbox: "strict" });
  });

  it("takes the headless lending keys as the app's lending settings and gives them back; refuses snooze-file", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    const imported = store.importConfig(`${OFFICIAL_YAML}lend-schedule: ["mon-fri 19-8", "sat,sun"]\nlend-on-battery: false\nlend-idle-minutes: 10\n`);
    expect(imported).toMatchObject({ ok: true, settings: { lendOnBattery: false, lendIdleMinutes: 10, lendOwnerCpuPercent: 0 } });
    const days = (imported as { settings: { lendSchedule: { days: number[][] } } }).settings.lendSchedule.days;
    expect(days[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 19, 20, 21, 22, 23]);
    expect(days[6]).toHaveLength(24);
    const exported = store.exportConfig();
    const again = loadAgentConfig({ argv: ["--config-file", "c.yaml", "--token", TOKEN], env: {}, readFile: () => exported }).config;
    expect(again).toMatchObject({ lendOnBattery: false, lendIdleMinutes: 10 });
    expect(again.lendSchedule).toEqual(["mon 0-8,19-24", "tue 0-8,19-24", "wed 0-8,19-24", "thu 0-8,19-24", "fri 0-8,19-24", "sat", "sun"]);
    const refused = store.importConfig(`${OFFICIAL_YAML}snooze-file: /tmp/no-ci\n`);
    expect(refused).toMatchObject({ ok: false, errors: [{ field: "snooze-file", message: expect.stringMatching(/not supported by the desktop app/) }] });
  });

  it("a week that never lends survives the round trip as 'never' (an empty list would mean any time)", async () => {
    const { entriesFromSchedule, scheduleFromEntries } = await import("../../agent-core/policy/schedule.js");
    const never = { days: Array.from({ length: 7 }, () => [] as number[]) };
    expect(entriesFromSchedule(never)).toEqual(["never"]);
    expect(scheduleFromEntries(["never"])).toEqual(never);
    expect(entriesFromSchedule(null)).toEqual([]);
  });

  it("keeps the stored token when the imported file has none", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    store.importConfig(OFFICIAL_YAML);
    const again = store.importConfig(store.exportConfig());
    expect(again.ok).toBe(true);
    expect(store.toAgentConfig().token).toBe(TOKEN);
  });

  it("needs a token in the file when none is stored", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).importConfig('endpoint: "acme.semaphoreci.com"\n');
    expect(fieldsOf(result)).toEqual(["token"]);
  });

  it("names an unknown key once and suggests the nearest official one", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).importConfig(`${OFFICIAL_YAML}endpiont: "typo.example.com"\n`);
    expect(result.ok).toBe(false);
    expect(fieldsOf(result)).toEqual(["endpiont"]);
    // The field names the key; the message does not say it again, nor the file's name.
    expect(messageFor(result, "endpiont")).toBe("is not a config.yaml option: did you mean `endpoint`?");
    const far = SettingsStore.open(dir, plainFileCodec()).importConfig(`${OFFICIAL_YAML}colour: blue\n`);
    expect(far).toEqual({ ok: false, errors: [{ field: "colour", message: "is not a config.yaml option" }] });
  });

  it("names a key the app has no setting for", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).importConfig(`${OFFICIAL_YAML}kubernetes-executor: true\n`);
    expect(fieldsOf(result)).toEqual(["kubernetes-executor"]);
    expect(messageFor(result, "kubernetes-executor")).toBe("is not supported by the desktop app: remove it from the file");
  });

  it("maps a bad value to its setting, says it once, and never echoes the token", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).importConfig(OFFICIAL_YAML.replace("interruption-grace-period: 45", "interruption-grace-period: soon"));
    expect(fieldsOf(result)).toEqual(["interruptionGracePeriod"]);
    expect(messageFor(result, "interruptionGracePeriod")).toBe('must be a whole number of seconds (got "soon")');
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it("reports a file that is not YAML under `yaml`, saying where in words, without the file's name in front", () => {
    const result = SettingsStore.open(dir, plainFileCodec()).importConfig("endpoint: [unclosed\n");
    expect(fieldsOf(result)).toEqual(["yaml"]);
    expect(messageFor(result, "yaml")).toMatch(/^is not valid YAML at line \d+, column \d+: \S/);
    const list = SettingsStore.open(dir, plainFileCodec()).importConfig("- endpoint\n");
    expect(list).toEqual({ ok: false, errors: [{ field: "yaml", message: 'expected a mapping of "option: value" lines at the top level (got a list)' }] });
  });

  it("no import message starts with the file's name or repeats its field", () => {
    const store = SettingsStore.open(dir, plainFileCodec());
    const files = [
      `${OFFICIAL_YAML}endpiont: x\n`,
      `${OFFICIAL_YAML}snooze-file: /tmp/x\n`,
      OFFICIAL_YAML.replace("upload-job-logs: when-trimmed", "upload-job-logs: sometimes"),
      OFFICIAL_YAML.replace('name: "gpu-box-in-the-corner"', 'name: "short"'),
      OFFICIAL_YAML.replace('env-vars: ["GPU_COUNT=2", "JAVA_OPTS=-Dx=y"]', 'env-vars: ["1X=y"]'),
      "endpoint: [unclosed\n",
      "endpoint: acme.semaphoreci.com\n",
    ];
    for (const yaml of files) {
      const result = store.importConfig(yaml);
      expect(result.ok, yaml).toBe(false);
      if (result.ok) continue;
      for (const { field, message } of result.errors) {
        expect(message, field).not.toMatch(/^config\.yaml/);
        expect(message, field).not.toMatch(new RegExp(`^'?${field.replace(/[[\].]/g, "\\$&")}'?[: ]`));
      }
    }
  });
});
