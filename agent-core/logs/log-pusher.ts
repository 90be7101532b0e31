// The push logger (spec §7.2–§7.3). Events are read back from the local event file in batches of at
// most 2000 lines and POSTed with ?start_from=N; a failed batch is re-sent unchanged on the next tick,
// so nothing is lost or duplicated. Deviation from the Go agent (semaphoreci/agent#231): while a
// backlog exists the next batch goes out as soon as the previous one is answered, so a large log
// reaches the server within the flush window; with no backlog the spec's cadence applies.
// After a failed push the next try always waits the tick delay, counted from the failure: neither
// the switch to flush mode at the job's end nor a backlog wakes the pusher early (flush mode only
// shortens the wait to the flush delay), so a server in trouble is never hit again at once.
import type { ApiClient } from "../protocol/client.js";
import { randomBetween, type AgentTimings } from "../timings.js";
import { WakeableSleep } from "../util/sleep.js";
import type { JobEventLog } from "./event-log.js";

/** Upper bound of one request body; a batch is cut earlier than 2000 lines when lines are huge. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Unsent data beyond this is a backlog: push again without waiting for the next tick. */
export const BACKLOG_BYTES = 1024 * 1024;

export type PusherNotice =
  | { kind: "push-failed"; status: number | null; message: string; startFrom: number }
  | { kind: "token-refreshed" }
  | { kind: "refresh-failed"; message: string }
  | { kind: "trimmed"; startFrom: number };

export interface LogPusherOptions {
  log: JobEventLog;
  url: string;
  token: string;
  client: ApiClient;
  timings: AgentTimings;
  onNotice?: (notice: PusherNotice) => void;
  /** Events the server already holds (a pusher taking over from another one); default 0. */
  startFrom?: number;
  /** Called after every accepted push with the new number of events the server holds. */
  onAccepted?: (accepted: number) => void;
}

export interface LogPushOutcome {
  /** A 422 was received: the server's log space is exhausted (spec §7.2). */
  trimmed: boolean;
  /** Events that never reached the server (left when the flush window ran out, or after a 422). */
  unsent: number;
}

export class LogPusher {
  private startFrom = 0;
  private token: string;
  private flushing = false;
  private stopped = false;
  private trimmedFlag = false;
  private readonly ticker = new WakeableSleep();
  private loop: Promise<void> | null = null;
  private waitingForTick = false;
  /** When the last push failed (performance.now()), while its retry is pending; null otherwise. */
  private failedAt: number | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: LogPusherOptions) {
    this.token = options.token;
    this.startFrom = options.startFrom ?? 0;
  }

  get accepted(): number {
    return this.startFrom;
  }

  get trimmed(): boolean {
    return this.trimmedFlag;
  }

  start(): void {
    if (this.loop) return;
    // A backlog that forms while the pusher waits for its next tick is sent at once.
    this.unsubscribe = this.options.log.subscribe(() => {
      if (this.waitingForTick && this.unsentBytes() >= BACKLOG_BYTES) this.ticker.wake();
    });
    this.loop = this.run();
  }

  private unsentBytes(): number {
    return this.options.log.bytes - this.options.log.offsetOf(this.startFrom);
  }

  /**
   * Flush and stop (spec §7.3): flush-mode ticks, wait until nothing is left for at most
   * logFlushChecks × logFlushCheckMs, then stop even if events remain.
   */
  async close(): Promise<LogPushOutcome> {
    this.start();
    this.flushing = true;
    this.ticker.wake();
    const { logFlushChecks, logFlushCheckMs } = this.options.timings;
    let timer: NodeJS.Timeout | undefined;
    const windowOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, logFlushChecks * logFlushCheckMs);
    });
    await Promise.race([this.loop, windowOver]);
    clearTimeout(timer);
    this.stopped = true;
    this.ticker.wake();
    this.unsubscribe?.();
    return { trimmed: this.trimmedFlag, unsent: this.options.log.count - this.startFrom };
  }

  /**
   * Stops at once without flushing: the agent is shutting down with the job still running (spec
   * §3.8: the process simply exits), so waiting up to the flush window for a control plane that
   * may be gone would only delay the disconnect and the shutdown hook. A push in flight is left to
   * the client's close.
   */
  abort(): LogPushOutcome {
    this.stopped = true;
    this.ticker.wake();
    this.unsubscribe?.();
    return { trimmed: this.trimmedFlag, unsent: this.options.log.count - this.startFrom };
  }

  private async run(): Promise<void> {
    const { log, client, timings, onNotice } = this.options;
    let backlog = false;
    while (!this.stopped) {
      if (this.failedAt !== null) {
        await this.waitAfterFailure(this.failedAt);
        if (this.stopped) return;
      } else if (!backlog) {
        const delay = this.flushing
          ? randomBetween(timings.logFlushMinMs, timings.logFlushMaxMs)
          : randomBetween(timings.logPushMinMs, timings.logPushMaxMs);
        this.waitingForTick = true;
        await this.ticker.sleep(delay);
        this.waitingForTick = false;
        if (this.stopped) return;
      }
      backlog = false;
      if (this.trimmedFlag) return;
      const batch = log.read(this.startFrom, timings.logBatchLines, MAX_BATCH_BYTES);
      if (batch.lines === 0) {
        if (this.flushing) return;
        continue;
      }
      let status: number | null = null;
      let message = "";
      try {
        status = await client.pushLogs(this.options.url, this.token, this.startFrom, batch.body);
      } catch (error) {
        message = (error as Error).message;
      }
      if (this.stopped) return;
      this.failedAt = status === 200 || status === 422 ? null : performance.now();
      if (status === 200) {
        this.startFrom += batch.lines;
        this.options.onAccepted?.(this.startFrom);
        const unsentLines = log.count - this.startFrom;
        backlog = unsentLines >= timings.logBatchLines || this.unsentBytes() >= BACKLOG_BYTES;
      } else if (status === 422) {
        this.trimmedFlag = true;
        onNotice?.({ kind: "trimmed", startFrom: this.startFrom });
        return;
      } else if (status === 401) {
        onNotice?.({ kind: "push-failed", status, message: "log token rejected (401); refreshing it", startFrom: this.startFrom });
        try {
          this.token = await client.refreshLogToken();
          onNotice?.({ kind: "token-refreshed" });
        } catch (error) {
          onNotice?.({ kind: "refresh-failed", message: (error as Error).message });
        }
      } else {
        onNotice?.({
          kind: "push-failed",
          status,
          message: status === null ? message : `log push answered HTTP ${status}`,
          startFrom: this.startFrom,
        });
      }
    }
  }

  /**
   * The tick delay after a failed push, counted from the failure. Wakes (the flush starting, a
   * backlog, a stop) only make it re-check: the flush shortens the wait to a flush delay, never
   * below it; a stop ends it.
   */
  private async waitAfterFailure(failedAt: number): Promise<void> {
    const { timings } = this.options;
    const tickDelay = randomBetween(timings.logPushMinMs, timings.logPushMaxMs);
    const flushDelay = randomBetween(timings.logFlushMinMs, timings.logFlushMaxMs);
    while (!this.stopped) {
      const delay = this.flushing ? Math.min(tickDelay, flushDelay) : tickDelay;
      const remaining = failedAt + delay - performance.now();
      if (remaining <= 0) return;
      // Rounded up: a timer may fire up to a millisecond before its time.
      await this.ticker.sleep(Math.ceil(remaining) + 1);
    }
  }
}
