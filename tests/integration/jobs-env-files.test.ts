// Job semantics through the real hub and agent processes: environment variables, injected files, the
// `.env-*` debug files and malformed job requests (spec §3.5, §4.2–§4.3, §5.5–§5.6, §6).
// One hub and one agent for the whole file; the jobs run one after another.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  job,
  SANDBOX_LEVELS,
  summarize,
  tempDir,
  type AgentProcess,
  type HubProcess,
} from "../helpers/processes.js";
import {
  EMPTY_PREAMBLE,
  envFilesIn,
  expectNoViolations,
  outputOf,
  rawOutputs,
  resultExport,
  runJob,
  useHubAndAgent,
  waitForCommandStart,
} from "../helpers/jobs.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe.each(SANDBOX_LEVELS)("job semantics: env vars, files, .env-* files, malformed requests (sandbox: %s)", (sandbox) => {
  let hub: HubProcess;
  let agent: AgentProcess;

  useHubAndAgent((h, a) => {
    hub = h;
    agent = a;
  }, sandbox);

  it("env var values reach the commands literally, and Exporting lines are sorted, one event each", async () => {
    // Inserted unsorted on purpose; sorted by name (bytes) in the log.
    const values: Record<string, string> = {
      SINGLE: "it's a 'quoted' value'",
      lower_case: "lower",
      DOUBLE: 'say "hi" and ""',
      DOLLAR: "$HOME ${PATH} $(echo subst) `echo tick` $$ $1 \\$ $",
      NEWLINES: "line one\nline two\n\nend\n",
      UNICODE: "héllo wörld — 日本語 🎉",
      EMPTY: "",
      SAFE: "abc_@%+=:,./-XYZ09",
      MIXED: "'\"'\"' \\ \\n \t!bang *glob ?q [x] ~tilde #hash ;semi &amp |pipe <lt >gt",
      _UNDER: "  leading and trailing spaces  ",
    };
    const names = Object.keys(values);
    const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(sorted).not.toEqual(names);
    const print = (name: string) => `printf '%s' "$${name}"`;
    const isSet = `[ "\${EMPTY+set}" = set ] && echo -n EMPTY is set`;
    const { view, events } = await runJob(hub, job({ env: values, commands: [...names.map(print), isSet] }));
    expect(view.result).toBe("passed");

    expect(rawOutputs(events, "Exporting environment variables")).toEqual(sorted.map((n) => `Exporting ${n}\n`));
    expect(sorted).toEqual(["DOLLAR", "DOUBLE", "EMPTY", "MIXED", "NEWLINES", "SAFE", "SINGLE", "UNICODE", "_UNDER", "lower_case"]);
    for (const name of names) expect({ name, output: outputOf(events, print(name)) }).toEqual({ name, output: values[name] });
    expect(outputOf(events, isSet)).toBe("EMPTY is set");
    expect(summarize(events).slice(0, 6)).toEqual([
      "job_started",
      "started(Exporting environment variables)",
      `out(${JSON.stringify(sorted.map((n) => `Exporting ${n}\n`).join(""))})`,
      "finished(Exporting environment variables, 0)",
      "started(Injecting Files)",
      "finished(Injecting Files, 0)",
    ]);
    expect(summarize(events).slice(-4)).toEqual([...resultExport(), "job_finished(passed)"]);
    await expectNoViolations(hub);
  });

  it("env values and file contents are bytes: non-UTF-8 values and binary files arrive unchanged", async () => {
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const request = job({ env: { CRLF: "a\r\nb" }, commands: ["printf '%s' \"$RAW\" | od -An -tx1", "printf '%s' \"$CRLF\" | od -An -tx1", "sha256sum ~/binary.dat"] });
    request.env_vars = [...(request.env_vars as object[]), { name: "RAW", value: Buffer.from([0x41, 0x96, 0xff, 0x42]).toString("base64") }];
    request.files = [{ path: "~/binary.dat", content: binary.toString("base64"), mode: "0644" }];
    const { view, events } = await runJob(hub, request);
    expect(view.result).toBe("passed");
    expect(outputOf(events, "printf '%s' \"$RAW\" | od -An -tx1")).toBe(" 41 96 ff 42\n");
    expect(outputOf(events, "printf '%s' \"$CRLF\" | od -An -tx1")).toBe(" 61 0d 0a 62\n");
    expect(outputOf(events, "sha256sum ~/binary.dat")).toBe(`${createHash("sha256").update(binary).digest("hex")}  ${agent.home}/binary.dat\n`);
    await expectNoViolations(hub);
  });

  it("injects files with their modes, at ~, HOME-relative, absolute and nested paths", async () => {
    const home = agent.home;
    const abs = tempDir("sa-abs-");
    const files = [
      { path: "~/.ssh/id_test", content: "secret\n", mode: "0600" },
      { path: "config/deep/nested/app.yml", content: "key: value\nü: ✓\n", mode: "0644" },
      { path: "scripts/run.sh", content: "#!/bin/sh\necho ran\n", mode: "755" },
      { path: "a/../b/./rel.txt", content: "rel", mode: "0640" },
      { path: `${abs}/x/../abs.txt`, content: "abs", mode: "0400" },
      { path: "~/setuid.sh", content: "#!/bin/sh\n", mode: "4755" },
      { path: "~/tilde~name.txt", content: "every tilde", mode: "0644" },
    ];
    const commands = [
      "stat -c %a ~/.ssh/id_test ~/.ssh",
      "cat ~/.ssh/id_test",
      "stat -c %a ~/config ~/config/deep ~/config/deep/nested ~/config/deep/nested/app.yml",
      "cat config/deep/nested/app.yml",
      "stat -c %a ~/scripts/run.sh && ~/scripts/run.sh",
      "stat -c %a ~/b/rel.txt && cat ~/b/rel.txt && test ! -e ~/a && echo -n ' (no a/)'",
      `stat -c %a ${abs}/abs.txt && cat ${abs}/abs.txt && test -d ${abs}/x && echo -n ' (x/ created)'`,
      "stat -c %a ~/setuid.sh",
      `cat ~/tilde${home}name.txt`,
    ];
    const { view, events } = await runJob(hub, job({ files, commands }));
    expect(view.result).toBe("passed");
    expect(outputOf(events, "Injecting Files")).toBe(
      [
        `Injecting ${home}/.ssh/id_test with file mode 0600\n`,
        `Injecting ${home}/config/deep/nested/app.yml with file mode 0644\n`,
        `Injecting ${home}/scripts/run.sh with file mode 755\n`,
        `Injecting ${home}/b/rel.txt with file mode 0640\n`,
        // Absolute paths are used unchanged, not cleaned.
        `Injecting ${abs}/x/../abs.txt with file mode 0400\n`,
        `Injecting ${home}/setuid.sh with file mode 4755\n`,
        // Every `~` is replaced by HOME (Go quirk kept by the spec).
        `Injecting ${home}/tilde${home}name.txt with file mode 0644\n`,
      ].join(""),
    );
    const expected = [
      "600\n750\n",
      "secret\n",
      "750\n750\n750\n644\n",
      "key: value\nü: ✓\n",
      "755\nran\n",
      "640\nrel (no a/)",
      "400\nabs (x/ created)",
      // Only the permission bits of "4755" are applied.
      "755\n",
      "every tilde",
    ];
    commands.forEach((command, i) => expect({ command, output: outputOf(events, command) }).toEqual({ command, output: expected[i] }));
    await expectNoViolations(hub);
  });

  it("a file with invalid base64 content fails the Injecting Files step and the job; later files are not written", async () => {
    const home = agent.home;
    const request = job({ commands: ["echo never"], onFail: ["echo -n on-fail $SEMAPHORE_JOB_RESULT"] });
    request.files = [
      { path: "~/good.txt", content: b64("good"), mode: "0644" },
      { path: "~/bad.txt", content: "%%%not-base64", mode: "0644" },
      { path: "~/after.txt", content: b64("after"), mode: "0644" },
    ];
    const { view, events } = await runJob(hub, request);
    expect(view.result).toBe("failed");
    expect(summarize(events)).toEqual([
      "job_started",
      "started(Exporting environment variables)",
      "finished(Exporting environment variables, 0)",
      "started(Injecting Files)",
      `out(${JSON.stringify(
        `Injecting ${home}/good.txt with file mode 0644\n` +
          `Injecting ${home}/bad.txt with file mode 0644\n` +
          "Failed to decode the content of the file.\n",
      )})`,
      "finished(Injecting Files, 1)",
      ...resultExport(),
      "started(echo -n on-fail $SEMAPHORE_JOB_RESULT)",
      'out("on-fail failed")',
      "finished(echo -n on-fail $SEMAPHORE_JOB_RESULT, 0)",
      "job_finished(failed)",
    ]);
    expect(readFileSync(join(home, "good.txt"), "utf8")).toBe("good");
    expect(existsSync(join(home, "bad.txt"))).toBe(false);
    expect(existsSync(join(home, "after.txt"))).toBe(false);
    await expectNoViolations(hub);
  });

  for (const mode of ["+x", "0o644"]) {
    it(`a non-octal file mode (${mode}) fails the job with "bad file permission"; the file stays 0644`, async () => {
      const home = agent.home;
      const name = `mode-${mode.replace(/\W/g, "_")}.sh`;
      const { view, events } = await runJob(
        hub,
        job({ files: [{ path: `~/${name}`, content: "#!/bin/sh\n", mode }], commands: ["echo never"], always: ["echo -n always"] }),
      );
      expect(view.result).toBe("failed");
      expect(summarize(events)).toEqual([
        "job_started",
        "started(Exporting environment variables)",
        "finished(Exporting environment variables, 0)",
        "started(Injecting Files)",
        `out(${JSON.stringify(`Injecting ${home}/${name} with file mode ${mode}\nbad file permission '${mode}'\n`)})`,
        "finished(Injecting Files, 1)",
        ...resultExport(),
        "started(echo -n always)",
        'out("always")',
        "finished(echo -n always, 0)",
        "job_finished(failed)",
      ]);
      expect(statSync(join(home, name)).mode & 0o777).toBe(0o644);
      await expectNoViolations(hub);
    });
  }

  it("the .env-* file is in TMPDIR with mode 0600 and the job's variables while the job runs, and gone afterwards", async () => {
    const env = {
      B: "how are you?",
      A: "hello",
      C: "quotes ' quotes",
      D: "$PATH:/etc/a",
      EMPTY: "",
      NL: "two\nlines",
      U: "ü",
    };
    const lastEnvFile = "cat $(ls -d $TMPDIR/.env-* | sort | tail -n 1)";
    const id = await hub.api.schedule(
      job({ env, commands: ["sleep 3"], always: ["ls -A $TMPDIR | grep -c '^[.]env-'", lastEnvFile] }),
    );
    await waitForCommandStart(hub, id, "sleep 3");
    const during = envFilesIn(agent.jobTmp());
    expect(during).toHaveLength(1);
    const name = during[0] as string;
    // `.env-<unix nanoseconds>`, created just now.
    expect(name).toMatch(/^\.env-\d{19}$/);
    const nanos = BigInt(name.slice(".env-".length));
    expect(Number(nanos / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(nanos / 1_000_000n)).toBeLessThanOrEqual(Date.now());
    const path = join(agent.jobTmp(), name);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toBe(
      [
        "export A=hello",
        "export B='how are you?'",
        `export C='quotes '"'"' quotes'`,
        "export D='$PATH:/etc/a'",
        "export EMPTY=''",
        "export NL='two\nlines'",
        "export U='ü'",
        "",
      ].join("\n"),
    );

    const view = await hub.api.waitForJob(id, "finished");
    expect(view.result).toBe("passed");
    const events = await hub.api.events(id);
    // During the epilogue the second file (SEMAPHORE_JOB_RESULT only) exists beside the first.
    expect(outputOf(events, "ls -A $TMPDIR | grep -c '^[.]env-'")).toBe("2\n");
    expect(outputOf(events, lastEnvFile)).toBe("export SEMAPHORE_JOB_RESULT=passed\n");
    // Both are removed when the job ends.
    expect(envFilesIn(agent.jobTmp())).toEqual([]);
    await expectNoViolations(hub);
  });

  describe("malformed job requests", () => {
    for (const [title, value] of [
      ["a character outside the base64 alphabet", "%%%%"],
      ["missing padding", "YWI"],
    ] as const) {
      it(`an env value with ${title} fails the env step with 1, no Exporting lines, one line naming the field, then the job`, async () => {
        const request = job({ commands: ["echo never"], onFail: ["echo -n on-fail $SEMAPHORE_JOB_RESULT"] });
        request.env_vars = [
          { name: "GOOD", value: b64("fine") },
          { name: "BAD", value },
        ];
        const { view, events } = await runJob(hub, request);
        expect(view.result).toBe("failed");
        expect(summarize(events)).toEqual([
          "job_started",
          "started(Exporting environment variables)",
          'out("env_vars[1].value (BAD): not valid base64\\n")',
          "finished(Exporting environment variables, 1)",
          ...resultExport(),
          "started(echo -n on-fail $SEMAPHORE_JOB_RESULT)",
          'out("on-fail failed")',
          "finished(echo -n on-fail $SEMAPHORE_JOB_RESULT, 0)",
          "job_finished(failed)",
        ]);
        expect(rawOutputs(events, "Exporting environment variables")).toEqual(["env_vars[1].value (BAD): not valid base64\n"]);
        expect(envFilesIn(agent.jobTmp())).toEqual([]);
        await expectNoViolations(hub);
      });
    }

    it("an env var name that is not a shell identifier fails the env step, names the field, and never reaches a shell or an env file", async () => {
      const marker = join(agent.jobTmp(), "pwned");
      const hostile = `X=1; touch ${marker}; Y`;
      const request = job({ commands: [`touch ${marker}-command`], always: ["ls -A $TMPDIR | grep '^[.]env-' | xargs -I{} cat $TMPDIR/{}"] });
      request.env_vars = [
        { name: "GOOD", value: b64("fine") },
        { name: "ALSO_GOOD", value: b64("fine") },
        { name: hostile, value: b64("v") },
      ];
      const { view, events } = await runJob(hub, request);
      expect(view.result).toBe("failed");
      const reason = `env_vars[2].name: ${JSON.stringify(hostile)} is not a valid shell variable name\n`;
      expect(summarize(events)).toEqual([
        "job_started",
        "started(Exporting environment variables)",
        `out(${JSON.stringify(reason)})`,
        "finished(Exporting environment variables, 1)",
        ...resultExport(),
        "started(ls -A $TMPDIR | grep '^[.]env-' | xargs -I{} cat $TMPDIR/{})",
        'out("export SEMAPHORE_JOB_RESULT=failed\\n")',
        "finished(ls -A $TMPDIR | grep '^[.]env-' | xargs -I{} cat $TMPDIR/{}, 0)",
        "job_finished(failed)",
      ]);
      // Exactly one event with the reason, no Exporting line.
      expect(rawOutputs(events, "Exporting environment variables")).toEqual([reason]);
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(`${marker}-command`)).toBe(false);
      expect(envFilesIn(agent.jobTmp())).toEqual([]);
      await expectNoViolations(hub);
    });

    const unbuildable: Array<[string, Record<string, unknown>, string]> = [
      ["an unknown executor (docker)", { executor: "docker" }, "executor: unknown executor 'docker'"],
      ["an unknown executor (k8s)", { executor: "k8s" }, "executor: unknown executor 'k8s'"],
      ["the dockercompose executor", { executor: "dockercompose" }, "executor: 'dockercompose' is not supported by this shell agent"],
      ["a push logger without url", { logger: { method: "push", url: "", token: "x" } }, "logger.url: missing"],
      ["a logger with a relative url", { logger: { method: "push", url: "/logs/1", token: "x" } }, "logger.url: not an absolute URL: '/logs/1'"],
      [
        "an unsupported logger method",
        { logger: { method: "pull", token: "x" } },
        "logger.method: 'pull' is not supported (only 'push' is supported)",
      ],
      ["a directive that is not a string", { commands: [{ directive: "echo ok" }, { directive: 5 }] }, "commands[1].directive: expected a string"],
    ];
    for (const [title, override, reason] of unbuildable) {
      it(`${title}: finished-job failed without any log event, the reason on the agent's stderr, then the next job passes`, async () => {
        const bad = await runJob(hub, { ...job({ commands: ["echo never"] }), ...override });
        // Spec §3.5: nothing reaches Semaphore's log; the agent's own log says what was wrong.
        await agent.waitForOutput(new RegExp(`job ${bad.id} rejected, not run: ${escapeRegExp(reason)}\n`), 10_000);
        expect(bad.view.result).toBe("failed");
        expect(bad.view.fetch_count).toBeGreaterThanOrEqual(1);
        expect(bad.view.event_count).toBe(0);
        expect(bad.events).toEqual([]);
        expect(bad.view.abandoned).toBe(false);
        expect(envFilesIn(agent.jobTmp())).toEqual([]);

        const next = await runJob(hub, job({ commands: ["echo -n still working"] }));
        expect(next.view.result).toBe("passed");
        expect(next.view.agent).toBe(bad.view.agent);
        expect(summarize(next.events)).toEqual([
          ...EMPTY_PREAMBLE,
          "started(echo -n still working)",
          'out("still working")',
          "finished(echo -n still working, 0)",
          ...resultExport(),
          "job_finished(passed)",
        ]);
        await expectNoViolations(hub);
      });
    }
  });
});
