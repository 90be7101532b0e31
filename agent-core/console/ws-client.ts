// One browser tab connected to the console's WebSocket: requests in (validated by the contract,
// dispatched to the host), answers and host events out. A slow tab costs bounded memory and never
// slows the agent: live job output is skipped while the socket's send buffer is full (the events
// carry `from`, so the tab sees the gap and re-reads it with readJobLog), and a tab that stops
// reading altogether is disconnected.
import type { WebSocket } from "ws";
import {
  dispatchRequest,
  parseRequest,
  type HostClient,
  type HostErrorBody,
  type HostEvent,
  type ParsedRequest,
  type ResponseMessage,
} from "../host/contract.js";

export interface ConsoleLimits {
  maxClients: number;
  /** Largest message a tab may send. */
  maxPayloadBytes: number;
  /** Above this many unsent bytes job-output events are skipped... */
  outputHighWaterBytes: number;
  /** ...until the buffer has drained below this. */
  outputLowWaterBytes: number;
  /** Above this the tab is disconnected (it reloads its state when it reconnects). */
  maxBufferedBytes: number;
  /** Token bucket of requests per connection. */
  requestsPerSecond: number;
  requestBurst: number;
  /** Requests being answered at once per connection; more wait in a queue... */
  maxInFlight: number;
  /** ...of at most this many (beyond it: an error answer). */
  maxQueued: number;
  /** Ping period; a tab that did not answer the previous ping is disconnected. */
  heartbeatMs: number;
}

export const DEFAULT_CONSOLE_LIMITS: Readonly<ConsoleLimits> = Object.freeze({
  maxClients: 8,
  maxPayloadBytes: 2 * 1024 * 1024,
  outputHighWaterBytes: 8 * 1024 * 1024,
  outputLowWaterBytes: 1024 * 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  requestsPerSecond: 50,
  requestBurst: 200,
  maxInFlight: 16,
  maxQueued: 256,
  heartbeatMs: 30_000,
});


const WS_UNSUPPORTED_DATA = 1003;
const WS_POLICY_VIOLATION = 1008;

export class ConsoleClient {
  private skippingOutput = false;
  private inFlight = 0;
  private readonly queued: Extract<ParsedRequest, { ok: true }>[] = [];
  private tokens: number;
  private refilledAt = Date.now();
  private alive = true;
  private readonly host: HostClient;

  constructor(
    private readonly ws: WebSocket,
    connect: (sink: (event: HostEvent) => void) => HostClient,
    private readonly limits: ConsoleLimits,
  ) {
    // This tab's own events (its debug terminals' output): never skipped, since the terminal
    // protocol bounds them itself (the host stops reading a PTY until the tab acknowledges).
    this.host = connect((event) => this.sendOwnEvent(event));
    this.tokens = limits.requestBurst;
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    ws.on("pong", () => {
      this.alive = true;
    });
    // A socket error is followed by "close"; the listener only keeps it from being thrown.
    ws.on("error", () => {});
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** `serialized` is the event's JSON, made once for all tabs. Must stay cheap: it runs on the host's thread. */
  sendEvent(serialized: string, isJobOutput: boolean): void {
    if (!this.open) return;
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.limits.maxBufferedBytes) {
      this.ws.terminate();
      return;
    }
    if (isJobOutput) {
      if (this.skippingOutput && buffered > this.limits.outputLowWaterBytes) return;
      if (!this.skippingOutput && buffered > this.limits.outputHighWaterBytes) {
        this.skippingOutput = true;
        return;
      }
      this.skippingOutput = false;
    }
    this.ws.send(serialized);
  }

  /** Kills this tab's debug terminals (the socket closed). */
  dispose(): void {
    this.host.dispose();
  }

