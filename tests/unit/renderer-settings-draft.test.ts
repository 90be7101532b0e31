// The Settings form's draft in the app's store (renderer/store/settings-draft-store.ts): it survives
// leaving the page, says when there are unsaved changes, an edit clears its own field's errors and
// no other, Advanced opens for a problem under it, and the config.yaml dialog keeps what was pasted
// with its errors. Also the pure helpers: which errors an edit clears, how an import error reads
// (its field said once), code in prose without backticks.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { FieldError, HostApi, HostEvent, HostEventListener, HostSnapshot, SaveSettingsResult, SettingsInput } from "../../agent-core/host/contract.js";
import { idleAgentSnapshot } from "../../agent-core/host/contract.js";
import { plainFileCodec } from "../../agent-core/host/secret-store.js";
import { SettingsStore } from "../../agent-core/host/settings.js";
import { HostCallError, type RendererBridge } from "../../renderer/bridge/types.js";
import { proseParts, proseText } from "../../renderer/prose.js";
import { createAppStore, type AppStore } from "../../renderer/store/app-store.js";
import { configLabelOf, draftFrom, EMPTY_MAPPING, errorSentence, errorsClearedBy, newEnvRow } from "../../renderer/views/settings-draft.js";
import { settingsView } from "../helpers/settings-view.js";

// ---------------------------------------------------------------------------------------------
// A host that answers what the Settings page asks

class FakeHost {
  snapshot: HostSnapshot = {
    agent: idleAgentSnapshot({ endpoint: "acme.semaphoreci.com" }),
    agents: [idleAgentSnapshot({ endpoint: "acme.semaphoreci.com" })],
    settings: settingsView(),
    demo: { running: false, hubUrl: null, examples: [] },
    history: [],
    currentJob: null,
    version: "0.1.0",
  };
  saved: SettingsInput[] = [];
  imported: string[] = [];
  saveAnswer: (input: SettingsInput) => SaveSettingsResult = (input) => ({ ok: true, settings: settingsView({ ...input, token: undefined } as never) });
  importAnswer: (yaml: string) => SaveSettingsResult = () => ({ ok: true, settings: settingsView({ name: "imported-agent" }) });
  private readonly listeners = new Set<HostEventListener>();

  emit(event: HostEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  bridge(): RendererBridge {
    const answer = async (method: keyof HostApi, params: unknown): Promise<unknown> => {
      switch (method) {
        case "getSnapshot":
          return structuredClone(this.snapshot);
        case "saveSettings": {
          const input = (params as { settings: SettingsInput }).settings;
          this.saved.push(input);
          return this.saveAnswer(input);
        }
        case "importConfig": {
          const yaml = (params as { yaml: string }).yaml;
          this.imported.push(yaml);
          return this.importAnswer(yaml);
        }
        default:
          // Toolbox, sandbox, GPUs…: not what these tests are about.
          throw new HostCallError("disconnected", `${method}: not in this test`);
      }
    };
    const api = new Proxy({} as HostApi, { get: (_t, method: string) => (params: unknown) => answer(method as keyof HostApi, params) });
    return {
      kind: "console",
      api,
      subscribe: (l) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
      connection: () => ({ status: "connected" }),
      onConnection: () => () => undefined,
    };
  }
}

async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}

async function setup(prepare?: (host: FakeHost) => void): Promise<{ host: FakeHost; store: AppStore }> {
  const host = new FakeHost();
  prepare?.(host);
  const store = createAppStore(host.bridge(), { now: () => 50_000 });
  store.connect();
  await settle();
  return { host, store };
}

const firstRun = (h: FakeHost) => {
  h.snapshot.settings = settingsView({ configured: false, endpoint: "", tokenSet: false });
};

const draftOf = (store: AppStore) => store.getState().settingsDraft!;
const fields = (errors: readonly FieldError[]) => errors.map((e) => e.field);

// ---------------------------------------------------------------------------------------------

