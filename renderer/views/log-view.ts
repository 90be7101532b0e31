// The Job view's log: a virtual list that draws only the rows on screen from the job's JobLog, so a
// million lines fold, search and scroll as fast as a hundred. Each command is a section whose header
// (▶) folds and unfolds it and says how long it took and how it ended; lines can carry the time
// their event was logged; long lines wrap at spaces (never inside a word) or scroll sideways. The
// owner's scroll up pauses following, scrolling back to the end resumes it. Plain DOM; the React
// component only creates and disposes it. Output is text: every character is escaped, only https
// links are made, and no escape sequence of a job reaches the page.
import { formatTime } from "../../agent-core/util/date-format.js";
import { escapeHtml } from "../../agent-core/util/html.js";
import { isPlainStyle, parseLine, PLAIN_STYLE, type Segment, type Style } from "../log/ansi.js";
import { headerText, MAX_MATCHES, type CommandHeader, type JobLog, type LogMatch } from "../log/job-log.js";
import { LogLayout } from "../log/log-layout.js";
import { formatSeconds, sectionTagClass, stopWords } from "../job-format.js";
import { notifyParsed, recordParsed, setProbeTarget } from "../probe.js";
import type { LogFeed } from "../store/log-feed.js";
import { safeExternalUrl } from "../view-model.js";
import { ANSI_PALETTE, TERMINAL_THEME } from "./terminal-theme.js";
import { openExternalLink } from "./xterm-common.js";

/** One row, in CSS pixels (the stylesheet's .log-line says the same). */
export const ROW_PX = 18;
/** The tallest scroll area drawn; a longer log maps its rows onto it. Browsers cap element heights near 33 M px. */
const MAX_SCROLL_PX = 15_000_000;
/** Rows drawn past the viewport's edge (below it; above it while following), so a short scroll shows drawn rows. */
const OVERSCAN = 12;

export interface SearchResults {
  index: number;
  count: number;
  /** More matches than were counted (MAX_MATCHES). */
  capped?: boolean;
}

export interface LogViewEvents {
  followChanged(follow: boolean): void;
  searchResults(results: SearchResults | null): void;
  selectionChanged(hasSelection: boolean): void;
  /** The command whose section is at the top of the log (its position in the job), or null. */
  currentCommand?(command: number | null): void;
}

export interface LogViewOptions {
  timestamps: boolean;
  wrap: boolean;
}

const CUBE = [0, 95, 135, 175, 215, 255];
function paletteColour(n: number): string {
  if (n < 16) return `var(--ansi-${n})`;
  if (n < 232) {
    const v = n - 16;
    const hex = (x: number) => CUBE[x]!.toString(16).padStart(2, "0");
    return `#${hex(Math.floor(v / 36))}${hex(Math.floor(v / 6) % 6)}${hex(v % 6)}`;
  }
  const grey = (8 + (n - 232) * 10).toString(16).padStart(2, "0");
  return `#${grey}${grey}${grey}`;
}

function colour(c: number | string): string {
  return typeof c === "number" ? paletteColour(c) : c;
}

/** The class and style attributes of a styled run. */
function styleAttributes(style: Readonly<Style>): string {
  if (isPlainStyle(style)) return "";
  const classes: string[] = [];
  if (style.bold) classes.push("b");
  if (style.dim) classes.push("d");
  if (style.italic) classes.push("i");
  if (style.underline) classes.push("u");
  if (style.strike) classes.push("s");
  let fg = style.fg;
  let bg = style.bg;
  if (style.inverse) [fg, bg] = [bg ?? "var(--log-bg)", fg ?? "var(--log-fg)"];
  const css: string[] = [];
  if (fg !== null) css.push(`color:${colour(fg)}`);
  if (bg !== null) css.push(`background:${colour(bg)}`);
  return `${classes.length > 0 ? ` class="${classes.join(" ")}"` : ""}${css.length > 0 ? ` style="${css.join(";")}"` : ""}`;
}

