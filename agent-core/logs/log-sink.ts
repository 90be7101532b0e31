// The job log pipeline, run in a worker thread (log-worker.ts). The agent's main thread reads the
// PTY (node-pty cannot live in a worker) and must get back to it quickly: a full PTY buffer blocks
// the job. So the main thread only counts events, tells its local subscribers (the agent's event
// stream) and hands the event objects to the worker; serialising them, writing the local
// `job_log_<ns>.json` (spec §7.2) and pushing it (LogPusher, spec §7.2–§7.3) happen there.
//
// One LogWorker per agent: the thread starts with the first job and is reused for later ones. If
// it dies, the job that is open takes its log over in the main thread (JobEventLog + LogPusher, as
// before the worker existed): the local file is reopened, the events the worker had not yet
// confirmed as written are appended, and pushing resumes where the server's last answer left it.
import { readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { JobLogEvent } from "../job/events.js";
import type { ApiClient } from "../protocol/client.js";
import type { AgentTimings } from "../timings.js";
import { wallClockNanoseconds } from "../util/clock.js";
import { createEventFile, JobEventLog, type EventListener } from "./event-log.js";
import { LogPusher, type LogPushOutcome, type PusherNotice } from "./log-pusher.js";
import type { FromLogWorker, LogWorkerData, ToLogWorker, WireEvent } from "./log-worker.js";
import { TextRingWriter } from "./text-ring.js";

/** One job's log as the agent sees it: what JobEventLog + LogPusher offered in-thread. */
export interface JobLogSink {
  /** The local event file, `<dir>/job_log_<ns>.json`. */
  readonly path: string;
  /** Events appended so far. */
  readonly count: number;
  /** Hands an event over (cheap; the file write and the push happen in the worker). */
  append(event: JobLogEvent): void;
  /** `(event, index)` for every later event, in order, on the caller's thread, when it is appended. */
  subscribe(listener: EventListener): () => void;
  /** Flush per spec §7.3 (flush cadence, at most logFlushChecks × logFlushCheckMs) and stop pushing. */
  close(): Promise<LogPushOutcome>;
  /** Stops pushing at once (agent shutdown); the outcome is the last one the worker reported. */
  abort(): LogPushOutcome;
  /** The whole local file, for the artifact upload (§7.4). Complete once close() has resolved. */
  readAll(): Buffer;
  /** Deletes the local file and ends the job in the worker. Idempotent. */
  dispose(): void;
}

export interface LogWorkerOptions {
  /**
   * The agent's registered client: the worker builds its own client from its connection settings
   * (endpoint, scheme, access token, timeout), and a job whose worker died pushes through it.
   */
  client: ApiClient;
  /** The worker died while no job was open (a job that was open reports through its own onError). */
  onError?: (message: string) => void;
}

export interface OpenJobLogOptions {
  /** Where the local event file goes (the agent's work directory). */
  dir: string;
  /** The job's logger settings (spec §4.2). */
  url: string;
  token: string;
  timings: AgentTimings;
  onNotice?: (notice: PusherNotice) => void;
  /** The worker died (or gave up on this job) and the log continues in this thread. */
  onError?: (message: string) => void;
}

/**
 * How long a log worker with no job stays alive before it is ended: a worker thread holds tens of
 * MB, which an idle agent must give back soon after its job; a next job within a second reuses it.
 */
export const WORKER_IDLE_MS = 1_000;

export class LogWorker {
  private worker: Worker | null = null;
  private ring: TextRingWriter | null = null;
  private lastError: string | null = null;
  private nextJob = 1;
  private readonly jobs = new Map<number, WorkerJobLog>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LogWorkerOptions) {}

  /** The worker thread's id while it runs (tests check that jobs share one thread). */
  get threadId(): number | null {
    return this.worker?.threadId ?? null;
  }

  get client(): ApiClient {
    return this.options.client;
  }

  /** Creates the job's local event file (throws like JobEventLog did) and starts its pusher. */
  openJob(options: OpenJobLogOptions): JobLogSink {
    const nanoseconds = wallClockNanoseconds();
    const path = createEventFile(options.dir, nanoseconds);
    const job = this.nextJob++;
    const sink = new WorkerJobLog(this, job, path, nanoseconds, options);
    this.jobs.set(job, sink);
    let worker: Worker;
    try {
      worker = this.ensureWorker();
    } catch (error) {
      sink.takeOver(`the log worker could not start: ${(error as Error).message}`);
      return sink;
    }
    worker.ref();
    this.post({
      type: "open",
      job,
      dir: options.dir,
      nanoseconds,
      url: options.url,
      token: options.token,
      timings: options.timings,
      accessToken: this.options.client.connection.accessToken,
    });
    return sink;
  }

  /** Ends the worker thread (the agent is done). Pushes in flight there are dropped. */
  async terminate(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = null;
    this.ring = null;
    await worker?.terminate();
  }

  /** Testing: makes the worker throw an uncaught error, as a bug in it would. */
  crashForTesting(): void {
    this.worker?.postMessage({ type: "crash" } satisfies ToLogWorker);
  }

  /** @internal */
  post(message: ToLogWorker): boolean {
    if (!this.worker) return false;
    this.worker.postMessage(message);
    return true;
  }

  /** @internal Posts a batch of events; big texts go through the shared ring when it has room. */
  postEvents(job: number, first: number, events: JobLogEvent[]): boolean {
    const ring = this.ring;
    if (!this.worker || !ring) return false;
    const wire = events.map((event): WireEvent => {
      if (event.event !== "cmd_output") return event;
      const slice = ring.put(event.output);
      return slice ? { event: "cmd_output", timestamp: event.timestamp, ring: slice } : event;
    });
    return this.post({ type: "events", job, first, events: wire });
  }

  /** @internal A job's log was disposed. */
  forget(job: number): void {
    this.jobs.delete(job);
    if (this.jobs.size > 0) return;
    this.worker?.unref(); // an idle worker never keeps the process alive
    // Nor does it hold its memory (its own undici and zod, ~35 MB) while the agent waits for jobs:
    // it ends after a quiet spell and the next job starts a new one beside its shell.
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.jobs.size === 0) void this.terminate();
    }, WORKER_IDLE_MS);
    this.idleTimer.unref();
  }

  private ensureWorker(): Worker {
    clearTimeout(this.idleTimer);
    if (this.worker) return this.worker;
    const ring = new TextRingWriter();
    const worker = startWorker({ connection: this.options.client.connection, ring: ring.memory });
    this.ring = ring;
    this.lastError = null;
    worker.on("message", (message: FromLogWorker) => this.jobs.get(message.job)?.receive(message));
    worker.on("error", (error) => {
      this.lastError = error.message;
    });
    worker.on("exit", (code) => this.exited(worker, code));
    this.worker = worker;
    return worker;
  }

  private exited(worker: Worker, code: number): void {
    if (this.worker !== worker) return; // terminate() ended it on purpose
    this.worker = null;
    this.ring = null;
    const reason = this.lastError ?? `exit code ${code}`;
    let reported = false;
    for (const job of this.jobs.values()) reported = job.takeOver(`the log worker stopped unexpectedly: ${reason}`) || reported;
    if (!reported) this.options.onError?.(`the log worker stopped unexpectedly (${reason}); a new one starts with the next job`);
  }
}