  private sendOwnEvent(event: HostEvent): void {
    if (!this.open) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.ws.terminate();
      return;
    }
    this.ws.send(JSON.stringify({ kind: "event", event }));
  }

  /** Called every heartbeat period. */
  heartbeat(): void {
    if (!this.open) return;
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    if (this.open) this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  private onMessage(data: unknown, isBinary: boolean): void {
    // Frames that arrive after we closed (same TCP read as the offending one) are not acted on.
    if (!this.open) return;
    if (isBinary) {
      this.ws.close(WS_UNSUPPORTED_DATA, "binary messages are not accepted");
      return;
    }
    // Acknowledgements of terminal output come as fast as the tab parses it and cost nothing to
    // answer: they do not count against the rate limit (they are still validated below).
    if (!isTerminalAck(data) && !this.takeToken()) {
      // Far beyond the rate: a runaway or hostile tab; stop reading it.
      if (this.tokens < -this.limits.requestBurst) this.ws.close(WS_POLICY_VIOLATION, "too many requests");
      else this.reply(idOf(data), { code: "invalid-state", message: "too many requests: slow down" });
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(textOf(data));
    } catch (error) {
      this.reply(null, { code: "invalid-request", message: `message is not valid JSON: ${(error as Error).message}` });
      return;
    }
    const request = parseRequest(raw);
    if (!request.ok) {
      this.reply(request.id, request.error);
      return;
    }
    if (request.method === "ackTerminal") {
      // Answered at once and in order, outside the in-flight window and its queue: a tab that parsed
      // a flood acknowledges it in a burst, and every frame of one socket read is handled before any
      // dispatch settles, so the queue would fill with acks and refuse some (seen under CPU load).
      void dispatchRequest(this.host, request).then((response) => this.send(response));
    } else if (this.inFlight < this.limits.maxInFlight) {
      this.dispatch(request);
    } else if (this.queued.length < this.limits.maxQueued) {
      this.queued.push(request);
    } else {
      this.reply(request.id, { code: "invalid-state", message: `too many requests waiting (at most ${this.limits.maxQueued}): slow down` });
    }
  }

  private dispatch(request: Extract<ParsedRequest, { ok: true }>): void {
    this.inFlight++;
    const done = () => {
      this.inFlight--;
      const next = this.queued.shift();
      if (next !== undefined && this.open) this.dispatch(next);
    };
    void dispatchRequest(this.host, request).then(
      (response) => {
        this.send(response);
        done();
      },
      (error: unknown) => {
        // dispatchRequest turns failures into answers; this is only a safety net.
        this.reply(request.id, { code: "internal", message: error instanceof Error ? error.message : String(error) });
        done();
      },
    );
  }

  private reply(id: number | null, error: HostErrorBody): void {
    this.send({ kind: "response", id, ok: false, error });
  }

  private send(message: ResponseMessage): void {
    if (!this.open) return;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.ws.terminate();
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      text = JSON.stringify({
        kind: "response",
        id: message.id,
        ok: false,
        error: { code: "internal", message: `the answer could not be serialized: ${(error as Error).message}` },
      });
    }
    this.ws.send(text);
  }

  private takeToken(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.limits.requestBurst, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.requestsPerSecond);
    this.refilledAt = now;
    this.tokens -= 1;
    return this.tokens >= 0;
  }
}

const ACK_PREFIX = /^\{"id":\d{1,15},"method":"ackTerminal",/;

/** A message as the UI writes an ackTerminal request (its exact prefix; anything else pays the rate). */
function isTerminalAck(data: unknown): boolean {
  return ACK_PREFIX.test(headOf(data));
}

function textOf(data: unknown): string {
  if (typeof data === "string") return data;
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return String(data);
}

/** The first 64 characters of a message, without decoding all of it (prefix checks before any parse). */
function headOf(data: unknown): string {
  return Buffer.isBuffer(data) ? data.subarray(0, 64).toString("latin1") : textOf(data).slice(0, 64);
}

/** The id of a rate-limited message, when it is cheap to find (a leading `{"id":N`). */
function idOf(data: unknown): number | null {
  const match = /^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]/.exec(headOf(data));
  return match ? Number(match[1]) : null;
}
