// The Job view's xterm: addons, sizing, follow/pause, search and copy, fed by a TerminalFeed with
// flow control. Plain DOM and xterm; the React component only creates and disposes it.
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon, type ISearchOptions } from "@xterm/addon-search";
import type { WebglAddon } from "@xterm/addon-webgl";
import { Terminal, type IDisposable } from "@xterm/xterm";
import { notifyParsed, recordParsed, setProbeTarget } from "../probe.js";
import type { TerminalFeed } from "../store/terminal-feed.js";
import { TerminalTextReader } from "./terminal-text.js";
import { fitToContainer, FrameCoalescer, loadWebglRenderer, TERMINAL_BASE_OPTIONS, webLinksAddon } from "./xterm-common.js";

export const TERMINAL_SCROLLBACK = 10_000;

const SEARCH_DECORATIONS: ISearchOptions["decorations"] = {
  matchBackground: "#3a4a2a",
  matchBorder: "#6b8e3a",
  matchOverviewRuler: "#8fbf4a",
  activeMatchBackground: "#8a6d1f",
  activeMatchBorder: "#e3b341",
  activeMatchColorOverviewRuler: "#e3b341",
};

export interface SearchResults {
  index: number;
  count: number;
}

export interface JobTerminalEvents {
  followChanged(follow: boolean): void;
  searchResults(results: SearchResults | null): void;
  selectionChanged(hasSelection: boolean): void;
}