type State = "open" | "closing" | "closed" | "aborted" | "disposed";

class WorkerJobLog implements JobLogSink {
  private total = 0;
  private readonly listeners = new Set<EventListener>();
  /** Appended, not yet posted (posted once per microtask, in one message). */
  private pending: JobLogEvent[] = [];
  private flushQueued = false;
  /** Posted batches the worker has not yet confirmed as written: what a takeover must re-append. */
  private unwritten: { first: number; events: JobLogEvent[] }[] = [];
  private accepted = 0;
  private trimmed = false;
  private state: State = "open";
  private closing: Promise<LogPushOutcome> | null = null;
  private settleClose: ((outcome: LogPushOutcome) => void) | null = null;
  private failClose: ((error: Error) => void) | null = null;
  /** Set when the log continues in this thread. */
  private local: { log: JobEventLog; pusher: LogPusher | null } | null = null;
  private localError: Error | null = null;

  constructor(
    private readonly host: LogWorker,
    private readonly job: number,
    readonly path: string,
    private readonly nanoseconds: bigint,
    private readonly options: OpenJobLogOptions,
  ) {}

  get count(): number {
    return this.total;
  }

  append(event: JobLogEvent): void {
    if (this.state === "disposed") throw new Error("event log is closed");
    if (this.localError) throw this.localError;
    if (this.local) this.local.log.append(event);
    else {
      this.pending.push(event);
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flush);
      }
    }
    const index = this.total++;
    for (const listener of this.listeners) {
      try {
        listener(event, index);
      } catch {
        // A sink must never break the job; its own errors are its business.
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<LogPushOutcome> {
    if (this.closing) return this.closing;
    this.flush();
    if (this.local || this.localError) this.closing = this.closeLocal();
    else {
      if (this.state === "open") this.state = "closing";
      this.closing = new Promise<LogPushOutcome>((resolve, reject) => {
        this.settleClose = resolve;
        this.failClose = reject;
      });
      // No worker (it died after an abort()): nothing is pushing any more.
      if (!this.host.post({ type: "close", job: this.job })) this.settleClose?.(this.outcome());
    }
    return this.closing;
  }

  abort(): LogPushOutcome {
    this.flush();
    if (this.state === "open" || this.state === "closing") this.state = "aborted";
    if (this.local) return this.local.pusher?.abort() ?? this.outcome();
    this.host.post({ type: "abort", job: this.job });
    return this.outcome();
  }

  readAll(): Buffer {
    if (this.local) return this.local.log.readAll();
    const data = readFileSync(this.path);
    return data.subarray(0, data.lastIndexOf(10) + 1); // complete lines only
  }

  dispose(): void {
    if (this.state === "disposed") return;
    this.state = "disposed";
    this.pending = [];
    this.unwritten = [];
    if (this.local) {
      this.local.pusher?.abort();
      this.local.log.dispose();
    } else {
      this.host.post({ type: "dispose", job: this.job });
    }
    rmSync(this.path, { force: true });
    this.listeners.clear();
    this.settleClose?.(this.outcome());
    this.host.forget(this.job);
  }

  /** @internal A message from the worker about this job. */
  receive(message: FromLogWorker): void {
    if (this.local || this.localError) return; // taken over: the worker no longer speaks for this job
    switch (message.type) {
      case "written":
        while (this.unwritten.length > 0) {
          const batch = this.unwritten[0]!;
          if (batch.first + batch.events.length > message.count) break;
          this.unwritten.shift();
        }
        break;
      case "accepted":
        this.accepted = message.accepted;
        break;
      case "notice":
        if (message.notice.kind === "trimmed") this.trimmed = true;
        this.options.onNotice?.(message.notice);
        break;
      case "closed":
        this.trimmed ||= message.outcome.trimmed;
        if (this.state === "closing") this.state = "closed";
        this.settleClose?.(message.outcome);
        break;
      case "failed":
        this.takeOver(`the log worker gave up on this job: ${message.message}`);
        break;
    }
  }

  /**
   * @internal The worker is gone (or failed this job): continue in this thread. Returns whether
   * the job was still being logged (a closed, aborted or disposed log needs nothing more).
   */
  takeOver(reason: string): boolean {
    if (this.local || this.localError) return false;
    if (this.state !== "open" && this.state !== "closing") {
      this.settleClose?.(this.outcome()); // an abort()ed log's close() must not wait for a dead worker
      return false;
    }
    this.options.onError?.(`${reason}; this job's log continues in the agent's main thread`);
    try {
      const log = new JobEventLog(this.options.dir, this.nanoseconds, { reopen: true });
      // Everything the worker may not have written: the unconfirmed batches and what is still queued.
      let index = this.unwritten[0]?.first ?? this.total - this.pending.length;
      const missing = [...this.unwritten.flatMap((batch) => batch.events), ...this.pending];
      if (log.count < index) throw new Error(`the local event file lost events (${log.count} lines, ${index} confirmed)`);
      for (const event of missing) if (index++ >= log.count) log.append(event);
      this.unwritten = [];
      this.pending = [];
      this.local = { log, pusher: null };
      if (!this.trimmed) {
        const { url, token, timings } = this.options;
        const pusher = new LogPusher({
          log,
          url,
          token,
          timings,
          client: this.host.client,
          startFrom: this.accepted,
          onAccepted: (accepted) => (this.accepted = accepted),
          onNotice: (notice) => {
            if (notice.kind === "trimmed") this.trimmed = true;
            this.options.onNotice?.(notice);
          },
        });
        this.local.pusher = pusher;
        pusher.start();
      }
    } catch (error) {
      this.localError = new Error(`the job log cannot continue: ${(error as Error).message}`);
      this.options.onError?.(this.localError.message);
    }
    if (this.state === "closing") {
      this.closeLocal().then(
        (outcome) => this.settleClose?.(outcome),
        (error: Error) => this.failClose?.(error),
      );
    }
    return true;
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.pending.length === 0 || this.local) return;
    const batch = { first: this.total - this.pending.length, events: this.pending };
    this.pending = [];
    this.unwritten.push(batch);
    this.host.postEvents(this.job, batch.first, batch.events);
  };

  private async closeLocal(): Promise<LogPushOutcome> {
    if (this.localError) throw this.localError;
    const outcome = (await this.local?.pusher?.close()) ?? this.outcome();
    if (this.state === "closing" || this.state === "open") this.state = "closed";
    return outcome;
  }

  private outcome(): LogPushOutcome {
    return { trimmed: this.trimmed, unsent: this.total - this.accepted };
  }
}

