// Job log events, exactly as they travel to the log service (spec §7.1). Key order matches the Go
// agent; timestamps are integer Unix seconds.

export type JobResult = "passed" | "failed" | "stopped";

export interface JobStartedEvent {
  event: "job_started";
  timestamp: number;
}
export interface CmdStartedEvent {
  event: "cmd_started";
  timestamp: number;
  directive: string;
}
export interface CmdOutputEvent {
  event: "cmd_output";
  timestamp: number;
  output: string;
}
export interface CmdFinishedEvent {
  event: "cmd_finished";
  timestamp: number;
  directive: string;
  exit_code: number;
  started_at: number;
  finished_at: number;
}
export interface JobFinishedEvent {
  event: "job_finished";
  timestamp: number;
  result: JobResult;
}

export type JobLogEvent = JobStartedEvent | CmdStartedEvent | CmdOutputEvent | CmdFinishedEvent | JobFinishedEvent;

/** Unix seconds, the only clock used on the wire. */
export function unixSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}
