// Where the toolbox lives in a job's HOME and what we add to it. The toolbox's own `toolbox` file
// sources `~/.toolbox/libcheckout` and `~/.toolbox/libchecksum` by those literal paths, so the
// install must be `$HOME/.toolbox` of the HOME the job shell runs with.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as v from "valibot";

/** The folder name, inside a HOME, of the toolbox (fixed by the toolbox's own scripts). */
export const TOOLBOX_DIR_NAME = ".toolbox";
/**
 * Our folder inside the install with links to its commands; job shells put it first on PATH
 * (the official install-toolbox instead links them into /usr/local/bin with sudo).
 */
export const TOOLBOX_BIN_DIR_NAME = "bin";
/** What we record about an install we made, inside the install. */
export const TOOLBOX_METADATA_FILE = ".semaphore-agent.json";
/**
 * The commands the official install-toolbox puts on PATH, linked into our bin folder when the
 * tarball has them. (`when` ships as when_otp_<erlang release> binaries in the Linux tarballs: the
 * one matching the `erl` on PATH at install time is linked as `when`, as the official script does.)
 */
export const TOOLBOX_COMMANDS = ["cache", "artifact", "test-results", "retry", "spc", "sem-context", "when"] as const;
export type ToolboxCommand = (typeof TOOLBOX_COMMANDS)[number];

/** `<home>/.toolbox`. */
export function toolboxDir(home: string): string {
  return join(home, TOOLBOX_DIR_NAME);
}

/** `<home>/.toolbox/bin`. */
export function toolboxBinDir(home: string): string {
  return join(home, TOOLBOX_DIR_NAME, TOOLBOX_BIN_DIR_NAME);
}

const ChecksumCheckSchema = v.object({
  verified: v.boolean(),
  detail: v.string(),
  checksumsSource: v.nullable(v.string()),
});

const ToolboxMetadataSchema = v.object({
  installedBy: v.literal("semaphore-agent"),
  agentVersion: v.string(),
  version: v.nullable(v.string()),
  asset: v.string(),
  source: v.string(),
  sha256: v.string(),
  sizeBytes: v.number(),
  checksum: ChecksumCheckSchema,
  installedAt: v.string(),
  commands: v.array(v.string()),
});

/** How the tarball's sha256 was checked. */
export type ChecksumCheck = v.InferOutput<typeof ChecksumCheckSchema>;
/** The content of `.toolbox/.semaphore-agent.json`. */
export type ToolboxMetadata = v.InferOutput<typeof ToolboxMetadataSchema>;

/** The metadata of the install in `<dir>` (a toolbox folder), or null if absent or unreadable. */
export async function readToolboxMetadata(dir: string): Promise<ToolboxMetadata | null> {
  try {
    const parsed = v.safeParse(ToolboxMetadataSchema, JSON.parse(await readFile(join(dir, TOOLBOX_METADATA_FILE), "utf8")));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}
