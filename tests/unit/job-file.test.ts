import { describe, expect, it } from "vitest";
import { parseJobFile } from "../../agent-core/cli/job-file.js";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("job files for `semaphore-agent run`", () => {
  it("encodes plain env values and file contents as base64 and accepts string or object commands", () => {
    const job = parseJobFile(
      `
env_vars:
  - name: A
    value: "it's \\"x\\""
  - name: N
    value: 42
files:
  - path: ~/x.sh
    content: "echo hi\\n"
    mode: 0755
commands:
  - echo one
  - directive: echo two
    alias: Two
epilogue_on_fail_commands: [echo failed]
`,
      "job.yaml",
    );
    expect(job.env_vars).toEqual([
      { name: "A", value: b64(`it's "x"`) },
      { name: "N", value: b64("42") },
    ]);
    expect(job.files).toEqual([{ path: "~/x.sh", content: b64("echo hi\n"), mode: "0755" }]);
    expect(job.commands).toEqual([{ directive: "echo one" }, { directive: "echo two", alias: "Two" }]);
    expect(job.epilogue_on_fail_commands).toEqual([{ directive: "echo failed" }]);
    expect(job.executor).toBe("shell");
  });

  it("names the bad field", () => {
    expect(() => parseJobFile("commands: [1]\n", "j.yaml")).toThrow(/j\.yaml: commands\[0\]/);
    expect(() => parseJobFile("env_vars: [{name: 'A B', value: x}]\n", "j.yaml")).toThrow(/env_vars\[0\]\.name/);
    expect(() => parseJobFile("comands: []\n", "j.yaml")).toThrow(/comands|Unrecognized/);
    expect(() => parseJobFile("commands: [\n", "j.yaml")).toThrow(/j\.yaml: line/);
  });

  it("parses every shipped example", () => {
    const dir = join(import.meta.dirname, "../../examples");
    for (const name of readdirSync(dir).filter((n) => n.endsWith(".yaml"))) {
      const job = parseJobFile(readFileSync(join(dir, name), "utf8"), name);
      expect(job.commands.length, name).toBeGreaterThan(0);
    }
  });
});
