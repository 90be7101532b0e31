// Step "Injecting Files" (spec §4.3, §5.6): files of the job request written on the host, relative
// to the agent's HOME, before any user command runs.
import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute, join, sep } from "node:path";
import type { JobFile } from "../protocol/types.js";
import { decodeBase64Strict } from "./request.js";
import { openForJob } from "../sandbox/placement.js";

/** Where a file goes on the host (see JobSpace.placeFile): under the strict sandbox, inside its writable folders only. */
export type PlaceFile = (dest: string) => { host: string; roots: string[] | null } | { error: string };

/**
 * Destination of an injected file: absolute paths unchanged (not cleaned), a leading `~` replaces
 * every `~` in the path by HOME (a Go quirk kept for parity), anything else is HOME-relative and
 * lexically cleaned.
 */
export function normalizeFilePath(path: string, home: string): string {
  const native = sep === "/" ? path : path.replaceAll("/", sep);
  if (isAbsolute(native)) return native;
  if (native.startsWith("~")) return native.replaceAll("~", home);
  const joined = join(home, native);
  // Go's filepath.Clean drops a trailing separator, path.join keeps it.
  return joined.length > 1 && joined.endsWith(sep) ? joined.slice(0, -1) : joined;
}

/** Octal file mode as Go's strconv.ParseUint(mode, 8, 32): digits 0–7 only, no sign, no prefix. */
export function parseFileMode(mode: string): number | null {
  if (!/^[0-7]+$/.test(mode)) return null;
  const value = BigInt(`0o${mode}`);
  if (value > 0xffffffffn) return null;
  return Number(value);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Injects the files in request order, logging through `output`, and returns the step's exit code:
 * 0, 1 on the first failure, 255 when writing the content fails. The file is written (0644)
 * before its mode is validated, as in Go, so a bad mode leaves it behind with 0644.
 */
export async function injectFiles(
  files: readonly JobFile[],
  home: string,
  output: (text: string) => void,
  placeFile: PlaceFile = (dest) => ({ host: dest, roots: null }),
): Promise<number> {
  for (const file of files) {
    const relativeToHome = !isAbsolute(file.path);
    const dest = normalizeFilePath(file.path, home);
    output(`Injecting ${dest} with file mode ${file.mode}\n`);

    const content = decodeBase64Strict(file.content);
    if (content === null) {
      output("Failed to decode the content of the file.\n");
      return 1;
    }

    if (relativeToHome && home === "") {
      output("Failed to determine the home directory.\n");
      return 1;
    }

    // The path as the job sees it; under the strict sandbox it is written where the sandbox keeps it.
    const place = placeFile(dest);
    if ("error" in place) {
      output(`Failed to create destination path '${dest}': ${place.error}\n`);
      return 1;
    }

    try {
      await mkdir(dirname(place.host), { recursive: true, mode: 0o750 });
    } catch (err) {
      output(`Failed to create directories for '${dest}': ${errorText(err)}\n`);
      return 1;
    }

    let handle;
    try {
      handle = await openForJob(place.host, place.roots, "w", 0o644);
    } catch (err) {
      output(`Failed to create destination path '${dest}': ${errorText(err)}\n`);
      return 1;
    }
    try {
      try {
        await handle.writeFile(content);
      } catch (err) {
        output(`Failed to write '${dest}': ${errorText(err)}\n`);
        return 255;
      }

      const mode = parseFileMode(file.mode);
      if (mode === null) {
        output(`bad file permission '${file.mode}'\n`);
        return 1;
      }

      try {
        // Go's os.Chmod keeps only the permission bits of a plain octal number: "4755" => 0755.
        // Through the open file: the path may have been swapped for a link meanwhile.
        await handle.chmod(mode & 0o777);
      } catch (err) {
        output(`Failed to set file mode '${file.mode}' for '${dest}': ${errorText(err)}\n`);
        return 1;
      }
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
  return 0;
}
