// The lines `start` and `run` print about whose job it is (cli/printer.ts, job/identity.ts): the
// identity line of a job-request event, the id alone without one, and server text kept harmless.
import { describe, expect, it } from "vitest";
import type { AgentEvent } from "../../agent-core/agent/events.js";
import { formatAgentEvent, jobIdentityText, JobLogPrinter } from "../../agent-core/cli/printer.js";
import { jobIdentityOf, type JobIdentity } from "../../agent-core/job/identity.js";
import { terminalLine } from "../../agent-core/util/terminal-text.js";

const JOB_ID = "4f0a9c1e-6b7d-4e2a-9f3b-2c1d0e9f8a7b";
const AT = Date.UTC(2026, 11, 3, 12, 0, 0);

function identity(vars: Record<string, string>): JobIdentity | null {
  return jobIdentityOf(new Map(Object.entries(vars)));
}

const FULL = {
  SEMAPHORE_PROJECT_NAME: "api-server",
  SEMAPHORE_JOB_NAME: "Unit tests",
  SEMAPHORE_JOB_ID: JOB_ID,
  SEMAPHORE_GIT_BRANCH: "main",
  SEMAPHORE_GIT_REF_TYPE: "branch",
  SEMAPHORE_GIT_SHA: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
  SEMAPHORE_GIT_COMMIT_AUTHOR: "Alice",
  SEMAPHORE_WORKFLOW_NUMBER: "42",
  SEMAPHORE_WORKFLOW_TRIGGERED_BY: "push",
  SEMAPHORE_ORGANIZATION_URL: "https://acme.semaphoreci.com",
};

const request = (id: JobIdentity | null): AgentEvent => ({ type: "job-request", at: AT, jobId: JOB_ID, envVarNames: ["SECRET"], identity: id, plan: null });

describe("the identity line of start and run", () => {
  it("names project, job, ref, commit, author and workflow, and the job's page", () => {
    expect(jobIdentityText(JOB_ID, identity(FULL))).toEqual({
      line: `job ${JOB_ID}: api-server · Unit tests — branch main @ 1a2b3c4 by Alice · workflow #42, triggered by push`,
      url: `https://acme.semaphoreci.com/jobs/${JOB_ID}`,
    });
    expect(formatAgentEvent(request(identity(FULL)), "info")).toBe(
      `2026-12-03 12:00:00Z  job ${JOB_ID}: api-server · Unit tests — branch main @ 1a2b3c4 by Alice · workflow #42, triggered by push; open: https://acme.semaphoreci.com/jobs/${JOB_ID}`,
    );
  });

  it("without an identity adds nothing: the state lines name the job by its id, as before", () => {
    expect(jobIdentityText(JOB_ID, null)).toBeNull();
    expect(formatAgentEvent(request(null), "info")).toBeNull();
    // An identity with only the job's own id says nothing more either.
    expect(formatAgentEvent(request(identity({ SEMAPHORE_JOB_ID: JOB_ID })), "info")).toBeNull();
    // Below info, nothing.
    expect(formatAgentEvent(request(identity(FULL)), "warn")).toBeNull();
  });

  it("says what there is: a title alone, an origin alone (after the id), a PR, no page without https", () => {
    expect(jobIdentityText(JOB_ID, identity({ SEMAPHORE_PROJECT_NAME: "web" }))).toEqual({ line: `job ${JOB_ID}: web`, url: null });
    expect(jobIdentityText(JOB_ID, identity({ SEMAPHORE_GIT_BRANCH: "dev", SEMAPHORE_WORKFLOW_TRIGGERED_BY: "schedule" }))).toEqual({
      line: `job ${JOB_ID} — branch dev · triggered by schedule`,
      url: null,
    });
    const pr = identity({ SEMAPHORE_JOB_NAME: "Lint", SEMAPHORE_GIT_REF_TYPE: "pull-request", SEMAPHORE_GIT_PR_NUMBER: "128", SEMAPHORE_GIT_PR_NAME: "Fix it" });
    expect(jobIdentityText(JOB_ID, pr)?.line).toBe(`job ${JOB_ID}: Lint — PR #128 Fix it`);
    const http = identity({ ...FULL, SEMAPHORE_ORGANIZATION_URL: "http://acme.semaphoreci.com" });
    expect(jobIdentityText(JOB_ID, http)?.url).toBeNull();
    expect(formatAgentEvent(request(http), "info")).not.toContain("open:");
  });

  it("keeps server text harmless: control characters escaped, secrets redacted, one line", () => {
    // An identity built by hand, as a hostile or broken server could make the agent see it.
    const hostile = { ...(identity(FULL) as JobIdentity), projectName: "evil\x1b]0;pwned\x07\nforged line", jobName: "uses tok-123456" };
    const formatted = formatAgentEvent(request(hostile), "info") as string;
    const line = terminalLine(formatted, ["tok-123456"]);
    expect(line).not.toMatch(/[\x00-\x1f]/);
    expect(line).toContain("evil\\x1b]0;pwned\\x07\\x0aforged line · uses [token]");
    // From real variables, the values are cleaned before they get here.
    const cleaned = jobIdentityText(JOB_ID, identity({ SEMAPHORE_PROJECT_NAME: "a\x1b[2Kb\r\nc" }));
    expect(cleaned?.line).toBe(`job ${JOB_ID}: a [2Kb c`);
  });
});

describe("run's header", () => {
  it("prints the lines it is given before the log, bold and dim on a terminal, then a blank line", () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (t: string) => written.push(t) }) as unknown as NodeJS.WriteStream;
    const plain = new JobLogPrinter(stream(false));
    plain.header([`job ${JOB_ID}: web`, "open: https://acme.semaphoreci.com/jobs/x"]);
    plain.header([]);
    expect(written.join("")).toBe(`job ${JOB_ID}: web\nopen: https://acme.semaphoreci.com/jobs/x\n\n`);
    written.length = 0;
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      new JobLogPrinter(stream(true)).header(["a", "b"]);
    } finally {
      if (saved !== undefined) process.env.NO_COLOR = saved;
    }
    expect(written.join("")).toBe("\x1b[1ma\x1b[0m\n\x1b[2mb\x1b[0m\n\n");
  });
});
