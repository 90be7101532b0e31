// Lengths as a person counts them. "é", "👍🏽", "🇫🇷" and a Chinese character are one character each,
// whatever their UTF-16 length (String.length, what zod's .max() counts) or their UTF-8 bytes.
// Pure and without Node APIs: the renderer and the host contract use it too.

// Made on the first text that needs it: a Segmenter loads ICU's data (several MB of a process).
let segmenterMade: Intl.Segmenter | null | undefined;
const segmenterNow = (): Intl.Segmenter | null =>
  (segmenterMade ??= typeof Intl !== "undefined" && typeof Intl.Segmenter === "function" ? new Intl.Segmenter("en", { granularity: "grapheme" }) : null);

/** Printable ASCII only: one code unit is one character (CR LF is a single grapheme, so not here). */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/** The number of user-perceived characters (grapheme clusters; code points where Intl.Segmenter is missing). */
export function characterCount(text: string): number {
  if (PLAIN_ASCII.test(text)) return text.length;
  let count = 0;
  const segmenter = segmenterNow();
  if (segmenter !== null) {
    for (const _ of segmenter.segment(text)) count++;
  } else {
    for (const _ of text) count++;
  }
  return count;
}

/** "must be at most 80 characters long (it has 95)": a limit's message, in characters. */
export function tooLongMessage(max: number, count?: number): string {
  const unit = max === 1 ? "character" : "characters";
  return `must be at most ${max} ${unit} long${count === undefined ? "" : ` (it has ${count})`}`;
}

/** Why `text` is over `max` characters, or null. */
export function characterLimitProblem(text: string, max: number): string | null {
  // A string with fewer code units than the limit cannot have more characters.
  if (text.length <= max) return null;
  const count = characterCount(text);
  return count > max ? tooLongMessage(max, count) : null;
}
