// The local job history: `index.jsonl` (append-only records: start, finish, delete) and one log
// file per job in `jobs/`. Appending is crash-safe: a torn last line is ignored, a job started but
// never finished comes back as "lost" with every event that reached the disk. Retention runs after
// each finish; the index is rewritten (temp + rename) once it has grown well past the live entries.
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { JobLogEvent } from "../job/events.js";
import { IDENTITY_VARIABLES, identityMatches, type JobIdentity } from "../job/identity.js";
import { MAX_PLAN_COMMANDS, MAX_PLAN_DIRECTIVE_CHARS, type JobPlan } from "../job/plan.js";
import {
  HISTORY_RESULTS,
  HostError,
  type AgentMode,
  type HistoryQuery,
  type HistoryResult,
  type JobDetail,
  type JobLogPage,
  type JobStop,
  type JobSummary,
  type JobUsage,
} from "./contract.js";
import { JobLogWriter, readEventsPage, recoverLogFileSync, scanLogFile, type OffsetTable } from "./job-log-file.js";
import { writeFileAtomic } from "./atomic-file.js";

export const INDEX_FILE = "index.jsonl";
export const JOBS_DIR = "jobs";
export const DEFAULT_PAGE_BYTES = 1024 * 1024;
/** The index is compacted once it holds this many times more lines than it needs (and at least COMPACT_MIN_LINES). */
const COMPACT_FACTOR = 4;
const COMPACT_MIN_LINES = 64;
const DEFAULT_LIST_LIMIT = 200;
/** What our own file names look like: a server's job id never reaches the file system as it is. */
const SAFE_FILE = /^[A-Za-z0-9_-]+\.jsonl$/;

export interface HistoryRetention {
  maxJobs: number;
  maxBytes: number;
}

const IdentitySchema = z.object(
  Object.fromEntries(Object.keys(IDENTITY_VARIABLES).map((key) => [key, z.string().nullable().catch(null)])) as Record<
    keyof JobIdentity,
    z.ZodCatch<z.ZodNullable<z.ZodString>>
  >,
);

const UsageSchema = z.object({
  wallMs: z.number().min(0),
  cpuMs: z.number().min(0).nullable(),
  peakRssBytes: z.number().min(0).nullable(),
  gpus: z
    .array(
      z.object({
        uuid: z.string().max(200),
        index: z.number().int().min(0).nullable(),
        name: z.string().max(500).nullable(),
        peakMemoryMiB: z.number().min(0),
        meanUtilization: z.number().min(0).max(100).nullable(),
        energyWh: z.number().min(0),
      }),
    )
    .max(64),
});

const planList = z.array(z.string().max(MAX_PLAN_DIRECTIVE_CHARS)).max(MAX_PLAN_COMMANDS);
const PlanSchema = z.object({ commands: planList, epilogueAlways: planList, epilogueOnPass: planList, epilogueOnFail: planList });

const IndexRecordSchema = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("start"),
    id: z.string().min(1),
    file: z.string().regex(SAFE_FILE),
    mode: z.enum(["semaphore", "demo"]),
    startedAt: z.number(),
    envVarNames: z.array(z.string()),
    /** Records written before identities were kept have none. */
    identity: IdentitySchema.nullable().optional(),
    /** Which of the host's agents ran it (records before several agents have none). */
    agentId: z.string().max(100).nullable().optional().catch(null),
    agentName: z.string().max(500).nullable().optional().catch(null),
    /** The directives of its commands and epilogues (records before plans were kept have none; a malformed one is dropped). */
    plan: PlanSchema.nullable().optional().catch(null),
  }),
  z.object({
    op: z.literal("finish"),
    id: z.string().min(1),
    result: z.enum(HISTORY_RESULTS),
    finishedAt: z.number().nullable(),
    events: z.number().int().min(0),
    bytes: z.number().int().min(0),
    problem: z.string().nullable().optional(),
    stoppedBy: z.string().nullable().optional(),
    /** Where in the log the stop was asked (JobStop.atEvent); records before it was kept have none. */
    stoppedAtEvent: z.number().int().min(0).nullable().optional().catch(null),
    /** What the job used; a malformed value is dropped, never the record. */
    usage: UsageSchema.nullable().optional().catch(null),
  }),
  z.object({ op: z.literal("delete"), id: z.string().min(1) }),
]);
type IndexRecord = z.infer<typeof IndexRecordSchema>;

