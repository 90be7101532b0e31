// The CLI's download progress (a bar on a terminal, 10 % lines otherwise) and the escaping of text
// from outside before it is printed.
import { describe, expect, it } from "vitest";

import { formatBytes, progressBar, ProgressReporter } from "../../agent-core/cli/progress.js";
import { escapeControlChars } from "../../agent-core/util/control-chars.js";

const MB = 1_000_000;

function reporter(tty: boolean, columns = 80): { r: ProgressReporter; out: string[] } {
  const out: string[] = [];
  return { r: new ProgressReporter({ tty, columns, write: (t) => out.push(t) }), out };
}

describe("progress", () => {
  it("the bar: filled in proportion, percent floored, sizes in decimal units", () => {
    expect(progressBar(0, 10 * MB, 10)).toBe("[----------]   0%  0 B / 10.0 MB");
    expect(progressBar(4.5 * MB, 10 * MB, 10)).toBe("[#####-----]  45%  4.5 MB / 10.0 MB");
    expect(progressBar(10 * MB, 10 * MB, 10)).toBe("[##########] 100%  10.0 MB / 10.0 MB");
    expect(progressBar(12_345, null, 4)).toBe("[????]  12.3 kB");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(2_500_000_000)).toBe("2.50 GB");
  });

  it("not a terminal: one line per 10 % step, then one per later phase", () => {
    const { r, out } = reporter(false);
    for (let received = 0; received <= 100; received += 3) r.update({ phase: "download", receivedBytes: received * 1000, totalBytes: 100_000 });
    r.update({ phase: "download", receivedBytes: 100_000, totalBytes: 100_000 });
    r.update({ phase: "checksum", receivedBytes: 100_000, totalBytes: 100_000 });
    r.update({ phase: "extract", receivedBytes: 100_000, totalBytes: 100_000 });
    r.update({ phase: "install", receivedBytes: 100_000, totalBytes: 100_000 });
    r.finish();
    // The first update at or past each step prints it: 0, 12, 21, 30, 42, 51, 60, 72, 81, 90 kB, then 100.
    expect(out).toEqual([
      "downloading: 0% (0 B of 100.0 kB)\n",
      "downloading: 10% (12.0 kB of 100.0 kB)\n",
      "downloading: 20% (21.0 kB of 100.0 kB)\n",
      "downloading: 30% (30.0 kB of 100.0 kB)\n",
      "downloading: 40% (42.0 kB of 100.0 kB)\n",
      "downloading: 50% (51.0 kB of 100.0 kB)\n",
      "downloading: 60% (60.0 kB of 100.0 kB)\n",
      "downloading: 70% (72.0 kB of 100.0 kB)\n",
      "downloading: 80% (81.0 kB of 100.0 kB)\n",
      "downloading: 90% (90.0 kB of 100.0 kB)\n",
      "downloading: 100% (100.0 kB of 100.0 kB)\n",
      "verifying…\n",
      "unpacking…\n",
      "installing…\n",
    ]);
    expect(out.filter((l) => l.includes("\r"))).toEqual([]);
  });

  it("not a terminal, size unknown: a line per 10 MB", () => {
    const { r, out } = reporter(false);
    for (let mb = 0; mb <= 25; mb++) r.update({ phase: "download", receivedBytes: mb * 1024 * 1024, totalBytes: null });
    expect(out).toEqual(["downloading: 0 B so far\n", "downloading: 10.5 MB so far\n", "downloading: 21.0 MB so far\n"]);
  });

  it("a terminal: one line redrawn in place, only when it changes, ended before the next phase", () => {
    const { r, out } = reporter(true, 60);
    r.update({ phase: "download", receivedBytes: 0, totalBytes: 1000 });
    r.update({ phase: "download", receivedBytes: 0, totalBytes: 1000 });
    r.update({ phase: "download", receivedBytes: 500, totalBytes: 1000 });
    r.update({ phase: "download", receivedBytes: 1000, totalBytes: 1000 });
    r.update({ phase: "checksum", receivedBytes: 1000, totalBytes: 1000 });
    r.finish();
    expect(out).toEqual([
      `\rdownloading ${progressBar(0, 1000, 20)}\x1b[K`,
      `\rdownloading ${progressBar(500, 1000, 20)}\x1b[K`,
      `\rdownloading ${progressBar(1000, 1000, 20)}\x1b[K`,
      "\n",
      "verifying…\n",
    ]);
  });
});

describe("escapeControlChars", () => {
  it("shows control characters, DEL, C1, separators and bidi overrides as escapes; leaves the rest", () => {
    expect(escapeControlChars("ok: https://example.com/a?b=c é ✓")).toBe("ok: https://example.com/a?b=c é ✓");
    expect(escapeControlChars("\x1b]0;pwned\x07\r\nx\t\x7f\u009b\u2028\u202e")).toBe("\\x1b]0;pwned\\x07\\x0d\\x0ax\\x09\\x7f\\x9b\\u2028\\u202e");
  });
});
