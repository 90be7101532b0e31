// A failed call to the server in words a person can act on: what is wrong, and what to do about it.
// The app shows these instead of `POST …/register: ENOTFOUND (getaddrinfo ENOTFOUND …)`; the
// server's own text, when there is one, follows in parentheses.
import type { CallProblem } from "../agent/events.js";

export interface ExplainContext {
  /** The server as the owner typed it, e.g. "acme.semaphoreci.com". */
  host: string;
  /** Which call failed: registering, or a sync of a registered agent. */
  scope: "register" | "sync";
  /** Where the owner fixes the address or the token: "Settings" in the app, "the config" for the CLI. */
  settingsPlace: string;
}

const TLS_UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);
const TLS_DATES = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);
const TLS_PROTOCOL = new Set(["ERR_SSL_WRONG_VERSION_NUMBER", "EPROTO", "ERR_SSL_PACKET_LENGTH_TOO_LONG", "ECONNRESET_TLS"]);

/**
 * The words for a failed register or sync. `message` is the agent's own text of the failure (it
 * carries the server's answer); without a `problem` (not a call failure) it is returned as it is.
 */
export function explainCallProblem(problem: CallProblem | undefined, message: string, ctx: ExplainContext): string {
  if (problem === undefined) return message;
  const { host, settingsPlace } = ctx;
  const server = serverText(message);
  const said = server !== null ? ` (the server said: ${server})` : "";
  switch (problem.kind) {
    case "timeout":
      return `${host} did not answer in time. Check the network connection, or a proxy or firewall in between.`;
    case "decode":
      return `${host} answered, but not as Semaphore does${said}. Check the organisation address in ${settingsPlace} (e.g. acme.semaphoreci.com).`;
    case "status":
      return statusWords(problem.status ?? 0, ctx) + said;
    case "network": {
      // undici's tunnel through a proxy: "Proxy response (407) !== 200 when HTTP Tunneling".
      const proxyStatus = /Proxy response \((\d{3})\)/.exec(message)?.[1];
      if (proxyStatus === "407") return statusWords(407, ctx);
      if (proxyStatus !== undefined) return `The proxy refused the connection to ${host} (HTTP ${proxyStatus}). Check HTTPS_PROXY / HTTP_PROXY, or NO_PROXY.`;
      return networkWords(problem.code, host, settingsPlace, message);
    }
  }
}

function statusWords(status: number, ctx: ExplainContext): string {
  const { host, scope, settingsPlace } = ctx;
  if ((status === 401 || status === 403) && scope === "register") {
    return `The registration token was refused (HTTP ${status}). Copy the agent type's registration token again in Semaphore (Settings → Self-hosted agents → your agent type) and save it in ${settingsPlace}.`;
  }
  if (status === 401 || status === 403) {
    return `Semaphore no longer accepts this agent's session (HTTP ${status}); it registers again once the sync window has passed.`;
  }
  if (status === 404) {
    return `${host} has no Semaphore self-hosted agent API (HTTP 404). Check the organisation address in ${settingsPlace} (e.g. acme.semaphoreci.com).`;
  }
  if (status === 407) {
    return `A proxy between this machine and ${host} asks for credentials (HTTP 407). Put them in HTTPS_PROXY (http://user:password@proxy:port), or ask whoever runs the network.`;
  }
  if (status === 422 && scope === "register") {
    return `Semaphore refused to register this agent (HTTP 422): often the agent name is taken or the agent type is full. Check the name in ${settingsPlace}, or the agent type in Semaphore.`;
  }
  if (status === 429) return `Semaphore is limiting requests from this agent (HTTP 429); it tries again later.`;
  if (status >= 500) return `Semaphore answered with a server error (HTTP ${status}); it tries again.`;
  return `Semaphore answered HTTP ${status}.`;
}

function networkWords(code: string | null, host: string, settingsPlace: string, message: string): string {
  const reach = `Can't reach ${host}`;
  switch (code) {
    case "ENOTFOUND":
      return `${reach}: the name does not resolve. Check the organisation name in ${settingsPlace}, or the network.`;
    case "EAI_AGAIN":
      return `${reach}: the name could not be looked up (no DNS answer). Check the network connection.`;
    case "ECONNREFUSED":
      return `${reach}: the connection was refused (nothing listens at that address). Check the address in ${settingsPlace}.`;
    case "ENETUNREACH":
    case "EHOSTUNREACH":
    case "ENETDOWN":
    case "EHOSTDOWN":
      return `${reach}: there is no network route to it. Check the network connection.`;
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `${reach}: connecting timed out. Check the network connection, or a firewall in between.`;
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return `The connection to ${host} was cut off. A proxy or firewall in between may be closing it; the agent tries again.`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `TLS error: the certificate presented for ${host} is for another name (${code}). A proxy that inspects HTTPS may be in between; check the address in ${settingsPlace}.`;
  }
  if (code !== null && TLS_UNTRUSTED.has(code)) {
    return `TLS error: the certificate of ${host} is not trusted (${code}). If a proxy inspects HTTPS traffic on this network, give the app its CA certificate with NODE_EXTRA_CA_CERTS=/path/to/ca.pem.`;
  }
  if (code !== null && TLS_DATES.has(code)) {
    return `TLS error: the certificate of ${host} is outside its validity dates (${code}). Check this machine's clock.`;
  }
  if (code !== null && TLS_PROTOCOL.has(code)) {
    return `TLS error: ${host} did not answer HTTPS (${code}). Check the address and port in ${settingsPlace}; a plain-HTTP server needs "no HTTPS".`;
  }
  if (code !== null && /PROXY/i.test(code)) return `The proxy refused the connection to ${host} (${code}). Check HTTPS_PROXY.`;
  return `${reach}: ${message.replace(/^[A-Z]+ \S+: /, "")}`;
}

/** The server's answer inside the agent's message (`register: HTTP 500: {…}`), if any. */
function serverText(message: string): string | null {
  const match = /HTTP \d{3}: (.+)$/.exec(message) ?? /response is not JSON: (.+)$/.exec(message) ?? /unexpected response: (.+)$/.exec(message);
  return match?.[1]?.trim() || null;
}