const LINK = /\bhttps:\/\/[^\s"'<>`]+[^\s"'<>`.,;:!?)\]}]/g;

interface Range {
  start: number;
  end: number;
  kind: "match" | "active" | "link";
  href?: string;
}

/** Segments as HTML, with search matches marked and https links made, at offsets of the plain text. */
function segmentsHtml(segments: readonly Segment[], ranges: readonly Range[]): string {
  if (ranges.length === 0) {
    let html = "";
    for (const s of segments) {
      const attrs = styleAttributes(s.style);
      html += attrs === "" ? escapeHtml(s.text) : `<span${attrs}>${escapeHtml(s.text)}</span>`;
    }
    return html;
  }
  const cuts = new Set<number>();
  for (const r of ranges) {
    cuts.add(r.start);
    cuts.add(r.end);
  }
  let html = "";
  let offset = 0;
  for (const s of segments) {
    const attrs = styleAttributes(s.style);
    let from = 0;
    while (from < s.text.length) {
      let to = s.text.length;
      for (const c of cuts) if (c > offset + from && c < offset + to) to = c - offset;
      const at = offset + from;
      let piece = escapeHtml(s.text.slice(from, to));
      if (attrs !== "") piece = `<span${attrs}>${piece}</span>`;
      for (const r of ranges) {
        if (r.start <= at && at < r.end) {
          if (r.kind === "link") piece = `<a href="${escapeHtml(r.href!)}" target="_blank" rel="noopener noreferrer">${piece}</a>`;
          else piece = `<mark class="log-match${r.kind === "active" ? " active" : ""}">${piece}</mark>`;
        }
      }
      html += piece;
      from = to;
    }
    offset += s.text.length;
  }
  return html;
}

function linkRanges(plain: string): Range[] {
  if (plain.indexOf("https://") < 0) return [];
  const out: Range[] = [];
  for (const m of plain.matchAll(LINK)) {
    const href = safeExternalUrl(m[0]);
    if (href !== null) out.push({ start: m.index, end: m.index + m[0].length, kind: "link", href });
  }
  return out;
}

const MARKS = { ok: "✔", failed: "✘", stopped: "■", "after-stop": "■", unfinished: "■" } as const;

/** What a command's header says of its end: "✔ 3 s", "✘ exit 2 · 1 s", "■ stopped by you · 4 s", "● 12 s" while it runs. */
export function headerEnd(header: CommandHeader, nowS: number): { text: string; state: string } {
  const end = header.end;
  if (end === null) return { text: `● ${formatSeconds(Math.max(0, nowS - header.startedAt))}`, state: "running" };
  const seconds = formatSeconds(end.seconds);
  switch (end.state) {
    case "ok":
      return { text: `${MARKS.ok} ${seconds}`, state: "ok" };
    case "failed":
      return { text: `${MARKS.failed} exit ${end.exitCode} · ${seconds}`, state: "failed" };
    case "stopped":
      return { text: `${MARKS.stopped} ${stopWords(end.stoppedBy ?? "Stopped")} · ${seconds}`, state: "stopped" };
    case "after-stop":
      return { text: `${MARKS["after-stop"]} not run`, state: "stopped" };
    case "unfinished":
      return { text: `${MARKS.unfinished} did not finish · ${seconds}`, state: "stopped" };
  }
}

export class LogView {
  private readonly log: JobLog;
  private readonly layout: LogLayout;
  private readonly scroller: HTMLDivElement;
  private readonly sizer: HTMLDivElement;
  private readonly rows: HTMLDivElement;
  /** The header of the command whose output fills the top of the view, held there while its header is scrolled away. */
  private readonly sticky: HTMLDivElement;
  private readonly measure: HTMLSpanElement;
  private readonly detachFeed: () => void;
  private readonly releaseProbe: () => void;
  private readonly resizeObserver: ResizeObserver;
  private readonly cleanups: (() => void)[] = [];
  private options: LogViewOptions;
  private following = true;
  private frame = 0;
  private clock = 0;
  private charWidth = 7.8;
  /** The scrollTop this view set last: a scroll event there is not the owner's. */
  private ownScrollTop = -1;
  private query = "";
  private matches: LogMatch[] = [];
  private matchIndex = -1;
  /** log.version when `matches` were found. */
  private matchesVersion = -1;
  /** The block a jump from the command list (or Enter in the log) went to, marked until the next one. */
  private jumped = -1;
  private disposed = false;
  /** What was drawn last, to skip a frame that would draw the same. */
  private drawn = "";
  /** Where the last frame drawn was scrolled to, and its folds and options: a selection holds only while they stay. */
  private drawnScrollTop = -1;
  private drawnFolds = "";
  /** Not following: the line at the top and how far into it, and the rows there were (the capped mapping re-anchors on it). */
  private anchor: { line: number; offset: number; total: number } | null = null;
  /** The command last told as the one at the top. */
  private current: number | null | undefined = undefined;

  constructor(
    private readonly container: HTMLElement,
    private readonly feed: LogFeed,
    private readonly events: LogViewEvents,
    options: LogViewOptions,
  ) {
    this.options = { ...options };
    container.classList.add("log-view");
    // The debug shells' colours: the palette job output is drawn in.
    ANSI_PALETTE.forEach((colour, i) => container.style.setProperty(`--ansi-${i}`, colour));
    container.style.setProperty("--log-bg", TERMINAL_THEME.background);
    container.style.setProperty("--log-fg", TERMINAL_THEME.foreground);
    this.scroller = document.createElement("div");
    this.scroller.className = "log-scroll";
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "region");
    this.scroller.setAttribute("aria-label", "Job log (read-only): arrows scroll, Enter folds or unfolds the marked command (or the one at the top), Tab moves on");
    this.scroller.dataset.testid = "job-log-scroll";
    this.sizer = document.createElement("div");
    this.sizer.className = "log-sizer";
    this.rows = document.createElement("div");
    this.rows.className = "log-rows";
    this.rows.dataset.testid = "job-log-rows";
    this.sticky = document.createElement("div");
    this.sticky.className = "log-sticky";
    this.sticky.hidden = true;
    this.measure = document.createElement("span");
    this.measure.className = "log-measure";
    this.measure.textContent = "0".repeat(100);
    this.sizer.append(this.rows);
    this.scroller.append(this.sizer);
    container.append(this.scroller, this.sticky, this.measure);

    const attached = feed.attach({
      ingested: (text) => recordParsed(text),
      changed: () => this.schedule(),
    });
    this.log = attached.log;
    this.detachFeed = attached.detach;
    this.layout = new LogLayout(this.log);
    this.applyOptions();

    this.listen(this.scroller, "scroll", () => this.scrolled(), { passive: true });
    // The owner scrolling up pauses following at once: output arriving meanwhile must not pull the view back down.
    const wheel = (e: Event) => {
      // A log shorter than the view does not scroll: nothing to pause (and no scroll would resume it).
      if ((e as WheelEvent).deltaY < 0 && this.scroller.scrollHeight > this.scroller.clientHeight) this.pauseFollowing();
    };
    this.listen(this.scroller, "wheel", wheel, { passive: true });
    this.listen(this.scroller, "keydown", (e) => {
      const key = (e as KeyboardEvent).key;
      if (["ArrowUp", "PageUp", "Home"].includes(key)) this.pauseFollowing();
      // Enter or Space folds or unfolds the marked command (the last one jumped to) or the one at the top.
      if ((key === "Enter" || key === " ") && (e.target as Element).closest("a") === null && this.toggleAtTop()) e.preventDefault();
    });
    this.listen(this.scroller, "pointerdown", (e) => {
      // On the scrollbar (the scroller itself, not a row): a drag is coming.
      if (e.target === this.scroller) this.pauseFollowing();
    });
    this.listen(this.rows, "click", (e) => this.clicked(e as MouseEvent, false));
    this.listen(this.sticky, "click", (e) => this.clicked(e as MouseEvent, true));
    this.listen(document, "selectionchange", () => {
      const selected = this.selection() !== "";
      // Text being selected holds still: following stops, and the rows are not redrawn under it.
      if (selected) this.pauseFollowing();
      this.events.selectionChanged(selected);
      this.schedule();
    });
    this.resizeObserver = new ResizeObserver(() => {
      this.measureFont();
      this.applyWrapWidth();
      this.schedule();
    });
    this.resizeObserver.observe(this.scroller);
    this.releaseProbe = setProbeTarget({ text: () => this.text(), writesPending: () => feed.stats().writesPending });
    this.measureFont();
    this.applyWrapWidth();
    this.clock = window.setInterval(() => {
      // A running command's header counts its seconds.
      if (this.log.ended === null && this.log.blocks.length > 0) this.schedule(true);
    }, 1000);
    this.draw();
  }

  get follow(): boolean {
    return this.following;
  }

  setFollow(follow: boolean): void {
    if (follow === this.following) return;
    // Back to the end: a selection in the rows no longer holds them.
    if (follow && this.selection() !== "") document.getSelection()?.removeAllRanges();
    this.following = follow;
    this.events.followChanged(follow);
    this.schedule();
  }

  setOptions(options: Partial<LogViewOptions>): void {
    const anchor = this.topLine();
    this.options = { ...this.options, ...options };
    this.applyOptions();
    this.applyWrapWidth();
    if (!this.following) this.scrollToRow(this.layout.rowOfLine(anchor));
    this.schedule();
  }

  /** Folds (true) or unfolds every command. */
  setAllFolded(folded: boolean): void {
    const anchor = this.topLine();
    this.log.setAllFolded(folded);
    if (!this.following) this.scrollToRow(this.layout.rowOfLine(anchor));
    this.schedule();
  }

  /** Opens the job's `command`-th command and shows its header at the top. False when the log has not got it. */
  jumpToCommand(command: number): boolean {
    const block = this.log.blockOfCommand(command);
    if (block < 0) return false;
    this.log.setFolded(block, false);
    this.jumped = block;
    this.pauseFollowing();
    this.scrollToRow(this.layout.rowOfLine(this.log.blocks[block]!.first));
    this.schedule();
    return true;
  }

  findNext(query: string, incremental = false): boolean {
    return this.find(query, incremental ? "here" : "next");
  }

  findPrevious(query: string): boolean {
    return this.find(query, "previous");
  }

  clearSearch(): void {
    this.query = "";
    this.matches = [];
    this.matchIndex = -1;
    this.events.searchResults(null);
    this.schedule();
  }

  /** The selection in the log, or the whole log when nothing is selected. */
  copyText(): string {
    const selected = this.selection();
    return selected !== "" ? selected : this.text();
  }

  /** The whole log as plain text, folded commands included. */
  text(): string {
    return this.log.text();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.detachFeed();
    this.releaseProbe();
    this.resizeObserver.disconnect();
    cancelAnimationFrame(this.frame);
    clearInterval(this.clock);
    for (const cleanup of this.cleanups) cleanup();
    this.scroller.remove();
    this.sticky.remove();
    this.measure.remove();
    this.container.classList.remove("log-view");
  }

  // ------------------------------------------------------------------------------------------

  private listen(target: EventTarget, type: string, handler: (e: Event) => void, options?: AddEventListenerOptions): void {
    target.addEventListener(type, handler, options);
    this.cleanups.push(() => target.removeEventListener(type, handler, options));
  }

  private applyOptions(): void {
    this.rows.classList.toggle("wrap", this.options.wrap);
    this.rows.classList.toggle("with-time", this.options.timestamps);
    this.container.dataset.wrap = String(this.options.wrap);
    this.container.dataset.timestamps = String(this.options.timestamps);
  }

  private measureFont(): void {
    const width = this.measure.getBoundingClientRect().width / 100;
    if (width > 0) this.charWidth = width;
  }

  /** Wrapping: how many characters fit beside the gutter. */
  private applyWrapWidth(): void {
    if (!this.options.wrap) {
      this.layout.setWrap(null);
      return;
    }
    const style = getComputedStyle(this.rows);
    const padding = Number.parseFloat(style.paddingLeft) + Number.parseFloat(style.paddingRight);
    const gutter = this.options.timestamps ? 10 * this.charWidth : 0;
    const width = this.scroller.clientWidth - padding - gutter - 2;
    this.layout.setWrap(Math.max(8, Math.floor(width / this.charWidth)));
  }

  private schedule(force = false): void {
    if (force) this.drawn = "";
    if (this.frame !== 0 || this.disposed) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (!this.disposed) this.draw();
    });
  }

  private sizes(): { total: number; viewRows: number; heightPx: number; scale: boolean } {
    // The note that lines were not kept is one more row at the end.
    const total = this.layout.totalRows + (this.log.droppedLines > 0 ? 1 : 0);
    const viewRows = Math.max(1, this.scroller.clientHeight / ROW_PX);
    const full = total * ROW_PX;
    return { total, viewRows, heightPx: Math.min(full, MAX_SCROLL_PX), scale: full > MAX_SCROLL_PX };
  }

  /** The visible row (fractional) at the top of the viewport. */
  private topRow(): number {
    const { total, viewRows, heightPx, scale } = this.sizes();
    const top = this.scroller.scrollTop;
    if (!scale) return top / ROW_PX;
    const range = heightPx - this.scroller.clientHeight;
    return range <= 0 ? 0 : (top / range) * Math.max(0, total - viewRows);
  }

  private topLine(): number {
    return this.layout.lineAtRow(this.topRow()).line;
  }

  private scrollToRow(row: number): void {
    const { total, viewRows, heightPx, scale } = this.sizes();
    this.sizer.style.height = `${heightPx}px`;
    const range = heightPx - this.scroller.clientHeight;
    const top = scale ? (Math.max(0, total - viewRows) > 0 ? (row / Math.max(1, total - viewRows)) * range : 0) : row * ROW_PX;
    this.setScrollTop(Math.max(0, Math.min(top, Math.max(0, range))));
  }

  private setScrollTop(top: number): void {
    this.scroller.scrollTop = top;
    this.ownScrollTop = this.scroller.scrollTop;
  }

  private pauseFollowing(): void {
    if (!this.following) return;
    this.following = false;
    this.events.followChanged(false);
  }

  private scrolled(): void {
    if (this.scroller.scrollTop === this.ownScrollTop) {
      this.schedule();
      return;
    }
    this.ownScrollTop = -1;
    const atEnd = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - 2;
    // The owner reads inside the command that runs: it does not fold under them when it passes.
    if (!atEnd && this.log.lineCount > 0) this.log.keepOpen(this.log.blockOf(this.topLine()));
    if (this.following !== atEnd) {
      this.following = atEnd;
      this.events.followChanged(atEnd);
    }
    this.schedule();
  }

  private clicked(event: MouseEvent, sticky: boolean): void {
    const target = event.target as HTMLElement;
    const link = target.closest("a");
    if (link !== null) {
      // Links open outside the app, as the debug shells' do.
      event.preventDefault();
      openExternalLink(link.href);
      return;
    }
    const head = target.closest<HTMLElement>(".log-head");
    if (head === null || this.selection() !== "") return;
    const block = Number(head.dataset.block);
    if (!Number.isInteger(block)) return;
    const anchorRow = this.layout.rowOfLine(this.log.blocks[block]!.first);
    // The header stays where it was under the pointer (the held header: where the command starts).
    const offset = sticky ? 0 : anchorRow - this.topRow();
    this.log.toggle(block);
    if (!this.following || this.log.blocks[block]!.folded) {
      this.pauseFollowing();
      this.scrollToRow(this.layout.rowOfLine(this.log.blocks[block]!.first) - offset);
    }
    this.schedule();
  }

  /**
   * Folds or unfolds, from the keyboard, the command marked by the last jump or key (while its header
   * is on screen), else the one at the top of the view; it is marked from then on. False when there is none.
   */
  private toggleAtTop(): boolean {
    if (this.log.lineCount === 0) return false;
    const index = this.markedOnScreen() ? this.jumped : this.log.blockOf(this.topLine());
    const block = this.log.blocks[index];
    if (block?.header == null) return false;
    this.log.toggle(index);
    this.jumped = index;
    this.pauseFollowing();
    this.scrollToRow(this.layout.rowOfLine(block.first));
    this.schedule();
    return true;
  }

  /** The block marked by a jump or Enter has its header drawn now. */
  private markedOnScreen(): boolean {
    return this.jumped >= 0 && this.rows.querySelector(`.log-head[data-block="${this.jumped}"]`) !== null;
  }

  private selection(): string {
    const selection = document.getSelection();
    if (selection === null || selection.rangeCount === 0 || selection.isCollapsed) return "";
    const node = selection.anchorNode;
    if (node === null || !this.rows.contains(node)) return "";
    return selection.toString();
  }

  private find(query: string, where: "here" | "next" | "previous"): boolean {
    if (query === "") {
      this.clearSearch();
      return false;
    }
    const stale = query !== this.query || this.matchesVersion !== this.log.version;
    const current = this.matches[this.matchIndex];
    if (stale) {
      this.matches = this.log.search(query);
      this.matchesVersion = this.log.version;
      this.query = query;
    }
    const matches = this.matches;
    if (matches.length === 0) {
      this.matchIndex = -1;
      this.events.searchResults({ index: -1, count: 0 });
      this.schedule(true);
      return false;
    }
    const count = matches.length;
    if (where === "here") {
      const top = this.topLine();
      const i = matches.findIndex((m) => m.line >= top);
      this.matchIndex = i < 0 ? 0 : i;
    } else if (stale && current !== undefined) {
      // Searched again (the log grew): go on from where the current match is in the new list.
      const i = matches.findIndex((m) => m.line > current.line || (m.line === current.line && m.start >= current.start));
      const at = i < 0 ? count : i;
      const same = at < count && matches[at]!.line === current.line && matches[at]!.start === current.start;
      this.matchIndex = where === "next" ? (same ? at + 1 : at) % count : (at - 1 + count) % count;
    } else if (where === "next") {
      this.matchIndex = this.matchIndex < 0 ? 0 : (this.matchIndex + 1) % matches.length;
    } else {
      this.matchIndex = this.matchIndex < 0 ? matches.length - 1 : (this.matchIndex - 1 + matches.length) % matches.length;
    }
    const match = matches[this.matchIndex]!;
    this.log.reveal(match.line);
    this.pauseFollowing();
    const row = this.layout.rowOfLine(match.line);
    const { viewRows } = this.sizes();
    const top = this.topRow();
    if (row < top || row >= top + viewRows - 1) this.scrollToRow(Math.max(0, row - Math.floor(viewRows / 3)));
    this.events.searchResults({ index: this.matchIndex, count: matches.length, capped: matches.length >= MAX_MATCHES });
    this.schedule(true);
    return true;
  }

  /** Matches on line `line`, as ranges of its plain text. */
  private matchRanges(line: number): Range[] {
    const matches = this.matches;
    if (matches.length === 0) return [];
    // The line still being written may have changed since the search (a \r rewrote it): its matches are not shown.
    if (this.matchesVersion !== this.log.version && line === this.log.lineCount - 1) return [];
    let lo = 0;
    let hi = matches.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (matches[mid]!.line < line) lo = mid + 1;
      else hi = mid;
    }
    const out: Range[] = [];
    for (let i = lo; i < matches.length && matches[i]!.line === line; i++) {
      const m = matches[i]!;
      out.push({ start: m.start, end: m.start + m.length, kind: i === this.matchIndex ? "active" : "match" });
    }
    return out;
  }

  /** The next line shown after `line` (past a folded command's body), or -1. */
  private nextShown(line: number): number {
    const log = this.log;
    const index = log.blockOf(line);
    const block = log.blocks[index]!;
    if (!block.folded && line + 1 < block.end) return line + 1;
    for (let b = index + 1; b < log.blocks.length; b++) {
      const next = log.blocks[b]!;
      if (next.end > next.first) return next.first;
    }
    return -1;
  }

  private draw(): void {
    const log = this.log;
    // Text selected in the rows holds them still: the job's new lines, a header's clock and the
    // scroll height wait until the selection is gone. A scroll or a fold by the owner redraws.
    const folds = `${log.foldVersion}/${this.options.wrap}/${this.options.timestamps}/${this.matchIndex}/${this.query}/${this.jumped}`;
    if (this.scroller.scrollTop === this.drawnScrollTop && folds === this.drawnFolds && this.selection() !== "") {
      notifyParsed();
      return;
    }
    const { total, viewRows, heightPx, scale } = this.sizes();
    this.sizer.style.height = `${heightPx}px`;
    if (this.following) {
      this.setScrollTop(Math.max(0, heightPx - this.scroller.clientHeight));
    } else if (scale && this.anchor !== null && this.anchor.total !== total) {
      // Rows map onto a capped height: new rows would move the text under a reader. Hold the line at the top.
      this.scrollToRow(this.layout.rowOfLine(this.anchor.line) + this.anchor.offset);
    }
    const top = this.topRow();
    const topInt = Math.floor(top);
    const at = this.layout.lineAtRow(topInt);
    const startRow = Math.max(0, topInt - at.row);
    this.anchor = this.following ? null : { line: at.line, offset: top - startRow, total };
    // Following a log taller than the view, the rows are drawn from the end up with the last at the
    // bottom: a line that wraps onto more rows than counted cannot push the end out of view. Else
    // from the line at the top down (a short log starts at the top, whatever the count of its rows).
    const fromEnd = this.following && heightPx > this.scroller.clientHeight;
    const key = `${fromEnd ? "end" : at.line}/${folds}/${this.layout.wrapCols}/${log.version}/${total}`;
    this.rows.classList.toggle("from-end", fromEnd);
    this.rows.style.transform = fromEnd ? "" : `translateY(${Math.round(this.scroller.scrollTop - (top - startRow) * ROW_PX)}px)`;
    this.container.dataset.lines = String(log.lineCount);
    this.container.dataset.rows = String(Math.floor(viewRows));
    this.container.dataset.cols = String(this.layout.wrapCols ?? Math.floor(this.scroller.clientWidth / this.charWidth));
    if (key !== this.drawn) {
      this.drawn = key;
      const wanted = Math.ceil(viewRows) + OVERSCAN;
      this.rows.innerHTML = fromEnd ? this.rowsHtml(this.firstOfLast(wanted), Infinity) : this.rowsHtml(at.line, wanted + at.row);
      this.drawSticky(at.line, at.row, top - topInt);
    }
    // The command marked by a jump (or Enter) while its header is on screen, else the one at the top.
    const marked = this.markedOnScreen() ? log.blocks[this.jumped] : undefined;
    const command = log.lineCount === 0 ? null : ((marked ?? log.blocks[log.blockOf(at.line)])?.header?.command ?? null);
    if (command !== this.current) {
      this.current = command;
      this.events.currentCommand?.(command);
    }
    this.drawnScrollTop = this.scroller.scrollTop;
    this.drawnFolds = folds;
    notifyParsed();
  }

  /** The first of the last shown lines that fill `rows` rows. */
  private firstOfLast(rows: number): number {
    let line = this.lastShownBefore(this.log.blocks.length);
    if (line < 0) return 0;
    let counted = this.layout.rowsOf(line);
    while (counted < rows) {
      const previous = this.previousShown(line);
      if (previous < 0) break;
      line = previous;
      counted += this.layout.rowsOf(line);
    }
    return line;
  }

  /** The line shown before `line` (a folded command shows its header alone), or -1. */
  private previousShown(line: number): number {
    const log = this.log;
    const index = log.blockOf(line);
    const block = log.blocks[index]!;
    if (line > block.first && !block.folded) return line - 1;
    return this.lastShownBefore(index);
  }

  /** The last line shown by the blocks before block `index` (a folded one shows its header), or -1. */
  private lastShownBefore(index: number): number {
    for (let b = index - 1; b >= 0; b--) {
      const block = this.log.blocks[b]!;
      if (block.end > block.first) return block.folded ? block.first : block.end - 1;
    }
    return -1;
  }

  /** Holds the header of the command at the top while its output scrolls under it. */
  private drawSticky(line: number, row: number, fraction: number): void {
    const log = this.log;
    const index = log.lineCount === 0 ? -1 : log.blockOf(line);
    const block = log.blocks[index];
    const held = block !== undefined && block.header !== null && !block.folded && (line > block.first || row > 0 || fraction > 0.05);
    this.sticky.hidden = !held;
    if (!held) {
      this.sticky.innerHTML = "";
      return;
    }
    this.sticky.innerHTML = this.lineHtml(block.first, Date.now() / 1000).replace('data-testid="job-log-section"', 'data-testid="job-log-sticky"');
  }

  private rowsHtml(first: number, rowsWanted: number): string {
    const log = this.log;
    if (log.lineCount === 0) return "";
    const nowS = Date.now() / 1000;
    let html = "";
    let rows = 0;
    let line = first;
    for (; line >= 0 && rows < rowsWanted; line = this.nextShown(line)) {
      html += this.lineHtml(line, nowS);
      rows += this.layout.rowsOf(line);
    }
    const dropped = log.droppedNote();
    if (line < 0 && dropped !== null) html += `<div class="log-line log-meta log-dropped">${escapeHtml(dropped)}</div>`;
    return html;
  }

  private timeHtml(line: number): string {
    if (!this.options.timestamps) return "";
    const t = this.log.time(line);
    return `<span class="log-time" aria-hidden="true">${t > 0 ? formatTime(t * 1000) : ""}</span>`;
  }

  private lineHtml(line: number, nowS: number): string {
    const log = this.log;
    const kind = log.kind(line);
    if (kind === "header") {
      const index = log.blockOf(line);
      const block = log.blocks[index]!;
      const header = block.header!;
      const end = headerEnd(header, nowS);
      const plain = headerText(header);
      const dirStart = 2;
      const firstLine = header.directive.split("\n", 1)[0]!;
      const more = firstLine.length < header.directive.length ? " …" : "";
      const ranges = this.matchRanges(line)
        .filter((r) => r.start < dirStart + firstLine.length && r.end > dirStart)
        .map((r) => ({ ...r, start: Math.max(0, r.start - dirStart), end: Math.min(firstLine.length, r.end - dirStart) }));
      const tag = header.section.tag;
      const tagClass = sectionTagClass(header.section.kind);
      const classes = `log-line log-head ${end.state}${block.folded ? " folded" : ""}${index === this.jumped ? " jumped" : ""}`;
      return (
        `<div class="${classes}" data-line="${line}" data-block="${index}" data-command="${header.command}" data-state="${end.state}" data-folded="${block.folded}" data-testid="job-log-section" title="${escapeHtml(plain)}">` +
        this.timeHtml(line) +
        `<span class="log-fold" aria-hidden="true">${block.folded ? "▶" : "▼"}</span>` +
        `<span class="log-dir">${segmentsHtml([{ text: firstLine, style: PLAIN_STYLE }], ranges)}${more}</span>` +
        (tag !== null ? `<span class="log-tag${tagClass === null ? "" : ` ${tagClass}`}">${escapeHtml(tag)}</span>` : "") +
        `<span class="log-end" data-testid="job-log-section-end">${escapeHtml(end.text)}</span>` +
        `</div>`
      );
    }
    const raw = log.rawLine(line);
    const plain = log.plainLine(line);
    // A line without escapes is its own plain text, all in the style it starts in.
    const segments: readonly Segment[] = plain === raw ? [{ text: raw, style: log.startStyle(line) }] : parseLine(raw, log.startStyle(line)).segments;
    const ranges = [...linkRanges(plain), ...this.matchRanges(line)];
    const cut = log.cutChars(line);
    return (
      `<div class="log-line${kind === "meta" ? " log-meta" : ""}" data-line="${line}">` +
      this.timeHtml(line) +
      `<span class="log-text">${segmentsHtml(segments, ranges)}${cut > 0 ? `<span class="d"> … ${cut} more characters</span>` : ""}</span>` +
      `</div>`
    );
  }
}
