import { describe, expect, it } from "vitest";
import { ConfigError } from "../../agent-core/config/errors.js";
import { CONFIG_KEYS, defaultAgentConfig } from "../../agent-core/config/keys.js";
import { loadAgentConfig, type LoadedAgentConfig } from "../../agent-core/config/load.js";
import type { AgentConfig } from "../../agent-core/config/types.js";
import { renderConfigYaml } from "../../agent-core/config/yaml.js";

const REQUIRED = ["--endpoint", "x.example.com", "--token", "t0k3n"];

function load(argv: string[], env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}): LoadedAgentConfig {
  const readFile = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: "ENOENT" });
    return text;
  };
  return loadAgentConfig({ argv, env, readFile });
}

/** Loads with endpoint and token given, plus `file` as config.yaml when provided. */
function loadWith(argv: string[], env: NodeJS.ProcessEnv = {}, file?: string): LoadedAgentConfig {
  const fileArgs = file === undefined ? [] : ["--config-file", "config.yaml"];
  return load([...REQUIRED, ...fileArgs, ...argv], env, file === undefined ? {} : { "config.yaml": file });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.message).not.toContain("\n");
    return e;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  it("fills every key of §9.2 that was not given", () => {
    const { config, configFile, sources } = loadWith([]);
    expect(config).toEqual({ ...defaultAgentConfig(), endpoint: "x.example.com", token: "t0k3n" });
    expect(config.kubernetesPodStartTimeout).toBe(300);
    expect(config.uploadJobLogs).toBe("never");
    expect(configFile).toBeNull();
    expect(Object.keys(sources).sort()).toEqual(CONFIG_KEYS.map((k) => k.key).sort());
    expect(sources.endpoint).toBe("flag");
    expect(sources["config-file"]).toBe("default");
    expect(sources["no-https"]).toBe("default");
  });
});

describe("precedence: flag > env > file > default", () => {
  const file = 'name: "from-file-001"\nno-https: true\nenv-vars: ["F=1"]\n';

  it("string (name)", () => {
    expect(loadWith([], {}, file).config.name).toBe("from-file-001");
    const env = { SEMAPHORE_AGENT_NAME: "from-env-0001" };
    const fromEnv = loadWith([], env, file);
    expect(fromEnv.config.name).toBe("from-env-0001");
    expect(fromEnv.sources.name).toBe("env");
    const fromFlag = loadWith(["--name", "from-flag-001"], env, file);
    expect(fromFlag.config.name).toBe("from-flag-001");
    expect(fromFlag.sources.name).toBe("flag");
    expect(loadWith([], {}, file).sources.name).toBe("file");
    expect(loadWith([]).sources.name).toBe("default");
  });

  it("bool (no-https)", () => {
    expect(loadWith([], {}, file).config.noHttps).toBe(true);
    expect(loadWith([], { SEMAPHORE_AGENT_NO_HTTPS: "false" }, file).config.noHttps).toBe(false);
    const r = loadWith(["--no-https"], { SEMAPHORE_AGENT_NO_HTTPS: "false" }, file);
    expect(r.config.noHttps).toBe(true);
    expect(r.sources["no-https"]).toBe("flag");
    expect(loadWith(["--no-https=false"], { SEMAPHORE_AGENT_NO_HTTPS: "true" }).config.noHttps).toBe(false);
  });

  it("list (env-vars): a source replaces, never merges with, a lower one", () => {
    expect(loadWith([], {}, file).config.envVars).toEqual([{ name: "F", value: "1" }]);
    const env = { SEMAPHORE_AGENT_ENV_VARS: "E1=a E2=b" };
    expect(loadWith([], env, file).config.envVars).toEqual([
      { name: "E1", value: "a" },
      { name: "E2", value: "b" },
    ]);
    const r = loadWith(["--env-vars", "C1=x,C2=y"], env, file);
    expect(r.config.envVars).toEqual([
      { name: "C1", value: "x" },
      { name: "C2", value: "y" },
    ]);
    expect(r.sources["env-vars"]).toBe("flag");
  });

  it("an empty environment variable counts as unset (viper)", () => {
    const r = loadWith([], { SEMAPHORE_AGENT_NAME: "" }, file);
    expect(r.config.name).toBe("from-file-001");
    expect(r.sources.name).toBe("file");
  });

  it("takes endpoint and token from the environment", () => {
    const r = load([], { SEMAPHORE_AGENT_ENDPOINT: "env.example.com", SEMAPHORE_AGENT_TOKEN: "tok" });
    expect(r.config.endpoint).toBe("env.example.com");
    expect(r.sources.token).toBe("env");
  });

  it("SEMAPHORE_AGENT_CONFIG_FILE does not load a file", () => {
    let reads = 0;
    const r = loadAgentConfig({
      argv: REQUIRED,
      env: { SEMAPHORE_AGENT_CONFIG_FILE: "config.yaml" },
      readFile: () => {
        reads++;
        return "name: from-file-001\n";
      },
    });
    expect(reads).toBe(0);
    expect(r.configFile).toBeNull();
    expect(r.config.name).toBe("");
  });
});

