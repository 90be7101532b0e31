// The Job view's xterm: addons, sizing, follow/pause, search and copy, fed by a TerminalFeed with
// flow control. Plain DOM and xterm; the React component only creates and disposes it.
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon, type ISearchOptions } from "@xterm/addon-search";
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import { Terminal, type IDisposable } from "@xterm/xterm";
import { notifyParsed, recordParsed, setProbeTarget } from "../probe.js";
import type { TerminalFeed } from "../store/terminal-feed.js";
import { safeExternalUrl } from "../view-model.js";
import { TerminalTextReader } from "./terminal-text.js";

export const TERMINAL_SCROLLBACK = 10_000;

const THEME = {
  background: "#0c0f13",
  foreground: "#d6dbe1",
  cursor: "#0c0f13",
  cursorAccent: "#0c0f13",
  selectionBackground: "#2f4a6b",
  selectionInactiveBackground: "#26384f",
  scrollbarSliderBackground: "rgba(120, 135, 150, 0.25)",
  scrollbarSliderHoverBackground: "rgba(120, 135, 150, 0.4)",
  scrollbarSliderActiveBackground: "rgba(120, 135, 150, 0.5)",
  black: "#2a3039",
  red: "#f47067",
  green: "#57c28a",
  yellow: "#e3b341",
  blue: "#6cb6ff",
  magenta: "#dcbdfb",
  cyan: "#56d4dd",
  white: "#c9d1d9",
  brightBlack: "#6e7781",
  brightRed: "#ff938a",
  brightGreen: "#7ee2a8",
  brightYellow: "#f2cc60",
  brightBlue: "#96d0ff",
  brightMagenta: "#eedcff",
  brightCyan: "#8ce9ee",
  brightWhite: "#f0f3f6",
};

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

/** A link from the log: https only; Electron's main process routes window.open, a browser opens a new tab. */
export function openExternalLink(uri: string): void {
  const url = safeExternalUrl(uri);
  if (url !== null) window.open(url, "_blank", "noopener,noreferrer");
}

let softwareWebglCache: boolean | null = null;

/** Whether WebGL here is emulated on the CPU. Asked once, on a throwaway canvas. */
function softwareWebgl(): boolean {
  if (softwareWebglCache !== null) return softwareWebglCache;
  let software = false;
  try {
    const gl = document.createElement("canvas").getContext("webgl2");
    if (gl === null) {
      software = true; // no WebGL2 at all: the addon would fail anyway
    } else {
      const info = gl.getExtension("WEBGL_debug_renderer_info");
      const renderer = String(gl.getParameter(info !== null ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      software = /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
      gl.getExtension("WEBGL_lose_context")?.loseContext();
    }
  } catch {
    software = true;
  }
  softwareWebglCache = software;
  return software;
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
  private fitFrame = 0;
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
      convertEol: true,
      scrollback: TERMINAL_SCROLLBACK,
      disableStdin: true,
      cursorBlink: false,
      cursorStyle: "bar",
      cursorWidth: 1,
      cursorInactiveStyle: "none",
      fontFamily: 'ui-monospace, "SF Mono", SFMono-Regular, Menlo, Consolas, "Cascadia Mono", "DejaVu Sans Mono", "Liberation Mono", "Ubuntu Mono", monospace',
      fontSize: 13,
      lineHeight: 1.25,
      allowProposedApi: true,
      theme: THEME,
      drawBoldTextInBrightColors: false,
      minimumContrastRatio: 1,
      // No overviewRuler: its renderer reads the layout on every frame, a tenth of the time of a flood.
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon((event, uri) => {
      event.preventDefault();
      openExternalLink(uri);
    }));
    this.term.open(container);
    this.textReader = new TerminalTextReader(this.term);
    this.loadWebgl();
    container.dataset.renderer = this.renderer;
    this.refit();

    this.disposables.push(
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
    cancelAnimationFrame(this.fitFrame);
    cancelAnimationFrame(this.scrollCheckFrame);
    for (const d of this.disposables) d.dispose();
    this.textReader.dispose();
    this.term.dispose();
  }

  private loadWebgl(): void {
    // WebGL drawn by the CPU (SwiftShader, llvmpipe: no GPU, remote desktops, headless) is several
    // times slower than xterm's DOM renderer, so it only pays with a real GPU.
    if (softwareWebgl()) return;
    try {
      const webgl = new WebglAddon();
      this.disposables.push(
        webgl.onContextLoss(() => {
          // The GPU went away (driver reset, sleep): the DOM renderer takes over.
          webgl.dispose();
          if (this.webgl === webgl) this.webgl = null;
          this.container.dataset.renderer = this.renderer;
        }),
      );
      this.term.loadAddon(webgl);
      this.webgl = webgl;
    } catch {
      this.webgl = null; // No WebGL2 here: xterm keeps its DOM renderer.
    }
  }

  private scheduleFit(): void {
    if (this.fitFrame !== 0 || this.disposed) return;
    this.fitFrame = requestAnimationFrame(() => {
      this.fitFrame = 0;
      this.refit();
    });
  }

  private refit(): void {
    if (this.disposed || this.container.clientWidth === 0 || this.container.clientHeight === 0) return;
    try {
      this.fit.fit();
    } catch {
      // Not measurable yet (hidden); the next resize fits it.
    }
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
