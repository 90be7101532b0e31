// Tiny flag parser for our own sub-commands (`hub`, `run`); the agent's official flags are parsed
// by config/load.ts with pflag semantics.
export class UsageError extends Error {}

export function parseFlags(
  argv: string[],
  spec: Record<string, "string" | "int" | "bool">,
): { flags: Record<string, string | number | boolean>; positional: string[] } {
  const flags: Record<string, string | number | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag --${name}`);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (kind === "bool") {
      flags[name] = value === undefined ? true : !["false", "0", "f", "F", "FALSE", "False"].includes(value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (kind === "int") {
      if (!/^\d+$/.test(value)) throw new UsageError(`--${name}: expected a whole number (got "${value}")`);
      flags[name] = Number(value);
    } else flags[name] = value;
  }
  return { flags, positional };
}
