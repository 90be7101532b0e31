// Kept apart from load.ts so name.ts can throw it without an import cycle.

/** Where a configuration value came from, in decreasing precedence (spec §9.1). */
export type ConfigSource = "flag" | "env" | "file" | "default";

/**
 * Any configuration problem that must stop the agent at start-up (exit code 1). The message is a
 * single line that names the key (and the flag, variable or file it came from) and never contains
 * the registration token.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    /** The official key (§9.2) the problem is about, or the offending flag / YAML key name. */
    readonly field: string,
    message: string,
    /** The source of the offending value, when one is known. */
    readonly source?: ConfigSource,
  ) {
    super(message);
  }
}
