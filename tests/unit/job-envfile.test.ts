import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import {
  buildJobEnvironment,
  quoteEnvValue,
  quoteEnvValueBytes,
  renderEnvFile,
  sortEnvNames,
  writeEnvFile,
} from "../../agent-core/job/envfile.js";
import { wallClockNanoseconds } from "../../agent-core/util/clock.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("quoteEnvValue (spec §5.5)", () => {
  it.each([
    ["", "''"],
    ["hello", "hello"],
    ["VALUE_A", "VALUE_A"],
    ["a_b@c%d+e=f:g,h.i/j-k", "a_b@c%d+e=f:g,h.i/j-k"],
    ["0123456789", "0123456789"],
    ["how are you?", "'how are you?'"],
    ["quotes ' quotes", `'quotes '"'"' quotes'`],
    ["'", `''"'"''`],
    ["''", `''"'"''"'"''`],
    [`double "quotes"`, `'double "quotes"'`],
    ["$PATH:/etc/a", "'$PATH:/etc/a'"],
    ["$(rm -rf /)", "'$(rm -rf /)'"],
    ["`id`", "'`id`'"],
    ["back\\slash", "'back\\slash'"],
    ["line1\nline2", "'line1\nline2'"],
    ["tab\there", "'tab\there'"],
    ["héllo", "'héllo'"],
    ["日本語", "'日本語'"],
    ["🙂", "'🙂'"],
    ["a b", "'a b'"],
    ["*", "'*'"],
    ["~", "'~'"],
    ["!bang", "'!bang'"],
    ["semi;colon", "'semi;colon'"],
  ])("%j => %s", (value, quoted) => {
    expect(quoteEnvValue(value)).toBe(quoted);
  });

  it("quotes raw bytes that are not UTF-8 without altering them", () => {
    const value = Buffer.from([0x61, 0x96, 0x27, 0xff]);
    expect(quoteEnvValueBytes(value)).toEqual(
      Buffer.concat([Buffer.from("'a"), Buffer.from([0x96]), Buffer.from(`'"'"'`), Buffer.from([0xff]), Buffer.from("'")]),
    );
  });

  it("round-trips through bash exactly", () => {
    const values = ["", "plain", "how are you?", "quotes ' quotes", "$PATH:/etc/a", "a\nb", "日本語 🙂", `"\\'`];
    const vars = new Map(values.map((v, i) => [`V${i}`, v]));
    const script = renderEnvFile(vars).toString() + values.map((_, i) => `printf '%s\\0' "$V${i}"`).join("\n");
    const out = execFileSync("bash", ["--noprofile", "--norc", "-c", script]).toString();
    expect(out.split("\0").slice(0, -1)).toEqual(values);
  });
});

describe("renderEnvFile", () => {
  it("writes one export line per variable, sorted by name (spec example)", () => {
    const vars = new Map([
      ["EMPTY", ""],
      ["D", "$PATH:/etc/a"],
      ["C", "quotes ' quotes"],
      ["B", "how are you?"],
      ["A", "hello"],
    ]);
    expect(renderEnvFile(vars).toString()).toBe(
      [
        "export A=hello",
        "export B='how are you?'",
        `export C='quotes '"'"' quotes'`,
        "export D='$PATH:/etc/a'",
        "export EMPTY=''",
        "",
      ].join("\n"),
    );
  });

  it("is empty for no variables", () => {
    expect(renderEnvFile(new Map()).length).toBe(0);
  });

  it("sorts names byte-wise, not by UTF-16 units or locale", () => {
    // U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8 but after it in UTF-16.
    expect(sortEnvNames(["b", "B", "_", "a", "\u{1F600}", "\uFF21", "A1", "A"])).toEqual([
      "A",
      "A1",
      "B",
      "_",
      "a",
      "b",
      "\uFF21",
      "\u{1F600}",
    ]);
  });
});

describe("buildJobEnvironment", () => {
  it("decodes job values and lets agent env-vars win", () => {
    const env = buildJobEnvironment(
      [
        { name: "A", value: b64("VALUE_A") },
        { name: "B", value: b64("VALUE_B") },
        { name: "A", value: b64("VALUE_A2") },
      ],
      [{ name: "B", value: "from-agent" }, { name: "HOST", value: "raw $value" }],
    );
    if (!env.ok) throw new Error(env.reason);
    const text = Object.fromEntries([...env.env].map(([k, v]) => [k, Buffer.from(v).toString()]));
    expect(text).toEqual({ A: "VALUE_A2", B: "from-agent", HOST: "raw $value" });
  });

  it("fails, naming the field, when any job value is not strict base64", () => {
    expect(buildJobEnvironment([{ name: "A", value: b64("ok") }, { name: "B", value: "abc" }], [])).toEqual({
      ok: false,
      reason: "env_vars[1].value (B): not valid base64",
    });
  });

  it("fails, naming the field, when a job or agent name is not a shell identifier", () => {
    expect(buildJobEnvironment([{ name: "A", value: b64("ok") }, { name: "X=1; touch /tmp/pwned; Y", value: b64("v") }], [])).toEqual({
      ok: false,
      reason: 'env_vars[1].name: "X=1; touch /tmp/pwned; Y" is not a valid shell variable name',
    });
    expect(buildJobEnvironment([], [{ name: "OK", value: "1" }, { name: "$(id)", value: "v" }])).toEqual({
      ok: false,
      reason: 'env-vars[1]: "$(id)" is not a valid shell variable name',
    });
  });

  it("renderEnvFile refuses a name that is not a shell identifier", () => {
    expect(() => renderEnvFile(new Map([["A;id", "v"]]))).toThrow(/not a valid shell variable name/);
  });
});

describe("writeEnvFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "job-envfile-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates <tmpDir>/.env-<nanoseconds> with mode 0600 and the rendered content", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const path = await writeEnvFile(dir, new Map([["B", "two words"], ["A", "x"]]));
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(dirname(path)).toBe(dir);
    const match = /^\.env-(\d+)$/.exec(basename(path));
    expect(match).not.toBeNull();
    const ns = BigInt(match![1]!);
    expect(ns >= before && ns <= after).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, "utf8")).toBe("export A=x\nexport B='two words'\n");
  });

  it("gives files of the same millisecond distinct, increasing names", async () => {
    const paths = await Promise.all(Array.from({ length: 20 }, () => writeEnvFile(dir, new Map([["A", "1"]]))));
    const numbers = paths.map((p) => BigInt(basename(p).slice(".env-".length)));
    expect(new Set(numbers).size).toBe(20);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]! > numbers[i - 1]!).toBe(true);
  });

  it("wallClockNanoseconds is strictly increasing", () => {
    let last = wallClockNanoseconds();
    for (let i = 0; i < 10_000; i++) {
      const next = wallClockNanoseconds();
      expect(next > last).toBe(true);
      last = next;
    }
  });

  it("fails when the directory does not exist", async () => {
    await expect(writeEnvFile(join(dir, "missing"), new Map())).rejects.toThrow();
  });
});
