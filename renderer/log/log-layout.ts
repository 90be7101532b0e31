// Where each line of a JobLog is on screen, in rows: folded commands show their header alone, and
// with wrapping on a long line takes as many rows as its words need at the view's width. Built for
// a million lines: finding the line at a row and the row of a line is a binary search over the
// blocks (one per command), then over the lines of one block; a width change recounts every line
// once (most are shorter than a row: a length check), new lines are counted as they come. Pure.
import type { JobLog } from "./job-log.js";

const isLetter = (c: number) => ((c | 32) >= 97 && (c | 32) <= 122) || c > 127;

/**
 * Rows `text` takes at `cols` columns when it wraps as CSS white-space: pre-wrap does with words
 * never broken: at spaces and tabs (a tab runs to the next multiple of 8), and after a hyphen a
 * letter follows; a word longer than a row overflows it (the view scrolls sideways), and spaces at a
 * row's end hang. Monospace, so columns are characters (a wide character counts as one: close).
 */
export function wrapRows(text: string, cols: number): number {
  const n = text.length;
  if (cols <= 0 || (n <= cols && text.indexOf("\t") < 0)) return 1;
  let rows = 1;
  let col = 0;
  let i = 0;
  while (i < n) {
    // A piece: up to a space or a tab, or just past a hyphen a letter follows.
    let j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 32 || c === 9) break;
      j++;
      if (c === 45 && j < n && isLetter(text.charCodeAt(j))) break;
    }
    const piece = j - i;
    if (col > 0 && col + piece > cols) {
      rows++;
      col = 0;
    }
    col += piece;
    for (; j < n; j++) {
      const c = text.charCodeAt(j);
      if (c === 32) col++;
      else if (c === 9) col += 8 - (col % 8);
      else break;
    }
    i = j;
  }
  return rows;
}

export interface RowPosition {
  line: number;
  /** Which row of the line (0 unless it wraps). */
  row: number;
}

export class LogLayout {
  /** null: no wrapping (one row a line, scrolled sideways). */
  private cols: number | null = null;
  /** Wrapping: cum[i] = rows of the lines before line i (folding aside). */
  private cum = new Int32Array(1024);
  /** cum is right for indices 0..cumLines (the lines before cumLines never change again). */
  private cumLines = 0;
  /** The visible row each block starts at, and the total. */
  private blockStarts: number[] = [];
  private total = 0;
  private seenVersion = -1;
  private seenFolds = -1;

  constructor(private readonly log: JobLog) {}

  /** Wrap at `cols` columns, or not at all (null). */
  setWrap(cols: number | null): void {
    const next = cols === null ? null : Math.max(8, Math.floor(cols));
    if (next === this.cols) return;
    this.cols = next;
    this.cumLines = 0;
    this.seenVersion = -1;
  }

  get wrapCols(): number | null {
    return this.cols;
  }

  /** Visible rows of the whole log. */
  get totalRows(): number {
    this.refresh();
    return this.total;
  }

  /** The line shown at visible row `row` (clamped to the log). */
  lineAtRow(row: number): RowPosition {
    this.refresh();
    const log = this.log;
    if (log.lineCount === 0) return { line: 0, row: 0 };
    const r = Math.max(0, Math.min(this.total - 1, Math.floor(row)));
    const starts = this.blockStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    // Empty blocks start where the next one does: take the last block that starts there and has lines.
    while (lo > 0 && log.blocks[lo]!.end === log.blocks[lo]!.first) lo--;
    const block = log.blocks[lo]!;
    const local = r - starts[lo]!;
    if (block.folded) return { line: block.first, row: 0 };
    if (this.cols === null) return { line: Math.min(block.end - 1, block.first + local), row: 0 };
    const cum = this.cum;
    const base = cum[block.first]!;
    let a = block.first;
    let b = block.end - 1;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (cum[mid]! - base <= local) a = mid;
      else b = mid - 1;
    }
    return { line: a, row: local - (cum[a]! - base) };
  }

  /** The visible row where line `line` starts (a folded line: its command's header). */
  rowOfLine(line: number): number {
    this.refresh();
    if (this.log.lineCount === 0) return 0;
    const index = this.log.blockOf(line);
    const block = this.log.blocks[index]!;
    const start = this.blockStarts[index] ?? 0;
    if (block.folded) return start;
    return start + (this.cols === null ? line - block.first : this.cum[line]! - this.cum[block.first]!);
  }

  /** Rows line `line` takes. */
  rowsOf(line: number): number {
    this.refresh();
    if (this.cols === null) return 1;
    return this.cum[line + 1]! - this.cum[line]!;
  }

  private refresh(): void {
    const log = this.log;
    if (log.version === this.seenVersion && log.foldVersion === this.seenFolds) return;
    this.seenVersion = log.version;
    this.seenFolds = log.foldVersion;
    if (this.cols !== null) this.count(this.cols);
    const blocks = log.blocks;
    const starts = new Array<number>(blocks.length);
    let row = 0;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      starts[i] = row;
      if (b.end === b.first) continue;
      row += b.folded ? 1 : this.cols === null ? b.end - b.first : this.cum[b.end]! - this.cum[b.first]!;
    }
    this.blockStarts = starts;
    this.total = row;
  }

  /** Counts the rows of the lines not counted yet; the last line may still grow, so it is always recounted. */
  private count(cols: number): void {
    const log = this.log;
    const n = log.lineCount;
    if (this.cum.length < n + 1) {
      let size = this.cum.length;
      while (size < n + 1) size *= 2;
      const grown = new Int32Array(size);
      grown.set(this.cum.subarray(0, this.cumLines + 1));
      this.cum = grown;
    }
    const cum = this.cum;
    let i = Math.min(this.cumLines, Math.max(0, n - 1));
    if (i === 0) cum[0] = 0;
    for (; i < n; i++) {
      const rows = log.kind(i) === "header" ? 1 : wrapRows(log.plainLine(i), cols);
      cum[i + 1] = cum[i]! + rows;
    }
    this.cumLines = Math.max(0, n - 1);
  }
}
