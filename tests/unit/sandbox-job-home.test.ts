// The private job home on a real filesystem: made owner-only, the toolbox linked (none) or an empty
// mount point (strict), cleaned after a job except `.toolbox` and the keep-list, links never followed.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanJobHome, defaultPrivateJobHome, keepEntryProblem, prepareJobHome } from "../../agent-core/sandbox/job-home.js";

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "sa-jobhome-"));
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

function machineToolbox(): string {
  const toolbox = join(base, "owner", ".toolbox");
  mkdirSync(join(toolbox, "bin"), { recursive: true });
  writeFileSync(join(toolbox, "bin", "cache"), "#!/bin/sh\n");
  return toolbox;
}

describe("prepareJobHome", () => {
  it("makes the job home and the parents it creates 0700, and makes an existing one 0700 again", async () => {
    const home = join(base, "data", "job-homes", "a");
    await prepareJobHome(home, null, "none");
    expect(mode(home)).toBe(0o700);
    expect(mode(join(base, "data", "job-homes"))).toBe(0o700);
    expect(mode(join(base, "data"))).toBe(0o700);
    const loose = join(base, "loose");
    mkdirSync(loose, { mode: 0o755 });
    await prepareJobHome(loose, null, "strict");
    expect(mode(loose)).toBe(0o700);
  });

  it("under none links .toolbox to the machine's toolbox (an empty folder or a stale link is replaced)", async () => {
    const toolbox = machineToolbox();
    const home = join(base, "home");
    await prepareJobHome(home, toolbox, "none");
    expect(lstatSync(join(home, ".toolbox")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(home, ".toolbox"))).toBe(toolbox);
    // Again: left as it is.
    await prepareJobHome(home, toolbox, "none");
    expect(readlinkSync(join(home, ".toolbox"))).toBe(toolbox);

    const stale = join(base, "stale");
    mkdirSync(stale);
    symlinkSync(join(base, "elsewhere"), join(stale, ".toolbox"));
    await prepareJobHome(stale, toolbox, "none");
    expect(readlinkSync(join(stale, ".toolbox"))).toBe(toolbox);

    const emptyDir = join(base, "from-strict");
    mkdirSync(join(emptyDir, ".toolbox"), { recursive: true });
    await prepareJobHome(emptyDir, toolbox, "none");
    expect(readlinkSync(join(emptyDir, ".toolbox"))).toBe(toolbox);
  });

  it("under strict makes .toolbox an empty folder to mount on (a link from none is replaced)", async () => {
    const toolbox = machineToolbox();
    const home = join(base, "home");
    await prepareJobHome(home, toolbox, "strict");
    const st = lstatSync(join(home, ".toolbox"));
    expect(st.isDirectory()).toBe(true);
    expect(readdirSync(join(home, ".toolbox"))).toEqual([]);

    const linked = join(base, "linked");
    await prepareJobHome(linked, toolbox, "none");
    await prepareJobHome(linked, toolbox, "strict");
    expect(lstatSync(join(linked, ".toolbox")).isDirectory()).toBe(true);
    expect(readdirSync(join(linked, ".toolbox"))).toEqual([]);
    // The machine's toolbox behind the old link is untouched.
    expect(readFileSync(join(toolbox, "bin", "cache"), "utf8")).toBe("#!/bin/sh\n");
  });

  for (const level of ["none", "strict"] as const) {
    it(`under ${level} never touches a real, non-empty .toolbox of the job home`, async () => {
      const toolbox = machineToolbox();
      const home = join(base, "own");
      mkdirSync(join(home, ".toolbox", "bin"), { recursive: true });
      writeFileSync(join(home, ".toolbox", "bin", "mine"), "own toolbox");
      await prepareJobHome(home, toolbox, level);
      expect(lstatSync(join(home, ".toolbox")).isDirectory()).toBe(true);
      expect(readFileSync(join(home, ".toolbox", "bin", "mine"), "utf8")).toBe("own toolbox");
    });
  }

  it("a job home whose .toolbox is the machine's toolbox (the owner's HOME) is left as it is", async () => {
    const toolbox = machineToolbox();
    const owner = join(base, "owner");
    await prepareJobHome(owner, toolbox, "none");
    expect(lstatSync(toolbox).isDirectory()).toBe(true);
    expect(readFileSync(join(toolbox, "bin", "cache"), "utf8")).toBe("#!/bin/sh\n");
  });
});