interface JobRecord {
  id: string;
  file: string;
  mode: AgentMode;
  startedAt: number;
  envVarNames: string[];
  identity: JobIdentity | null;
  /** Why the job could not run at all (a payload the agent rejected), for the UI; null otherwise. */
  problem: string | null;
  /** Who stopped the job while it ran, in words; null otherwise. */
  stoppedBy: string | null;
  /** JobStop.atEvent of that stop; null when unknown (older records) or not stopped. */
  stoppedAtEvent: number | null;
  plan: JobPlan | null;
  agentId: string | null;
  agentName: string | null;
  usage: JobUsage | null;
  result: HistoryResult;
  finishedAt: number | null;
  events: number;
  bytes: number;
  /** While the job runs. */
  writer: JobLogWriter | null;
  /** The writer's close after the finish: the log is complete on disk once it resolves. */
  closing: Promise<void> | null;
  /** The finish record is in the index (written after the log reached the disk). */
  finishIndexed: boolean;
  /** Sparse line offsets, known while writing or built on the first read. */
  offsets: OffsetTable | Promise<OffsetTable> | null;
}

/** A job as it starts (or as its start record is replayed): running, nothing logged yet. */
function runningRecord(start: Extract<IndexRecord, { op: "start" }>): JobRecord {
  return {
    id: start.id,
    file: start.file,
    mode: start.mode,
    startedAt: start.startedAt,
    envVarNames: start.envVarNames,
    identity: start.identity ?? null,
    plan: start.plan ?? null,
    agentId: start.agentId ?? null,
    agentName: start.agentName ?? null,
    usage: null,
    problem: null,
    stoppedBy: null,
    stoppedAtEvent: null,
    result: "running",
    finishedAt: null,
    events: 0,
    bytes: 0,
    writer: null,
    closing: null,
    finishIndexed: false,
    offsets: null,
  };
}

export interface StartJob {
  mode: AgentMode;
  startedAt: number;
  envVarNames: string[];
  /** Whose job it is; none (null or left out) for a job that names nothing. */
  identity?: JobIdentity | null;
  /** Which of the host's agents runs it. */
  agentId?: string | null;
  agentName?: string | null;
  /** The directives of its commands and epilogues; none for a job whose request was not read. */
  plan?: JobPlan | null;
}

export interface FinishOutcome {
  summary: JobSummary;
  /** Ids that retention removed. */
  removed: string[];
}

