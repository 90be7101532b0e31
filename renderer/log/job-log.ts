// One job's log as the Job view shows it: its lines, each with the time of the event that began it,
// grouped into blocks, one per command (a header line, the output, the line that says how it ended)
// and plain blocks for the job's own lines ("Job started", the result). Blocks of commands fold: a
// command that passed folds once it ends, one that failed or was stopped stays open, so a finished
// job opens on its failure and a running one on the command that runs; whatever the owner folds or
// unfolds stays so. Lines are stored as the job printed them (colours kept, \r progress bars
// collapsed to their last state), bounded in count and length. Pure: no DOM; the view (log-view.ts)
// and the layout (log-layout.ts) read it.
import { endStyle, needsParsing, plainText, PLAIN_STYLE, type Style } from "./ansi.js";
import { commandEndLine, type CommandEnd, type JobEnd, type JobLogSink, type Section } from "../job-format.js";

export type LineKind = "header" | "output" | "meta";

export interface CommandHeader {
  /** Position of the command in the job (0 = first cmd_started), as the outline numbers it. */
  command: number;
  directive: string;
  section: Section;
  /** Unix seconds. */
  startedAt: number;
  /** How it ended; null while it runs. */
  end: CommandEnd | null;
}

export interface LogBlock {
  /** Its first line (a command's header line). */
  first: number;
  /** One past its last line. */
  end: number;
  /** The command it shows; null for the job's own lines. */
  header: CommandHeader | null;
  /** Only its header line is shown. Never true for a block without a header. */
  folded: boolean;
  /** The owner folded or unfolded it: the automatic folding leaves it alone. */
  pinned: boolean;
}

export interface LogMatch {
  line: number;
  /** Offset in the line's plain text. */
  start: number;
  length: number;
}

export interface JobLogLimits {
  /** Lines kept; output beyond them is counted, not kept (commands' headers and ends still are). */
  maxLines: number;
  /** Characters kept in all (the page's memory: about a byte each); output beyond them is counted like lines past maxLines (the line being written may still grow to maxLineChars). */
  maxChars: number;
  /** Characters kept of one line; the rest is counted. */
  maxLineChars: number;
}

export const DEFAULT_LOG_LIMITS: JobLogLimits = { maxLines: 2_000_000, maxChars: 160_000_000, maxLineChars: 16_384 };

export const MAX_MATCHES = 10_000;

const RESET = "\x1b[0m";
const DIM = "\x1b[2m";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The plain text of a command's header line ("▶ make test  epilogue · always"). */
export function headerText(header: Pick<CommandHeader, "directive" | "section">): string {
  return `▶ ${header.directive}${header.section.tag !== null ? `  ${header.section.tag}` : ""}`;
}

export class JobLog implements JobLogSink {
  private readonly raw: string[] = [];
  /** Plain text of lines that differ from their raw text (escapes, control characters). */
  private readonly plains: (string | undefined)[] = [];
  private readonly kinds: LineKind[] = [];
  /** Unix seconds of the event that began each line. */
  private readonly times: number[] = [];
  /** The style a line starts in, where a colour ran on from the line before. */
  private readonly startStyles = new Map<number, Readonly<Style>>();
  /** Characters cut from overlong lines. */
  private readonly cut = new Map<number, number>();
  readonly blocks: LogBlock[] = [];
  /** Block index of each command, by its position in the job. */
  private readonly commandBlocks: number[] = [];
  /** The last line is still being written (no newline yet). */
  private lineOpen = false;
  /** A lone \r ended the output so far: the next text rewrites the open line. */
  private carriageReturn = false;
  /** The open line's end style when part of it was cut (its text alone does not tell it); else null. */
  private openEndStyle: Readonly<Style> | null = null;
  /** The log is full and the line being dropped was counted already. */
  private droppingOpen = false;
  /** The style at the end of the last complete line. */
  private style: Readonly<Style> = PLAIN_STYLE;
  private lastTime = 0;
  private readonly limits: JobLogLimits;
  /** Output lines not kept: the log passed maxLines or maxChars. */
  droppedLines = 0;
  /** Characters of the lines kept. */
  private chars = 0;
  /** How the job ended, once it did. */
  ended: JobEnd | null = null;
  /** Bumped on every change; the view redraws when it moves. */
  version = 0;
  /** Bumped when a block folds or unfolds. */
  foldVersion = 0;
  private listener: (() => void) | null = null;

