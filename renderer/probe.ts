// A read-only window onto the job log (and the debug terminals) for the end-to-end tests and the UI benchmark:
// window.__semaphoreAgentProbe. It exposes what is on screen, never anything the page does not show.

export interface ProbeStats {
  /** UTF-8 bytes of output the job logs of this page have taken, ever (it only grows, across jobs). */
  bytesWritten: number;
  /** 1 while the job log's job has events the log has not taken yet (being read from history), else 0. 0 = up to date. */
  writesPending: number;
}

/** Character counts (UTF-16 code units) of one debug terminal's output: the flow control's view. */
export interface DebugTerminalProbeStats {
  /** Arrived from the host. */
  received: number;
  /** Parsed by the terminal. */
  parsed: number;
  /** Acknowledged to the host (ackTerminal). */
  acked: number;
  /** Received and not parsed yet (waiting for the terminal to be mounted, or in xterm's queue). */
  pending: number;
}

export interface SemaphoreAgentProbe {
  /** The job log's whole text, folded commands included: one line per line, trailing spaces trimmed. */
  terminalText(): string;
  stats(): ProbeStats;
  /** `cb` runs after each frame the job log draws. Returns the unsubscribe. */
  onParsed(cb: () => void): () => void;
  /** A debug terminal's buffer, like terminalText: the given one, or the tab shown; "" when none (or never shown). */
  debugTerminalText(terminalId?: string): string;
  /** A debug terminal's output counts: the given one, or the tab shown; all 0 when none. */
  debugTerminalStats(terminalId?: string): DebugTerminalProbeStats;
}

/** What the debug terminals give the probe. */
export interface DebugProbeSource {
  text(terminalId: string | undefined): string;
  stats(terminalId: string | undefined): DebugTerminalProbeStats | null;
}

let debugSource: DebugProbeSource | null = null;

export function setDebugProbeSource(next: DebugProbeSource): () => void {
  debugSource = next;
  return () => {
    if (debugSource === next) debugSource = null;
  };
}

/** What the mounted job log gives the probe. */
export interface ProbeTarget {
  text(): string;
  writesPending(): number;
}

let target: ProbeTarget | null = null;
let bytesWritten = 0;
const parsedListeners = new Set<() => void>();

export function setProbeTarget(next: ProbeTarget): () => void {
  target = next;
  return () => {
    if (target === next) target = null;
  };
}

/** The job log took `text` (its feed's output, counted once). */
export function recordParsed(text: string): void {
  bytesWritten += utf8Length(text);
}

const NON_ASCII = /[^\x00-\x7f]/;

export function utf8Length(text: string): number {
  // Job output is mostly ASCII: one native scan instead of a loop over every character.
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

export function notifyParsed(): void {
  for (const listener of [...parsedListeners]) {
    try {
      listener();
    } catch {
      // A probe listener must not break the log.
    }
  }
}

declare global {
  interface Window {
    __semaphoreAgentProbe?: SemaphoreAgentProbe;
  }
}

export function installProbe(win: Window): void {
  const probe: SemaphoreAgentProbe = Object.freeze({
    terminalText: () => target?.text() ?? "",
    stats: () => ({ bytesWritten, writesPending: target?.writesPending() ?? 0 }),
    debugTerminalText: (terminalId?: string) => debugSource?.text(terminalId) ?? "",
    debugTerminalStats: (terminalId?: string) => debugSource?.stats(terminalId) ?? { received: 0, parsed: 0, acked: 0, pending: 0 },
    onParsed(cb: () => void) {
      const listener = () => cb();
      parsedListeners.add(listener);
      return () => {
        parsedListeners.delete(listener);
      };
    },
  });
  Object.defineProperty(win, "__semaphoreAgentProbe", { value: probe, writable: false, configurable: false, enumerable: false });
}
