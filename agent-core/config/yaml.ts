// Writes an AgentConfig as the official agent's config.yaml, so a configuration made in the
// desktop app can be handed to the Go agent (and read back by loadAgentConfig) unchanged.
import { stringify } from "yaml";
import { AGENT_CONFIG_KEYS } from "./keys.js";
import type { AgentConfig, EnvVarSetting } from "./types.js";

/**
 * Every key of §9.2 in table order except `config-file` (meaningless inside the file itself).
 * Strings are always double-quoted so values such as `"true"`, `"0123"` or `"~"` stay strings for
 * any YAML reader, and lines are never folded. The token is written as-is: callers decide where
 * the file goes. `config` must be valid (as returned by loadAgentConfig) for the output to load.
 */
export function renderConfigYaml(config: AgentConfig): string {
  const out: Record<string, unknown> = {};
  for (const spec of AGENT_CONFIG_KEYS) {
    if (spec.prop === null) continue;
    const value: unknown = config[spec.prop];
    // The official agent refuses keys it does not know: ours go in only when they say something.
    if (spec.extension && JSON.stringify(value) === JSON.stringify(spec.default)) continue;
    out[spec.key] =
      spec.prop === "envVars"
        ? (value as EnvVarSetting[]).map((v) => `${v.name}=${v.value}`)
        : Array.isArray(value)
          ? [...(value as string[])]
          : value;
  }
  return stringify(out, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN", lineWidth: 0 });
}