describe("CLI flags (pflag semantics)", () => {
  it.each([
    [["--no-https"], true],
    [["--no-https=true"], true],
    [["--no-https=1"], true],
    [["--no-https=t"], true],
    [["--no-https=TRUE"], true],
    [["--no-https=false"], false],
    [["--no-https=0"], false],
    [["--no-https=F"], false],
    [["--no-https", "--no-https=false"], false],
  ])("%j -> no-https %s", (argv, expected) => {
    expect(loadWith(argv).config.noHttps).toBe(expected);
  });

  it("rejects a bool flag value outside strconv.ParseBool", () => {
    const err = configError(() => loadWith(["--no-https=yes"]));
    expect(err.field).toBe("no-https");
    expect(err.message).toBe('--no-https: expected true or false (got "yes")');
  });

  it("a bool flag never consumes the next argument", () => {
    const err = configError(() => loadWith(["--no-https", "false"]));
    expect(err.field).toBe("no-https");
    expect(err.message).toBe('unexpected argument "false" (a boolean flag takes its value only as --no-https=false)');
    // ...so the next flag is still parsed as a flag.
    expect(loadWith(["--no-https", "--name", "abcdefgh"]).config).toMatchObject({ noHttps: true, name: "abcdefgh" });
  });

  it("accepts --key value and --key=value, last one wins", () => {
    expect(loadWith(["--name", "first-name", "--name=second-name"]).config.name).toBe("second-name");
    expect(loadWith(["--shutdown-hook-path=/a=b"]).config.shutdownHookPath).toBe("/a=b");
  });

  it("takes the next argument as the value even if it starts with '-'", () => {
    expect(loadWith(["--pre-job-hook-path", "-weird"]).config.preJobHookPath).toBe("-weird");
  });

  it("fails when a value is missing at the end", () => {
    const err = configError(() => loadWith(["--name"]));
    expect(err.field).toBe("name");
    expect(err.message).toBe("--name: flag needs an argument");
  });

  it("splits lists at commas, honours CSV quotes, appends repeated list flags", () => {
    expect(loadWith(["--kubernetes-allowed-images", "a,b", "--kubernetes-allowed-images=c"]).config.kubernetesAllowedImages).toEqual([
      "a",
      "b",
      "c",
    ]);
    expect(loadWith(["--env-vars", '"A=1,2",B=3']).config.envVars).toEqual([
      { name: "A", value: "1,2" },
      { name: "B", value: "3" },
    ]);
    expect(loadWith(["--env-vars="]).config.envVars).toEqual([]);
    const err = configError(() => loadWith(["--env-vars", '"A=1']));
    expect(err.field).toBe("env-vars");
  });

  it("requires whole numbers for int flags", () => {
    expect(loadWith(["--disconnect-after-idle-timeout", "10"]).config.disconnectAfterIdleTimeout).toBe(10);
    const err = configError(() => loadWith(["--disconnect-after-idle-timeout", "ten"]));
    expect(err.field).toBe("disconnect-after-idle-timeout");
    expect(err.message).toBe('--disconnect-after-idle-timeout: expected a whole number of seconds (got "ten")');
    expect(configError(() => loadWith(["--interruption-grace-period=1.5"])).field).toBe("interruption-grace-period");
  });

  it("rejects unknown flags by name without echoing their value", () => {
    const err = configError(() => loadWith(["--foo", "bar"]));
    expect(err.field).toBe("foo");
    expect(err.message).toBe("unknown flag: --foo");
    const typo = configError(() => loadWith(["--tokne=SUPER-SECRET"]));
    expect(typo.message).toBe("unknown flag: --tokne");
    expect(configError(() => loadWith(["-endpoint", "x"])).message).toBe("unknown flag: -endpoint (write --endpoint)");
  });

  it("rejects stray positional arguments", () => {
    expect(configError(() => loadWith(["start"])).message).toBe('unexpected argument "start"');
    expect(configError(() => loadWith(["--", "x"])).message).toBe('unexpected argument "x"');
  });
});

