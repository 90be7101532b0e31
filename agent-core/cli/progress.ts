// Download progress for the terminal: a bar redrawn in place on a TTY, plain lines otherwise (one
// per 10 % step, or per 10 MB when the size is unknown), so a log file or CI output stays short.

import type { ToolboxInstallPhase, ToolboxInstallProgress } from "../toolbox/index.js";

const PHASE_TEXT: Record<ToolboxInstallPhase, string> = {
  download: "downloading",
  checksum: "verifying",
  extract: "unpacking",
  install: "installing",
};
const UNKNOWN_STEP_BYTES = 10 * 1024 * 1024;

/** `12.3 MB` (decimal units, as download sizes are usually given). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  if (bytes < 1_000_000_000) return `${(bytes / 1_000_000).toFixed(1)} MB`;
  return `${(bytes / 1_000_000_000).toFixed(2)} GB`;
}

/** `[########------------]  40%  1.2 MB / 3.0 MB`, the bar `width` cells wide. */
export function progressBar(received: number, total: number | null, width = 30): string {
  if (total === null || total <= 0) return `[${"?".repeat(width)}]  ${formatBytes(received)}`;
  const fraction = Math.min(1, received / total);
  const filled = Math.round(fraction * width);
  const percent = String(Math.floor(fraction * 100)).padStart(3);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${percent}%  ${formatBytes(received)} / ${formatBytes(total)}`;
}

export interface ProgressReporterOptions {
  /** A terminal: one line redrawn with \r; else plain lines. */
  tty: boolean;
  /** The terminal's width (the bar shrinks to fit). */
  columns?: number | undefined;
  write: (text: string) => void;
}

export class ProgressReporter {
  private phase: ToolboxInstallPhase | null = null;
  private lastStep = -1;
  private lastDrawn = "";
  private barOpen = false;

  constructor(private readonly opts: ProgressReporterOptions) {}

  readonly update = (p: ToolboxInstallProgress): void => {
    if (p.phase !== this.phase) {
      this.closeBar();
      this.phase = p.phase;
      this.lastStep = -1;
      if (p.phase !== "download") {
        this.opts.write(`${PHASE_TEXT[p.phase]}…\n`);
        return;
      }
    }
    if (p.phase !== "download") return;
    if (this.opts.tty) this.draw(p);
    else this.line(p);
  };

  /** Ends the bar's line (call before printing anything else). */
  finish(): void {
    this.closeBar();
  }

  private draw(p: ToolboxInstallProgress): void {
    const width = Math.max(10, Math.min(40, (this.opts.columns || 80) - 40));
    const text = `downloading ${progressBar(p.receivedBytes, p.totalBytes, width)}`;
    if (text === this.lastDrawn) return;
    this.lastDrawn = text;
    this.barOpen = true;
    this.opts.write(`\r${text}\x1b[K`);
  }

  private line(p: ToolboxInstallProgress): void {
    if (p.totalBytes !== null && p.totalBytes > 0) {
      const step = Math.floor((Math.min(1, p.receivedBytes / p.totalBytes) * 100) / 10);
      if (step === this.lastStep) return;
      this.lastStep = step;
      this.opts.write(`downloading: ${step * 10}% (${formatBytes(p.receivedBytes)} of ${formatBytes(p.totalBytes)})\n`);
    } else {
      const step = Math.floor(p.receivedBytes / UNKNOWN_STEP_BYTES);
      if (step === this.lastStep) return;
      this.lastStep = step;
      this.opts.write(`downloading: ${formatBytes(p.receivedBytes)} so far\n`);
    }
  }

  private closeBar(): void {
    if (!this.barOpen) return;
    this.barOpen = false;
    this.lastDrawn = "";
    this.opts.write("\n");
  }
}
