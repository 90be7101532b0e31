// Unpacking a self-hosted toolbox tarball: every entry is checked before anything is written (one
// top folder `toolbox/`, no absolute paths, no `..`, no links that point outside, only files,
// folders and links), then the content of `toolbox/` is extracted into a fresh folder. node-tar
// does the extraction (and has its own defences against the same tricks); these checks name the
// offending entry and refuse the whole archive instead of skipping entries.

import { posix } from "node:path";
import { list, extract, type ReadEntry } from "tar";

import { escapeControlChars } from "../util/control-chars.js";
import { ToolboxError } from "./errors.js";

/** The top folder every entry of a self-hosted toolbox tarball lives in. */
export const TOOLBOX_TOP_FOLDER = "toolbox";
/** Files an archive must contain to be a self-hosted toolbox (paths inside `toolbox/`). */
export const REQUIRED_TOOLBOX_FILES = ["toolbox", "libcheckout"] as const;

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

export interface ArchiveSummary {
  /** Paths inside `toolbox/` (no prefix) of the regular files. */
  files: string[];
  entries: number;
}

const bad = (entryPath: string, why: string): ToolboxError =>
  new ToolboxError("archive", `not a usable toolbox tarball: entry "${escapeControlChars(entryPath)}" ${why}`);

/** The entry's path without a leading `./`, or throws when it is absolute or climbs out. */
function checkedPath(raw: string): string {
  const path = raw.replace(/^(\.\/)+/, "");
  if (path.startsWith("/")) throw bad(raw, "is an absolute path");
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw bad(raw, "contains '..'");
  if (parts[0] !== TOOLBOX_TOP_FOLDER) throw bad(raw, `is outside the top folder '${TOOLBOX_TOP_FOLDER}/'`);
  return parts.join("/");
}

/** A link target must resolve, from the entry's folder, to somewhere inside `toolbox/`. */
function checkLinkTarget(entryPath: string, linkpath: string, hard: boolean): void {
  if (linkpath === "" || linkpath.startsWith("/")) throw bad(entryPath, `links to an absolute path "${escapeControlChars(linkpath)}"`);
  // Hard link targets are archive paths; symbolic ones are relative to the link's folder.
  const resolved = hard ? posix.normalize(linkpath.replace(/^(\.\/)+/, "")) : posix.normalize(posix.join(posix.dirname(entryPath), linkpath));
  if (resolved !== TOOLBOX_TOP_FOLDER && !resolved.startsWith(`${TOOLBOX_TOP_FOLDER}/`)) {
    throw bad(entryPath, `links outside '${TOOLBOX_TOP_FOLDER}/' ("${escapeControlChars(linkpath)}")`);
  }
}

/** Reads the whole archive once and checks every entry; throws a ToolboxError("archive") naming the first bad one. */
export async function inspectToolboxArchive(file: string): Promise<ArchiveSummary> {
  const files: string[] = [];
  let entries = 0;
  let problem: ToolboxError | null = null;
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries++;
        if (problem) return;
        try {
          const path = checkedPath(entry.path);
          if (!ALLOWED_TYPES.has(entry.type)) throw bad(entry.path, `is a ${entry.type}, not a file, folder or link`);
          if (entry.type === "SymbolicLink" || entry.type === "Link") checkLinkTarget(path, entry.linkpath ?? "", entry.type === "Link");
          if (entry.type !== "Directory" && path === TOOLBOX_TOP_FOLDER) throw bad(entry.path, "must be a folder");
          if (entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile") {
            files.push(path.slice(TOOLBOX_TOP_FOLDER.length + 1));
          }
        } catch (error) {
          problem = error as ToolboxError;
        }
      },
    });
  } catch (error) {
    throw new ToolboxError("archive", `not a readable tar archive: ${(error as Error).message}`);
  }
  if (problem) throw problem;
  if (entries === 0) throw new ToolboxError("archive", "not a usable toolbox tarball: it is empty (or not a tar archive)");
  const missing = REQUIRED_TOOLBOX_FILES.filter((name) => !files.includes(name));
  if (missing.length > 0) {
    throw new ToolboxError(
      "archive",
      `not a self-hosted toolbox tarball: ${missing.map((m) => `${TOOLBOX_TOP_FOLDER}/${m}`).join(" and ")} missing`,
    );
  }
  return { files, entries };
}

/** Extracts the content of `toolbox/` into `dir` (which exists and is empty). Call inspectToolboxArchive first. */
export async function extractToolboxArchive(file: string, dir: string): Promise<void> {
  try {
    await extract({
      file,
      cwd: dir,
      strip: 1,
      strict: true,
      preserveOwner: false,
      // The same checks as the inspection, in case the file changed in between.
      filter: (path) => {
        checkedPath(path);
        return true;
      },
    });
  } catch (error) {
    if (error instanceof ToolboxError) throw error;
    throw new ToolboxError("archive", `cannot extract the toolbox tarball: ${(error as Error).message}`);
  }
}