  constructor(limits: Partial<JobLogLimits> = {}) {
    this.limits = { ...DEFAULT_LOG_LIMITS, ...limits };
  }

  /** One listener (the view): called after every change, to schedule a redraw. */
  onChange(listener: (() => void) | null): void {
    this.listener = listener;
  }

  get lineCount(): number {
    return this.raw.length;
  }

  rawLine(i: number): string {
    return this.raw[i] ?? "";
  }

  plainLine(i: number): string {
    return this.plains[i] ?? this.raw[i] ?? "";
  }

  kind(i: number): LineKind {
    return this.kinds[i] ?? "output";
  }

  time(i: number): number {
    return this.times[i] ?? 0;
  }

  startStyle(i: number): Readonly<Style> {
    return this.startStyles.get(i) ?? PLAIN_STYLE;
  }

  /** Characters of line `i` beyond maxLineChars, not kept. */
  cutChars(i: number): number {
    return this.cut.get(i) ?? 0;
  }

  /** The block that holds line `i` (blocks are consecutive and cover every line). */
  blockOf(line: number): number {
    const blocks = this.blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (blocks[mid]!.first <= line) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The block of the job's `command`-th command (0-based), or -1 when the log has not got it. */
  blockOfCommand(command: number): number {
    return this.commandBlocks[command] ?? -1;
  }

  isVisible(line: number): boolean {
    const block = this.blocks[this.blockOf(line)];
    return block === undefined || !block.folded || block.first === line;
  }

  // ------------------------------------------------------------------------------------------
  // Folding

  /** The owner folds or unfolds a command (it stays so). */
  setFolded(block: number, folded: boolean): void {
    const b = this.blocks[block];
    if (b === undefined || b.header === null) return;
    b.pinned = true;
    if (b.folded === folded) return;
    b.folded = folded;
    this.foldChanged();
  }

  toggle(block: number): void {
    const b = this.blocks[block];
    if (b !== undefined) this.setFolded(block, !b.folded);
  }

  /** The owner reads in a running command: the automatic folding leaves it open when it passes. */
  keepOpen(block: number): void {
    const b = this.blocks[block];
    if (b !== undefined && b.header !== null && b.header.end === null && !b.folded) b.pinned = true;
  }

  /** Folds or unfolds every command (and the ones to come keep the automatic rule). */
  setAllFolded(folded: boolean): void {
    let changed = false;
    for (const b of this.blocks) {
      if (b.header === null) continue;
      b.pinned = true;
      if (b.folded !== folded) {
        b.folded = folded;
        changed = true;
      }
    }
    if (changed) this.foldChanged();
  }

  /** Unfolds what hides line `line` (a search match, a jump). */
  reveal(line: number): void {
    const index = this.blockOf(line);
    const b = this.blocks[index];
    if (b !== undefined && b.folded && b.first !== line) this.setFolded(index, false);
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  /** The whole log as plain text, one line per line (Copy log, the tests' probe). */
  text(): string {
    const out: string[] = new Array(this.raw.length);
    for (let i = 0; i < this.raw.length; i++) {
      const cut = this.cut.get(i);
      out[i] = (this.plainLine(i) + (cut !== undefined ? ` … ${cut} more characters` : "")).trimEnd();
    }
    const dropped = this.droppedNote();
    if (dropped !== null) out.push(dropped);
    return out.join("\n");
  }

  /** What the log says after its last line when it kept fewer lines than the job printed; null when it kept them all. */
  droppedNote(): string | null {
    if (this.droppedLines === 0) return null;
    return `… ${this.droppedLines} more lines not shown: the log is longer than this view keeps (${this.limits.maxLines} lines, ${this.limits.maxChars} characters; the job's history on disk has them all)`;
  }

  /** The first matches of `query` (any case), in order, at most `limit`. */
  search(query: string, limit = MAX_MATCHES): LogMatch[] {
    if (query === "") return [];
    const pattern = new RegExp(escapeRegExp(query), "gi");
    const matches: LogMatch[] = [];
    const n = this.raw.length;
    const first = query.charAt(0);
    const firstLower = first.toLowerCase();
    const firstUpper = first.toUpperCase();
    for (let i = 0; i < n && matches.length < limit; i++) {
      const text = this.plainLine(i);
      // Most lines have no match: a native scan for the first character rules them out before the regex.
      if (text.length < query.length || (text.indexOf(firstLower) < 0 && text.indexOf(firstUpper) < 0 && text.indexOf(first) < 0)) continue;
      pattern.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = pattern.exec(text)) !== null && matches.length < limit) {
        matches.push({ line: i, start: m.index, length: m[0].length });
      }
    }
    return matches;
  }

