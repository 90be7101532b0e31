// Per-job log store of the hub's log service (spec §7.2). Stores the raw lines exactly as pushed,
// validates each new line once (JSON.parse + §7.1 shape), enforces the start_from contract, the
// event-order rules and the optional size limits (422). Built for throughput: one pass over the body
// with Buffer#indexOf, one decode and one JSON.parse per new line, no re-joining of stored strings.
import { isUtf8 } from "node:buffer";
import type { JobLogEvent, JobResult } from "../agent-core/job/events.js";
import { MAX_LINES_PER_PUSH } from "./types.js";
import { validateEventShape } from "./validate.js";

export interface LogLimits {
  maxEvents?: number | undefined;
  maxBytes?: number | undefined;
}

export interface IngestResult {
  status: 200 | 400 | 409 | 422;
  /** Message for the `{"error"}` body of non-200 answers. */
  error?: string;
  /** Protocol violations found (recorded by the caller; independent of the status). */
  violations: string[];
  /** Number of events appended by this request. */
  added: number;
}

/** One hour of clock skew is tolerated; a bigger future timestamp is most likely milliseconds. */
const FUTURE_SLACK_S = 3600;

export class JobLog {
  /** Raw lines without the trailing newline, in order. */
  readonly lines: string[] = [];
  /** Sum over lines of UTF-8 bytes + 1 (newline). */
  bytes = 0;
  /** True once the hub refused events because of a limit. */
  trimmed = false;
  /** A 422 was answered; the agent must not push again for this job (§7.2). */
  answered422 = false;
  /** Log requests for this job that were not answered 200 (faults, 401, ...). */
  failures = 0;
  /** Order-rule state. */
  private started = false;
  private openDirective: string | null = null;
  jobFinishedResult: JobResult | null = null;
  private parsed: JobLogEvent[] = [];

  get eventCount(): number {
    return this.lines.length;
  }

  get hasJobFinished(): boolean {
    return this.jobFinishedResult !== null;
  }

  /** Parsed events (cached incrementally; only built when someone asks). */
  events(): JobLogEvent[] {
    for (let i = this.parsed.length; i < this.lines.length; i++) {
      this.parsed.push(JSON.parse(this.lines[i] as string) as JobLogEvent);
    }
    return this.parsed.slice();
  }

  /** Handles one push: `body` is the raw request body, `startFrom` the parsed query value. */
  ingest(body: Buffer, startFrom: number, limits: LogLimits, nowMs: number = Date.now()): IngestResult {
    const violations: string[] = [];
    if (this.answered422) {
      violations.push(`log push after the hub answered 422 for this job; the agent must stop pushing for good (§7.2, P-10)`);
      return { status: 422, error: "log limit reached (trimmed)", violations, added: 0 };
    }
    if (this.trimmed) {
      this.answered422 = true;
      return { status: 422, error: "log limit reached (trimmed)", violations, added: 0 };
    }
    const fail = (status: 400 | 409, message: string): IngestResult => {
      violations.push(message);
      return { status, error: message, violations, added: 0 };
    };
    if (body.length === 0) return fail(400, "empty log push body (the agent must skip ticks with nothing to send)");
    if (body[body.length - 1] !== 0x0a) return fail(400, "log push body must end with a newline (every line is \\n-terminated, §7.2)");
    if (!isUtf8(body)) return fail(400, "log push body is not valid UTF-8");

    // Line boundaries (byte offsets of each line start; ends at the next \n).
    const starts: number[] = [];
    const ends: number[] = [];
    for (let pos = 0; pos < body.length; ) {
      const nl = body.indexOf(0x0a, pos);
      // nl >= 0 always: the body ends with \n.
      if (nl === pos || (nl === pos + 1 && body[pos] === 0x0d)) {
        return fail(400, `blank line at index ${starts.length} of the push body (start_from=${startFrom})`);
      }
      starts.push(pos);
      ends.push(nl);
      pos = nl + 1;
    }
    const n = starts.length;
    if (n > MAX_LINES_PER_PUSH) violations.push(`log push with ${n} lines; at most ${MAX_LINES_PER_PUSH} per request (§7.2)`);

    const stored = this.lines.length;
    if (startFrom > stored) {
      return fail(409, `start_from=${startFrom} but only ${stored} events are stored: the push would leave a gap`);
    }
    const overlap = Math.min(stored - startFrom, n);
    for (let i = 0; i < overlap; i++) {
      const line = body.toString("utf8", starts[i], ends[i]);
      if (line !== this.lines[startFrom + i]) {
        return fail(
          409,
          `re-sent line ${startFrom + i} differs from the stored one (start_from=${startFrom}); a re-sent batch must repeat the same events`,
        );
      }
    }

    // Decode and validate every new line before storing any of them.
    const newLines: string[] = [];
    const newEvents: Record<string, unknown>[] = [];
    const newBytes: number[] = [];
    for (let i = overlap; i < n; i++) {
      const s = starts[i] as number;
      const e = ends[i] as number;
      const line = body.toString("utf8", s, e);
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        return fail(400, `line ${startFrom + i} is not valid JSON: ${(err as Error).message}`);
      }
      const shapeError = validateEventShape(parsed);
      if (shapeError) return fail(400, `line ${startFrom + i}: ${shapeError}`);
      newLines.push(line);
      newEvents.push(parsed as Record<string, unknown>);
      newBytes.push(e - s + 1);
    }