/**
 * Starts log-worker.js beside this module. Under vitest this module is the TypeScript source and
 * Node (20) cannot run `.ts` in a worker, so the worker first registers module hooks that compile
 * the worker's sources with the project's `typescript` (transpile only) and map `./x.js` imports to
 * `./x.ts`; the compiled agent (dist/) never takes that path.
 */
function startWorker(data: LogWorkerData): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./log-worker.js", here), { workerData: data });
  const entry = new URL("./log-worker.ts", here).href;
  const typescript = pathToFileURL(createRequire(here).resolve("typescript")).href;
  const hooks = `data:text/javascript,${encodeURIComponent(TS_HOOKS)}`;
  const bootstrap = `
    const { register } = require("node:module");
    register(${JSON.stringify(hooks)}, { data: { typescript: ${JSON.stringify(typescript)} } });
    import(${JSON.stringify(entry)});
  `;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

const TS_HOOKS = `
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
let ts;
export async function initialize(data) {
  ts = (await import(data.typescript)).default;
}
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (context.parentURL?.endsWith(".ts") && specifier.startsWith(".") && specifier.endsWith(".js")) {
      return next(specifier.slice(0, -3) + ".ts", context);
    }
    throw error;
  }
}
export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const fileName = fileURLToPath(url);
  const { outputText } = ts.transpileModule(readFileSync(fileName, "utf8"), {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}
`;