describe("environment variables", () => {
  it.each(["1", "t", "T", "true", "TRUE", "True"])("bool %j reads as true", (v) => {
    expect(loadWith([], { SEMAPHORE_AGENT_DISCONNECT_AFTER_JOB: v }).config.disconnectAfterJob).toBe(true);
  });

  it.each(["0", "f", "F", "false", "FALSE", "False", "yes", "on", "tRuE", " true", "2"])("bool %j reads as false", (v) => {
    const r = loadWith([], { SEMAPHORE_AGENT_NO_HTTPS: v }, "no-https: true\n");
    expect(r.config.noHttps).toBe(false);
    expect(r.sources["no-https"]).toBe("env");
  });

  it("splits lists at any whitespace", () => {
    const r = loadWith([], { SEMAPHORE_AGENT_FILES: "  /a:/b\n\t/c:/d  " });
    expect(r.config.files).toEqual(["/a:/b", "/c:/d"]);
  });

  it("requires whole numbers for ints [deviation: Go reads garbage as 0]", () => {
    expect(loadWith([], { SEMAPHORE_AGENT_KUBERNETES_POD_START_TIMEOUT: "60" }).config.kubernetesPodStartTimeout).toBe(60);
    const err = configError(() => loadWith([], { SEMAPHORE_AGENT_DISCONNECT_AFTER_IDLE_TIMEOUT: "ten" }));
    expect(err.field).toBe("disconnect-after-idle-timeout");
    expect(err.message).toBe('SEMAPHORE_AGENT_DISCONNECT_AFTER_IDLE_TIMEOUT: expected a whole number of seconds (got "ten")');
  });

  it("reads every key from its SEMAPHORE_AGENT_<KEY> variable", () => {
    const r = load([], {
      SEMAPHORE_AGENT_ENDPOINT: "e.example.com",
      SEMAPHORE_AGENT_TOKEN: "t",
      SEMAPHORE_AGENT_SHUTDOWN_HOOK_PATH: "/s",
      SEMAPHORE_AGENT_PRE_JOB_HOOK_PATH: "/pre",
      SEMAPHORE_AGENT_POST_JOB_HOOK_PATH: "/post",
      SEMAPHORE_AGENT_FAIL_ON_PRE_JOB_HOOK_ERROR: "true",
      SEMAPHORE_AGENT_SOURCE_PRE_JOB_HOOK: "1",
      SEMAPHORE_AGENT_DISCONNECT_AFTER_JOB: "true",
      SEMAPHORE_AGENT_JOB_ID: "job-1",
      SEMAPHORE_AGENT_INTERRUPTION_GRACE_PERIOD: "30",
      SEMAPHORE_AGENT_UPLOAD_JOB_LOGS: "when-trimmed",
      SEMAPHORE_AGENT_KUBERNETES_LABELS: "a=b c=d",
    });
    expect(r.config).toMatchObject({
      shutdownHookPath: "/s",
      preJobHookPath: "/pre",
      postJobHookPath: "/post",
      failOnPreJobHookError: true,
      sourcePreJobHook: true,
      disconnectAfterJob: true,
      jobId: "job-1",
      interruptionGracePeriod: 30,
      uploadJobLogs: "when-trimmed",
      kubernetesLabels: ["a=b", "c=d"],
    });
  });
});

