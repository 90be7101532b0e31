// 422 from the log service (spec §7.2–§7.4, P-10): the agent stops pushing for the rest of the job,
// still reports the job's real result, says so on stderr, and (upload-job-logs: when-trimmed)
// uploads the full log with the `artifact` CLI.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { JobLogEvent } from "../../agent-core/job/events.js";
import { job, stopAll, tempDir } from "../helpers/processes.js";
import { agentLoggedEvents, expectNoTokenLeak, expectNoViolations, logPath, requestsTo, startPair } from "../helpers/protocol.js";

afterEach(stopAll);

function fakeArtifactCli(): { dir: string; read: () => { args: string; env: string; content: string } | null } {
  const dir = tempDir("sa-artifact-");
  const out = join(dir, "calls");
  writeFileSync(
    join(dir, "artifact"),
    [
      "#!/bin/bash",
      `printf '%s\\n' "$*" > ${JSON.stringify(`${out}.args`)}`,
      `printf '%s|%s|%s\\n' "$SEMAPHORE_ARTIFACT_TOKEN" "$SEMAPHORE_JOB_ID" "$SEMAPHORE_ORGANIZATION_URL" > ${JSON.stringify(`${out}.env`)}`,
      `cp "$3" ${JSON.stringify(`${out}.content`)}`,
      "",
    ].join("\n"),
  );
  chmodSync(join(dir, "artifact"), 0o755);
  return {
    dir,
    read: () =>
      existsSync(`${out}.content`)
        ? {
            args: readFileSync(`${out}.args`, "utf8").trim(),
            env: readFileSync(`${out}.env`, "utf8").trim(),
            content: readFileSync(`${out}.content`, "utf8"),
          }
        : null,
  };
}

function plainText(events: JobLogEvent[]): string {
  return events.map((e) => (e.event === "cmd_started" ? `${e.directive}\n` : e.event === "cmd_output" ? e.output : "")).join("");
}

describe("log limit (422)", () => {
  it.each([
    { flag: "--log-max-events", value: "10" },
    { flag: "--log-max-bytes", value: "900" },
  ])("hub $flag $value: pushing stops after the 422, the job reports its real result, the full log is uploaded", async ({ flag, value }) => {
    const artifact = fakeArtifactCli();
    const { hub, agent } = await startPair([flag, value], {
      args: ["--upload-job-logs", "when-trimmed"],
      env: { SEMAPHORE_AGENT_LOG_LEVEL: "debug", PATH: `${artifact.dir}:${process.env.PATH ?? ""}` },
    });
    const commands = Array.from({ length: 12 }, (_, i) => `echo line-${i + 1}`);
    const id = await hub.api.schedule(
      job({ commands, env: { SEMAPHORE_ARTIFACT_TOKEN: "art-token-123", SEMAPHORE_ORGANIZATION_URL: "https://org.example.test" } }),
    );
    const view = await hub.api.waitForJob(id, "finished", 20_000);
    expect(view.result).toBe("passed"); // the real result, though job_finished never reached the hub
    expect(view.trimmed).toBe(true);
    await hub.api.waitForAgent((agents) => agents[0]?.state === "waiting-for-jobs" && agents[0].job_id === "", 10_000);

    // The hub kept a prefix of exactly what the agent logged.
    const logged = agentLoggedEvents(agent, id);
    expect(logged.at(-1)).toMatchObject({ event: "job_finished", result: "passed" });
    const events = await hub.api.events(id);
    expect(events.length).toBe(view.event_count);
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(logged.length);
    expect(events).toEqual(logged.slice(0, events.length));

    // Exactly one 422, and it was the last push for this job.
    const pushes = await requestsTo(hub, logPath(id));
    expect(pushes.filter((r) => r.status === 422)).toHaveLength(1);
    expect(pushes.at(-1)!.status).toBe(422);

    expect(agent.stderr).toMatch(/the log service is full \(422\)/);
    expect(agent.stderr).toMatch(new RegExp(`job ${id} passed \\(log trimmed by the server\\)`));

    // upload-job-logs: when-trimmed => `artifact push job <file> -d agent/job_logs.txt` with the full log.
    const upload = artifact.read();
    expect(upload).not.toBeNull();
    expect(upload!.args).toMatch(/^push job \S+\.txt -d agent\/job_logs\.txt$/);
    expect(upload!.env).toBe(`art-token-123|${id}|https://org.example.test`);
    expect(upload!.content).toBe(plainText(logged));
    expect(upload!.content).toContain("echo line-12\nline-12\n");

    await expectNoViolations(hub);
    expectNoTokenLeak(agent, hub.token);
  });
});
