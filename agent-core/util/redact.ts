// Secrets out of text that is shown or logged: a server that echoes the request's Authorization
// header in an error body would otherwise put the registration token, the agent's access token or
// a job's logger token on the terminal and into log files. The CLI's `start` and `run` redact every
// line with it; the desktop host redacts what it shows the same way.

/** What a secret is replaced with. */
export const REDACTED = "[token]";

/**
 * `text` with every occurrence of each non-empty secret replaced by `[token]`. Longer secrets go
 * first, so a secret that contains another one is replaced whole.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const ordered = [...new Set(secrets)].filter((s) => s !== "").sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of ordered) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  return out;
}