describe("YAML file", () => {
  it("loads the example file of §9.2", () => {
    const example = [
      'endpoint: "myorg.semaphoreci.com"',
      'token: "registration-token"',
      "no-https: false",
      'shutdown-hook-path: ""',
      "disconnect-after-job: false",
      "env-vars: []",
      "files: []",
      "fail-on-missing-files: false",
      "",
    ].join("\n");
    const r = load(["--config-file", "config.yaml"], {}, { "config.yaml": example });
    expect(r.configFile).toBe("config.yaml");
    expect(r.config).toEqual({ ...defaultAgentConfig(), endpoint: "myorg.semaphoreci.com", token: "registration-token" });
    expect(r.sources).toMatchObject({ "config-file": "flag", endpoint: "file", "no-https": "file", name: "default" });
  });

  it("reads every type from the file", () => {
    const r = loadWith(
      [],
      {},
      [
        "name: https://agents.example.com/x",
        "disconnect-after-idle-timeout: 120",
        'interruption-grace-period: "15"',
        'fail-on-missing-files: "true"',
        "upload-job-logs: always",
        "kubernetes-allowed-images:",
        "  - ruby:3",
        "  - 1234",
        "env-vars:",
        "  - JAVA_OPTS=-Dfoo=bar -Dx=y",
        "files: ['/host/a:/dest/a']",
        "job-id: 0123",
        "disconnect-after-job: true",
      ].join("\n"),
    );
    expect(r.config).toMatchObject({
      name: "https://agents.example.com/x",
      disconnectAfterIdleTimeout: 120,
      interruptionGracePeriod: 15,
      failOnMissingFiles: true,
      uploadJobLogs: "always",
      kubernetesAllowedImages: ["ruby:3", "1234"],
      envVars: [{ name: "JAVA_OPTS", value: "-Dfoo=bar -Dx=y" }],
      files: ["/host/a:/dest/a"],
      jobId: "0123", // keeps its spelling, not the number 123
    });
  });

  it("treats an empty file and null values as unset", () => {
    expect(loadWith([], {}, "").config).toEqual(loadWith([]).config);
    const r = loadWith([], {}, "kubernetes-pod-start-timeout: ~\nname:\n");
    expect(r.config.kubernetesPodStartTimeout).toBe(300);
    expect(r.sources["kubernetes-pod-start-timeout"]).toBe("default");
  });

  it("accepts config-file as a key but does not chain another file", () => {
    expect(loadWith([], {}, "config-file: other.yaml\n").config.name).toBe("");
  });

  it("rejects unknown keys", () => {
    const err = configError(() => loadWith([], {}, "endpoint: x\nfoo: 1\n"));
    expect(err.field).toBe("foo");
    expect(err.message).toBe("config.yaml: Unrecognized option 'foo'");
  });

  it("reports an unknown key before a bad value elsewhere", () => {
    expect(configError(() => loadWith([], {}, "no-https: maybe\nfoo: 1\n")).field).toBe("foo");
  });

  it.each([
    ['no-https: "yes"', "no-https", `config.yaml: 'no-https' must be true or false (got "yes")`],
    ["no-https: yes", "no-https", `config.yaml: 'no-https' must be true or false (got "yes")`],
    [
      "disconnect-after-idle-timeout: ten",
      "disconnect-after-idle-timeout",
      `config.yaml: 'disconnect-after-idle-timeout' must be a whole number of seconds (got "ten")`,
    ],
    ["interruption-grace-period: 1.5", "interruption-grace-period", `config.yaml: 'interruption-grace-period' must be a whole number of seconds (got 1.5)`],
    ["endpoint: [a, b]", "endpoint", `config.yaml: 'endpoint' must be a string (got a list)`],
    ["name: {a: b}", "name", `config.yaml: 'name' must be a string (got a mapping)`],
    ["env-vars: A=1", "env-vars", `config.yaml: 'env-vars' must be a list (YAML sequence) (got "A=1")`],
    ["files: /a:/b", "files", `config.yaml: 'files' must be a list (YAML sequence) (got "/a:/b")`],
    ["kubernetes-labels: [{a: b}]", "kubernetes-labels", `config.yaml: 'kubernetes-labels' must be a list of strings (item 1 is a mapping)`],
  ])("%s is a type error", (yaml, field, message) => {
    const err = configError(() => loadWith([], {}, yaml + "\n"));
    expect(err.field).toBe(field);
    expect(err.message).toBe(message);
  });

  it("reports syntax errors with file name and line", () => {
    const err = configError(() => loadWith([], {}, "endpoint: x\nname: [unclosed\nno-https: true\n"));
    expect(err.field).toBe("config-file");
    expect(err.message).toMatch(/^config\.yaml:\d+:\d+: invalid YAML: \S/);
    const dup = configError(() => loadWith([], {}, "name: abcdefgh\nname: ijklmnop\n"));
    expect(dup.message).toBe("config.yaml:2:1: invalid YAML: Map keys must be unique");
  });

  it.each([
    ["- endpoint: x\n", "a list"],
    ["just a string\n", "a single value"],
  ])("rejects a file that is not a mapping (%j)", (yaml, got) => {
    const err = configError(() => loadWith([], {}, yaml));
    expect(err.field).toBe("config-file");
    expect(err.message).toBe(`config.yaml: expected a mapping of "option: value" lines at the top level (got ${got})`);
  });

  it("fails when the file cannot be read", () => {
    const err = configError(() => load([...REQUIRED, "--config-file", "missing.yaml"]));
    expect(err.field).toBe("config-file");
    expect(err.message).toBe('--config-file: cannot read "missing.yaml" (ENOENT)');
  });

  it("--config-file= means no file", () => {
    expect(loadWith(["--config-file="]).configFile).toBeNull();
  });
});