export class HistoryStore {
  /** Insertion order = start order: the oldest first. */
  private readonly records = new Map<string, JobRecord>();
  private indexFd: number | null = null;
  private indexLines = 0;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private retention: HistoryRetention,
    private readonly onError: (message: string) => void,
  ) {}

  /** Opens (or creates) the history in `dir`, replaying its index. Jobs left running become "lost". */
  static open(dir: string, retention: HistoryRetention, onError: (message: string) => void = () => {}): HistoryStore {
    mkdirSync(join(dir, JOBS_DIR), { recursive: true, mode: 0o700 });
    const store = new HistoryStore(dir, retention, onError);
    store.replay();
    return store;
  }

  setRetention(retention: HistoryRetention): string[] {
    this.retention = retention;
    return this.applyRetention(this.newestId());
  }

  /** Starts a job's record and its log file. A job id seen before replaces the older entry. */
  start(id: string, job: StartJob): JobSummary {
    this.assertOpen();
    const previous = this.records.get(id);
    if (previous) this.remove(previous);
    const start = startRecordOf({
      id,
      file: fileNameFor(id, job.startedAt),
      mode: job.mode,
      startedAt: job.startedAt,
      envVarNames: [...job.envVarNames],
      identity: job.identity ?? null,
      agentId: job.agentId ?? null,
      agentName: job.agentName ?? null,
      plan: job.plan ?? null,
    });
    const record = runningRecord(start);
    record.writer = new JobLogWriter(this.pathOf(record), this.onError);
    record.offsets = record.writer.offsets;
    this.records.set(id, record);
    this.appendIndex(start);
    return summaryOf(record);
  }

  /** Appends the job's next event (line N = event N, so events must come in order). */
  append(id: string, event: JobLogEvent): void {
    this.records.get(id)?.writer?.append(event);
  }

  /**
   * A stop of the running job was asked: who, and at which event. Kept with the job (the index has it
   * with the finish record); the first stop counts. Null when the job is not running here.
   */
  markStopped(id: string, stop: JobStop): JobDetail | null {
    const record = this.records.get(id);
    if (!record || record.result !== "running") return null;
    if (record.stoppedBy === null) {
      record.stoppedBy = stop.by;
      record.stoppedAtEvent = Math.max(0, Math.floor(stop.atEvent));
    }
    return detailOf(record);
  }

  isRunning(id: string): boolean {
    return this.records.get(id)?.result === "running";
  }

  /**
   * Ends a running job. Its finish record is written once its log is on disk; until then a crash
   * makes it "lost", which is what it would be. Retention then runs, sparing this job.
   */
  finish(
    id: string,
    result: Exclude<HistoryResult, "running">,
    finishedAt: number,
    problem: string | null = null,
    stoppedBy: string | null = null,
    usage: JobUsage | null = null,
  ): FinishOutcome | null {
    const record = this.records.get(id);
    if (!record || record.result !== "running" || !record.writer) return null;
    const writer = record.writer;
    record.writer = null;
    record.result = result;
    record.finishedAt = finishedAt;
    record.problem = problem;
    if (stoppedBy !== record.stoppedBy) {
      record.stoppedBy = stoppedBy;
      record.stoppedAtEvent = null;
    }
    record.usage = usage;
    record.events = writer.count;
    record.bytes = writer.bytes;
    record.offsets = writer.offsets;
    record.closing = writer.close().then(() => {
      if (this.closed || this.records.get(id) !== record) return;
      this.appendIndex(finishRecordOf(record));
      record.finishIndexed = true;
    });
    return { summary: summaryOf(record), removed: this.applyRetention(id) };
  }

  /** Newest first; `project` and `branch` match exactly, `search` any identity value or the id. */
  list(options: HistoryQuery = {}): JobSummary[] {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    const out: JobSummary[] = [];
    const all = [...this.records.values()];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const record = all[i] as JobRecord;
      if (matchesQuery(record, options)) out.push(summaryOf(record));
    }
    return out;
  }

  get(id: string): JobDetail | null {
    const record = this.records.get(id);
    return record ? detailOf(record) : null;
  }

  /** A page of a job's log: everything appended before the call is included (running jobs are flushed first). */
  async readLog(id: string, from: number, maxBytes: number = DEFAULT_PAGE_BYTES): Promise<JobLogPage> {
    const record = this.records.get(id);
    if (!record) throw new HostError("not-found", `No job ${JSON.stringify(id)} in the history.`);
    const writer = record.writer;
    const available = writer ? writer.count : record.events;
    if (writer) await writer.flush();
    else if (record.closing) await record.closing;
    const finished = () => record.result !== "running";
    if (from >= available) return { jobId: id, from, events: [], next: from, done: finished() && from >= record.events };
    let page;
    try {
      page = await readEventsPage(this.pathOf(record), await this.offsetsOf(record), from, available, maxBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new HostError("not-found", `The log of job ${JSON.stringify(id)} is gone.`);
      throw error;
    }
    const done = finished() && (page.next >= record.events || page.endOfFile);
    return { jobId: id, from, events: page.events, next: page.next, done };
  }

  /**
   * Writes what running jobs have buffered and closes every file. A job still running stays
   * "running" in the index and is found "lost" on the next open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    const pending: Promise<void>[] = [];
    for (const record of this.records.values()) {
      if (record.writer) pending.push(record.writer.close());
      if (record.closing) pending.push(record.closing);
    }
    await Promise.all(pending);
    this.closed = true;
    if (this.indexFd !== null) closeSync(this.indexFd);
    this.indexFd = null;
  }

  // ---------------------------------------------------------------------------------------------

  private get indexPath(): string {
    return join(this.dir, INDEX_FILE);
  }

  private pathOf(record: JobRecord): string {
    return join(this.dir, JOBS_DIR, record.file);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the job history is closed");
  }

  private async offsetsOf(record: JobRecord): Promise<OffsetTable> {
    if (record.offsets === null) {
      const scanning = scanLogFile(this.pathOf(record)).then((scan) => scan.offsets);
      record.offsets = scanning;
      scanning.then(
        (offsets) => {
          if (record.offsets === scanning) record.offsets = offsets;
        },
        () => {
          if (record.offsets === scanning) record.offsets = null;
        },
      );
    }
    return await record.offsets;
  }

  private replay(): void {
    let text = "";
    try {
      text = readFileSync(this.indexPath, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const lines = text.split("\n");
    // After the last newline: "" for an intact file, else a line torn by a crash.
    let needsCompaction = lines.pop() !== "";
    let skipped = 0;
    for (const line of lines) {
      let record: IndexRecord;
      try {
        record = IndexRecordSchema.parse(JSON.parse(line));
      } catch {
        skipped++;
        continue;
      }
      this.apply(record);
    }
    if (skipped > 0) {
      needsCompaction = true;
      this.onError(`the job history index had ${skipped} unreadable line(s); they were skipped`);
    }
    for (const record of this.records.values()) {
      if (record.result !== "running") continue;
      // The app died while this job ran: keep what reached the disk.
      const path = this.pathOf(record);
      const scan = recoverLogFileSync(path);
      record.result = "lost";
      record.events = scan.events;
      record.bytes = scan.bytes;
      record.offsets = scan.offsets;
      // When the last output was written: as close to the end as anyone can tell.
      record.finishedAt = existsSync(path) ? Math.max(record.startedAt, Math.round(statSync(path).mtimeMs)) : record.startedAt;
      record.finishIndexed = true;
      needsCompaction = true;
    }
    this.sweepOrphans();
    this.indexLines = lines.length;
    if (needsCompaction || this.indexLines > this.compactionThreshold()) this.compact();
    else this.indexFd = openSync(this.indexPath, "a", 0o600);
    this.applyRetention(this.newestId());
  }

  private apply(entry: IndexRecord): void {
    switch (entry.op) {
      case "start":
        // A repeated id replaced the older job; its file is swept as an orphan.
        this.records.delete(entry.id);
        this.records.set(entry.id, runningRecord(entry));
        break;
      case "finish": {
        const record = this.records.get(entry.id);
        if (!record) break;
        record.result = entry.result;
        record.finishedAt = entry.finishedAt;
        record.events = entry.events;
        record.bytes = entry.bytes;
        record.problem = entry.problem ?? null;
        record.stoppedBy = entry.stoppedBy ?? null;
        record.stoppedAtEvent = record.stoppedBy === null ? null : (entry.stoppedAtEvent ?? null);
        record.usage = entry.usage ?? null;
        record.finishIndexed = true;
        break;
      }
      case "delete":
        this.records.delete(entry.id);
        break;
    }
  }

  /** Log files no record points at: deleted jobs whose removal was cut short, replaced ids. */
  private sweepOrphans(): void {
    const live = new Set([...this.records.values()].map((r) => r.file));
    for (const name of readdirSync(join(this.dir, JOBS_DIR))) {
      if (!live.has(name)) void rm(join(this.dir, JOBS_DIR, name), { force: true, recursive: true }).catch(() => undefined);
    }
    // A compaction cut short leaves its temp file beside the (intact) index.
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(`${INDEX_FILE}.tmp-`)) void rm(join(this.dir, name), { force: true }).catch(() => undefined);
    }
  }

  private appendIndex(entry: IndexRecord): void {
    if (this.indexFd === null) return;
    // Small and rare (a few per job): a synchronous append keeps the records in order on disk.
    writeSync(this.indexFd, `${JSON.stringify(entry)}\n`);
    this.indexLines++;
    if (this.indexLines > this.compactionThreshold()) this.compact();
  }

  private compactionThreshold(): number {
    return Math.max(COMPACT_MIN_LINES, COMPACT_FACTOR * 2 * this.records.size);
  }

  /** Rewrites the index with only the live records (temp + rename: the old one stays until the new one is complete). */
  private compact(): void {
    const lines: string[] = [];
    for (const r of this.records.values()) {
      lines.push(JSON.stringify(startRecordOf(r)));
      if (r.finishIndexed && r.result !== "running") lines.push(JSON.stringify(finishRecordOf(r)));
    }
    writeFileAtomic(this.indexPath, lines.length > 0 ? `${lines.join("\n")}\n` : "", 0o600);
    if (this.indexFd !== null) closeSync(this.indexFd);
    this.indexFd = openSync(this.indexPath, "a", 0o600);
    this.indexLines = lines.length;
  }

  private newestId(): string | null {
    let newest: string | null = null;
    for (const id of this.records.keys()) newest = id;
    return newest;
  }

  /**
   * Drops the oldest finished jobs until both limits hold. Never a running job, nor `spare` (the
   * newest: a job bigger than the whole budget still stays until the next one replaces it).
   */
  private applyRetention(spare: string | null): string[] {
    let count = this.records.size;
    let bytes = 0;
    for (const r of this.records.values()) bytes += r.writer ? r.writer.bytes : r.bytes;
    const removed: string[] = [];
    for (const record of [...this.records.values()]) {
      if (count <= this.retention.maxJobs && bytes <= this.retention.maxBytes) break;
      if (record.result === "running" || record.id === spare) continue;
      this.remove(record);
      count--;
      bytes -= record.bytes;
      removed.push(record.id);
    }
    return removed;
  }

  private remove(record: JobRecord): void {
    this.records.delete(record.id);
    this.appendIndex({ op: "delete", id: record.id });
    const path = this.pathOf(record);
    const writer = record.writer;
    const closing = record.closing;
    record.writer = null;
    // After the stream has closed: it opens its file asynchronously and would create it again.
    void (async () => {
      await writer?.close();
      await closing;
      await rm(path, { force: true });
    })().catch(() => undefined);
  }
}

