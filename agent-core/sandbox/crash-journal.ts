// Nothing left behind after a crash. Every agent run keeps a small record in a journal folder: its
// own pid and start time, its work folder (job logs, the private /tmp of strict jobs), the job
// markers it gave its shells, and the `.env-*` files it wrote (they hold the job's secrets). A run
// that ends normally removes its record. When an agent or the app starts, it reads the journal:
// a record whose process is gone is a crashed run, and what it names is removed — processes that
// carry its job marker (and the processes of its shells' sessions), env files, work folder.
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import * as v from "valibot";
import { writeFileAtomic } from "../host/atomic-file.js";
import { killMarkedProcesses, processStartTime } from "../shell/kill.js";

const pid = v.pipe(v.number(), v.integer(), v.minValue(1));
const RecordSchema = v.object({
  pid,
  /** processStartTime of the agent process: a reused pid is not mistaken for it. */
  start: v.string(),
  workDir: v.string(),
  envFiles: v.array(v.string()),
  /** `NAME=value` entries of the job shells' marker variable. */
  markers: v.array(v.string()),
  /** Shell sessions (bash pid + start time): what is left of them is the job's. */
  sessions: v.array(v.object({ pid, start: v.string() })),
});
type RunRecord = v.InferOutput<typeof RecordSchema>;

/** What a start-up clean-up found and removed. */
export interface CrashCleanup {
  runs: number;
  processes: number;
  envFiles: number;
  folders: number;
}

/** The journal of `start`/`run`: `$XDG_STATE_HOME/semaphore-agent/runs` (default ~/.local/state/...). */
export function defaultJournalDir(env: NodeJS.ProcessEnv): string {
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(env.HOME || homedir(), ".local", "state");
  return join(state, "semaphore-agent", "runs");
}

export class RunJournal {
  private readonly record: RunRecord;
  private readonly file: string;
  private closed = false;

  private constructor(dir: string, record: RunRecord) {
    this.record = record;
    this.file = join(dir, `run-${record.pid}-${randomBytes(4).toString("hex")}.json`);
  }

  /** Starts this run's record (the work folder is known from the start). */
  static begin(dir: string, workDir: string): RunJournal {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const journal = new RunJournal(dir, {
      pid: process.pid,
      start: processStartTime(process.pid) ?? "",
      workDir,
      envFiles: [],
      markers: [],
      sessions: [],
    });
    journal.write();
    return journal;
  }

  /** Before the shell is spawned: its marker. */
  addMarker(entry: string): void {
    this.record.markers.push(entry);
    this.write();
  }

  addSession(pid: number): void {
    this.record.sessions.push({ pid, start: processStartTime(pid) ?? "" });
    this.write();
  }

  addEnvFile(path: string): void {
    this.record.envFiles.push(path);
    this.write();
  }

  /** The job ended and its shell is gone, its env files removed: the record forgets them. */
  jobDone(): void {
    this.record.envFiles = [];
    this.record.markers = [];
    this.record.sessions = [];
    this.write();
  }

  /** The run ended normally. */
  end(): void {
    this.closed = true;
    try {
      unlinkSync(this.file);
    } catch {
      // Already gone.
    }
  }

  private write(): void {
    if (this.closed) return;
    try {
      writeFileAtomic(this.file, `${JSON.stringify(this.record)}\n`, 0o600);
    } catch {
      // A full disk must not stop the agent; the record is a safety net.
    }
  }
}

/**
 * Cleans up after every crashed run recorded in `dir`: kills its marked processes and what is left
 * of its shell sessions, removes its env files and work folder, then its record. Records of runs
 * still alive are left alone. Never throws.
 */
export async function cleanUpCrashedRuns(dir: string): Promise<CrashCleanup> {
  const result: CrashCleanup = { runs: 0, processes: 0, envFiles: 0, folders: 0 };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return result;
  }
  for (const name of names) {
    if (!/^run-\d+-[0-9a-f]+\.json$/.test(name)) continue;
    const file = join(dir, name);
    let record: RunRecord;
    try {
      record = v.parse(RecordSchema, JSON.parse(readFileSync(file, "utf8")));
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    if (record.pid === process.pid || (processStartTime(record.pid) !== undefined && processStartTime(record.pid) === record.start)) {
      continue; // alive: not a crash
    }
    result.runs++;
    const sessions = record.sessions.filter((s) => {
      // A session id stays reserved while any process of it lives, so a live process with that pid
      // and another start time means the session is gone and the pid was reused.
      const now = processStartTime(s.pid);
      return now === undefined || now === s.start;
    });
    result.processes += await killMarkedProcesses(record.markers, sessions.map((s) => s.pid));
    for (const path of record.envFiles) {
      try {
        unlinkSync(path);
        result.envFiles++;
      } catch {
        // Removed already.
      }
    }
    try {
      readdirSync(record.workDir);
      rmSync(record.workDir, { recursive: true, force: true });
      result.folders++;
    } catch {
      // Gone already.
    }
    rmSync(file, { force: true });
  }
  return result;
}
