// Private copies of jobs' `.env-*` files (spec §6) for the debug terminal. The agent deletes a job's
// env files when the job ends (and at once on a stop), so a failed job could not be investigated
// after the fact; the host copies each file the moment the agent writes it, into
// `<dataDir>/debug-env/<job>/`, owner-only (folders 0700, files 0600: they hold the job's secrets).
// Retention: the most recent `maxJobs` jobs; a job can also be forgotten by hand.
//
// Layout of one job's folder: `meta.json` ({jobId, keptAt, sources}) written last of the first file,
// then `1.env`, `2.env`, ... in the order the agent wrote them (the order to source them in). A folder
// without a readable meta.json is debris of a crash and is removed when the keeper opens.
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { KeptEnvSummary } from "./contract.js";
import { writeFileAtomic } from "./atomic-file.js";

export const DEFAULT_DEBUG_KEEP_JOBS = 10;

const MetaSchema = z.object({
  jobId: z.string().min(1),
  keptAt: z.number().int().min(0),
  /** The agent's own paths of the files, in order (`/tmp/.env-<ns>`). */
  sources: z.array(z.string()),
});
type Meta = z.infer<typeof MetaSchema>;

interface KeptJob {
  meta: Meta;
  dir: string;
}

export interface KeptEnv {
  jobId: string;
  keptAt: number;
  /** The private copies, in the order to source them in. */
  files: string[];
  /** The paths the agent wrote them to. */
  sources: string[];
}

export class EnvKeeper {
  private readonly jobs = new Map<string, KeptJob>();

  private constructor(
    private readonly root: string,
    private maxJobs: number,
  ) {}

  /** Opens (creating) the folder and loads what is kept; `problem` hears of debris that was removed. */
  static open(root: string, maxJobs: number, problem: (message: string) => void = () => {}): EnvKeeper {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(root, 0o700);
    const keeper = new EnvKeeper(root, maxJobs);
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      const dir = join(root, entry.name);
      const meta = entry.isDirectory() ? readMeta(dir) : null;
      if (meta === null || keeper.jobs.has(meta.jobId)) {
        rmSync(dir, { recursive: true, force: true });
        problem(`Removed an unreadable folder of kept env files (${entry.name}).`);
        continue;
      }
      keeper.jobs.set(meta.jobId, { meta, dir });
    }
    keeper.prune(null);
    return keeper;
  }

  get limit(): number {
    return this.maxJobs;
  }

  /**
   * Keeps a copy of one env file of `jobId` (called as the agent writes it, so a stop that deletes
   * the original at once loses nothing). Returns the jobs that retention removed to make room.
   * Nothing is kept when the limit is 0.
   */
  record(jobId: string, sourcePath: string, content: Buffer, now = Date.now()): string[] {
    if (this.maxJobs === 0) return [];
    let job = this.jobs.get(jobId);
    let removed: string[] = [];
    if (job === undefined) {
      const dir = join(this.root, `${Math.max(0, Math.floor(now))}-${slugOf(jobId)}-${randomBytes(4).toString("hex")}`);
      mkdirSync(dir, { mode: 0o700 });
      job = { meta: { jobId, keptAt: now, sources: [] }, dir };
      this.jobs.set(jobId, job);
      removed = this.prune(jobId);
    }
    const file = join(job.dir, `${job.meta.sources.length + 1}.env`);
    writeFileSync(file, content, { mode: 0o600 });
    job.meta.sources.push(sourcePath);
    writeFileAtomic(join(job.dir, "meta.json"), `${JSON.stringify(job.meta)}\n`);
    return removed;
  }

  get(jobId: string): KeptEnv | null {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.meta.sources.length === 0) return null;
    return {
      jobId,
      keptAt: job.meta.keptAt,
      files: job.meta.sources.map((_, i) => join(job.dir, `${i + 1}.env`)),
      sources: [...job.meta.sources],
    };
  }

  /** Newest first. */
  list(): KeptEnvSummary[] {
    return [...this.jobs.values()]
      .filter((job) => job.meta.sources.length > 0)
      .sort((a, b) => b.meta.keptAt - a.meta.keptAt)
      .map((job) => ({ jobId: job.meta.jobId, keptAt: job.meta.keptAt, files: job.meta.sources.length }));
  }

  /** Deletes the copies of one job; false when none were kept. */
  forget(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (job === undefined) return false;
    this.jobs.delete(jobId);
    rmSync(job.dir, { recursive: true, force: true });
    return true;
  }

  /** A new limit (settings); returns the jobs removed to meet it. */
  setLimit(maxJobs: number, protect: string | null = null): string[] {
    this.maxJobs = maxJobs;
    return this.prune(protect);
  }

  /** Oldest first beyond the limit; `protect` (the running job) is never removed. */
  private prune(protect: string | null): string[] {
    const byAge = [...this.jobs.values()].sort((a, b) => b.meta.keptAt - a.meta.keptAt);
    const removed: string[] = [];
    // The protected job takes one of the places, wherever it is in age.
    let kept = protect !== null && this.jobs.has(protect) ? 1 : 0;
    for (const job of byAge) {
      if (job.meta.jobId === protect) continue;
      if (kept < this.maxJobs) {
        kept++;
        continue;
      }
      this.forget(job.meta.jobId);
      removed.push(job.meta.jobId);
    }
    return removed;
  }
}

function readMeta(dir: string): Meta | null {
  try {
    const meta = MetaSchema.parse(JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")));
    // Every file the meta names must be there (a crash between the copy and the meta leaves one extra, which is ignored).
    for (let i = 1; i <= meta.sources.length; i++) readFileSync(join(dir, `${i}.env`), { flag: "r" });
    return meta;
  } catch {
    return null;
  }
}

function slugOf(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "job";
}