/** `<startedAt>-<id, made safe>-<random>.jsonl`: readable in a listing, never a path, never a clash. */
function fileNameFor(id: string, startedAt: number): string {
  const slug = id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "job";
  return `${Math.max(0, Math.floor(startedAt))}-${slug}-${randomBytes(4).toString("hex")}.jsonl`;
}

/** The start line of the index; a job without identity leaves the key out, as older records do. */
function startRecordOf(r: Pick<JobRecord, "id" | "file" | "mode" | "startedAt" | "envVarNames" | "identity" | "agentId" | "agentName" | "plan">): Extract<IndexRecord, { op: "start" }> {
  const { id, file, mode, startedAt, envVarNames, identity, agentId, agentName, plan } = r;
  return {
    op: "start",
    id,
    file,
    mode,
    startedAt,
    envVarNames,
    ...(identity === null ? {} : { identity }),
    ...(agentId === null ? {} : { agentId }),
    ...(agentName === null ? {} : { agentName }),
    ...(plan === null ? {} : { plan }),
  };
}

function finishRecordOf(r: JobRecord): Extract<IndexRecord, { op: "finish" }> {
  const { id, result, finishedAt, events, bytes, problem, stoppedBy, stoppedAtEvent, usage } = r;
  return {
    op: "finish",
    id,
    result,
    finishedAt,
    events,
    bytes,
    ...(problem === null ? {} : { problem }),
    ...(stoppedBy === null ? {} : { stoppedBy }),
    ...(stoppedBy === null || stoppedAtEvent === null ? {} : { stoppedAtEvent }),
    ...(usage === null ? {} : { usage }),
  };
}

