// What the app's xterm terminals (the debug shells, debug-terminal.ts) share: colours, font, links,
// and the renderer choice (WebGL only where a GPU draws it).
import { WebLinksAddon } from "@xterm/addon-web-links";
import { WebglAddon } from "@xterm/addon-webgl";
import type { FitAddon } from "@xterm/addon-fit";
import type { IDisposable, ITerminalOptions, Terminal } from "@xterm/xterm";
import { safeExternalUrl } from "../view-model.js";
import { TERMINAL_THEME } from "./terminal-theme.js";


/** Options every terminal of the app has: font, colours. */
export const TERMINAL_BASE_OPTIONS: ITerminalOptions = {
  fontFamily: 'ui-monospace, "SF Mono", SFMono-Regular, Menlo, Consolas, "Cascadia Mono", "DejaVu Sans Mono", "Liberation Mono", "Ubuntu Mono", monospace',
  fontSize: 13,
  lineHeight: 1.25,
  allowProposedApi: true,
  theme: TERMINAL_THEME,
  drawBoldTextInBrightColors: false,
  minimumContrastRatio: 1,
  // No overviewRuler: its renderer reads the layout on every frame, a tenth of the time of a flood.
};

/** A link from a terminal: https only; Electron's main process routes window.open, a browser opens a new tab. */
export function openExternalLink(uri: string): void {
  const url = safeExternalUrl(uri);
  if (url !== null) window.open(url, "_blank", "noopener,noreferrer");
}

/** Clickable https links that open outside the app. */
export function webLinksAddon(): WebLinksAddon {
  return new WebLinksAddon((event, uri) => {
    event.preventDefault();
    openExternalLink(uri);
  });
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

/**
 * Draws an opened terminal with WebGL where a GPU does it (WebGL drawn by the CPU — SwiftShader,
 * llvmpipe: no GPU, remote desktops, headless — is several times slower than xterm's DOM renderer).
 * Returns the addon, or null when xterm keeps its DOM renderer; `lost` runs when the GPU went away
 * (driver reset, sleep) and the DOM renderer took over. The subscription is pushed to `disposables`.
 */
export function loadWebglRenderer(term: Terminal, disposables: IDisposable[], lost: () => void): WebglAddon | null {
  if (softwareWebgl()) return null;
  try {
    const webgl = new WebglAddon();
    disposables.push(
      webgl.onContextLoss(() => {
        webgl.dispose();
        lost();
      }),
    );
    term.loadAddon(webgl);
    return webgl;
  } catch {
    return null; // No WebGL2 here: xterm keeps its DOM renderer.
  }
}

/** Runs `fn` in the next animation frame, once however often it is asked before then. */
export class FrameCoalescer {
  private frame = 0;

  constructor(private readonly fn: () => void) {}

  request(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.fn();
    });
  }

  cancel(): void {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }
}

/** Fits the terminal to its container when that is on screen; false when it could not be measured. */
export function fitToContainer(fit: FitAddon, container: HTMLElement | null): boolean {
  if (container === null || container.clientWidth === 0 || container.clientHeight === 0) return false;
  try {
    fit.fit();
    return true;
  } catch {
    return false; // Not measurable yet (hidden); the next resize fits it.
  }
}