describe("cleanJobHome", () => {
  it("removes everything but .toolbox and the keep-list; a nested entry keeps only itself", async () => {
    const home = join(base, "home");
    const toolbox = machineToolbox();
    await prepareJobHome(home, toolbox, "strict");
    writeFileSync(join(home, ".toolbox", "kept-file"), "x");
    mkdirSync(join(home, ".cache", "pip", "wheels"), { recursive: true });
    writeFileSync(join(home, ".cache", "pip", "wheels", "a.whl"), "wheel");
    mkdirSync(join(home, ".cache", "other"), { recursive: true });
    writeFileSync(join(home, ".cache", "other", "b"), "b");
    writeFileSync(join(home, ".cache", "loose-file"), "c");
    mkdirSync(join(home, "proj", "src"), { recursive: true });
    writeFileSync(join(home, "proj", "src", "main.c"), "int main;");
    writeFileSync(join(home, ".bash_history"), "secret");
    mkdirSync(join(home, ".m2"));
    writeFileSync(join(home, ".m2", "settings.xml"), "<x/>");

    await cleanJobHome(home, [".cache/pip", ".m2/"]);

    expect(readdirSync(home).sort()).toEqual([".cache", ".m2", ".toolbox"]);
    expect(readdirSync(join(home, ".cache"))).toEqual(["pip"]);
    expect(readFileSync(join(home, ".cache", "pip", "wheels", "a.whl"), "utf8")).toBe("wheel");
    expect(readFileSync(join(home, ".m2", "settings.xml"), "utf8")).toBe("<x/>");
    expect(readFileSync(join(home, ".toolbox", "kept-file"), "utf8")).toBe("x");
  });

  it("ignores unusable keep entries (nothing outside the job home is kept or touched)", async () => {
    const home = join(base, "home");
    mkdirSync(join(home, "a"), { recursive: true });
    writeFileSync(join(home, "a", "f"), "f");
    await cleanJobHome(home, ["../home/a", "/a", "", "."]);
    expect(readdirSync(home)).toEqual([]);
  });

  it("removes links without following them: what they point to keeps its content", async () => {
    const outside = join(base, "outside");
    mkdirSync(join(outside, "deep"), { recursive: true });
    writeFileSync(join(outside, "precious"), "do not delete");
    writeFileSync(join(outside, "deep", "also"), "keep me");
    const home = join(base, "home");
    mkdirSync(join(home, "sub"), { recursive: true });
    symlinkSync(outside, join(home, "link-to-folder"));
    symlinkSync(join(outside, "precious"), join(home, "link-to-file"));
    symlinkSync(outside, join(home, "sub", "nested-link"));
    // A link where the keep-list descends: `.cache` -> outside, with `.cache/pip` kept.
    symlinkSync(outside, join(home, ".cache"));
    mkdirSync(join(outside, "pip"));
    writeFileSync(join(outside, "pip", "p"), "p");

    await cleanJobHome(home, [".cache/pip"]);

    expect(readdirSync(home)).toEqual([]);
    expect(readdirSync(outside).sort()).toEqual(["deep", "pip", "precious"]);
    expect(readFileSync(join(outside, "precious"), "utf8")).toBe("do not delete");
    expect(readFileSync(join(outside, "deep", "also"), "utf8")).toBe("keep me");
    expect(readFileSync(join(outside, "pip", "p"), "utf8")).toBe("p");
  });

  it("a missing job home is not an error", async () => {
    await expect(cleanJobHome(join(base, "missing"), [])).resolves.toBe(0);
    expect(existsSync(join(base, "missing"))).toBe(false);
  });
});

describe("keepEntryProblem", () => {
  it("accepts relative paths inside the job home", () => {
    for (const ok of [".cache/pip", ".m2", "go/pkg/mod", ".cache/pip/", "a/../b"]) expect(keepEntryProblem(ok)).toBeNull();
  });

  it("rejects absolute, home-relative, '..', empty and the job home itself", () => {
    expect(keepEntryProblem("/etc")).toMatch(/relative/);
    expect(keepEntryProblem("~/.cache")).toMatch(/relative/);
    expect(keepEntryProblem("..")).toMatch(/\.\./);
    expect(keepEntryProblem("../x")).toMatch(/\.\./);
    expect(keepEntryProblem(".cache/../../x")).toMatch(/\.\./);
    expect(keepEntryProblem("")).toMatch(/empty/);
    expect(keepEntryProblem("   ")).toMatch(/empty/);
    expect(keepEntryProblem(".")).not.toBeNull();
    expect(keepEntryProblem("a/..")).not.toBeNull();
  });
});

describe("defaultPrivateJobHome", () => {
  it("lies under XDG_DATA_HOME (else ~/.local/share), one per agent name, the name made safe", () => {
    expect(defaultPrivateJobHome({ HOME: "/h", XDG_DATA_HOME: "/data" }, "gpu-box")).toBe("/data/semaphore-agent/job-homes/gpu-box");
    expect(defaultPrivateJobHome({ HOME: "/h" }, "")).toBe("/h/.local/share/semaphore-agent/job-homes/default");
    expect(defaultPrivateJobHome({ HOME: "/h", XDG_DATA_HOME: "relative" }, "a")).toBe("/h/.local/share/semaphore-agent/job-homes/a");
    expect(defaultPrivateJobHome({ HOME: "/h" }, "../../etc")).toBe("/h/.local/share/semaphore-agent/job-homes/__.._etc");
  });
});