describe("the settings draft in the store", () => {
  it("is made from the settings when they arrive: Advanced closed on first run, open once configured", async () => {
    const first = await setup(firstRun);
    expect(first.store.getState().view).toBe("settings");
    expect(draftOf(first.store)).toMatchObject({ dirty: false, advancedOpen: false, draft: { endpoint: "", token: "" } });
    const configured = await setup();
    expect(draftOf(configured.store)).toMatchObject({ dirty: false, advancedOpen: true, draft: { endpoint: "acme.semaphoreci.com" } });
  });

  it("survives leaving the page: another view and back keeps the unsaved edits, and says they are unsaved", async () => {
    const { store } = await setup(firstRun);
    store.getState().editSettings("endpoint", "acme.semaphoreci.com");
    store.getState().editSettings("token", "s3cr3t");
    store.getState().setSettingsAdvanced(true);
    expect(draftOf(store).dirty).toBe(true);
    store.getState().selectView("demo");
    store.getState().selectView("history");
    store.getState().selectView("settings");
    expect(draftOf(store)).toMatchObject({ dirty: true, advancedOpen: true, draft: { endpoint: "acme.semaphoreci.com", token: "s3cr3t" } });
    // Back to what is saved: nothing unsaved any more.
    store.getState().editSettings("endpoint", "");
    store.getState().editSettings("token", "");
    expect(draftOf(store).dirty).toBe(false);
  });

  it("follows settings the host sends while untouched, and keeps unsaved edits when there are some", async () => {
    const { host, store } = await setup();
    host.emit({ type: "settings", settings: settingsView({ name: "renamed-elsewhere" }) });
    expect(draftOf(store)).toMatchObject({ dirty: false, draft: { name: "renamed-elsewhere" } });
    store.getState().editSettings("preJobHookPath", "/opt/pre.sh");
    host.emit({ type: "settings", settings: settingsView({ name: "renamed-again" }) });
    expect(draftOf(store).draft).toMatchObject({ name: "renamed-elsewhere", preJobHookPath: "/opt/pre.sh" });
    expect(draftOf(store).baseline.name).toBe("renamed-again");
    expect(draftOf(store).dirty).toBe(true);
  });

  it("Discard goes back to the saved settings", async () => {
    const { store } = await setup();
    store.getState().editSettings("name", "edited-agent-name");
    store.getState().discardSettingsDraft();
    expect(draftOf(store)).toMatchObject({ dirty: false, draft: { name: "" } });
  });

  it("once saved, starts again from what the host stored (the token field empty again)", async () => {
    const { host, store } = await setup(firstRun);
    store.getState().editSettings("endpoint", "  acme.semaphoreci.com ");
    store.getState().editSettings("token", "s3cr3t");
    expect(await store.getState().saveSettingsDraft()).toBe(true);
    expect(host.saved[0]).toMatchObject({ endpoint: "acme.semaphoreci.com", token: "s3cr3t" });
    expect(draftOf(store)).toMatchObject({ dirty: false, draft: { endpoint: "acme.semaphoreci.com", token: "" } });
    expect(store.getState().settingsSavedAt).toBe(50_000);
    // An edit after the save: "Settings saved" no longer describes the form.
    store.getState().editSettings("name", "gpu-box-1");
    expect(store.getState().settingsSavedAt).toBeNull();
  });
});

