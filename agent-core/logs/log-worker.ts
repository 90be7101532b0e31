// Entry of the job log worker thread (started by log-sink.ts). The agent's main thread reads the
// PTY and hands over event objects; this thread does the rest of spec §7.2–§7.3 with the same
// classes the agent used in-thread before: JobEventLog writes every event to the local file, and
// LogPusher reads it back and pushes it through this thread's own ApiClient. Serialising, writing
// and sending no longer compete with the PTY reads for the main thread.
import { parentPort, workerData } from "node:worker_threads";
import type { JobLogEvent } from "../job/events.js";
import { ApiClient, type AgentConnection } from "../protocol/client.js";
import type { AgentTimings } from "../timings.js";
import { JobEventLog } from "./event-log.js";
import { LogPusher, type LogPushOutcome, type PusherNotice } from "./log-pusher.js";
import { TextRingReader, type RingSlice, type TextRingMemory } from "./text-ring.js";

export interface LogWorkerData {
  connection: AgentConnection;
  ring: TextRingMemory;
}

/** An event on its way to the worker: a big `cmd_output` text may wait in the shared ring. */
export type WireEvent = JobLogEvent | { event: "cmd_output"; timestamp: number; ring: RingSlice };

/** Main thread -> worker. `job` numbers the agent's jobs; only one is open at a time in practice. */
export type ToLogWorker =
  | { type: "open"; job: number; dir: string; nanoseconds: bigint; url: string; token: string; timings: AgentTimings; accessToken: string }
  | { type: "events"; job: number; first: number; events: WireEvent[] }
  | { type: "close"; job: number }
  | { type: "abort"; job: number }
  | { type: "dispose"; job: number }
  /** Testing only: throw an uncaught error, as a bug in this thread would. */
  | { type: "crash" };

/** Worker -> main thread. */
export type FromLogWorker =
  /** The first `count` events of the job are in the local file. */
  | { type: "written"; job: number; count: number }
  /** The server holds the first `accepted` events. */
  | { type: "accepted"; job: number; accepted: number }
  | { type: "notice"; job: number; notice: PusherNotice }
  | { type: "closed"; job: number; outcome: LogPushOutcome }
  /** The job's log could not be kept in this thread (e.g. the file could not be opened). */
  | { type: "failed"; job: number; message: string };

interface WorkerJob {
  log: JobEventLog;
  pusher: LogPusher;
  ackScheduled: boolean;
  /** The main thread took this job's log over; only dispose is left to do here. */
  failed: boolean;
}

const port = parentPort;
if (!port) throw new Error("log-worker.ts is a worker thread entry, not a module to import");
const { connection, ring: ringMemory } = workerData as LogWorkerData;
const ring = new TextRingReader(ringMemory);
const jobs = new Map<number, WorkerJob>();
let client = ApiClient.forAgent(connection);

const post = (message: FromLogWorker): void => port.postMessage(message);

function open(message: Extract<ToLogWorker, { type: "open" }>): void {
  const { job, dir, nanoseconds, url, token, timings, accessToken } = message;
  if (accessToken !== client.connection.accessToken) {
    void client.close();
    client = ApiClient.forAgent({ ...connection, accessToken });
  }
  const log = new JobEventLog(dir, nanoseconds, { reopen: true });
  const pusher = new LogPusher({
    log,
    url,
    token,
    client,
    timings,
    onNotice: (notice) => post({ type: "notice", job, notice }),
    onAccepted: (accepted) => post({ type: "accepted", job, accepted }),
  });
  jobs.set(job, { log, pusher, ackScheduled: false, failed: false });
  pusher.start();
}

function fromWire(event: WireEvent): JobLogEvent {
  // Same key order as the runner's object: the JSON line must not depend on the route it took.
  return "ring" in event ? { event: "cmd_output", timestamp: event.timestamp, output: ring.take(event.ring) } : event;
}

function append(message: Extract<ToLogWorker, { type: "events" }>): void {
  // Texts are taken from the ring first, whatever happens to them: that releases their space.
  const events = message.events.map(fromWire);
  const state = jobs.get(message.job);
  if (!state || state.failed) return;
  const { log } = state;
  if (message.first !== log.count) throw new Error(`job log events out of order: got #${message.first}, expected #${log.count}`);
  for (const event of events) log.append(event);
  // One acknowledgement per turn of the event loop, however many batches arrived in it.
  if (!state.ackScheduled) {
    state.ackScheduled = true;
    setImmediate(() => {
      state.ackScheduled = false;
      post({ type: "written", job: message.job, count: log.count });
    });
  }
}

async function close(job: number): Promise<void> {
  const state = jobs.get(job);
  if (!state || state.failed) return;
  const outcome = await state.pusher.close();
  post({ type: "written", job, count: state.log.count });
  post({ type: "closed", job, outcome });
}

function dispose(job: number): void {
  const state = jobs.get(job);
  if (!state) return;
  state.pusher.abort();
  state.log.dispose();
  jobs.delete(job);
}

function failed(job: number, error: unknown): void {
  const state = jobs.get(job);
  if (state) {
    state.failed = true;
    state.pusher.abort();
  }
  post({ type: "failed", job, message: (error as Error).message ?? String(error) });
}

port.on("message", (message: ToLogWorker) => {
  if (message.type === "crash") {
    setImmediate(() => {
      throw new Error("log worker crash requested by a test");
    });
    return;
  }
  const { job } = message;
  try {
    switch (message.type) {
      case "open":
        return open(message);
      case "events":
        return append(message);
      case "close":
        return void close(job).catch((error) => failed(job, error));
      case "abort":
        return void jobs.get(job)?.pusher.abort();
      case "dispose":
        return dispose(job);
    }
  } catch (error) {
    failed(job, error);
  }
});
