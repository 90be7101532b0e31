// Whole-file replacement that a crash cannot leave half-written: settings, the token, the history index.
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

/**
 * Replaces `path` with `data` so that a reader (or a crash) sees the old file or the new one, never a
 * mix: write a temp file beside it, fsync, rename. The file is created 0600 and never exists with
 * looser permissions, even for a moment.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fd = openSync(temp, "wx", mode);
  try {
    writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(temp, mode); // the umask may have taken bits off; never added any
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
