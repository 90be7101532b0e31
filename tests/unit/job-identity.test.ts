import { describe, expect, it } from "vitest";
import { identityMatches, jobIdentityOf, jobOrigin, jobTitle, refText, semaphoreJobUrl, shortSha, type JobIdentity } from "../../agent-core/job/identity.js";

const vars = (entries: Record<string, string>) => new Map(Object.entries(entries));

const real = vars({
  SEMAPHORE_PROJECT_NAME: "api-server",
  SEMAPHORE_PROJECT_ID: "7b2c8e4a-0000-4000-8000-000000000001",
  SEMAPHORE_JOB_NAME: "Unit tests",
  SEMAPHORE_JOB_ID: "4f0a6c2e-1b7d-4e0c-9a8f-2d3b5c6e7f80",
  SEMAPHORE_WORKFLOW_NUMBER: "42",
  SEMAPHORE_WORKFLOW_TRIGGERED_BY: "push",
  SEMAPHORE_GIT_BRANCH: "main",
  SEMAPHORE_GIT_REF_TYPE: "branch",
  SEMAPHORE_GIT_SHA: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
  SEMAPHORE_GIT_COMMIT_AUTHOR: "alice",
  SEMAPHORE_ORGANIZATION_URL: "https://acme.semaphoreci.com",
  SEMAPHORE_ARTIFACT_TOKEN: "secret-never-read",
  AWS_SECRET_ACCESS_KEY: "also-secret",
});

describe("whose job it is", () => {
  it("reads only the identity variables and describes the job in words", () => {
    const identity = jobIdentityOf(real)!;
    expect(identity.projectName).toBe("api-server");
    expect(JSON.stringify(identity)).not.toContain("secret");
    expect(jobTitle(identity, "id")).toBe("api-server · Unit tests");
    expect(jobOrigin(identity)).toBe("branch main @ 1a2b3c4 by alice · workflow #42, triggered by push");
    expect(semaphoreJobUrl(identity)).toBe("https://acme.semaphoreci.com/jobs/4f0a6c2e-1b7d-4e0c-9a8f-2d3b5c6e7f80");
  });

  it("falls back to the job id when the job names nothing", () => {
    expect(jobIdentityOf(vars({ GREETING: "hi" }))).toBeNull();
    expect(jobTitle(null, "4f0a")).toBe("4f0a");
    expect(jobOrigin(null)).toBeNull();
    expect(semaphoreJobUrl(null)).toBeNull();
  });

  it("names tags and pull requests", () => {
    const pr = jobIdentityOf(vars({ SEMAPHORE_GIT_REF_TYPE: "pull-request", SEMAPHORE_GIT_PR_NUMBER: "17", SEMAPHORE_GIT_PR_NAME: "Fix the parser" }))!;
    expect(refText(pr)).toBe("PR #17 Fix the parser");
    const tag = jobIdentityOf(vars({ SEMAPHORE_GIT_REF_TYPE: "tag", SEMAPHORE_GIT_TAG_NAME: "v1.2.0" }))!;
    expect(refText(tag)).toBe("tag v1.2.0");
    expect(shortSha("abc")).toBe("abc");
  });

  it("strips control characters and cuts long values", () => {
    const identity = jobIdentityOf(vars({ SEMAPHORE_PROJECT_NAME: "evil\u001b]0;pwned\u0007\nname", SEMAPHORE_JOB_NAME: "x".repeat(500) }))!;
    expect(identity.projectName).toBe("evil ]0;pwned name");
    expect(Array.from(identity.jobName!).length).toBe(200);
  });

  it("links to Semaphore over https only, with a plain job id", () => {
    const base: Partial<JobIdentity> = { jobId: "4f0a-1" };
    const url = (org: string, jobId = "4f0a-1") => semaphoreJobUrl({ ...(jobIdentityOf(vars({ SEMAPHORE_JOB_ID: jobId }))!), ...base, jobId, organizationUrl: org });
    expect(url("https://acme.semaphoreci.com/")).toBe("https://acme.semaphoreci.com/jobs/4f0a-1");
    expect(url("http://acme.semaphoreci.com")).toBeNull();
    expect(url("javascript:alert(1)")).toBeNull();
    expect(url("https://user:pw@acme.semaphoreci.com")).toBeNull();
    expect(url("https://acme.semaphoreci.com", "../../x")).toBeNull();
  });

  it("matches a search in any identity value or the id", () => {
    const identity = jobIdentityOf(real);
    expect(identityMatches(identity, "j1", "API")).toBe(true);
    expect(identityMatches(identity, "j1", "alice")).toBe(true);
    expect(identityMatches(identity, "j1", "1a2b3c4")).toBe(true);
    expect(identityMatches(identity, "j1", "bob")).toBe(false);
    expect(identityMatches(null, "j1", "j1")).toBe(true);
  });
});
