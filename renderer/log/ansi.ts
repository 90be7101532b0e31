// The colours of a job's output, for the job log view: SGR sequences (ESC [ ... m) become styled
// segments of plain text; every other escape sequence (cursor moves, erase line, titles, OSC 52
// clipboard writes) and control character is dropped, so output can colour the log but never drive
// it. A style can run across lines (a red block of several lines): the state at the end of one line
// is the state at the start of the next. Pure: no DOM.

export interface Style {
  /** 0-255 palette index, or "#rrggbb"; null = default. */
  fg: number | string | null;
  bg: number | string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
  strike: boolean;
}

export const PLAIN_STYLE: Readonly<Style> = Object.freeze({ fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false, strike: false });

export interface Segment {
  text: string;
  style: Readonly<Style>;
}

export function isPlainStyle(style: Readonly<Style>): boolean {
  return style.fg === null && style.bg === null && !style.bold && !style.dim && !style.italic && !style.underline && !style.inverse && !style.strike;
}

const ESC = "\x1b";
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

/** True when `raw` needs parsing (it has an escape or another control character); false: it is its own plain text. */
export function needsParsing(raw: string): boolean {
  return CONTROL.test(raw);
}

/** Where the escape sequence starting at `at` (an ESC) ends, and its SGR parameters when it is one. */
function sequenceAt(raw: string, at: number): { end: number; sgr: string | null } {
  const next = raw.charCodeAt(at + 1);
  if (next === 0x5b /* [ */) {
    // CSI: parameters and intermediates (0x20-0x3f), then a final byte 0x40-0x7e.
    let i = at + 2;
    while (i < raw.length) {
      const c = raw.charCodeAt(i);
      if (c >= 0x40 && c <= 0x7e) return { end: i + 1, sgr: c === 0x6d /* m */ ? raw.slice(at + 2, i) : null };
      if (c < 0x20 || c > 0x3f) return { end: i, sgr: null }; // broken: drop what was read
      i++;
    }
    return { end: raw.length, sgr: null };
  }
  if (next === 0x5d /* ] */ || next === 0x50 /* P */ || next === 0x5f /* _ */ || next === 0x5e /* ^ */) {
    // OSC, DCS, APC, PM: until BEL or ESC \.
    for (let i = at + 2; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x07) return { end: i + 1, sgr: null };
      if (c === 0x1b && raw.charCodeAt(i + 1) === 0x5c) return { end: i + 2, sgr: null };
    }
    return { end: raw.length, sgr: null };
  }
  return { end: Math.min(raw.length, at + 2), sgr: null };
}

function extendedColour(parts: number[], i: number): { colour: number | string | null; used: number } {
  const mode = parts[i + 1];
  if (mode === 5) {
    const n = parts[i + 2];
    return { colour: n !== undefined && n >= 0 && n <= 255 ? n : null, used: 2 };
  }
  if (mode === 2) {
    const [r, g, b] = [parts[i + 2] ?? 0, parts[i + 3] ?? 0, parts[i + 4] ?? 0].map((v) => Math.max(0, Math.min(255, v)));
    return { colour: `#${[r, g, b].map((v) => v!.toString(16).padStart(2, "0")).join("")}`, used: 4 };
  }
  return { colour: null, used: 0 };
}

/** The style after the SGR parameters `params` ("1;31", "" = reset). */
export function applySgr(style: Readonly<Style>, params: string): Readonly<Style> {
  const parts = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number.parseInt(p, 10)));
  const s: Style = { ...style };
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p === 0) Object.assign(s, PLAIN_STYLE);
    else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 9) s.strike = true;
    else if (p === 22) s.bold = s.dim = false;
    else if (p === 23) s.italic = false;
    else if (p === 24) s.underline = false;
    else if (p === 27) s.inverse = false;
    else if (p === 29) s.strike = false;
    else if (p >= 30 && p <= 37) s.fg = p - 30;
    else if (p === 38 || p === 48) {
      const { colour, used } = extendedColour(parts, i);
      if (p === 38) s.fg = colour;
      else s.bg = colour;
      i += used;
    } else if (p === 39) s.fg = null;
    else if (p >= 40 && p <= 47) s.bg = p - 40;
    else if (p === 49) s.bg = null;
    else if (p >= 90 && p <= 97) s.fg = p - 90 + 8;
    else if (p >= 100 && p <= 107) s.bg = p - 100 + 8;
  }
  return isPlainStyle(s) ? PLAIN_STYLE : Object.freeze(s);
}

/** One line of output as styled segments, starting in `style`; returns them with the style it ends in. */
export function parseLine(raw: string, style: Readonly<Style> = PLAIN_STYLE): { segments: Segment[]; end: Readonly<Style> } {
  const segments: Segment[] = [];
  let current = style;
  let text = "";
  const flush = () => {
    if (text.length === 0) return;
    const last = segments[segments.length - 1];
    if (last !== undefined && last.style === current) last.text += text;
    else segments.push({ text, style: current });
    text = "";
  };
  let i = 0;
  let from = 0;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c === 0x1b) {
      text += raw.slice(from, i);
      const { end, sgr } = sequenceAt(raw, i);
      if (sgr !== null) {
        const next = applySgr(current, sgr);
        if (next !== current) {
          flush();
          current = next;
        }
      }
      i = from = end;
    } else if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      text += raw.slice(from, i);
      i = from = i + 1;
    } else {
      i++;
    }
  }
  text += raw.slice(from);
  flush();
  return { segments, end: current };
}

/** The text of a line without its escapes and control characters (tabs kept). */
export function plainText(raw: string): string {
  if (!needsParsing(raw) || raw.indexOf(ESC) < 0) {
    // eslint-disable-next-line no-control-regex
    return needsParsing(raw) ? raw.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "") : raw;
  }
  return parseLine(raw).segments.map((s) => s.text).join("");
}

/** The style a line ends in, from the one it starts in (only SGR counts). */
export function endStyle(raw: string, style: Readonly<Style>): Readonly<Style> {
  if (raw.indexOf(ESC) < 0) return style;
  return parseLine(raw, style).end;
}