  // ------------------------------------------------------------------------------------------
  // JobLogSink: the interpreter's calls, in the job's order.

  jobStarted(timestamp: number): void {
    this.lastTime = timestamp;
    this.closeLine();
    this.ensurePlainBlock();
    this.push(`${DIM}Job started${RESET}`, "meta", timestamp);
    this.changed();
  }

  commandStarted(directive: string, section: Section, command: number, timestamp: number): void {
    // A preview's lines (no timestamp of their own) take the time of the last event.
    this.lastTime = timestamp;
    this.closeLine();
    const previous = this.blocks[this.blocks.length - 1];
    const header: CommandHeader = { command, directive, section, startedAt: timestamp, end: null };
    this.openBlock(header);
    this.commandBlocks[command] = this.blocks.length - 1;
    this.style = PLAIN_STYLE;
    this.push(headerText(header), "header", timestamp, true);
    // A command that ended without its cmd_finished (it should not happen) folds like one that passed.
    if (previous?.header !== null && previous !== undefined && previous.header.end === null) this.autoFold(previous, true);
    this.changed();
  }

  output(text: string, timestamp: number | null): void {
    if (timestamp !== null) this.lastTime = timestamp;
    const at = timestamp ?? this.lastTime;
    this.ensureBlock();
    let from = 0;
    while (from <= text.length) {
      const nl = text.indexOf("\n", from);
      const piece = nl < 0 ? text.slice(from) : text.slice(from, nl);
      if (piece.length > 0 || nl >= 0) this.writePiece(piece, at, nl >= 0);
      if (nl < 0) break;
      from = nl + 1;
    }
    this.changed();
  }

  commandFinished(end: CommandEnd, timestamp: number): void {
    this.lastTime = timestamp;
    this.closeLine();
    const block = this.blocks[this.blocks.length - 1];
    this.push(`${RESET}${commandEndLine(end)}${RESET}`, "meta", timestamp, true);
    if (block?.header) {
      block.header.end = end;
      this.autoFold(block, end.state === "ok");
    }
    this.changed();
  }

  jobFinished(end: JobEnd, timestamp: number): void {
    this.closeLine();
    this.openBlock(null);
    if (end.skipped !== null) this.push(`${DIM}${end.skipped}${RESET}`, "meta", timestamp, true);
    this.push("", "meta", timestamp, true);
    this.push(`${end.line}${RESET}`, "meta", timestamp, true);
    this.ended = end;
    this.changed();
  }

  // ------------------------------------------------------------------------------------------

  private autoFold(block: LogBlock, folded: boolean): void {
    if (block.pinned || block.folded === folded) return;
    block.folded = folded;
    this.foldVersion++;
  }

  private foldChanged(): void {
    this.foldVersion++;
    this.changed();
  }

  private changed(): void {
    this.version++;
    this.listener?.();
  }

  private ensurePlainBlock(): void {
    const last = this.blocks[this.blocks.length - 1];
    if (last === undefined || last.header !== null) this.openBlock(null);
  }

  /** Starts a block at the next line: a command's (its header line comes next) or the job's own. */
  private openBlock(header: CommandHeader | null): void {
    this.blocks.push({ first: this.raw.length, end: this.raw.length, header, folded: false, pinned: false });
  }

  private ensureBlock(): void {
    if (this.blocks.length === 0) this.ensurePlainBlock();
  }