describe("errors of the form", () => {
  it("an edit clears the error under its field, and the other fields' errors stay", async () => {
    const { host, store } = await setup();
    host.saveAnswer = () => ({
      ok: false,
      errors: [
        { field: "endpoint", message: "must be a host" },
        { field: "name", message: "must be 8 to 80 characters long (it has 5)" },
        { field: "preJobHookPath", message: "must be an absolute path" },
      ],
    });
    expect(await store.getState().saveSettingsDraft()).toBe(false);
    expect(fields(store.getState().settingsErrors)).toEqual(["endpoint", "name", "preJobHookPath"]);
    store.getState().editSettings("endpoint", "acme.example.com");
    expect(fields(store.getState().settingsErrors)).toEqual(["name", "preJobHookPath"]);
    store.getState().editSettings("name", "gpu-box-1");
    expect(fields(store.getState().settingsErrors)).toEqual(["preJobHookPath"]);
    // Editing a field without an error leaves the list as it is (the same list: nothing new to scroll to).
    const before = store.getState().settingsErrors;
    store.getState().editSettings("shutdownHookPath", "/opt/down.sh");
    expect(store.getState().settingsErrors).toBe(before);
  });

  it("an environment variable row is a field of its own", async () => {
    const { host, store } = await setup((h) => {
      h.snapshot.settings = settingsView({ envVars: [{ name: "1BAD", value: "x" }, { name: "ALSO BAD", value: "y" }, { name: "OK", value: "z" }] });
    });
    host.saveAnswer = () => ({
      ok: false,
      errors: [
        { field: "envVars[0].name", message: "is not a valid shell variable name" },
        { field: "envVars[1].name", message: "is not a valid shell variable name" },
        { field: "envVars[2].value", message: "is wrong somehow" },
      ],
    });
    await store.getState().saveSettingsDraft();
    const rows = draftOf(store).draft.envVars;
    store.getState().editSettings(
      "envVars",
      rows.map((r, i) => (i === 1 ? { ...r, name: "ALSO_OK" } : r)),
    );
    expect(fields(store.getState().settingsErrors)).toEqual(["envVars[0].name", "envVars[2].value"]);
    // Removing a row takes its errors with it.
    store.getState().editSettings(
      "envVars",
      draftOf(store).draft.envVars.filter((_, i) => i !== 0),
    );
    expect(fields(store.getState().settingsErrors)).toEqual(["envVars[2].value"]);
  });

  it("the form's own errors (whole numbers) clear the same way", async () => {
    const { host, store } = await setup();
    store.getState().editSettings("historyMaxJobs", "lots");
    store.getState().editSettings("diskMinFreeGb", "-1");
    expect(await store.getState().saveSettingsDraft()).toBe(false);
    expect(host.saved).toEqual([]); // not sent
    expect(fields(draftOf(store).localErrors)).toEqual(["historyMaxJobs", "diskMinFreeGb"]);
    store.getState().editSettings("historyMaxJobs", "300");
    expect(fields(draftOf(store).localErrors)).toEqual(["diskMinFreeGb"]);
  });

  it("Advanced opens by itself for a problem under it, not for one in the organisation or token", async () => {
    const { host, store } = await setup(firstRun);
    host.saveAnswer = () => ({ ok: false, errors: [{ field: "endpoint", message: "is required" }, { field: "token", message: "is required" }] });
    await store.getState().saveSettingsDraft();
    expect(draftOf(store).advancedOpen).toBe(false);
    host.saveAnswer = () => ({ ok: false, errors: [{ field: "name", message: "must be 8 to 80 characters long (it has 3)" }] });
    await store.getState().saveSettingsDraft();
    expect(draftOf(store).advancedOpen).toBe(true);
  });

  it("errorsClearedBy: a field and its parts; the schedule's switch and the GPU groups by the key their errors have", () => {
    const draft = draftFrom(settingsView());
    const clears = (key: Parameters<typeof errorsClearedBy>[0], field: string) => errorsClearedBy(key, draft, draft, EMPTY_MAPPING)(field);
    expect(clears("files", "files")).toBe(true);
    expect(clears("files", "files[2]")).toBe(true);
    expect(clears("files", "filesystem")).toBe(false);
    expect(clears("sandboxReadOnlyPaths", "sandboxReadOnlyPaths[0]")).toBe(true);
    expect(clears("sandboxReadOnlyPaths", "sandboxReadWritePaths[0]")).toBe(false);
    expect(clears("lendScheduleEnabled", "lendSchedule")).toBe(true);
    expect(clears("gpuGroupOf", "gpuGroups[1][0]")).toBe(true);
    expect(clears("lendOnRunningJob", "lendOnRunningJob.idle")).toBe(true);
    expect(clears("name", "noHttps")).toBe(false);
    const rows = { ...draft, envVars: [newEnvRow("A", "1"), newEnvRow("B", "2")] };
    const edited = { ...rows, envVars: [rows.envVars[0]!, { ...rows.envVars[1]!, value: "3" }] };
    const mapping = { ...EMPTY_MAPPING, envRowKeys: rows.envVars.map((r) => r.key) };
    const cleared = errorsClearedBy("envVars", rows, edited, mapping);
    expect(["envVars", "envVars[0].name", "envVars[1].name", "envVars[1].value", "envVars[1]"].map(cleared)).toEqual([true, false, false, true, true]);
  });
});

describe("Paste config.yaml", () => {
  it("an import with errors keeps the text, puts its errors in the dialog (not in the form), and changes nothing", async () => {
    const { host, store } = await setup();
    const yaml = 'endpoint: "acme.semaphoreci.com"\nendpiont: "typo.example"\n';
    host.importAnswer = () => ({ ok: false, errors: [{ field: "endpiont", message: "is not a config.yaml option: did you mean `endpoint`?" }] });
    store.getState().openConfigPaste();
    store.getState().editConfigPaste(yaml);
    expect(await store.getState().importConfig(yaml)).toBe(false);
    expect(store.getState().configPaste).toEqual({ text: yaml, errors: [{ field: "endpiont", message: "is not a config.yaml option: did you mean `endpoint`?" }] });
    expect(store.getState().settingsErrors).toEqual([]);
    expect(store.getState().busy.settings).toBe(false);
    // Fixing it: the errors stay until the next import (they say what the last one found).
    store.getState().editConfigPaste(yaml.replace("endpiont", "name"));
    expect(store.getState().configPaste?.errors).toHaveLength(1);
    host.importAnswer = () => ({ ok: true, settings: settingsView({ name: "typo.example-agent" }) });
    expect(await store.getState().importConfig(store.getState().configPaste!.text)).toBe(true);
    expect(store.getState().configPaste).toBeNull();
    expect(draftOf(store)).toMatchObject({ dirty: false, draft: { name: "typo.example-agent" } });
    expect(store.getState().settingsSavedAt).toBe(50_000);
  });

  it("a file that cannot be imported opens the dialog with its text; a refused request is said there too", async () => {
    const { host, store } = await setup();
    host.importAnswer = () => ({ ok: false, errors: [{ field: "yaml", message: "is not valid YAML at line 1, column 11: Missing ]" }] });
    expect(await store.getState().importConfig("endpoint: [unclosed\n")).toBe(false);
    expect(store.getState().configPaste?.text).toBe("endpoint: [unclosed\n");
    host.importAnswer = () => {
      throw new HostCallError("invalid-request", "importConfig: params.yaml: Too big");
    };
    expect(await store.getState().importConfig("x: 1\n")).toBe(false);
    expect(store.getState().configPaste).toEqual({ text: "x: 1\n", errors: [{ field: "", message: "importConfig: params.yaml: Too big" }] });
    store.getState().closeConfigPaste();
    expect(store.getState().configPaste).toBeNull();
  });

  it("an import replaces unsaved edits with the file's settings", async () => {
    const { store } = await setup();
    store.getState().editSettings("preJobHookPath", "/opt/pre.sh");
    await store.getState().importConfig('name: "imported-agent"\n');
    expect(draftOf(store)).toMatchObject({ dirty: false, draft: { name: "imported-agent", preJobHookPath: "" } });
    expect(store.getState().configPaste).toBeNull(); // a file that imports never opened the dialog
  });
});

