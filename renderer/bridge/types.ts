// What the renderer adds to the contract's Bridge: the state of the connection to the host, which
// only the web console can lose. Renderer-only; the contract stays as it is.
import type { Bridge, HostErrorBody, HostMethod, ResponseMessage } from "../../agent-core/host/contract.js";
import { HOST_METHODS, type HostApi } from "../../agent-core/host/contract.js";

export type ConnectionState =
  | { status: "connecting" }
  | { status: "connected" }
  /** Lost; the next attempt is at `retryAt` (epoch ms). */
  | { status: "reconnecting"; attempt: number; retryAt: number }
  /** The console server refused this page's credentials; no more attempts. */
  | { status: "unauthorised" };

export interface RendererBridge extends Bridge {
  connection(): ConnectionState;
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

export type HostCallErrorCode = HostErrorBody["code"] | "disconnected" | "timeout";

/** A failed HostApi call: the host's error body, or the transport's. */
export class HostCallError extends Error {
  override readonly name = "HostCallError";
  constructor(
    readonly code: HostCallErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The code of a rejected call (a HostCallError's), or null for any other failure. */
export function errorCode(error: unknown): string | null {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
    ? (error as { code: string }).code
    : null;
}

/** The result of a response, or its error as a HostCallError. */
export function resultOf(response: ResponseMessage): unknown {
  if (response.ok) return response.result;
  throw new HostCallError(response.error.code, response.error.message);
}

/** A HostApi whose every method sends {method, params} through `send`. */
export function hostApiOver(send: (method: HostMethod, params: unknown) => Promise<unknown>): HostApi {
  const api: Partial<Record<HostMethod, (params: unknown) => Promise<unknown>>> = {};
  for (const method of HOST_METHODS) api[method] = (params: unknown) => send(method, params ?? {});
  return api as HostApi;
}
