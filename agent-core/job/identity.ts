// Whose job this is: the handful of variables Semaphore sets in every job that name its project,
// pipeline, git ref and people (Semaphore's environment variables reference). These, and only these,
// are ever shown with their values; every other variable is shown by name alone, since any of them
// may be a secret.

/** The identity values of one job; null where the job did not carry the variable. */
export interface JobIdentity {
  projectName: string | null;
  projectId: string | null;
  jobName: string | null;
  jobId: string | null;
  jobType: string | null;
  pipelineId: string | null;
  workflowId: string | null;
  workflowNumber: string | null;
  workflowTriggeredBy: string | null;
  repoSlug: string | null;
  branch: string | null;
  sha: string | null;
  /** "branch", "tag" or "pull-request". */
  refType: string | null;
  prNumber: string | null;
  prName: string | null;
  tagName: string | null;
  committer: string | null;
  commitAuthor: string | null;
  organizationUrl: string | null;
}

/** Identity field -> the job variable it is read from. The only variables whose values are shown. */
export const IDENTITY_VARIABLES: Readonly<Record<keyof JobIdentity, string>> = Object.freeze({
  projectName: "SEMAPHORE_PROJECT_NAME",
  projectId: "SEMAPHORE_PROJECT_ID",
  jobName: "SEMAPHORE_JOB_NAME",
  jobId: "SEMAPHORE_JOB_ID",
  jobType: "SEMAPHORE_JOB_TYPE",
  pipelineId: "SEMAPHORE_PIPELINE_ID",
  workflowId: "SEMAPHORE_WORKFLOW_ID",
  workflowNumber: "SEMAPHORE_WORKFLOW_NUMBER",
  workflowTriggeredBy: "SEMAPHORE_WORKFLOW_TRIGGERED_BY",
  repoSlug: "SEMAPHORE_GIT_REPO_SLUG",
  branch: "SEMAPHORE_GIT_BRANCH",
  sha: "SEMAPHORE_GIT_SHA",
  refType: "SEMAPHORE_GIT_REF_TYPE",
  prNumber: "SEMAPHORE_GIT_PR_NUMBER",
  prName: "SEMAPHORE_GIT_PR_NAME",
  tagName: "SEMAPHORE_GIT_TAG_NAME",
  committer: "SEMAPHORE_GIT_COMMITTER",
  commitAuthor: "SEMAPHORE_GIT_COMMIT_AUTHOR",
  organizationUrl: "SEMAPHORE_ORGANIZATION_URL",
});

const IDENTITY_KEYS = Object.keys(IDENTITY_VARIABLES) as (keyof JobIdentity)[];
/** A value longer than this is cut: these are names and ids, not documents. */
export const MAX_IDENTITY_VALUE = 200;

/**
 * The identity of a job from its decoded variables (name -> value; later entries win, as in the
 * job's own environment). Control characters are removed (a value is shown in a terminal, a tray
 * tooltip, a page), whitespace is collapsed and the value is cut to MAX_IDENTITY_VALUE characters.
 * Null when the job carries none of the variables.
 */
export function jobIdentityOf(variables: ReadonlyMap<string, string>): JobIdentity | null {
  const identity = Object.fromEntries(IDENTITY_KEYS.map((key) => [key, null])) as unknown as JobIdentity;
  let found = false;
  for (const key of IDENTITY_KEYS) {
    const raw = variables.get(IDENTITY_VARIABLES[key]);
    if (raw === undefined) continue;
    const value = cleanIdentityValue(raw);
    if (value === "") continue;
    identity[key] = value;
    found = true;
  }
  return found ? identity : null;
}

export function cleanIdentityValue(raw: string): string {
  // C0, DEL and C1 controls, then runs of whitespace; cut by code points, never inside a character.
  const text = raw.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").replace(/\s+/g, " ").trim();
  const chars = Array.from(text);
  return chars.length > MAX_IDENTITY_VALUE ? `${chars.slice(0, MAX_IDENTITY_VALUE - 1).join("")}…` : text;
}

