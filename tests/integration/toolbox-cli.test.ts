// `semaphore-agent toolbox install | status` through bin/semaphore-agent (build first), against the
// fixture release on 127.0.0.1: what it prints, its exit codes, offline, interrupted, and that a
// home holds nothing but `.toolbox` afterwards.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { toolboxAssetName } from "../../agent-core/toolbox/index.js";
import { runCli, stopAll, tempDir } from "../helpers/processes.js";
import {
  buildToolboxFixture,
  FIXTURE_VERSION,
  installFixtureToolbox,
  serveToolboxRelease,
  type ToolboxFixture,
  type ToolboxReleaseServer,
} from "../helpers/toolbox-fixture.js";

let home: string;
let fixture: ToolboxFixture;
let server: ToolboxReleaseServer;

beforeEach(async () => {
  home = tempDir("toolbox-cli-home-");
  const dir = tempDir("toolbox-cli-fixture-");
  fixture = buildToolboxFixture(dir);
  server = await serveToolboxRelease({ tarball: readFileSync(fixture.tarballPath), asset: fixture.asset, checksumsText: fixture.checksumsText });
});

afterEach(async () => {
  await server.close();
  await stopAll();
});

/** Runs the CLI to its exit with HOME (the default --home) and the fixture release as base URL. */
async function toolbox(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = runCli(["toolbox", ...args], { HOME: home, SEMAPHORE_AGENT_TOOLBOX_BASE_URL: server.baseUrl, SEMAPHORE_TOOLBOX_VERSION: "", ...env });
  const code = await proc.waitForExit(30_000);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

const debris = (): string[] => readdirSync(home).filter((n) => n !== ".toolbox");

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("semaphore-agent toolbox", () => {
  it("status before, install with progress lines, status after", async () => {
    const before = await toolbox(["status"]);
    expect(before.code).toBe(0);
    expect(before.stdout).toContain(`Semaphore toolbox: not installed in ${home}/.toolbox (run: semaphore-agent toolbox install)`);
    expect(before.stdout).toMatch(/^Checking code with checkout\s+yes\s+no\s+semaphore-agent toolbox install$/m);

    const install = await toolbox(["install"]);
    expect(install.code, install.stderr).toBe(0);
    // Not a terminal: plain lines, the first and the last of the download, then the phases.
    expect(install.stderr).toContain(`Installing the Semaphore toolbox (latest release) into ${home}/.toolbox\n`);
    expect(install.stderr).toMatch(/^downloading: 0% \(0 B of [\d.]+ kB\)$/m);
    expect(install.stderr).toMatch(/^downloading: 100% \(([\d.]+ kB) of \1\)$/m);
    expect(install.stderr).toContain("verifying…\nunpacking…\ninstalling…\n");
    expect(install.stderr).not.toContain("\r");
    expect(install.stdout).toMatch(new RegExp(`^Installed the Semaphore toolbox ${FIXTURE_VERSION} in ${home}/\\.toolbox \\(\\d+\\.\\d s\\)$`, "m"));
    expect(install.stdout).toContain(`  from      ${server.baseUrl}/latest/download/${fixture.asset}\n`);
    expect(install.stdout).toContain(`  size      ${fixture.sizeBytes} bytes`);
    expect(install.stdout).toContain(`  sha256    ${fixture.sha256}: verified, sha256 matches ${server.baseUrl}/download/${FIXTURE_VERSION}/checksums.txt\n`);
    expect(install.stdout).toContain(`  commands  cache, artifact, test-results, retry in ${home}/.toolbox/bin\n`);
    expect(readdirSync(home)).toEqual([".toolbox"]);

    const after = await toolbox(["status"]);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(new RegExp(`^Semaphore toolbox ${FIXTURE_VERSION} in ${home}/\\.toolbox, installed \\d{4}-`, "m"));
    expect(after.stdout).toMatch(/^Artifact storage\s+yes\s+yes\s+-$/m);
    expect(after.stdout).toMatch(/^Using the cache\s+optional\s+no\s+set SEMAPHORE_CACHE_BACKEND=s3 and SEMAPHORE_CACHE_S3_BUCKET=<bucket>/m);
    // --config-file: the agent's env-vars count as the job's environment.
    const config = join(tempDir("toolbox-cli-config-"), "config.yaml");
    writeFileSync(config, 'endpoint: x.semaphoreci.com\ntoken: t\nenv-vars:\n  - SEMAPHORE_CACHE_BACKEND=gcs\n  - SEMAPHORE_CACHE_GCS_BUCKET=b\n');
    const configured = await toolbox(["status", "--config-file", config]);
    expect(configured.stdout).toMatch(/^Using the cache\s+optional\s+yes\s+-$/m);
  });

  it("SEMAPHORE_TOOLBOX_VERSION selects the release as install.sh does; --version wins", async () => {
    const fromEnv = await toolbox(["install"], { SEMAPHORE_TOOLBOX_VERSION: "v9.9.9" });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toContain(`semaphore-agent toolbox install: ${server.baseUrl}/download/v9.9.9/${fixture.asset} answered 404`);
    const flag = await toolbox(["install", "--version", FIXTURE_VERSION], { SEMAPHORE_TOOLBOX_VERSION: "v9.9.9" });
    expect(flag.code, flag.stderr).toBe(0);
    expect(server.requests).toContain(`/releases/download/${FIXTURE_VERSION}/${fixture.asset}`);
    expect(debris()).toEqual([]);
  });

  it("--from a file and --from a URL, into another --home", async () => {
    const other = tempDir("toolbox-cli-other-");
    const file = await toolbox(["install", "--from", fixture.tarballPath, "--home", other]);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toContain(`Installed the Semaphore toolbox (version unknown) in ${other}/.toolbox`);
    expect(file.stdout).toContain(`verified, sha256 matches ${fixture.checksumsPath}`);
    expect(existsSync(join(home, ".toolbox"))).toBe(false);

    server.files.set(fixture.asset, readFileSync(fixture.tarballPath));
    const url = await toolbox(["install", "--from", `${server.origin}/files/${fixture.asset}`, "--home", other]);
    expect(url.code, url.stderr).toBe(0);
    expect(url.stdout).toContain(`no checksum published (${server.origin}/files/checksums.txt not found)`);
    expect(url.stdout).toContain("  replaced  an install of unknown version");
  });

  it("offline (connection refused): exit 1, the URL named, --from suggested with where to get the file", async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/releases`;
    const run = await toolbox(["install"], { SEMAPHORE_AGENT_TOOLBOX_BASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`semaphore-agent toolbox install: cannot download ${url}/latest/download/${fixture.asset}`);
    expect(run.stderr).toContain("ECONNREFUSED");
    expect(run.stderr).toContain(
      `Download https://github.com/semaphoreci/toolbox/releases/latest/download/${toolboxAssetName()} (and checksums.txt beside it, to verify it)`,
    );
    expect(run.stderr).toContain("run: semaphore-agent toolbox install --from FILE");
    expect(readdirSync(home)).toEqual([]);
  });

  it("interrupted (SIGINT) mid-download: exit 130, the old install kept, nothing left behind", async () => {
    await installFixtureToolbox(home);
    const before = readFileSync(join(home, ".toolbox", ".semaphore-agent.json"), "utf8");
    server.behaviour = "stall";
    const proc = runCli(["toolbox", "install"], { HOME: home, SEMAPHORE_AGENT_TOOLBOX_BASE_URL: server.baseUrl });
    await server.partSent();
    await proc.waitForOutput(/downloading: /, 15_000);
    proc.signal("SIGINT");
    expect(await proc.waitForExit(15_000)).toBe(130);
    expect(proc.stderr).toContain("semaphore-agent toolbox install: interrupted; the toolbox was not changed");
    expect(readFileSync(join(home, ".toolbox", ".semaphore-agent.json"), "utf8")).toBe(before);
    expect(debris()).toEqual([]);
  });

  it("killed outright mid-download: the next install removes what it left", async () => {
    server.behaviour = "stall";
    const proc = runCli(["toolbox", "install"], { HOME: home, SEMAPHORE_AGENT_TOOLBOX_BASE_URL: server.baseUrl });
    await server.partSent();
    await proc.waitForOutput(/downloading: /, 15_000);
    proc.signal("SIGKILL");
    await proc.waitForExit(15_000);
    expect(debris().sort()).toEqual([".toolbox.lock", expect.stringMatching(/^\.toolbox\.new-[0-9a-f]+\.tar$/)].sort());
    server.behaviour = "ok";
    const again = await toolbox(["install"]);
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(home)).toEqual([".toolbox"]);
  });

  it("text from the server is printed with its control characters escaped", async () => {
    const hostile = createHttpServer((_req, res) => res.writeHead(500, { "content-type": "text/plain" }).end("\x1b]0;pwned\x07\x1b[2Jgone"));
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = hostile.address() as { port: number };
      const run = await toolbox(["install", "--from", `http://127.0.0.1:${port}/x.tar`]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("answered 500: \\x1b]0;pwned\\x07\\x1b[2Jgone");
      expect(run.stderr).not.toContain("\x1b");
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  it("usage errors exit 2 and name the flag", async () => {
    const run = await toolbox(["install", "--versoin", "v1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("semaphore-agent toolbox: unknown flag --versoin");
    const bad = await toolbox(["install", "--version", "1.2"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('toolbox version must look like v1.2.3 (got "1.2")');
  });
});
