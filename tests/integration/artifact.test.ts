// upload-job-logs (spec §7.4) with a stand-in `artifact` CLI on PATH that records how it was called.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { job, startAgent, startHub, stopAll, tempDir, type HubProcess } from "../helpers/processes.js";

afterEach(stopAll);

function fakeArtifactCli(): { binDir: string; record: string; copy: string } {
  const binDir = tempDir("sa-artifact-");
  const record = join(binDir, "calls.txt");
  const copy = join(binDir, "uploaded");
  writeFileSync(
    join(binDir, "artifact"),
    `#!/bin/bash
printf '%s\\n' "$*" "$SEMAPHORE_ARTIFACT_TOKEN" "$SEMAPHORE_JOB_ID" "$SEMAPHORE_ORGANIZATION_URL" >> ${record}
cp "$3" ${copy}
`,
  );
  chmodSync(join(binDir, "artifact"), 0o755);
  return { binDir, record, copy };
}

const artifactEnv = { SEMAPHORE_ARTIFACT_TOKEN: "art-token", SEMAPHORE_ORGANIZATION_URL: "https://org.example" };

async function runOne(hub: HubProcess, args: string[], env: NodeJS.ProcessEnv, spec: Parameters<typeof job>[0]) {
  const agent = startAgent(hub, { args: [...args, "--disconnect-after-job"], env });
  const id = await hub.api.schedule(job(spec));
  expect(await agent.waitForExit(30_000)).toBe(0);
  return { id, agent };
}

describe("upload-job-logs", () => {
  it("always: pushes the plain-text log with `artifact push job FILE -d agent/job_logs.txt`", async () => {
    const hub = await startHub();
    const cli = fakeArtifactCli();
    const { id, agent } = await runOne(hub, ["--upload-job-logs", "always"], { PATH: `${cli.binDir}:${process.env.PATH}` }, {
      env: artifactEnv,
      commands: ["echo hello", "printf 'no newline'"],
    });
    const [args, token, jobId, orgUrl] = readFileSync(cli.record, "utf8").split("\n");
    expect(args).toMatch(/^push job \S+\.txt -d agent\/job_logs\.txt$/);
    expect([token, jobId, orgUrl]).toEqual(["art-token", id, "https://org.example"]);
    expect(readFileSync(cli.copy, "utf8")).toBe(
      [
        "Exporting environment variables",
        "Exporting SEMAPHORE_ARTIFACT_TOKEN",
        "Exporting SEMAPHORE_ORGANIZATION_URL",
        "Injecting Files",
        "echo hello",
        "hello",
        "printf 'no newline'",
        "no newlineExporting environment variables",
        "Exporting SEMAPHORE_JOB_RESULT",
        "",
      ].join("\n"),
    );
    // The generated file is removed after the upload: it holds the whole log.
    expect(existsSync(args!.split(" ")[2]!)).toBe(false);
    expect(await hub.api.violations()).toEqual([]);
    expect(agent.stderr).not.toMatch(/upload skipped/);
  });

  it("when-trimmed: no upload for a complete log, a gzipped upload after a 422", async () => {
    const hub = await startHub(["--log-max-events", "8"]);
    const cli = fakeArtifactCli();
    const env = { PATH: `${cli.binDir}:${process.env.PATH}`, SEMAPHORE_AGENT_LOGS_COMPRESSION_SIZE: "1048576" };
    await runOne(hub, ["--upload-job-logs", "when-trimmed"], env, { env: artifactEnv, commands: ["seq 1 300000"] });
    const [args] = readFileSync(cli.record, "utf8").split("\n");
    expect(args).toMatch(/^push job \S+\.txt\.gz -d agent\/job_logs\.txt\.gz$/);
    const text = gunzipSync(readFileSync(cli.copy)).toString("utf8");
    const expectedSeq = Array.from({ length: 300000 }, (_, i) => `${i + 1}\n`).join("");
    expect(text).toContain(`seq 1 300000\n${expectedSeq}`);

    const hub2 = await startHub();
    const cli2 = fakeArtifactCli();
    await runOne(hub2, ["--upload-job-logs", "when-trimmed"], { PATH: `${cli2.binDir}:${process.env.PATH}` }, { env: artifactEnv, commands: ["echo small"] });
    expect(existsSync(cli2.record)).toBe(false);
  });

  it("skips with a message when the job has no artifact token", async () => {
    const hub = await startHub();
    const cli = fakeArtifactCli();
    const { agent } = await runOne(hub, ["--upload-job-logs", "always"], { PATH: `${cli.binDir}:${process.env.PATH}` }, { commands: ["true"] });
    expect(existsSync(cli.record)).toBe(false);
    expect(agent.stderr).toMatch(/SEMAPHORE_ARTIFACT_TOKEN is not in the job's environment/);
  });
});
