import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { injectFiles, normalizeFilePath, parseFileMode } from "../../agent-core/job/files.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("normalizeFilePath (spec §4.3)", () => {
  const home = "/home/u";
  it.each([
    ["~/.ssh/id_rsa", "/home/u/.ssh/id_rsa"],
    ["~", "/home/u"],
    ["~a~b/~c", "/home/ua/home/ub//home/uc"],
    ["~/a/../b", "/home/u/a/../b"],
    ["somedir/f.txt", "/home/u/somedir/f.txt"],
    ["a~b/~c", "/home/u/a~b/~c"],
    ["a/../../x", "/home/x"],
    ["./a//b/./c/", "/home/u/a/b/c"],
    ["../../../../etc/passwd", "/etc/passwd"],
    ["/etc/x", "/etc/x"],
    ["/etc/../x//y/", "/etc/../x//y/"],
  ])("%j => %j", (input, expected) => {
    expect(normalizeFilePath(input, home)).toBe(expected);
  });
});

describe("parseFileMode", () => {
  it.each([
    ["0644", 0o644],
    ["600", 0o600],
    ["0755", 0o755],
    ["4755", 0o4755],
    ["0", 0],
    ["37777777777", 0xffffffff],
  ])("%j => %o", (input, expected) => {
    expect(parseFileMode(input)).toBe(expected);
  });

  it.each(["", "+x", "0o644", "0x1a4", "644 ", " 644", "+644", "-644", "8", "0789", "rw-r--r--", "40000000000"])(
    "rejects %j",
    (input) => {
      expect(parseFileMode(input)).toBeNull();
    },
  );
});

describe("injectFiles (spec §5.6)", () => {
  let home: string;
  let lines: string[];
  const out = (text: string) => lines.push(text);

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "job-files-"));
    lines = [];
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const mode = async (p: string) => (await stat(p)).mode & 0o7777;

  it("writes every file with its mode and creates parents with 0750", async () => {
    const abs = join(home, "abs", "file.txt");
    const code = await injectFiles(
      [
        { path: "~/.ssh/id_rsa", content: b64("secret key\n"), mode: "0600" },
        { path: "config/deep/app.yml", content: b64("key: value\n"), mode: "0644" },
        { path: abs, content: b64("#!/bin/sh\n"), mode: "0755" },
        { path: "setuid.sh", content: b64("x"), mode: "4755" },
        { path: "empty", content: "", mode: "600" },
      ],
      home,
      out,
    );
    expect(code).toBe(0);
    expect(lines).toEqual([
      `Injecting ${home}/.ssh/id_rsa with file mode 0600\n`,
      `Injecting ${home}/config/deep/app.yml with file mode 0644\n`,
      `Injecting ${abs} with file mode 0755\n`,
      `Injecting ${home}/setuid.sh with file mode 4755\n`,
      `Injecting ${home}/empty with file mode 600\n`,
    ]);
    expect(await readFile(join(home, ".ssh/id_rsa"), "utf8")).toBe("secret key\n");
    expect(await mode(join(home, ".ssh/id_rsa"))).toBe(0o600);
    expect(await mode(join(home, ".ssh"))).toBe(0o750);
    expect(await mode(join(home, "config"))).toBe(0o750);
    expect(await mode(join(home, "config/deep"))).toBe(0o750);
    expect(await mode(join(home, "config/deep/app.yml"))).toBe(0o644);
    expect(await mode(abs)).toBe(0o755);
    expect(await mode(join(home, "setuid.sh"))).toBe(0o755);
    expect((await readFile(join(home, "empty"))).length).toBe(0);
    expect(await mode(join(home, "empty"))).toBe(0o600);
  });

  it("truncates an existing file and applies the new mode", async () => {
    const p = join(home, "existing");
    await writeFile(p, "a much longer old content", { mode: 0o600 });
    expect(await injectFiles([{ path: "existing", content: b64("new"), mode: "0640" }], home, out)).toBe(0);
    expect(await readFile(p, "utf8")).toBe("new");
    expect(await mode(p)).toBe(0o640);
  });

  it.each(["", "+x", "0o644", "abc"])("bad mode %j: file written with 0644, error line, exit 1", async (bad) => {
    const code = await injectFiles(
      [
        { path: "bad.txt", content: b64("content"), mode: bad },
        { path: "never.txt", content: b64("x"), mode: "0644" },
      ],
      home,
      out,
    );
    expect(code).toBe(1);
    expect(lines).toEqual([`Injecting ${home}/bad.txt with file mode ${bad}\n`, `bad file permission '${bad}'\n`]);
    expect(await readFile(join(home, "bad.txt"), "utf8")).toBe("content");
    expect(await mode(join(home, "bad.txt"))).toBe(0o644);
    await expect(stat(join(home, "never.txt"))).rejects.toThrow();
  });

  it("bad base64: decode error line, nothing written, exit 1", async () => {
    const code = await injectFiles([{ path: "dir/f", content: "abc", mode: "0644" }], home, out);
    expect(code).toBe(1);
    expect(lines).toEqual([`Injecting ${home}/dir/f with file mode 0644\n`, "Failed to decode the content of the file.\n"]);
    await expect(stat(join(home, "dir"))).rejects.toThrow();
  });

  it("stops at the first failing file", async () => {
    const code = await injectFiles(
      [
        { path: "one", content: b64("1"), mode: "0644" },
        { path: "two", content: "@@@@", mode: "0644" },
        { path: "three", content: b64("3"), mode: "0644" },
      ],
      home,
      out,
    );
    expect(code).toBe(1);
    expect(lines).toHaveLength(3);
    expect(await readFile(join(home, "one"), "utf8")).toBe("1");
    await expect(stat(join(home, "three"))).rejects.toThrow();
  });

  it("a parent that is a file fails with one message line and exit 1", async () => {
    await writeFile(join(home, "plain"), "x");
    const code = await injectFiles([{ path: "plain/child", content: b64("x"), mode: "0644" }], home, out);
    expect(code).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^Failed to create directories for '.*plain\/child': .*\n$/);
  });

  it("a destination that is a directory fails with exit 1", async () => {
    await mkdir(join(home, "adir"));
    const code = await injectFiles([{ path: "adir", content: b64("x"), mode: "0644" }], home, out);
    expect(code).toBe(1);
    expect(lines[1]).toMatch(/^Failed to create destination path '.*adir': .*\n$/);
  });

  it("zero files is a success with no output", async () => {
    expect(await injectFiles([], home, out)).toBe(0);
    expect(lines).toEqual([]);
  });
});
