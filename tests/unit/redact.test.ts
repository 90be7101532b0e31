import { describe, expect, it } from "vitest";
import { REDACTED, redactSecrets } from "../../agent-core/util/redact.js";
import { terminalLine } from "../../agent-core/util/terminal-text.js";

describe("redactSecrets", () => {
  it("replaces every occurrence of each secret with [token]", () => {
    expect(redactSecrets("Token abc123 and again abc123; Bearer zz9", ["abc123", "zz9"])).toBe("Token [token] and again [token]; Bearer [token]");
    expect(REDACTED).toBe("[token]");
  });

  it("replaces a secret that contains another one whole, and ignores empty secrets", () => {
    expect(redactSecrets("key=abcdef", ["abc", "abcdef", ""])).toBe("key=[token]");
    expect(redactSecrets("nothing here", [""])).toBe("nothing here");
  });
});

describe("terminalLine", () => {
  it("redacts, then shows control characters as escapes: one line, no terminal sequences", () => {
    const line = terminalLine("job \x1b]0;pwned\x07 said Token s3cr3t-token\r\x1b[2Kforged\nnext", ["s3cr3t-token"]);
    expect(line).toBe("job \\x1b]0;pwned\\x07 said Token [token]\\x0d\\x1b[2Kforged\\x0anext");
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});
