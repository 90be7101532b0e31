// A debug shell's xterm: created the first time its tab is shown, then kept (with its scrollback) in a
// registry until the terminal is closed, so switching views or tabs only moves its element in and out
// of the page. It writes the session's output with xterm's write callback (the acknowledgements go
// out once parsed), sends keystrokes, fits its container and tells the host its size. Copy:
// Ctrl+Shift+C (Cmd+C on a Mac); paste: Ctrl+Shift+V through the Clipboard API, and the browser's own
// paste (Cmd+V, Shift+Insert, the context menu), which xterm handles itself.
import { FitAddon } from "@xterm/addon-fit";
import type { WebglAddon } from "@xterm/addon-webgl";
import { Terminal, type IDisposable } from "@xterm/xterm";
import { setDebugProbeSource } from "../probe.js";
import { panelTerminalsFor, type DebugSession, type DebugStore } from "../store/debug-terminals.js";
import { copyToClipboard } from "./clipboard.js";
import { TerminalTextReader } from "./terminal-text.js";
import { TERMINAL_THEME } from "./terminal-theme.js";
import { fitToContainer, FrameCoalescer, loadWebglRenderer, TERMINAL_BASE_OPTIONS, webLinksAddon } from "./xterm-common.js";

export const DEBUG_SCROLLBACK = 5_000;

export const IS_MAC = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** The panel's hint that says how the keyboard leaves the shell (the terminal's input points at it). */
export const DEBUG_ESCAPE_HINT_ID = "debug-escape-hint";
/** Esc, then Tab within this long (and no other key between), moves the focus out of the shell. */
export const ESCAPE_TAB_WINDOW_MS = 2000;

const MODIFIER_KEYS = new Set(["Shift", "Control", "Alt", "Meta", "CapsLock"]);

/** What the panel hears from a terminal. */
export interface DebugXtermEvents {
  /** Something was copied (true) or could not be (false). */
  copied(ok: boolean): void;
  /** Ctrl+Shift+V could not read the clipboard: the browser's own paste is used from now on. */
  pasteRefused(): void;
}

type ClipboardRead = "unknown" | "allowed" | "denied";
let clipboardRead: ClipboardRead = "unknown";
let clipboardAsked = false;

/** Whether the page may read the clipboard (Electron refuses unless allowed; a browser may ask). Asked once. */
function askClipboardRead(): void {
  if (clipboardAsked) return;
  clipboardAsked = true;
  try {
    void navigator.permissions
      ?.query({ name: "clipboard-read" as PermissionName })
      .then((status) => {
        if (status.state === "denied") clipboardRead = "denied";
        else if (clipboardRead === "unknown") clipboardRead = "allowed";
      })
      .catch(() => {});
  } catch {
    // No such permission name here (Firefox): readText will tell.
  }
}

function isCopyKey(e: KeyboardEvent): boolean {
  const c = e.code === "KeyC" || e.key.toLowerCase() === "c";
  if (IS_MAC && e.metaKey && !e.ctrlKey && !e.altKey && c) return true;
  return e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey && c;
}

function isPasteKey(e: KeyboardEvent): boolean {
  const v = e.code === "KeyV" || e.key.toLowerCase() === "v";
  return e.ctrlKey && e.shiftKey && !e.altKey && !e.metaKey && v;
}

export class DebugXterm {
  /** Our own element around xterm's, moved between containers as the panel comes and goes. */
  readonly element: HTMLDivElement;
  private readonly term: Terminal;
  private readonly fit = new FitAddon();
  private readonly disposables: IDisposable[] = [];
  private readonly textReader: TerminalTextReader;
  private webgl: WebglAddon | null = null;
  private container: HTMLElement | null = null;
  private resizeObserver: ResizeObserver | null = null;
  private readonly fitSoon = new FrameCoalescer(() => this.refit());
  private disposed = false;
  /** When Esc was pressed, if the next key may still be the Tab that leaves the shell (0: not). */
  private escapeAt = 0;
  events: DebugXtermEvents | null = null;

