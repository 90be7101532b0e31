// The probe's text of the job terminal: kept rows must always read the same as a fresh scan.
// xterm's buffer runs in Node without a DOM (the terminal is never opened here).
import { describe, expect, it } from "vitest";
import { Terminal } from "@xterm/xterm";
import { TerminalTextReader } from "../../renderer/views/terminal-text.js";

const write = (term: Terminal, data: string) => new Promise<void>((resolve) => term.write(data, resolve));

/** A reader that keeps nothing: what the cached one must equal. */
const fresh = (term: Terminal) => {
  const reader = new TerminalTextReader(term);
  const text = reader.text();
  reader.dispose();
  return text;
};

describe("terminal text for the probe", () => {
  it("joins rows, joins wrapped rows back, trims trailing spaces and empty rows", async () => {
    const term = new Terminal({ cols: 10, rows: 4, scrollback: 100, allowProposedApi: true, convertEol: true });
    await write(term, "one   \ntwo\n0123456789abcdef\n\x1b[32mgreen\x1b[0m\n");
    expect(new TerminalTextReader(term).text()).toBe("one\ntwo\n0123456789abcdef\ngreen");
  });

  it("reads the same as a fresh scan while output scrolls past the scrollback limit", async () => {
    const term = new Terminal({ cols: 30, rows: 5, scrollback: 50, allowProposedApi: true, convertEol: true });
    const reader = new TerminalTextReader(term);
    for (let i = 0; i < 300; i++) {
      const long = i % 7 === 0 ? ` ${"w".repeat(45)}` : ""; // some lines wrap
      await write(term, `line ${i}${long}\n${i % 3 === 0 ? "partial " : ""}`);
      if (i % 5 === 0) expect(reader.text()).toBe(fresh(term));
    }
    const text = reader.text();
    expect(text).toBe(fresh(term));
    expect(text).toContain("line 299");
    expect(text).not.toContain("line 200\n"); // long gone
  });

  it("starts over after a resize, a cleared scrollback and a reset", async () => {
    const term = new Terminal({ cols: 20, rows: 4, scrollback: 30, allowProposedApi: true, convertEol: true });
    const reader = new TerminalTextReader(term);
    for (let i = 0; i < 40; i++) await write(term, `row ${i} ${"z".repeat(i % 25)}\n`);
    expect(reader.text()).toBe(fresh(term));
    term.resize(12, 4); // reflow
    expect(reader.text()).toBe(fresh(term));
    await write(term, "\x1b[3J"); // erase the scrollback
    expect(reader.text()).toBe(fresh(term));
    for (let i = 0; i < 10; i++) await write(term, `after ${i}\n`);
    expect(reader.text()).toBe(fresh(term));
    await write(term, "\x1bc"); // full reset
    await write(term, "clean\n");
    expect(reader.text()).toBe("clean");
  });
});
