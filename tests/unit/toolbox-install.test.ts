// installToolbox against a real HTTP server on 127.0.0.1 with GitHub's release layout (the fixture
// release), real tar files and a real file system: downloads, checksums, the atomic replace, and
// what a failed, cut-off or cancelled install leaves behind (the old install, working, and nothing else).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  installToolbox,
  readToolboxMetadata,
  toolboxAssetName,
  ToolboxError,
  type ToolboxInstallProgress,
} from "../../agent-core/toolbox/index.js";
import { checksumFor, versionInReleaseUrl } from "../../agent-core/toolbox/release.js";
import {
  buildToolboxFixture,
  FIXTURE_VERSION,
  rawTar,
  serveToolboxRelease,
  type ToolboxFixture,
  type ToolboxReleaseServer,
} from "../helpers/toolbox-fixture.js";

let base: string;
let home: string;
let fixture: ToolboxFixture;
let server: ToolboxReleaseServer | null;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "toolbox-install-"));
  home = join(base, "home");
  mkdirSync(home);
  mkdirSync(join(base, "fixture"));
  fixture = buildToolboxFixture(join(base, "fixture"));
  server = null;
});

afterEach(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

async function serve(checksums: string | null = fixture.checksumsText): Promise<ToolboxReleaseServer> {
  server = await serveToolboxRelease({ tarball: readFileSync(fixture.tarballPath), asset: fixture.asset, checksumsText: checksums });
  return server;
}

/** What is in the home besides the install itself: must stay empty. */
const debris = (): string[] => readdirSync(home).filter((n) => n !== ".toolbox");

/** In a fresh bash with this HOME: the toolbox sources, and `checkout` is a function. */
function toolboxWorks(): string {
  return execFileSync("bash", ["-c", 'source "$HOME/.toolbox/toolbox" && type -t checkout'], {
    env: { PATH: process.env.PATH, HOME: home },
    encoding: "utf8",
  }).trim();
}

async function rejection(promise: Promise<unknown>): Promise<ToolboxError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolboxError);
  return error as ToolboxError;
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("the release asset of a platform", () => {
  it("maps linux|darwin × x64|arm64 and refuses the rest by name", () => {
    expect(toolboxAssetName("linux", "x64")).toBe("self-hosted-linux.tar");
    expect(toolboxAssetName("linux", "arm64")).toBe("self-hosted-linux-arm.tar");
    expect(toolboxAssetName("darwin", "x64")).toBe("self-hosted-darwin.tar");
    expect(toolboxAssetName("darwin", "arm64")).toBe("self-hosted-darwin-arm.tar");
    expect(() => toolboxAssetName("win32", "x64")).toThrow(/linux and darwin \(macOS\), not for win32/);
    expect(() => toolboxAssetName("linux", "ia32")).toThrow(/x64 and arm64 machines, not for ia32/);
  });

  it("reads checksums.txt as the release writes it, and the tag of a download URL", () => {
    const text = `${"a".repeat(64)} self-hosted-linux.tar\n${"B".repeat(64)}  *self-hosted-darwin.tar\n`;
    expect(checksumFor(text, "self-hosted-linux.tar")).toBe("a".repeat(64));
    expect(checksumFor(text, "self-hosted-darwin.tar")).toBe("b".repeat(64));
    expect(checksumFor(text, "self-hosted-linux-arm.tar")).toBeNull();
    expect(versionInReleaseUrl("https://github.com/semaphoreci/toolbox/releases/download/v1.2.3/self-hosted-linux.tar")).toBe("v1.2.3");
    expect(versionInReleaseUrl("https://github.com/semaphoreci/toolbox/releases/latest/download/self-hosted-linux.tar")).toBeNull();
  });
});