  constructor(
    container: HTMLElement,
    private readonly session: DebugSession,
    private readonly noteSize: (cols: number, rows: number) => void,
  ) {
    askClipboardRead();
    this.element = document.createElement("div");
    this.element.className = "debug-xterm";
    this.term = new Terminal({
      ...TERMINAL_BASE_OPTIONS,
      theme: { ...TERMINAL_THEME, cursor: "#d6dbe1", cursorAccent: "#0c0f13" },
      cols: session.info.cols,
      rows: session.info.rows,
      scrollback: DEBUG_SCROLLBACK,
      cursorBlink: true,
      cursorStyle: "block",
      cursorInactiveStyle: "outline",
      macOptionIsMeta: true,
      rightClickSelectsWord: true,
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(webLinksAddon());
    // xterm measures its font when opened, so it opens in the page: in the first container.
    this.attachTo(container);
    this.term.open(this.element);
    this.textReader = new TerminalTextReader(this.term);
    this.webgl = loadWebglRenderer(this.term, this.disposables, () => {
      this.webgl = null;
      this.element.dataset.renderer = this.renderer;
    });
    this.element.dataset.renderer = this.renderer;
    this.term.attachCustomKeyEventHandler((e) => this.onKey(e));
    // The shell keeps Tab (completion); its input says how to leave it (the hint under the shell).
    this.term.textarea?.setAttribute("aria-describedby", DEBUG_ESCAPE_HINT_ID);
    this.disposables.push(
      this.term.onData((data) => session.send(data)),
      this.term.onResize(({ cols, rows }) => {
        session.resized(cols, rows);
        noteSize(cols, rows);
        this.showSize();
      }),
    );
    this.showSize();
    this.refit();
  }

  get renderer(): "webgl" | "dom" {
    return this.webgl !== null ? "webgl" : "dom";
  }

  /** Shows the terminal in `container` (moving it from wherever it was); returns the undo. */
  mount(container: HTMLElement): () => void {
    if (this.disposed) return () => {};
    this.attachTo(container);
    this.refit();
    return () => this.unmount(container);
  }

  /** The session's output, written in order; `parsed` once xterm has parsed it. */
  write(data: string, parsed: () => void): void {
    if (!this.disposed) this.term.write(data, parsed);
  }

  /** The shell ended: no more input, no cursor. */
  setEnded(ended: boolean): void {
    if (!ended || this.disposed || this.term.options.disableStdin === true) return;
    this.term.options.disableStdin = true;
    this.term.options.cursorBlink = false;
    this.term.write("\x1b[?25l"); // hide the cursor: nothing reads what is typed any more
  }

  focus(): void {
    this.term.focus();
  }

  hasSelection(): boolean {
    return this.term.hasSelection();
  }

  /** The selection, or the whole buffer when nothing is selected. */
  copyText(): string {
    return this.term.hasSelection() ? this.term.getSelection() : this.text();
  }

  async copy(): Promise<boolean> {
    const ok = await copyToClipboard(this.copyText());
    this.events?.copied(ok);
    return ok;
  }

  async pasteFromClipboard(): Promise<boolean> {
    try {
      const text = await navigator.clipboard.readText();
      if (text !== "" && !this.disposed) this.term.paste(text);
      clipboardRead = "allowed";
      return true;
    } catch {
      clipboardRead = "denied";
      this.events?.pasteRefused();
      return false;
    }
  }

  text(): string {
    return this.disposed ? "" : this.textReader.text();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.resizeObserver?.disconnect();
    this.fitSoon.cancel();
    for (const d of this.disposables) d.dispose();
    this.textReader.dispose();
    this.term.dispose();
    this.element.remove();
  }

  private attachTo(container: HTMLElement): void {
    if (this.container !== container) {
      this.resizeObserver?.disconnect();
      this.container = container;
      this.resizeObserver = new ResizeObserver(() => this.scheduleFit());
      this.resizeObserver.observe(container);
    }
    if (this.element.parentElement !== container) container.appendChild(this.element);
  }

  private unmount(container: HTMLElement): void {
    if (this.container !== container) return;
    this.resizeObserver?.disconnect();
    this.resizeObserver = null;
    this.container = null;
    this.fitSoon.cancel();
    if (this.element.parentElement === container) this.element.remove();
  }

  private onKey(e: KeyboardEvent): boolean {
    if (this.leavesShell(e)) return false; // not sent: the browser moves the focus on
    if (isCopyKey(e)) {
      // Ctrl+Shift+C never reaches the shell; plain Ctrl+C does (the interrupt).
      if (e.type === "keydown") {
        e.preventDefault();
        if (this.term.hasSelection()) void this.copy();
      }
      return false;
    }
    if (isPasteKey(e) && clipboardRead !== "denied") {
      // Without this, Chrome's own paste-as-plain-text would paste a second time.
      if (e.type === "keydown") {
        e.preventDefault();
        void this.pasteFromClipboard();
      }
      return false;
    }
    return true;
  }

  /**
   * No keyboard trap: Tab goes to the shell (completion), but Esc then Tab (or Shift+Tab) leaves it, as
   * the hint under the shell says. The Esc itself reaches the shell, as always (vi, less need it).
   */
  private leavesShell(e: KeyboardEvent): boolean {
    if (e.type === "keydown" && e.key === "Tab" && !e.ctrlKey && !e.altKey && !e.metaKey && this.escapeAt !== 0 && performance.now() - this.escapeAt <= ESCAPE_TAB_WINDOW_MS) {
      this.escapeAt = 0;
      return true;
    }
    if (e.type !== "keydown" || MODIFIER_KEYS.has(e.key)) return false;
    this.escapeAt = e.key === "Escape" && !e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey ? performance.now() : 0;
    return false;
  }

  /** Its size in cells, on its element (data-cols, data-rows): what the shell was told. */
  private showSize(): void {
    this.element.dataset.cols = String(this.term.cols);
    this.element.dataset.rows = String(this.term.rows);
  }

  private scheduleFit(): void {
    if (!this.disposed) this.fitSoon.request();
  }

  private refit(): void {
    if (!this.disposed) fitToContainer(this.fit, this.container);
  }
}

// ---------------------------------------------------------------------------------------------
// The registry: one DebugXterm per terminal, alive from its first showing until it is closed.

const registry = new Map<string, DebugXterm>();

/**
 * Shows a terminal's xterm in `container`, creating it on its first showing (the output that arrived
 * before is written then). Returns the undo for the component's cleanup; null for an unknown terminal.
 */
export function mountDebugXterm(store: DebugStore, terminalId: string, container: HTMLElement): { xterm: DebugXterm; unmount: () => void } | null {
  const existing = registry.get(terminalId);
  if (existing !== undefined) return { xterm: existing, unmount: existing.mount(container) };
  const session = store.sessionOf(terminalId);
  if (session === undefined) return null;
  const xterm = new DebugXterm(container, session, (cols, rows) => store.getState().noteSize(cols, rows));
  registry.set(terminalId, xterm);
  session.attach({
    write: (data, parsed) => xterm.write(data, parsed),
    dispose: () => {
      if (registry.get(terminalId) === xterm) registry.delete(terminalId);
      xterm.dispose();
    },
  });
  return { xterm, unmount: xterm.mount(container) };
}

export function debugXtermOf(terminalId: string): DebugXterm | undefined {
  return registry.get(terminalId);
}

/** window.__semaphoreAgentProbe's view of the debug terminals. Returns the uninstall. */
export function installDebugProbe(store: DebugStore): () => void {
  // The tab shown: the one of the job on screen (the panel shows no other job's).
  const pick = (terminalId: string | undefined) => {
    if (terminalId !== undefined) return terminalId;
    const state = store.getState();
    return panelTerminalsFor(state, state.jobOnScreen).active?.terminalId;
  };
  return setDebugProbeSource({
    text(terminalId) {
      const id = pick(terminalId);
      return id === undefined ? "" : (registry.get(id)?.text() ?? "");
    },
    stats(terminalId) {
      const id = pick(terminalId);
      return id === undefined ? null : (store.sessionOf(id)?.stats() ?? null);
    },
  });
}