describe("how an import error reads: its field said once", () => {
  let dir = "";
  afterEach(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  /** The line as the dialog shows it (renderer/views/SettingsView.tsx ErrorSentence): label, joiner, message without backticks. */
  const shown = (e: FieldError) => {
    const s = errorSentence(configLabelOf(e.field), e.message);
    return `${s.label}${s.joiner}${proseText(s.message)}`;
  };

  it("the host's real errors, as the dialog writes them", () => {
    dir = mkdtempSync(join(tmpdir(), "sa-settings-draft-"));
    const store = SettingsStore.open(dir, plainFileCodec());
    const errorsOf = (yaml: string) => {
      const result = store.importConfig(yaml);
      return result.ok ? [] : result.errors.map(shown);
    };
    const typo = errorsOf('endpoint: "acme.semaphoreci.com"\ntoken: "t0k3n"\nendpiont: "typo.example"\n');
    expect(typo).toEqual(["endpiont is not a config.yaml option: did you mean endpoint?"]);
    expect(typo[0]!.match(/did you mean/g)).toHaveLength(1);
    expect(errorsOf('endpoint: "acme.semaphoreci.com"\ntoken: "t0k3n"\ninterruption-grace-period: soon\n')).toEqual([
      'interruption-grace-period must be a whole number of seconds (got "soon")',
    ]);
    const yaml = errorsOf("endpoint: [unclosed\n");
    expect(yaml[0]).toMatch(/^config\.yaml is not valid YAML at line \d+, column \d+: /);
    expect(errorsOf('endpoint: "acme.semaphoreci.com"\n')).toEqual(["token is required: paste the registration token of your agent type (Semaphore: Self-hosted agents)"]);
    for (const line of [...typo, ...yaml]) {
      expect(line).not.toMatch(/^(\S+)[: ]+\1\b/); // "yaml: yaml: …", "endpiont: endpiont …"
      expect(line).not.toMatch(/config\.yaml: .*config\.yaml/);
      expect(line).not.toContain("`");
    }
  });

  it("configLabelOf: the official key of a setting, an entry by its number, the file, or the key as written", () => {
    expect(configLabelOf("interruptionGracePeriod")).toBe("interruption-grace-period");
    expect(configLabelOf("noHttps")).toBe("no-https");
    expect(configLabelOf("envVars[1].name")).toBe("env-vars entry 2");
    expect(configLabelOf("files[0]")).toBe("files entry 1");
    expect(configLabelOf("yaml")).toBe("config.yaml");
    expect(configLabelOf("endpiont")).toBe("endpiont");
    expect(configLabelOf("name-from-env")).toBe("name-from-env");
    expect(configLabelOf("historyMaxJobs")).toBe("historyMaxJobs");
  });

  it("errorSentence: a message that goes on from its field follows it; any other after a colon", () => {
    expect(errorSentence("token", "is required")).toEqual({ label: "token", joiner: " ", message: "is required" });
    expect(errorSentence("env-vars", "entry 2 has the name \"1X\"")).toMatchObject({ joiner: ": " });
  });
});

describe("code in prose", () => {
  it("splits backtick code from the text, and never leaves a backtick", () => {
    expect(proseParts("did you mean `endpoint`?")).toEqual([
      { code: false, text: "did you mean " },
      { code: true, text: "endpoint" },
      { code: false, text: "?" },
    ]);
    expect(proseText("run `a` and `b`")).toBe("run a and b");
    expect(proseText("an unpaired ` backtick")).toBe("an unpaired  backtick");
    expect(proseParts("a `b` c `d")).toEqual([
      { code: false, text: "a " },
      { code: true, text: "b" },
      { code: false, text: " c d" },
    ]);
    expect(proseParts("")).toEqual([]);
  });
});