  /** Adds a whole line. `always`: the agent's own lines are kept even past maxLines. */
  private push(raw: string, kind: LineKind, time: number, always = false): void {
    if (!always && this.full()) {
      this.droppedLines++;
      return;
    }
    this.ensureBlock(); // a cmd_finished with no cmd_started before it still has a block to go in
    const i = this.raw.length;
    this.raw.push(raw);
    this.chars += raw.length;
    this.plains.push(needsParsing(raw) ? plainText(raw) : undefined);
    this.kinds.push(kind);
    this.times.push(time);
    this.blocks[this.blocks.length - 1]!.end = i + 1;
  }

  /** Text up to a newline (`complete`) or the end of the chunk, written onto the open line or a new one. */
  private writePiece(piece: string, time: number, complete: boolean): void {
    // Carriage returns at the end: "50%\r" keeps the line until the next text rewrites it; "\r\n"
    // and "\r\r\n" end it as it is.
    let end = piece.length;
    while (end > 0 && piece.charCodeAt(end - 1) === 13) end--;
    const trailing = end < piece.length;
    let text = trailing ? piece.slice(0, end) : piece;
    const cr = text.lastIndexOf("\r");
    // What a \r writes over is gone from the line, but its colours hold for the text after it.
    const over = cr >= 0 ? text.slice(0, cr) : null;
    if (cr >= 0) text = text.slice(cr + 1);
    const rewrite = cr >= 0 || (this.carriageReturn && text.length > 0);
    if (cr >= 0 || text.length > 0) this.carriageReturn = false;
    if (trailing && !complete) this.carriageReturn = true;
    if (this.lineOpen) {
      const i = this.raw.length - 1;
      if (rewrite) {
        const style = endStyle(over ?? "", this.lineEndStyle(i));
        this.cut.delete(i);
        this.openEndStyle = null;
        this.setStartStyle(i, style);
        this.setLine(i, text);
      } else if (this.cut.has(i)) {
        // Already as long as a line is kept: the rest is counted, and its colours followed.
        this.cut.set(i, this.cut.get(i)! + text.length);
        this.openEndStyle = endStyle(text, this.lineEndStyle(i));
      } else {
        this.setLine(i, this.raw[i]! + text);
      }
    } else if (!this.full()) {
      this.push("", "output", time);
      const i = this.raw.length - 1;
      this.setStartStyle(i, over !== null ? endStyle(over, this.style) : this.style);
      this.openEndStyle = null;
      this.setLine(i, text);
      this.lineOpen = true;
    } else {
      // Full: the line is counted once, however many pieces it comes in.
      if (!this.droppingOpen) this.droppedLines++;
      this.droppingOpen = !complete;
      return;
    }
    if (complete) this.closeLine();
  }

  /** Writes line `i`, cut at maxLineChars (the colours of what is cut are still followed). */
  private setLine(i: number, raw: string): void {
    let text = raw;
    const over = text.length - this.limits.maxLineChars;
    if (over > 0) {
      this.openEndStyle = endStyle(text, this.startStyle(i));
      text = text.slice(0, this.limits.maxLineChars);
      this.cut.set(i, over);
    }
    this.chars += text.length - (this.raw[i]?.length ?? 0);
    this.raw[i] = text;
    this.plains[i] = needsParsing(text) ? plainText(text) : undefined;
  }

  private setStartStyle(i: number, style: Readonly<Style>): void {
    if (style === PLAIN_STYLE) this.startStyles.delete(i);
    else this.startStyles.set(i, style);
  }

  /** The style the open line `i` ends in, what was cut from it included. */
  private lineEndStyle(i: number): Readonly<Style> {
    return this.openEndStyle ?? endStyle(this.raw[i]!, this.startStyle(i));
  }

  /** No more output is kept. */
  private full(): boolean {
    return this.raw.length >= this.limits.maxLines || this.chars >= this.limits.maxChars;
  }

  /** The open line is complete: the style it ends in starts the next one. */
  private closeLine(): void {
    if (this.lineOpen) this.style = this.lineEndStyle(this.raw.length - 1);
    this.openEndStyle = null;
    this.lineOpen = false;
    this.carriageReturn = false;
    this.droppingOpen = false;
  }
}
