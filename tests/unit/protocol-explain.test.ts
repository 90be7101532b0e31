import { describe, expect, it } from "vitest";
import { explainCallProblem } from "../../agent-core/protocol/explain.js";

const ctx = { host: "acme.semaphoreci.com", scope: "register" as const, settingsPlace: "Settings" };
const net = (code: string) => ({ kind: "network" as const, status: null, code });

describe("a failed call in words", () => {
  it("names a name that does not resolve, with the fix", () => {
    expect(explainCallProblem(net("ENOTFOUND"), "POST https://acme.semaphoreci.com/api: ENOTFOUND (getaddrinfo ENOTFOUND)", ctx)).toBe(
      "Can't reach acme.semaphoreci.com: the name does not resolve. Check the organisation name in Settings, or the network.",
    );
  });

  it("names a refused registration token and where to get a new one", () => {
    const words = explainCallProblem({ kind: "status", status: 401, code: null }, "register: HTTP 401: invalid token", ctx);
    expect(words).toMatch(/^The registration token was refused \(HTTP 401\)\. Copy the agent type's registration token again/);
    expect(words).toContain("(the server said: invalid token)");
  });

  it("names TLS and proxy problems", () => {
    expect(explainCallProblem(net("SELF_SIGNED_CERT_IN_CHAIN"), "x", ctx)).toMatch(/^TLS error: the certificate of acme\.semaphoreci\.com is not trusted .*NODE_EXTRA_CA_CERTS/);
    expect(explainCallProblem(net("CERT_HAS_EXPIRED"), "x", ctx)).toMatch(/validity dates.*clock/);
    expect(explainCallProblem(net("ERR_SSL_WRONG_VERSION_NUMBER"), "x", ctx)).toMatch(/did not answer HTTPS/);
    expect(explainCallProblem({ kind: "status", status: 407, code: null }, "register: HTTP 407", ctx)).toMatch(/proxy .* asks for credentials/);
  });

  it("keeps the server's words for a server error, and anything it does not know", () => {
    expect(explainCallProblem({ kind: "status", status: 500, code: null }, "register: HTTP 500: database on fire", ctx)).toBe(
      "Semaphore answered with a server error (HTTP 500); it tries again. (the server said: database on fire)",
    );
    expect(explainCallProblem(undefined, "plain", ctx)).toBe("plain");
    expect(explainCallProblem(net("ECONNREFUSED"), "x", ctx)).toMatch(/connection was refused/);
    expect(explainCallProblem({ kind: "timeout", status: null, code: null }, "x", ctx)).toMatch(/did not answer in time/);
  });
});