describe("installToolbox", () => {
  it("downloads the latest release through the redirects, verifies it, installs it with a bin folder and a record", async () => {
    const s = await serve();
    const progress: ToolboxInstallProgress[] = [];
    const result = await installToolbox({ home, baseUrl: s.baseUrl, onProgress: (p) => progress.push(p) });

    expect(result).toMatchObject({
      path: join(home, ".toolbox"),
      binDir: join(home, ".toolbox", "bin"),
      version: FIXTURE_VERSION, // read from the redirect of latest/download/…
      asset: fixture.asset,
      source: `${s.baseUrl}/latest/download/${fixture.asset}`,
      sha256: fixture.sha256,
      sizeBytes: fixture.sizeBytes,
      checksum: { verified: true, detail: `sha256 matches ${s.baseUrl}/download/${FIXTURE_VERSION}/checksums.txt` },
      commands: ["cache", "artifact", "test-results", "retry"],
      replaced: null,
    });
    expect(s.requests).toEqual([
      `/releases/latest/download/${fixture.asset}`,
      `/releases/download/${FIXTURE_VERSION}/${fixture.asset}`,
      `/blob/${fixture.asset}`,
      `/releases/download/${FIXTURE_VERSION}/checksums.txt`,
    ]);
    // Phases in order; the download's count only grows and ends at the size.
    const phases = progress.map((p) => p.phase).filter((p, i, all) => all[i - 1] !== p);
    expect(phases).toEqual(["download", "checksum", "extract", "install"]);
    const downloads = progress.filter((p) => p.phase === "download");
    expect(downloads.every((p, i) => i === 0 || p.receivedBytes >= downloads[i - 1]!.receivedBytes)).toBe(true);
    expect(downloads.at(-1)).toEqual({ phase: "download", receivedBytes: fixture.sizeBytes, totalBytes: fixture.sizeBytes });

    expect(readdirSync(join(home, ".toolbox")).sort()).toEqual(
      [".semaphore-agent.json", "artifact", "bin", "cache", "install-toolbox", "libcheckout", "libchecksum", "retry", "test-results", "toolbox"].sort(),
    );
    expect(readlinkSync(join(home, ".toolbox", "bin", "artifact"))).toBe("../artifact");
    expect(await readToolboxMetadata(join(home, ".toolbox"))).toMatchObject({
      installedBy: "semaphore-agent",
      version: FIXTURE_VERSION,
      sha256: fixture.sha256,
      installedAt: result.installedAt,
    });
    expect(toolboxWorks()).toBe("function");
    expect(debris()).toEqual([]);
    // Nothing but the install was written: no dotfile in the home.
    expect(readdirSync(home)).toEqual([".toolbox"]);
  });

  it("a --version downloads that tag's asset and checks that tag's checksums", async () => {
    const s = await serve();
    const result = await installToolbox({ home, baseUrl: s.baseUrl, version: FIXTURE_VERSION });
    expect(result.version).toBe(FIXTURE_VERSION);
    expect(s.requests[0]).toBe(`/releases/download/${FIXTURE_VERSION}/${fixture.asset}`);
    const missing = await rejection(installToolbox({ home, baseUrl: s.baseUrl, version: "v9.9.9" }));
    expect(missing.code).toBe("http");
    expect(missing.message).toContain(`/releases/download/v9.9.9/${fixture.asset} answered 404`);
    expect((await rejection(installToolbox({ home, baseUrl: s.baseUrl, version: "latest; rm -rf /" }))).code).toBe("usage");
  });

  it("the base URL comes from SEMAPHORE_AGENT_TOOLBOX_BASE_URL when not given", async () => {
    const s = await serve();
    process.env.SEMAPHORE_AGENT_TOOLBOX_BASE_URL = s.baseUrl;
    try {
      expect((await installToolbox({ home })).source).toBe(`${s.baseUrl}/latest/download/${fixture.asset}`);
    } finally {
      delete process.env.SEMAPHORE_AGENT_TOOLBOX_BASE_URL;
    }
  });

  it("no checksums.txt published: installed, and the result says so", async () => {
    const s = await serve(null);
    const result = await installToolbox({ home, baseUrl: s.baseUrl });
    expect(result.checksum).toEqual({
      verified: false,
      detail: `no checksum published (${s.baseUrl}/download/${FIXTURE_VERSION}/checksums.txt not found)`,
      checksumsSource: null,
    });
    expect(toolboxWorks()).toBe("function");
  });

  it("a checksum mismatch fails and changes nothing", async () => {
    await installToolbox({ home, from: fixture.tarballPath });
    const before = readFileSync(join(home, ".toolbox", ".semaphore-agent.json"), "utf8");
    const s = await serve(`${"f".repeat(64)} ${fixture.asset}\n`);
    const error = await rejection(installToolbox({ home, baseUrl: s.baseUrl }));
    expect(error.code).toBe("checksum");
    expect(error.message).toContain(`its sha256 is ${fixture.sha256}`);
    expect(error.message).toContain(`lists ${"f".repeat(64)}`);
    expect(readFileSync(join(home, ".toolbox", ".semaphore-agent.json"), "utf8")).toBe(before);
    expect(toolboxWorks()).toBe("function");
    expect(debris()).toEqual([]);
  });

  it("a cut-off download (Content-Length larger than the body) fails; the old install still works, nothing is left", async () => {
    await installToolbox({ home, from: fixture.tarballPath });
    const s = await serve();
    s.behaviour = "truncate";
    const error = await rejection(installToolbox({ home, baseUrl: s.baseUrl }));
    expect(error.code).toBe("size");
    expect(error.message).toMatch(new RegExp(`cut off after \\d+ bytes of ${fixture.sizeBytes}`));
    expect(toolboxWorks()).toBe("function");
    expect(debris()).toEqual([]);
  });

  it("cancelled mid-download: rejects as aborted, the old install stays, nothing is left", async () => {
    await installToolbox({ home, from: fixture.tarballPath });
    const s = await serve();
    s.behaviour = "stall";
    const controller = new AbortController();
    const install = installToolbox({ home, baseUrl: s.baseUrl, signal: controller.signal });
    await s.partSent();
    controller.abort();
    expect((await rejection(install)).code).toBe("aborted");
    expect(toolboxWorks()).toBe("function");
    expect(debris()).toEqual([]);
  });

  it("cancelled after unpacking: the unpacked folder is removed, the old install stays", async () => {
    await installToolbox({ home, from: fixture.tarballPath, version: "v1.0.0" });
    const controller = new AbortController();
    const install = installToolbox({
      home,
      from: fixture.tarballPath,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "extract") controller.abort();
      },
    });
    expect((await rejection(install)).code).toBe("aborted");
    expect((await readToolboxMetadata(join(home, ".toolbox")))?.version).toBe("v1.0.0");
    expect(debris()).toEqual([]);
  });

  it("a failure after unpacking (the tarball's 'bin' is a file) removes the unpacked folder", async () => {
    await installToolbox({ home, from: fixture.tarballPath });
    mkdirSync(join(base, "bad"));
    const bad = buildToolboxFixture(join(base, "bad"), { files: { bin: "not a folder" } });
    const error = await rejection(installToolbox({ home, from: bad.tarballPath }));
    expect(error.code).toBe("io");
    expect(error.message).toContain(`cannot install the toolbox into ${join(home, ".toolbox")}`);
    expect(toolboxWorks()).toBe("function");
    expect(debris()).toEqual([]);
  });

  it("a connection refused is a network error naming the URL", async () => {
    const port = await closedPort();
    const error = await rejection(installToolbox({ home, baseUrl: `http://127.0.0.1:${port}/releases` }));
    expect(error.code).toBe("network");
    expect(error.url).toBe(`http://127.0.0.1:${port}/releases/latest/download/${fixture.asset}`);
    expect(error.message).toContain(`cannot download http://127.0.0.1:${port}/releases/latest/download/${fixture.asset}`);
    expect(error.message).toContain("ECONNREFUSED");
    expect(debris()).toEqual([]);
  });

  it("from a local file: verified by a checksums.txt beside it, else installed with 'no checksum published'", async () => {
    const verified = await installToolbox({ home, from: fixture.tarballPath });
    expect(verified).toMatchObject({ source: fixture.tarballPath, version: null, checksum: { verified: true, detail: `sha256 matches ${fixture.checksumsPath}` } });
    rmSync(fixture.checksumsPath);
    const unverified = await installToolbox({ home, from: fixture.tarballPath, version: "v1.0.0" });
    expect(unverified.checksum.detail).toBe(`no checksum published (no checksums.txt beside ${fixture.tarballPath})`);
    expect(unverified).toMatchObject({ version: "v1.0.0", replaced: { version: null } });
    const missing = await rejection(installToolbox({ home, from: join(base, "nope.tar") }));
    expect(missing).toMatchObject({ code: "usage", message: `no such file: ${join(base, "nope.tar")}` });
  });

  it("from a URL: downloaded, and checked against checksums.txt beside it", async () => {
    const s = await serve();
    s.files.set(fixture.asset, readFileSync(fixture.tarballPath));
    s.files.set("checksums.txt", Buffer.from(fixture.checksumsText));
    const result = await installToolbox({ home, from: `${s.origin}/files/${fixture.asset}` });
    expect(result).toMatchObject({ source: `${s.origin}/files/${fixture.asset}`, checksum: { verified: true, detail: `sha256 matches ${s.origin}/files/checksums.txt` } });
    expect(toolboxWorks()).toBe("function");
  });

  it("links `when` to the when_otp_<release> of this machine's Erlang, as install-toolbox does; none without Erlang", async () => {
    const files = { when_otp_25: "#!/bin/sh\necho when 25\n", when_otp_26: "#!/bin/sh\necho when 26\n" };
    mkdirSync(join(base, "erl"));
    const withWhen = buildToolboxFixture(join(base, "erl"), { files });
    const fakeErl = join(base, "fake-erl-bin");
    mkdirSync(fakeErl);
    writeFileSync(join(fakeErl, "erl"), "#!/bin/sh\nprintf 26\n", { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${fakeErl}:${path}`;
    try {
      expect((await installToolbox({ home, from: withWhen.tarballPath })).commands).toContain("when");
    } finally {
      process.env.PATH = path;
    }
    expect(readlinkSync(join(home, ".toolbox", "bin", "when"))).toBe("../when_otp_26");
    process.env.PATH = "/nonexistent";
    try {
      expect((await installToolbox({ home, from: withWhen.tarballPath })).commands).not.toContain("when");
    } finally {
      process.env.PATH = path;
    }
  });

  it("replaces an older install atomically and says which it replaced", async () => {
    await installToolbox({ home, from: fixture.tarballPath, version: "v1.0.0" });
    writeFileSync(join(home, ".toolbox", "stale-file-of-the-old-install"), "x");
    const result = await installToolbox({ home, from: fixture.tarballPath, version: "v1.1.0" });
    expect(result.replaced).toEqual({ version: "v1.0.0" });
    expect(existsSync(join(home, ".toolbox", "stale-file-of-the-old-install"))).toBe(false);
    expect(debris()).toEqual([]);
  });

  it("removes the leftovers of a killed run first, and takes over a lock whose process is gone", async () => {
    mkdirSync(join(home, ".toolbox.new-dead01"));
    writeFileSync(join(home, ".toolbox.new-dead01.tar"), "partial");
    mkdirSync(join(home, ".toolbox.old-dead02"));
    writeFileSync(join(home, ".toolbox.lock"), "999999999 1\n");
    await installToolbox({ home, from: fixture.tarballPath });
    expect(debris()).toEqual([]);
  });

  it("refuses a second install into the same home while one runs", async () => {
    const { processStartTime } = await import("../../agent-core/shell/kill.js");
    writeFileSync(join(home, ".toolbox.lock"), `${process.pid} ${processStartTime(process.pid) ?? ""}\n`);
    const error = await rejection(installToolbox({ home, from: fixture.tarballPath }));
    expect(error).toMatchObject({ code: "busy", message: `another toolbox install into ${home} is running (pid ${process.pid})` });
    rmSync(join(home, ".toolbox.lock"));
  });
});

describe("installToolbox refuses archives that are not a self-hosted toolbox", () => {
  const cases: Array<[string, Parameters<typeof rawTar>[0], RegExp]> = [
    ["a path climbing out", [{ path: "toolbox/", type: "dir" }, { path: "toolbox/../../evil", content: "x" }], /entry "toolbox\/\.\.\/\.\.\/evil" contains '\.\.'/],
    ["an absolute path", [{ path: "/tmp/evil", content: "x" }], /entry "\/tmp\/evil" is an absolute path/],
    ["a symlink pointing out", [{ path: "toolbox/", type: "dir" }, { path: "toolbox/link", type: "symlink", linkpath: "../../etc" }], /entry "toolbox\/link" links outside 'toolbox\/'/],
    ["an absolute symlink", [{ path: "toolbox/link", type: "symlink", linkpath: "/etc/passwd" }], /links to an absolute path "\/etc\/passwd"/],
    ["another top folder", [{ path: "other/toolbox", content: "x" }], /entry "other\/toolbox" is outside the top folder 'toolbox\/'/],
    ["a FIFO", [{ path: "toolbox/fifo", type: "fifo" }], /entry "toolbox\/fifo" is a FIFO/],
    ["no libcheckout", [{ path: "toolbox/toolbox", content: "x" }], /toolbox\/libcheckout missing/],
  ];
  for (const [what, entries, message] of cases) {
    it(`${what}: refused by name, nothing written, the old install untouched`, async () => {
      await installToolbox({ home, from: fixture.tarballPath });
      const evil = join(base, "evil.tar");
      writeFileSync(evil, rawTar(entries));
      const error = await rejection(installToolbox({ home, from: evil }));
      expect(error.code).toBe("archive");
      expect(error.message).toMatch(message);
      expect(existsSync(join(base, "evil"))).toBe(false);
      expect(toolboxWorks()).toBe("function");
      expect(debris()).toEqual([]);
    });
  }

  it("not a tar at all", async () => {
    const junk = join(base, "junk.tar");
    writeFileSync(junk, "this is not a tarball\n".repeat(100));
    expect((await rejection(installToolbox({ home, from: junk }))).code).toBe("archive");
    expect(readdirSync(home)).toEqual([]);
  });
});
