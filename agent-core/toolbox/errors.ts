// One error type for everything installToolbox can fail on, with a code the CLI and the app can
// act on (the app shows `message`; the CLI adds advice for "network").

/** What went wrong, in one word. */
export type ToolboxErrorCode =
  /** A bad argument (a version that is not vX.Y.Z, a `from` that is neither a file nor a URL). */
  | "usage"
  /** This OS / CPU has no self-hosted toolbox release. */
  | "platform"
  /** The server could not be reached (refused, DNS, TLS, timeout). `url` says which. */
  | "network"
  /** The server answered with an error status. */
  | "http"
  /** The download ended early or its size differs from the announced one. */
  | "size"
  /** The sha256 of the tarball is not the published one. */
  | "checksum"
  /** The tarball is not a self-hosted toolbox (bad tar, wrong top folder, unsafe paths, files missing). */
  | "archive"
  /** Another install into the same home is running. */
  | "busy"
  /** Cancelled through the AbortSignal. */
  | "aborted"
  /** A file system operation failed. */
  | "io";

export class ToolboxError extends Error {
  override readonly name = "ToolboxError";
  constructor(
    readonly code: ToolboxErrorCode,
    message: string,
    /** The URL involved, for "network" and "http". */
    readonly url?: string,
  ) {
    super(message);
  }
}