export class JobTerminal {
  private readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly search = new SearchAddon({ highlightLimit: 2000 });
  private readonly disposables: IDisposable[] = [];
  private readonly resizeObserver: ResizeObserver;
  private readonly detachFeed: () => void;
  private readonly releaseProbe: () => void;
  private readonly textReader: TerminalTextReader;
  private webgl: WebglAddon | null = null;
  private readonly fitSoon = new FrameCoalescer(() => this.refit());
  private following = true;
  /** The viewport row to hold once output arrives after follow was paused at the bottom. */
  private pinnedRow: number | null = null;
  private scrollCheckFrame = 0;
  private disposed = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly feed: TerminalFeed,
    private readonly events: JobTerminalEvents,
  ) {
    this.term = new Terminal({
      ...TERMINAL_BASE_OPTIONS,
      convertEol: true,
      scrollback: TERMINAL_SCROLLBACK,
      disableStdin: true,
      cursorBlink: false,
      cursorStyle: "bar",
      cursorWidth: 1,
      cursorInactiveStyle: "none",
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(this.search);
    this.term.loadAddon(webLinksAddon());
    this.term.open(container);
    // Read-only: Tab and Shift+Tab are the page's (xterm would keep the focus and send a tab nowhere).
    this.term.attachCustomKeyEventHandler((e) => e.key !== "Tab");
    this.term.textarea?.setAttribute("aria-label", "Job log (read-only): Tab moves on");
    this.textReader = new TerminalTextReader(this.term);
    this.loadWebgl();
    container.dataset.renderer = this.renderer;
    this.refit();

    const size = () => {
      container.dataset.cols = String(this.term.cols);
      container.dataset.rows = String(this.term.rows);
    };
    size();
    this.disposables.push(
      this.term.onResize(size),
      this.term.onWriteParsed(() => this.parsed()),
      this.term.onSelectionChange(() => this.events.selectionChanged(this.term.hasSelection())),
      this.search.onDidChangeResults((r) => this.events.searchResults(r.resultCount > 0 ? { index: r.resultIndex, count: r.resultCount } : { index: -1, count: 0 })),
    );
    // Output scrolls the terminal once per line, so its onScroll says nothing about the user; their
    // wheel, keys and scrollbar drags do. Each is looked at once xterm has moved the view.
    const userInput = (event: Event) => {
      if (event.type === "pointermove" && (event as PointerEvent).buttons === 0) return;
      this.checkUserScrollSoon();
    };
    const inputs = ["wheel", "keydown", "pointermove"] as const;
    for (const type of inputs) container.addEventListener(type, userInput, { passive: true, capture: true });
    this.disposables.push({
      dispose: () => {
        for (const type of inputs) container.removeEventListener(type, userInput, { capture: true });
      },
    });

    this.resizeObserver = new ResizeObserver(() => this.scheduleFit());
    this.resizeObserver.observe(container);

    this.releaseProbe = setProbeTarget({ text: () => this.text(), writesPending: () => feed.stats().writesPending });
    this.detachFeed = feed.attach({
      write: (data, done) =>
        this.term.write(data, () => {
          recordParsed(data);
          done();
        }),
    });
  }

  get follow(): boolean {
    return this.following;
  }

  /** "webgl" or "dom": which renderer draws the log. */
  get renderer(): "webgl" | "dom" {
    return this.webgl !== null ? "webgl" : "dom";
  }

  setFollow(follow: boolean): void {
    if (follow === this.following) return;
    this.following = follow;
    const buffer = this.term.buffer.active;
    if (follow) {
      this.pinnedRow = null;
      this.term.scrollToBottom();
    } else {
      this.pinnedRow = buffer.viewportY >= buffer.baseY ? buffer.viewportY : null;
    }
    this.events.followChanged(follow);
  }

  findNext(query: string, incremental = false): boolean {
    if (query === "") {
      this.clearSearch();
      return false;
    }
    const found = this.search.findNext(query, { decorations: SEARCH_DECORATIONS, incremental });
    this.checkUserScrollSoon();
    return found;
  }

  findPrevious(query: string): boolean {
    if (query === "") return false;
    const found = this.search.findPrevious(query, { decorations: SEARCH_DECORATIONS });
    this.checkUserScrollSoon();
    return found;
  }

  clearSearch(): void {
    this.search.clearDecorations();
    this.events.searchResults(null);
  }

  /** The selection, or the whole log the terminal holds when nothing is selected. */
  copyText(): string {
    return this.term.hasSelection() ? this.term.getSelection() : this.text();
  }

  /** The whole buffer: wrapped rows joined back into their line, trailing spaces and empty rows trimmed. */
  text(): string {
    return this.textReader.text();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.detachFeed();
    this.releaseProbe();
    this.resizeObserver.disconnect();
    this.fitSoon.cancel();
    cancelAnimationFrame(this.scrollCheckFrame);
    for (const d of this.disposables) d.dispose();
    this.textReader.dispose();
    this.term.dispose();
  }

  private loadWebgl(): void {
    this.webgl = loadWebglRenderer(this.term, this.disposables, () => {
      this.webgl = null;
      this.container.dataset.renderer = this.renderer;
    });
  }

  private scheduleFit(): void {
    if (!this.disposed) this.fitSoon.request();
  }

  private refit(): void {
    if (this.disposed) return;
    fitToContainer(this.fit, this.container);
    if (this.following) this.term.scrollToBottom();
  }

  private parsed(): void {
    if (!this.following && this.pinnedRow !== null) {
      const buffer = this.term.buffer.active;
      const delta = this.pinnedRow - buffer.viewportY;
      if (delta < 0) {
        // xterm scrolled with the output; a scroll up makes it hold the view from now on.
        this.pinnedRow = null;
        this.term.scrollLines(delta);
      }
    }
    notifyParsed();
  }

  private checkUserScrollSoon(): void {
    if (this.scrollCheckFrame !== 0 || this.disposed) return;
    this.scrollCheckFrame = requestAnimationFrame(() => {
      this.scrollCheckFrame = 0;
      if (!this.disposed) this.userScrolled();
    });
  }

  /** Scrolling up pauses following; scrolling back to the end resumes it. */
  private userScrolled(): void {
    const buffer = this.term.buffer.active;
    const atBottom = buffer.viewportY >= buffer.baseY;
    if (this.following && !atBottom) {
      this.following = false;
      this.pinnedRow = null;
      this.events.followChanged(false);
    } else if (!this.following && atBottom) {
      this.following = true;
      this.pinnedRow = null;
      this.events.followChanged(true);
    }
  }
}
