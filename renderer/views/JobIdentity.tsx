// Whose job it is, as every view shows it: the project and job name, the ref, the short commit,
// the author, the workflow and who triggered it, and a link to the job in Semaphore (https only).
// Only the identity variables' values are ever shown; the job id stands in when there are none.
import type { JobIdentity } from "../../agent-core/host/contract.js";
import { jobOrigin, jobTitle, semaphoreJobUrl } from "../../agent-core/host/contract.js";
import { ExternalIcon } from "./icons.js";

export function OpenInSemaphore({ identity, compact = false }: { identity: JobIdentity | null; compact?: boolean }) {
  const url = semaphoreJobUrl(identity);
  if (url === null) return null;
  return (
    <a className={`btn small link-btn${compact ? " compact" : ""}`} href={url} target="_blank" rel="noopener noreferrer" data-testid="open-in-semaphore" title={url} aria-label="Open in Semaphore">
      <ExternalIcon size={12} />
      {/* A narrow window's job toolbar shows the icon alone. */}
      {compact ? null : <span className="tool-label">Open in Semaphore</span>}
    </a>
  );
}

/** Title line and origin line; `testId` prefixes the parts for tests. */
export function JobIdentityText({ identity, jobId, testId }: { identity: JobIdentity | null; jobId: string; testId: string }) {
  const title = jobTitle(identity, jobId);
  const origin = jobOrigin(identity);
  return (
    <span className="job-identity">
      <span className={title === jobId ? "mono job-identity-title" : "job-identity-title"} data-testid={`${testId}-title`}>
        {title}
      </span>
      {origin !== null ? (
        <span className="job-identity-origin" data-testid={`${testId}-origin`}>
          {origin}
        </span>
      ) : null}
    </span>
  );
}