describe("validation after merging", () => {
  it("requires endpoint and token", () => {
    const noEndpoint = configError(() => load(["--token", "t"]));
    expect(noEndpoint.field).toBe("endpoint");
    expect(noEndpoint.message).toBe(
      "'endpoint' is required: pass --endpoint, set SEMAPHORE_AGENT_ENDPOINT or add 'endpoint' to the config file",
    );
    expect(configError(() => load(["--endpoint", "x"])).field).toBe("token");
    const emptyInFile = configError(() => load(["--config-file", "c.yaml"], {}, { "c.yaml": 'endpoint: ""\ntoken: ""\n' }));
    expect(emptyInFile.message).toBe("c.yaml: 'endpoint' must not be empty ('endpoint' is required)");
  });

  it.each(["x", "myorg.semaphoreci.com", "localhost:4567", "127.0.0.1:8000", "[::1]:4567", "my_host.local"])(
    "accepts the endpoint %j",
    (endpoint) => {
      expect(load(["--endpoint", endpoint, "--token", "t"]).config.endpoint).toBe(endpoint);
    },
  );

  it("rejects an endpoint with a scheme, telling to drop it", () => {
    const err = configError(() => load(["--endpoint", "https://x", "--token", "t"]));
    expect(err.field).toBe("endpoint");
    expect(err.message).toBe('--endpoint: must be host[:port] without a scheme: drop "https://" (use "x")');
    const http = configError(() => load([], { SEMAPHORE_AGENT_ENDPOINT: "http://localhost:4567/api", SEMAPHORE_AGENT_TOKEN: "t" }));
    expect(http.message).toBe(
      'SEMAPHORE_AGENT_ENDPOINT: must be host[:port] without a scheme: drop "http://" (use "localhost:4567" and set no-https for plain HTTP)',
    );
  });

  it.each([
    ["x.example.com/api", "without a path"],
    ["x y", "must be host[:port]"],
    ["x:", "must be host[:port]"],
    ["x:99999", "port must be between 1 and 65535"],
    ["user@x", "must be host[:port]"],
  ])("rejects the endpoint %j", (endpoint, text) => {
    const err = configError(() => load(["--endpoint", endpoint, "--token", "t"]));
    expect(err.field).toBe("endpoint");
    expect(err.message).toContain(text);
  });

  it("checks the name (8–80 bytes unless a request URI) and says where it came from", () => {
    const err = configError(() => loadWith(["--name", "seven77"]));
    expect(err.field).toBe("name");
    expect(err.message).toBe('--name: must be 8 to 80 bytes long unless it is a URL (got 7 bytes: "seven77")');
    expect(configError(() => loadWith([], {}, `name: ${"n".repeat(81)}\n`)).message).toMatch(/^config\.yaml: 'name' must be 8 to 80/);
    for (const ok of ["eight888", "n".repeat(80), "https://x", "ci:1", "/x", "*"]) {
      expect(loadWith(["--name", ok]).config.name).toBe(ok);
    }
  });

  it("checks name-from-env against the given environment", () => {
    expect(loadWith(["--name-from-env", "AGENT_NAME"], { AGENT_NAME: "from-the-env" }).config.nameFromEnv).toBe("AGENT_NAME");
    const missing = configError(() => loadWith(["--name-from-env", "AGENT_NAME"]));
    expect(missing.field).toBe("name-from-env");
    expect(missing.message).toBe('--name-from-env: refers to environment variable "AGENT_NAME", which is not set or empty');
    expect(configError(() => loadWith(["--name-from-env", "N"], { N: "short" })).field).toBe("name-from-env");
  });

  it("allows job-id only together with disconnect-after-job", () => {
    const err = configError(() => loadWith(["--job-id", "j1"]));
    expect(err.field).toBe("job-id");
    expect(err.message).toMatch(/^--job-id: requires disconnect-after-job to be true/);
    expect(loadWith(["--job-id", "j1", "--disconnect-after-job"]).config.jobId).toBe("j1");
  });

  it.each(["disconnect-after-idle-timeout", "interruption-grace-period", "kubernetes-pod-start-timeout"])(
    "rejects a negative %s",
    (key) => {
      const err = configError(() => loadWith([`--${key}=-1`]));
      expect(err.field).toBe(key);
      expect(err.message).toBe(`--${key}: must not be negative (got -1)`);
      expect(configError(() => loadWith([], {}, `${key}: -5\n`)).message).toBe(`config.yaml: '${key}' must not be negative (got -5)`);
    },
  );

  it("accepts only never, always, when-trimmed for upload-job-logs", () => {
    const err = configError(() => loadWith([], {}, "upload-job-logs: sometimes\n"));
    expect(err.field).toBe("upload-job-logs");
    expect(err.message).toBe(`config.yaml: 'upload-job-logs' must be one of never, always, when-trimmed (got "sometimes")`);
    expect(configError(() => loadWith(["--upload-job-logs", "Always"])).message).toBe(
      '--upload-job-logs: must be one of never, always, when-trimmed (got "Always")',
    );
  });

  it("splits env-vars at the first '=' (P-28 deviation), values may contain '=' or be empty", () => {
    const r = loadWith(["--env-vars", "OPTS=a=b=c,EMPTY=,URL=https://x/?q=1"]);
    expect(r.config.envVars).toEqual([
      { name: "OPTS", value: "a=b=c" },
      { name: "EMPTY", value: "" },
      { name: "URL", value: "https://x/?q=1" },
    ]);
  });

  it("rejects env-vars entries without '='", () => {
    const err = configError(() => loadWith(["--env-vars", "A=1,NOVALUE"]));
    expect(err.field).toBe("env-vars");
    expect(err.message).toBe(
      `--env-vars: entry 2 ("NOVALUE") must be NAME=VALUE (split at the first '=', so the value may itself contain '=')`,
    );
  });

  it.each(["1A", "A-B", "", "A B", "É", "A.B"])("rejects the env var name %j, echoing the name but not the value", (name) => {
    const err = configError(() => loadWith(["--env-vars", `OK=1,${name}=secretvalue`]));
    expect(err.field).toBe("env-vars");
    expect(err.message).toBe(
      `--env-vars: entry 2 has the name ${JSON.stringify(name)}, which is not a valid shell variable name (letters, digits and '_', not starting with a digit)`,
    );
    expect(err.message).not.toContain("secretvalue");
  });

  it("checks env-vars names from the environment too", () => {
    const err = configError(() => loadWith([], { SEMAPHORE_AGENT_ENV_VARS: "OK=1 9LIVES=x" }));
    expect(err.message).toMatch(/^SEMAPHORE_AGENT_ENV_VARS: entry 2 has the name "9LIVES"/);
  });

  it("requires files entries to be HOSTPATH:DEST", () => {
    expect(loadWith(["--files", "/a:/b"]).config.files).toEqual(["/a:/b"]);
    for (const bad of ["/a", "/a:/b:/c"]) {
      const err = configError(() => loadWith(["--files", bad]));
      expect(err.field).toBe("files");
      expect(err.message).toBe(`--files: entry 1 (${JSON.stringify(bad)}) must be HOSTPATH:DEST with exactly one ':'`);
    }
  });

  it("never puts the token into an error message", () => {
    const token = "SUPER-SECRET-TOKEN";
    const cases: Array<() => unknown> = [
      () => load(["--token", token]),
      () => load(["--token", token, "--endpoint", "https://x"]),
      () => load([], { SEMAPHORE_AGENT_TOKEN: token, SEMAPHORE_AGENT_ENDPOINT: "x", SEMAPHORE_AGENT_NAME: "short" }),
      () => load(["--config-file", "c.yaml"], {}, { "c.yaml": `token: [${token}]\n` }),
      () => load(["--config-file", "c.yaml"], {}, { "c.yaml": `token: {a: ${token}}\n` }),
      () => load(["--config-file", "c.yaml"], {}, { "c.yaml": `token: ${token}\ntoken: ${token}\n` }),
      () => load(["--endpoint", "x", `--tokenn=${token}`]),
    ];
    for (const run of cases) expect(configError(run).message).not.toContain(token);
  });
});

