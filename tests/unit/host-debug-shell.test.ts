// How a debug shell is started: which shell, what its start-up sources and in which order, and the
// manual equivalent shown to the user. (Real shells run these plans in tests/integration/host-debug.)
import { describe, expect, it } from "vitest";
import { debugShellName, manualEquivalent, planDebugShell, sourceLines } from "../../agent-core/host/debug-shell.js";
import { TOOLBOX_BASH_LINE, TOOLBOX_ZSH_LINE } from "../../agent-core/toolbox/shell-snippet.js";

const input = {
  loginShell: "/bin/bash",
  envFiles: ["/tmp/.env-1", "/tmp/dir with space/.env-2"],
  home: "/home/o'neil",
  banner: "Debug shell for job j1",
  initDir: "/tmp/init",
};

describe("debug shell", () => {
  it("uses the login shell when it is bash or zsh, bash otherwise", () => {
    expect(debugShellName("/bin/bash")).toBe("bash");
    expect(debugShellName("/usr/local/bin/zsh")).toBe("zsh");
    expect(debugShellName("/usr/bin/fish")).toBe("bash");
    expect(debugShellName("/bin/sh")).toBe("bash");
  });

  it("bash: reads the login files first, then sources the env files in order, cds, prints the banner", () => {
    const plan = planDebugShell(input);
    expect(plan).toMatchObject({ file: "/bin/bash", args: ["--rcfile", "/tmp/init/bashrc", "-i"], shell: "bash", note: null });
    const rc = plan.files.find((f) => f.name === "bashrc")!.content.split("\n");
    const at = (needle: string) => rc.findIndex((l) => l.includes(needle));
    expect(at("/etc/profile")).toBeGreaterThanOrEqual(0);
    expect(at(".bash_profile")).toBeGreaterThan(at("/etc/profile"));
    expect(at("source /tmp/.env-1")).toBeGreaterThan(at(".bash_profile"));
    expect(at("source '/tmp/dir with space/.env-2'")).toBeGreaterThan(at("source /tmp/.env-1"));
    expect(at(`cd '/home/o'"'"'neil'`)).toBeGreaterThan(at(".env-2"));
    expect(at("Debug shell for job j1")).toBeGreaterThan(at("cd '"));
    expect(at("unset HISTFILE")).toBeGreaterThan(0);
  });

  it("zsh: a ZDOTDIR of ours chains to the user's four files and sources the env files last", () => {
    const plan = planDebugShell({ ...input, loginShell: "/bin/zsh", zdotdir: "/home/o/.config/zsh" });
    expect(plan).toMatchObject({ file: "/bin/zsh", args: ["-l", "-i"], shell: "zsh", env: { ZDOTDIR: "/tmp/init", SAD_USER_ZDOTDIR: "/home/o/.config/zsh" } });
    expect(plan.files.map((f) => f.name)).toEqual([".zshenv", ".zprofile", ".zshrc", ".zlogin"]);
    for (const file of plan.files) expect(file.content).toContain(`"$ZDOTDIR/${file.name}"`);
    const zlogin = plan.files.find((f) => f.name === ".zlogin")!.content;
    expect(zlogin.indexOf("source /tmp/.env-1")).toBeGreaterThan(zlogin.indexOf(".zlogin"));
    expect(plan.files.filter((f) => f.content.includes("source /tmp/.env-1"))).toHaveLength(1);
  });

  it("loads the Semaphore toolbox as the job shell does: after the login files, before the env files", () => {
    const rc = planDebugShell(input).files[0]!.content.split("\n");
    expect(rc.indexOf(TOOLBOX_BASH_LINE)).toBeGreaterThan(rc.findIndex((l) => l.includes(".bash_profile")));
    expect(rc.indexOf(TOOLBOX_BASH_LINE)).toBeLessThan(rc.indexOf("source /tmp/.env-1"));
    const zsh = planDebugShell({ ...input, loginShell: "/bin/zsh" });
    const zlogin = zsh.files.find((f) => f.name === ".zlogin")!.content.split("\n");
    expect(zlogin.indexOf(TOOLBOX_ZSH_LINE)).toBeGreaterThan(zlogin.findIndex((l) => l.includes('"$ZDOTDIR/.zlogin"')));
    expect(zlogin.indexOf(TOOLBOX_ZSH_LINE)).toBeLessThan(zlogin.indexOf("source /tmp/.env-1"));
    expect(zsh.files.filter((f) => f.content.includes(".toolbox"))).toHaveLength(1);
  });

  it("another shell: bash, and the banner says why", () => {
    const plan = planDebugShell({ ...input, loginShell: "/usr/bin/fish" });
    expect(plan).toMatchObject({ file: "bash", shell: "bash", note: "your login shell fish cannot source the job's env files, so this is bash" });
    expect(plan.files[0]!.content).toContain("(your login shell fish cannot source");
  });

  it("the manual equivalent: a login bash, then the same source and cd lines", () => {
    expect(manualEquivalent(input.envFiles, "/home/alice")).toEqual([
      "bash --login",
      "source /tmp/.env-1",
      "source '/tmp/dir with space/.env-2'",
      "cd /home/alice",
    ]);
    expect(sourceLines([], "/root")).toEqual(["cd /root"]);
  });
});
