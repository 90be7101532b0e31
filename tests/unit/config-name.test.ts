import { describe, expect, it } from "vitest";
import { ConfigError } from "../../agent-core/config/errors.js";
import { isRequestUri, resolveAgentName } from "../../agent-core/config/name.js";

const resolve = (name: string, nameFromEnv = "", env: NodeJS.ProcessEnv = {}) =>
  resolveAgentName({ name, nameFromEnv }, env);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("isRequestUri (Go url.ParseRequestURI)", () => {
  it.each([
    ["https://x", true],
    ["https://example.com/agents/1?x=y", true],
    ["ci:1", true],
    ["mailto:ops@example.com", true],
    ["/x", true],
    ["//double", true],
    ["*", true],
    ["http://user:pw@host:8080/p", true],
    ["http://[::1]:80/", true],
    ["", false],
    ["**", false],
    ["abcdefgh", false],
    ["my agent name", false],
    [":x", false], // missing protocol scheme
    ["1ci:x", false], // a scheme cannot start with a digit
    ["a_b:c", false], // '_' is not a scheme character
    ["http://host:port/", false], // invalid port
    ["http://a b/", false], // space in the host
    ["/%zz", false], // bad escape in the path
    ["https://x\n", false], // control character
    ["http://[::1/", false], // missing ']'
  ])("%j -> %s", (input, expected) => {
    expect(isRequestUri(input)).toBe(expected);
  });
});

describe("resolveAgentName: name", () => {
  it("rejects 7 bytes, accepts 8 and 80, rejects 81", () => {
    expect(configError(() => resolve("a".repeat(7))).field).toBe("name");
    expect(resolve("a".repeat(8)).name).toBe("a".repeat(8));
    expect(resolve("a".repeat(80)).name).toBe("a".repeat(80));
    const err = configError(() => resolve("a".repeat(81)));
    expect(err.field).toBe("name");
    expect(err.message).toMatch(/^'name' must be 8 to 80 bytes long unless it is a URL \(got 81 bytes/);
  });

  it("counts bytes, not characters", () => {
    expect(resolve("éééé").name).toBe("éééé"); // 4 characters, 8 bytes
    expect(configError(() => resolve("ééé")).field).toBe("name"); // 6 bytes
  });

  it.each([
    ["https://x", "x"],
    ["https://ops.example.com:8443/agents?pool=a", "ops.example.com:8443"],
    ["ci:1", "ci:1"],
    ["/x", "/x"],
    ["*", "*"],
  ])("accepts the request URI %j regardless of length (log prefix %j)", (name, logPrefix) => {
    expect(resolve(name)).toEqual({ name, logPrefix });
  });

  it("uses a plain name as its own log prefix", () => {
    expect(resolve("build-box-01")).toEqual({ name: "build-box-01", logPrefix: "build-box-01" });
  });

  it("prefers name over name-from-env, even when that variable is missing", () => {
    expect(resolve("build-box-01", "NOT_SET").name).toBe("build-box-01");
  });
});

describe("resolveAgentName: name-from-env", () => {
  it("takes the value of the named variable", () => {
    expect(resolve("", "MY_AGENT_NAME", { MY_AGENT_NAME: "from-env-123" })).toEqual({
      name: "from-env-123",
      logPrefix: "from-env-123",
    });
  });

  it("accepts a URL from the variable", () => {
    expect(resolve("", "N", { N: "https://h.example/x" })).toEqual({ name: "https://h.example/x", logPrefix: "h.example" });
  });

  it.each([
    ["unset", {}],
    ["empty", { MY_AGENT_NAME: "" }],
  ])("fails naming name-from-env when the variable is %s", (_label, env) => {
    const err = configError(() => resolve("", "MY_AGENT_NAME", env));
    expect(err.field).toBe("name-from-env");
    expect(err.message).toBe(`'name-from-env' refers to environment variable "MY_AGENT_NAME", which is not set or empty`);
  });

  it("applies the length rule to the variable's value", () => {
    const err = configError(() => resolve("", "N", { N: "short" }));
    expect(err.field).toBe("name-from-env");
    expect(err.message).toMatch(/^'name-from-env' points to \$N, whose value must be 8 to 80 bytes/);
  });
});

describe("resolveAgentName: random name", () => {
  it("is 20 URL-safe base64 characters and differs between calls", () => {
    const a = resolve("");
    const b = resolve("");
    expect(a.name).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(b.name).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(a.name).not.toBe(b.name);
    expect(a.logPrefix).toBe(a.name);
  });

  it("encodes 15 bytes with the URL-safe alphabet and no padding", () => {
    const sizes: number[] = [];
    const bytes = (size: number) => {
      sizes.push(size);
      return Buffer.from([0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff, ...Array<number>(9).fill(0)]);
    };
    const { name } = resolveAgentName({ name: "", nameFromEnv: "" }, {}, bytes);
    expect(sizes).toEqual([15]);
    expect(name).toBe("----____AAAAAAAAAAAA");
  });
});