/** The commit as people write it: the first 7 characters of a hex SHA. */
export function shortSha(sha: string | null): string | null {
  if (sha === null) return null;
  return /^[0-9a-f]{8,}$/i.test(sha) ? sha.slice(0, 7) : sha;
}

/** "branch main", "tag v1.2.0", "PR #42 Fix the parser" — what the job was built from. */
export function refText(identity: JobIdentity): string | null {
  if (identity.refType === "pull-request" || (identity.refType === null && identity.prNumber !== null)) {
    const number = identity.prNumber !== null ? `#${identity.prNumber}` : "";
    return ["PR", number, identity.prName ?? ""].filter((p) => p !== "").join(" ");
  }
  if (identity.refType === "tag" || (identity.refType === null && identity.tagName !== null)) {
    return identity.tagName !== null ? `tag ${identity.tagName}` : "a tag";
  }
  return identity.branch !== null ? `branch ${identity.branch}` : null;
}

/** The job in one line: "api-server · Unit tests" (project and job name), or the job id alone. */
export function jobTitle(identity: JobIdentity | null, jobId: string): string {
  if (identity === null) return jobId;
  const parts = [identity.projectName, identity.jobName].filter((p): p is string => p !== null);
  return parts.length > 0 ? parts.join(" · ") : jobId;
}

/** "branch main @ 1a2b3c4 by Alice": the ref, the short commit and its author; null when none is known. */
export function commitText(identity: JobIdentity): string | null {
  const ref = refText(identity);
  const sha = shortSha(identity.sha);
  const author = identity.commitAuthor ?? identity.committer;
  const text = [ref, sha !== null ? `@ ${sha}` : null, author !== null ? `by ${author}` : null].filter((p) => p !== null).join(" ");
  return text === "" ? null : text;
}

/**
 * What and whose: "branch main @ 1a2b3c4 by Alice · workflow #42, triggered by push". Null when the
 * job says nothing of it.
 */
export function jobOrigin(identity: JobIdentity | null): string | null {
  if (identity === null) return null;
  let what = commitText(identity) ?? "";
  const workflow =
    identity.workflowNumber !== null
      ? `workflow #${identity.workflowNumber}${identity.workflowTriggeredBy !== null ? `, triggered by ${identity.workflowTriggeredBy}` : ""}`
      : identity.workflowTriggeredBy !== null
        ? `triggered by ${identity.workflowTriggeredBy}`
        : null;
  if (workflow !== null) what = what === "" ? workflow : `${what} · ${workflow}`;
  return what === "" ? null : what;
}

/**
 * The job's page in Semaphore: `<SEMAPHORE_ORGANIZATION_URL>/jobs/<SEMAPHORE_JOB_ID>`. Only an https
 * organisation URL without credentials, query or fragment, and a job id of safe characters, give one.
 */
export function semaphoreJobUrl(identity: JobIdentity | null): string | null {
  if (identity === null || identity.organizationUrl === null || identity.jobId === null) return null;
  if (!/^[A-Za-z0-9._-]+$/.test(identity.jobId)) return null;
  let org: URL;
  try {
    org = new URL(identity.organizationUrl);
  } catch {
    return null;
  }
  if (org.protocol !== "https:" || org.username !== "" || org.password !== "" || org.search !== "" || org.hash !== "") return null;
  const base = org.href.replace(/\/+$/, "");
  return `${base}/jobs/${identity.jobId}`;
}

/** True when a job's identity matches a free-text search (project, job name, branch, tag, PR, SHA, people). */
export function identityMatches(identity: JobIdentity | null, jobId: string, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (q === "") return true;
  if (jobId.toLowerCase().includes(q)) return true;
  if (identity === null) return false;
  return IDENTITY_KEYS.some((key) => identity[key]?.toLowerCase().includes(q) ?? false);
}