    const nowS = Math.floor(nowMs / 1000);
    let added = 0;
    for (let i = 0; i < newLines.length; i++) {
      const lineBytes = newBytes[i] as number;
      if (
        (limits.maxEvents !== undefined && this.lines.length + 1 > limits.maxEvents) ||
        (limits.maxBytes !== undefined && this.bytes + lineBytes > limits.maxBytes)
      ) {
        this.trimmed = true;
        this.answered422 = true;
        return { status: 422, error: "log limit reached (trimmed)", violations, added };
      }
      const order = this.checkOrder(newEvents[i] as Record<string, unknown>, this.lines.length, nowS);
      if (order) violations.push(order);
      this.lines.push(newLines[i] as string);
      this.bytes += lineBytes;
      added++;
    }
    return { status: 200, violations, added };
  }

  /** Applies one event to the order state; returns a violation message or null. */
  private checkOrder(ev: Record<string, unknown>, index: number, nowS: number): string | null {
    const kind = ev["event"] as string;
    let problems: string[] | null = null;
    const problem = (message: string) => {
      (problems ??= []).push(message);
    };
    const limit = nowS + FUTURE_SLACK_S;
    if ((ev["timestamp"] as number) > limit) problem(futureMessage("timestamp", ev["timestamp"]));
    if (this.jobFinishedResult !== null && kind !== "job_finished") {
      problem(`comes after job_finished (job_finished must be the last event)`);
    } else if (!this.started && kind !== "job_started") {
      problem(`job_started must be the first event`);
    }
    switch (kind) {
      case "job_started":
        if (this.started) problem(`job_started logged twice`);
        this.started = true;
        break;
      case "cmd_started":
        if (this.openDirective !== null) problem(`cmd_started while "${this.openDirective}" has not finished`);
        this.openDirective = ev["directive"] as string;
        break;
      case "cmd_output":
        if (this.openDirective === null) problem(`cmd_output outside a cmd_started/cmd_finished pair`);
        break;
      case "cmd_finished": {
        const d = ev["directive"] as string;
        if (this.openDirective === null) problem(`cmd_finished without a matching cmd_started`);
        else if (this.openDirective !== d) {
          problem(`cmd_finished directive ${JSON.stringify(d)} differs from the open cmd_started ${JSON.stringify(this.openDirective)}`);
        }
        const sa = ev["started_at"] as number;
        const fa = ev["finished_at"] as number;
        if (sa > limit) problem(futureMessage("started_at", sa));
        if (fa > limit) problem(futureMessage("finished_at", fa));
        if (sa > fa) problem(`started_at ${sa} is after finished_at ${fa}`);
        this.openDirective = null;
        break;
      }
      case "job_finished":
        if (this.openDirective !== null) problem(`job_finished while "${this.openDirective}" has not finished`);
        this.openDirective = null;
        if (this.jobFinishedResult === null) this.jobFinishedResult = ev["result"] as JobResult;
        else problem(`job_finished logged twice`);
        break;
    }
    if (problems === null) return null;
    return `event ${index} (${kind}): ${(problems as string[]).join("; ")}`;
  }
}

function futureMessage(key: string, value: unknown): string {
  return `${key} ${String(value)} is in the future; timestamps are Unix seconds, not milliseconds (§7.1)`;
}