describe("--token-file and SEMAPHORE_AGENT_TOKEN_FILE (the token kept off the command line)", () => {
  const ENDPOINT = ["--endpoint", "x.example.com"];

  it("reads the token from the file, trimming one trailing newline, at the level it was given on", () => {
    const flag = load([...ENDPOINT, "--token-file", "/run/secrets/token"], {}, { "/run/secrets/token": "t0k3n\n" });
    expect(flag.config.token).toBe("t0k3n");
    expect(flag.sources.token).toBe("flag");
    expect(flag.warnings).toEqual([]);
    expect(load([...ENDPOINT, "--token-file=tok"], {}, { tok: "a b\r\n" }).config.token).toBe("a b");
    expect(load([...ENDPOINT, "--token-file", "tok"], {}, { tok: "t0k3n" }).config.token).toBe("t0k3n");
    // Only one newline goes; whitespace is part of the token.
    expect(load([...ENDPOINT, "--token-file", "tok"], {}, { tok: " t0k3n \n" }).config.token).toBe(" t0k3n ");

    const env = load(ENDPOINT, { SEMAPHORE_AGENT_TOKEN_FILE: "tok" }, { tok: "from-env-file\n" });
    expect(env.config.token).toBe("from-env-file");
    expect(env.sources.token).toBe("env");
  });

  it("keeps flag > env > file: the token file beats the levels below it and loses to those above", () => {
    const files = { tok: "from-token-file\n", "config.yaml": "token: from-config-yaml\n" };
    const yaml = ["--config-file", "config.yaml"];
    expect(load([...ENDPOINT, ...yaml, "--token-file", "tok"], { SEMAPHORE_AGENT_TOKEN: "from-env" }, files).config.token).toBe("from-token-file");
    expect(load([...ENDPOINT, ...yaml], { SEMAPHORE_AGENT_TOKEN_FILE: "tok" }, files).config.token).toBe("from-token-file");
    // --token beats the variable's file, which is then not even read.
    const flag = load([...ENDPOINT, ...yaml, "--token", "from-flag"], { SEMAPHORE_AGENT_TOKEN_FILE: "missing" }, files);
    expect(flag.config.token).toBe("from-flag");
    // An empty variable counts as unset, as for every other key.
    expect(load([...ENDPOINT, ...yaml], { SEMAPHORE_AGENT_TOKEN_FILE: "" }, files).config.token).toBe("from-config-yaml");
  });

  it("a missing, unreadable or empty file is an error naming the flag (or variable) and the path, never the content", () => {
    const missing = configError(() => load([...ENDPOINT, "--token-file", "/nope/token"]));
    expect(missing.field).toBe("token-file");
    expect(missing.source).toBe("flag");
    expect(missing.message).toBe('--token-file: cannot read "/nope/token" (ENOENT)');

    const unreadable = configError(() =>
      loadAgentConfig({
        argv: [...ENDPOINT, "--token-file", "/root/token"],
        env: {},
        readFile: () => {
          throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
        },
      }),
    );
    expect(unreadable.message).toBe('--token-file: cannot read "/root/token" (EACCES)');

    const fromEnv = configError(() => load(ENDPOINT, { SEMAPHORE_AGENT_TOKEN_FILE: "gone" }));
    expect(fromEnv.source).toBe("env");
    expect(fromEnv.message).toBe('SEMAPHORE_AGENT_TOKEN_FILE: cannot read "gone" (ENOENT)');

    for (const empty of ["", "\n", "\r\n"]) {
      const err = configError(() => load([...ENDPOINT, "--token-file", "tok"], {}, { tok: empty }));
      expect(err.message).toBe(`--token-file: "tok" is empty (it must hold the agent type's registration token)`);
    }
    const twoLines = configError(() => load([...ENDPOINT, "--token-file", "tok"], {}, { tok: "SECRET-1\nSECRET-2\n" }));
    expect(twoLines.message).toBe('--token-file: "tok" must hold the token on a single line');
    expect(twoLines.message).not.toContain("SECRET");

    expect(configError(() => load([...ENDPOINT, "--token-file"])).message).toBe("--token-file: flag needs an argument");
  });

  it("refuses --token together with --token-file (and both variables together)", () => {
    const files = { tok: "t\n" };
    const both = configError(() => load([...ENDPOINT, "--token", "SECRET", "--token-file", "tok"], {}, files));
    expect(both.field).toBe("token-file");
    expect(both.message).toBe("--token and --token-file cannot be used together: give the token one way");
    expect(both.message).not.toContain("SECRET");
    const bothEnv = configError(() => load(ENDPOINT, { SEMAPHORE_AGENT_TOKEN: "SECRET", SEMAPHORE_AGENT_TOKEN_FILE: "tok" }, files));
    expect(bothEnv.message).toBe("SEMAPHORE_AGENT_TOKEN and SEMAPHORE_AGENT_TOKEN_FILE cannot both be set: give the token one way");
  });

  it("is no config.yaml key: the official keys stay as they are", () => {
    const err = configError(() => load([...REQUIRED, "--config-file", "c.yaml"], {}, { "c.yaml": "token-file: /run/token\n" }));
    expect(err.message).toBe("c.yaml: Unrecognized option 'token-file'");
    expect(CONFIG_KEYS.map((k) => k.key)).not.toContain("token-file");
    expect(Object.keys(load([...ENDPOINT, "--token-file", "tok"], {}, { tok: "t" }).sources)).not.toContain("token-file");
  });

  it("warns once, without the token, when --token is on the command line", () => {
    const warning = "--token is visible to other users of this machine (ps); use SEMAPHORE_AGENT_TOKEN, --token-file or the config file";
    expect(load([...ENDPOINT, "--token", "SECRET", "--token=SECRET2"]).warnings).toEqual([warning]);
    expect(load(ENDPOINT, { SEMAPHORE_AGENT_TOKEN: "SECRET" }).warnings).toEqual([]);
    expect(load([...ENDPOINT, "--config-file", "c.yaml"], {}, { "c.yaml": "token: SECRET\n" }).warnings).toEqual([]);
  });
});

