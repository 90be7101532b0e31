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
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

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
  // ESC, intermediates (0x20-0x2f), a final byte: "ESC ( B" (what `tput sgr0` prints), "ESC # 8", "ESC 7".
  let i = at + 1;
  while (i < raw.length && raw.charCodeAt(i) >= 0x20 && raw.charCodeAt(i) <= 0x2f) i++;
  return { end: Math.min(raw.length, i + 1), sgr: null };
}

/** A 256-colour index or "#rrggbb" from its parameters after 38/48 (5;n or 2;r;g;b), or null. */
function colourOf(mode: number | undefined, values: readonly number[]): number | string | null {
  if (mode === 5) {
    const n = values[0];
    return n !== undefined && n >= 0 && n <= 255 ? n : null;
  }
  if (mode === 2) {
    const rgb = [values[0] ?? 0, values[1] ?? 0, values[2] ?? 0].map((v) => Math.max(0, Math.min(255, Number.isFinite(v) ? v : 0)));
    return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
  }
  return null;
}

const num = (p: string) => (p === "" ? 0 : Number.parseInt(p, 10));

/**
 * The style after the SGR parameters `params` ("1;31", "" = reset). Parameters are split by ";";
 * a colon group is one parameter with its sub-parameters ("4:3" curly underline, "38:2::255:0:0").
 */
export function applySgr(style: Readonly<Style>, params: string): Readonly<Style> {
  const groups = params === "" ? ["0"] : params.split(";");
  const s: Style = { ...style };
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (group.includes(":")) {
      const sub = group.split(":");
      const p = num(sub[0]!);
      if (p === 38 || p === 48) {
        const mode = num(sub[1] ?? "");
        // 38:2:<colour space>:r:g:b (ITU) or 38:2:r:g:b; 38:5:n.
        const values = (mode === 2 && sub.length >= 6 ? sub.slice(3) : sub.slice(2)).map(num);
        const colour = colourOf(mode, values);
        if (p === 38) s.fg = colour;
        else s.bg = colour;
      } else if (p === 4) {
        s.underline = num(sub[1] ?? "1") !== 0;
      }
      continue;
    }
    const p = num(group);
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
      const mode = groups[g + 1] !== undefined ? num(groups[g + 1]!) : undefined;
      const count = mode === 5 ? 1 : mode === 2 ? 3 : 0;
      const colour = colourOf(mode, groups.slice(g + 2, g + 2 + count).map(num));
      if (p === 38) s.fg = colour;
      else s.bg = colour;
      g += mode === 5 || mode === 2 ? 1 + count : 0;
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
    } else if ((c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f)) {
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
    return needsParsing(raw) ? raw.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "") : raw;
  }
  return parseLine(raw).segments.map((s) => s.text).join("");
}

/** The style a line ends in, from the one it starts in (only SGR counts). */
export function endStyle(raw: string, style: Readonly<Style>): Readonly<Style> {
  if (raw.indexOf(ESC) < 0) return style;
  return parseLine(raw, style).end;
}