function matchesQuery(r: JobRecord, q: HistoryQuery): boolean {
  if (q.result !== undefined && r.result !== q.result) return false;
  if (q.agentId !== undefined && (r.agentId ?? "main") !== q.agentId) return false;
  if (q.project !== undefined && r.identity?.projectName !== q.project) return false;
  if (q.branch !== undefined && r.identity?.branch !== q.branch) return false;
  return q.search === undefined || identityMatches(r.identity, r.id, q.search);
}

function detailOf(r: JobRecord): JobDetail {
  const stop: JobStop | null = r.stoppedBy !== null && r.stoppedAtEvent !== null ? { by: r.stoppedBy, atEvent: r.stoppedAtEvent } : null;
  return { summary: summaryOf(r), envVarNames: [...r.envVarNames], plan: r.plan === null ? null : structuredClone(r.plan), stop };
}

function summaryOf(r: JobRecord): JobSummary {
  const events = r.writer ? r.writer.count : r.events;
  const bytes = r.writer ? r.writer.bytes : r.bytes;
  return {
    id: r.id,
    mode: r.mode,
    result: r.result,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.finishedAt === null ? null : Math.max(0, r.finishedAt - r.startedAt),
    events,
    bytes,
    identity: r.identity === null ? null : { ...r.identity },
    problem: r.problem,
    stoppedBy: r.stoppedBy,
    agentId: r.agentId,
    agentName: r.agentName,
    usage: r.usage === null ? null : structuredClone(r.usage),
  };
}