describe("renderConfigYaml", () => {
  const full: AgentConfig = {
    endpoint: "myorg.semaphoreci.com:8443",
    token: 'tok"en\\with: #specials',
    name: "ci:1",
    nameFromEnv: "AGENT_NAME",
    noHttps: true,
    shutdownHookPath: "/opt/hooks/shut down.sh",
    preJobHookPath: "~/pre.sh",
    postJobHookPath: "",
    failOnPreJobHookError: true,
    sourcePreJobHook: true,
    disconnectAfterJob: true,
    jobId: "0123",
    disconnectAfterIdleTimeout: 600,
    interruptionGracePeriod: 0,
    envVars: [
      { name: "A", value: "1" },
      { name: "OPTS", value: "-Dx=y -Dz='q'" },
      { name: "MULTI", value: "line1\nline2\ttab" },
      { name: "LOOKS_LIKE", value: "true" },
      { name: "NULLISH", value: "~" },
      { name: "UNI", value: "héllo ✓ 🚀" },
      { name: "EMPTY", value: "" },
    ],
    files: ["/host/a:/dest/a"],
    failOnMissingFiles: true,
    uploadJobLogs: "when-trimmed",
    kubernetesExecutor: true,
    kubernetesPodSpec: "null",
    kubernetesAllowedImages: ["ruby:3.3", "1234", "  padded  "],
    kubernetesPodStartTimeout: 45,
    kubernetesLabels: ["team=ci"],
    kubernetesDefaultImage: "- dash",
    jobHome: "/srv/ci home",
    sandbox: "strict",
    jobHomeCleanup: "keep",
    jobHomeKeep: [".cache/pip", "go/pkg/mod"],
    sandboxAllowDocker: true,
    sandboxReadOnlyPaths: ["/data/sets"],
    sandboxReadWritePaths: ["/scratch"],
    diskMinFreeGb: 50,
    diskMinFreePercent: 5,
    diskHardFloorGb: 2,
    lendSchedule: ["mon-fri 19-8", "sat,sun"],
    lendOnBattery: false,
    lendIdleMinutes: 10,
    lendOwnerCpuPercent: 50,
    snoozeFile: "/home/me/.no-ci today",
  };

  const reload = (yaml: string, env: NodeJS.ProcessEnv = {}) =>
    loadAgentConfig({ argv: ["--config-file", "out.yaml"], env, readFile: () => yaml });

  it("round-trips every key through the loader", () => {
    const yaml = renderConfigYaml(full);
    const r = reload(yaml, { AGENT_NAME: "ignored-because-name-is-set" });
    expect(r.config).toEqual(full);
    for (const spec of CONFIG_KEYS) {
      if (spec.prop !== null) expect(r.sources[spec.key]).toBe("file");
    }
  });

  it("writes all keys in §9.2 order, config-file excepted", () => {
    const yaml = renderConfigYaml({ ...defaultAgentConfig(), endpoint: "myorg.semaphoreci.com", token: "registration-token" });
    const keys = yaml
      .split("\n")
      .filter((line) => /^[a-z]/.test(line))
      .map((line) => line.slice(0, line.indexOf(":")));
    // Our own keys go in only when they differ from their defaults: the official agent refuses them.
    expect(keys).toEqual(CONFIG_KEYS.filter((k) => k.key !== "config-file" && !k.extension).map((k) => k.key));
    expect(yaml).toContain('endpoint: "myorg.semaphoreci.com"\ntoken: "registration-token"\n');
    expect(yaml).toContain("no-https: false\n");
    expect(yaml).toContain("env-vars: []\n");
    expect(yaml).toContain("kubernetes-pod-start-timeout: 300\n");
    expect(reload(yaml).config).toEqual({ ...defaultAgentConfig(), endpoint: "myorg.semaphoreci.com", token: "registration-token" });
  });

  it("round-trips a config loaded from flags", () => {
    const loaded = loadWith(["--env-vars", "A=b=c", "--disconnect-after-idle-timeout", "5", "--name", "https://x"]).config;
    expect(reload(renderConfigYaml(loaded)).config).toEqual(loaded);
  });
});
