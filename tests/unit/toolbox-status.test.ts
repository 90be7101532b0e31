// toolboxStatus: Semaphore's self-hosted feature table answered for a real home folder, before and
// after a real install of the fixture toolbox, with and without git on PATH and cache variables.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { gitInstallCommand, toolboxStatus, type ToolboxFeature, type ToolboxStatus } from "../../agent-core/toolbox/index.js";
import { renderStatus } from "../../agent-core/cli/toolbox-command.js";
import { installFixtureToolbox } from "../helpers/toolbox-fixture.js";

let base: string;
let home: string;
let gitOnlyPath: string;
let noGitPath: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "toolbox-status-"));
  home = join(base, "home");
  mkdirSync(home);
  // A PATH with git and one without (bash alone), so the test does not depend on the machine's PATH.
  gitOnlyPath = join(base, "with-git");
  noGitPath = join(base, "without-git");
  mkdirSync(gitOnlyPath);
  mkdirSync(noGitPath);
  symlinkSync("/usr/bin/git", join(gitOnlyPath, "git"));
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n';
const feature = (s: ToolboxStatus, id: ToolboxFeature["id"]): ToolboxFeature => s.features.find((f) => f.id === id)!;

describe("toolboxStatus", () => {
  it("before an install: not installed; every toolbox feature names `semaphore-agent toolbox install`", async () => {
    const s = await toolboxStatus({ home, env: { PATH: gitOnlyPath }, osRelease: DEBIAN });
    expect(s).toMatchObject({ installed: false, version: null, path: join(home, ".toolbox"), installedAt: null });
    // Exactly Semaphore's table, in its order.
    expect(s.features.map((f) => [f.id, f.selfHosted])).toEqual([
      ["cache", "optional"],
      ["artifacts", "yes"],
      ["test-results", "yes"],
      ["checkout", "yes"],
      ["debug", "no"],
      ["sem-version", "no"],
      ["sem-service", "no"],
    ]);
    for (const id of ["cache", "artifacts", "test-results", "checkout"] as const) {
      expect(feature(s, id)).toMatchObject({ works: false, fix: "semaphore-agent toolbox install" });
      expect(feature(s, id).detail).toContain("the toolbox is not installed");
    }
  });

  it("after an install: installed, with its install time; checkout, artifacts and test results work", async () => {
    const installed = await installFixtureToolbox(home);
    const s = await toolboxStatus({ home, env: { PATH: gitOnlyPath }, osRelease: DEBIAN });
    expect(s).toMatchObject({ installed: true, version: null, installedAt: installed.installedAt });
    expect(feature(s, "checkout")).toMatchObject({ works: true, fix: null, detail: `checkout from ${join(home, ".toolbox", "libcheckout")}, using ${join(gitOnlyPath, "git")}` });
    expect(feature(s, "artifacts")).toMatchObject({ works: true, fix: null });
    expect(feature(s, "test-results")).toMatchObject({ works: true, fix: null });
    expect(feature(s, "debug")).toMatchObject({ works: false, fix: expect.stringContaining("use the app's debug terminal") });
    expect(feature(s, "sem-version").fix).toMatch(/install the versions you need on this machine/);
    expect(feature(s, "sem-service").fix).toMatch(/docker run -d/);
  });

  it("the version of the release comes from the install's record", async () => {
    const dir = mkdtempSync(join(tmpdir(), "toolbox-status-fixture-"));
    try {
      const { buildToolboxFixture } = await import("../helpers/toolbox-fixture.js");
      const { installToolbox } = await import("../../agent-core/toolbox/index.js");
      await installToolbox({ home, from: buildToolboxFixture(dir).tarballPath, version: "v1.2.3" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await toolboxStatus({ home, env: {} })).version).toBe("v1.2.3");
  });

  it("git missing from the jobs' PATH: checkout does not work, and the fix is the install command of this system", async () => {
    await installFixtureToolbox(home);
    const s = await toolboxStatus({ home, env: { PATH: noGitPath }, osRelease: DEBIAN });
    expect(feature(s, "checkout")).toEqual({
      id: "checkout",
      name: "Checking code with checkout",
      selfHosted: "yes",
      works: false,
      detail: "git is not on the PATH jobs get",
      fix: "sudo apt-get install -y git",
    });
    // pathEnv wins over env.PATH.
    expect(feature(await toolboxStatus({ home, env: { PATH: gitOnlyPath }, pathEnv: noGitPath }), "checkout").works).toBe(false);
  });

  it("an install whose commands are not on the jobs' PATH (no bin link) does not count; reinstalling links them", async () => {
    await installFixtureToolbox(home);
    rmSync(join(home, ".toolbox", "bin"), { recursive: true });
    const s = await toolboxStatus({ home, env: { PATH: gitOnlyPath } });
    expect(feature(s, "artifacts")).toMatchObject({
      works: false,
      detail: `${join(home, ".toolbox", "artifact")} is neither linked in ${join(home, ".toolbox", "bin")} nor on the PATH jobs get`,
      fix: "semaphore-agent toolbox install",
    });
    expect(feature(s, "checkout")).toMatchObject({ works: false, detail: expect.stringContaining(join(home, ".toolbox", "retry")) });
    // The official install links them into a folder on the PATH instead: that counts.
    const usrLocalBin = join(base, "usr-local-bin");
    mkdirSync(usrLocalBin);
    for (const name of ["artifact", "retry"]) symlinkSync(join(home, ".toolbox", name), join(usrLocalBin, name));
    const official = await toolboxStatus({ home, env: { PATH: `${usrLocalBin}:${gitOnlyPath}` } });
    expect(feature(official, "artifacts")).toMatchObject({ works: true, detail: expect.stringContaining(join(usrLocalBin, "artifact")) });
    expect(feature(official, "checkout").works).toBe(true);
  });

  it("names the git install command per system", () => {
    expect(gitInstallCommand("darwin")).toBe("xcode-select --install (or: brew install git)");
    expect(gitInstallCommand("linux", 'ID=ubuntu\nID_LIKE=debian\n')).toBe("sudo apt-get install -y git");
    expect(gitInstallCommand("linux", 'ID="rocky"\nID_LIKE="rhel centos fedora"\n')).toBe("sudo dnf install -y git");
    expect(gitInstallCommand("linux", "ID=alpine\n")).toBe("sudo apk add git");
    expect(gitInstallCommand("linux", "ID=arch\n")).toBe("sudo pacman -S --needed git");
    expect(gitInstallCommand("linux", 'ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\n')).toBe("sudo zypper install -y git");
    expect(gitInstallCommand("linux", "ID=nixos\n")).toBe("install git with your package manager (e.g. sudo apt-get install -y git)");
  });

  it("the cache: optional, works only with a backend configured; the missing variables are named", async () => {
    await installFixtureToolbox(home);
    const cache = async (env: Record<string, string>) => feature(await toolboxStatus({ home, env: { PATH: gitOnlyPath, ...env } }), "cache");

    expect(await cache({})).toMatchObject({
      selfHosted: "optional",
      works: false,
      detail: "no cache backend configured: SEMAPHORE_CACHE_BACKEND is not set",
      fix: "set SEMAPHORE_CACHE_BACKEND=s3 and SEMAPHORE_CACHE_S3_BUCKET=<bucket> (or SEMAPHORE_CACHE_BACKEND=gcs and SEMAPHORE_CACHE_GCS_BUCKET=<bucket>) in the agent's env-vars",
    });
    expect(await cache({ SEMAPHORE_CACHE_BACKEND: "s3" })).toMatchObject({
      works: false,
      detail: "SEMAPHORE_CACHE_BACKEND=s3 but SEMAPHORE_CACHE_S3_BUCKET is not set",
      fix: "set SEMAPHORE_CACHE_S3_BUCKET=<bucket> in the agent's env-vars",
    });
    expect(await cache({ SEMAPHORE_CACHE_BACKEND: "gcs" })).toMatchObject({ works: false, fix: "set SEMAPHORE_CACHE_GCS_BUCKET=<bucket> in the agent's env-vars" });
    expect((await cache({ SEMAPHORE_CACHE_BACKEND: "sftp" })).detail).toBe(
      "SEMAPHORE_CACHE_BACKEND=sftp but SEMAPHORE_CACHE_URL, SEMAPHORE_CACHE_USERNAME, SEMAPHORE_CACHE_PRIVATE_KEY_PATH are not set",
    );
    expect((await cache({ SEMAPHORE_CACHE_BACKEND: "ftp" })).detail).toBe("SEMAPHORE_CACHE_BACKEND=ftp is not a backend the cache CLI knows (s3, gcs, sftp)");

    const s3 = await cache({ SEMAPHORE_CACHE_BACKEND: "s3", SEMAPHORE_CACHE_S3_BUCKET: "secret-bucket-name" });
    expect(s3).toMatchObject({ works: true, fix: null });
    expect(s3.detail).toContain("s3 backend configured (SEMAPHORE_CACHE_S3_BUCKET set)");
    expect(s3.detail).not.toContain("secret-bucket-name");
    expect((await cache({ SEMAPHORE_CACHE_BACKEND: "gcs", SEMAPHORE_CACHE_GCS_BUCKET: "b" })).works).toBe(true);
  });

  it("renders as a table: feature, self-hosted support, works here, fix; then the details", async () => {
    const text = renderStatus(await toolboxStatus({ home, env: { PATH: noGitPath }, osRelease: DEBIAN }));
    const lines = text.split("\n");
    expect(lines[0]).toBe(`Semaphore toolbox: not installed in ${join(home, ".toolbox")} (run: semaphore-agent toolbox install)`);
    expect(lines[2]).toMatch(/^FEATURE\s+SELF-HOSTED\s+WORKS HERE\s+FIX$/);
    expect(lines[3]).toMatch(/^Using the cache\s+optional\s+no\s+semaphore-agent toolbox install$/);
    expect(lines[9]).toMatch(/^Managing databases with sem-service\s+no\s+no\s+start the service in the job with Docker/);
    expect(text).toContain("  checkout: the toolbox is not installed");
  });
});
