// The text of a terminal's whole buffer, for the probe (tests and benchmarks read it after every
// parse, so it must not cost a full scan each time). Rows that scrolled into the scrollback do not
// change any more, so their text is kept; a marker on the last kept row tells how many rows the
// scrollback limit dropped from the top since. A resize (reflow) or a buffer switch starts over.
import type { IBuffer, IMarker, Terminal } from "@xterm/xterm";

export class TerminalTextReader {
  /** Text of rows 0 .. rows.length - 1, all in the scrollback, untrimmed. */
  private rows: string[] = [];
  private wrapped: boolean[] = [];
  private marker: IMarker | null = null;
  /** The row the marker was on when it was set. */
  private markerRow = -1;
  private readonly disposables: { dispose(): void }[];

  constructor(private readonly term: Terminal) {
    this.disposables = [term.onResize(() => this.reset()), term.buffer.onBufferChange(() => this.reset())];
  }

  /** Rows joined by "\n" (wrapped rows joined back into their line), trailing spaces and empty rows trimmed. */
  text(): string {
    const buffer = this.term.buffer.active;
    if (buffer.type !== "normal") {
      this.reset();
      return joinRows(buffer, [], [], 0);
    }
    this.align();
    const stable = buffer.baseY; // rows above the viewport
    for (let y = this.rows.length; y < stable; y++) {
      const line = buffer.getLine(y);
      this.rows.push(flat(line?.translateToString(false) ?? ""));
      this.wrapped.push(line?.isWrapped ?? false);
    }
    if (this.rows.length > 0 && this.markerRow !== this.rows.length - 1) this.placeMarker(buffer, this.rows.length - 1);
    return joinRows(buffer, this.rows, this.wrapped, this.rows.length);
  }

  dispose(): void {
    this.reset();
    for (const d of this.disposables) d.dispose();
  }

  /** Drops the kept rows the scrollback limit has removed since the last read. */
  private align(): void {
    if (this.marker === null) return;
    if (this.marker.isDisposed || this.marker.line < 0) {
      this.reset();
      return;
    }
    const dropped = this.markerRow - this.marker.line;
    if (dropped < 0) {
      this.reset();
    } else if (dropped > 0) {
      this.rows.splice(0, dropped);
      this.wrapped.splice(0, dropped);
      this.markerRow -= dropped;
    }
  }

  private placeMarker(buffer: IBuffer, row: number): void {
    this.marker?.dispose();
    this.marker = this.term.registerMarker(row - (buffer.baseY + buffer.cursorY)) ?? null;
    this.markerRow = this.marker === null ? -1 : row;
    if (this.marker === null) {
      this.rows = [];
      this.wrapped = [];
    }
  }

  private reset(): void {
    this.marker?.dispose();
    this.marker = null;
    this.markerRow = -1;
    this.rows = [];
    this.wrapped = [];
  }
}

/** Joins kept rows [0, kept) and the buffer's rows from `kept` on into lines. */
function joinRows(buffer: IBuffer, keptRows: readonly string[], keptWrapped: readonly boolean[], kept: number): string {
  const lines: string[] = [];
  let line = "";
  for (let y = 0; y < buffer.length; y++) {
    let text: string;
    let isWrapped: boolean;
    if (y < kept) {
      text = keptRows[y]!;
      isWrapped = keptWrapped[y]!;
    } else {
      const row = buffer.getLine(y);
      text = row?.translateToString(false) ?? "";
      isWrapped = row?.isWrapped ?? false;
    }
    if (isWrapped) {
      line += text;
    } else {
      if (y > 0) lines.push(trimEnd(line));
      line = text;
    }
  }
  lines.push(trimEnd(line));
  let end = lines.length;
  while (end > 0 && lines[end - 1] === "") end--;
  return lines.slice(0, end).join("\n");
}

/**
 * xterm builds a row's text by appending cell after cell, and V8 keeps that as a rope: about 1 KB a
 * row, walked again by every join. Taking a substring makes V8 copy it flat; the rope is then garbage.
 * (Reading a character would flatten it too, but an optimising compiler may drop an unused read.)
 */
function flat(text: string): string {
  return text.length === 0 ? text : ` ${text}`.slice(1);
}

function trimEnd(text: string): string {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    end--;
  }
  return end === text.length ? text : text.slice(0, end);
}
