// Text written for people that marks code the Markdown way, `like this`: the host's messages
// ("did you mean `endpoint`?") and the example jobs' descriptions. Split into its plain and code
// parts, the view shows code as code and never a literal backtick. Pure (tested without a DOM).

export interface ProsePart {
  code: boolean;
  text: string;
}

/**
 * `text` as plain and code parts: each pair of backticks encloses code. A backtick without its pair
 * is dropped rather than shown (what follows it stays plain), so no backtick is ever on screen.
 */
export function proseParts(text: string): ProsePart[] {
  const parts: ProsePart[] = [];
  const pieces = text.split("`");
  // An odd number of pieces: every backtick has its pair. Otherwise the last one is unpaired.
  const paired = pieces.length % 2 === 1;
  pieces.forEach((piece, i) => {
    const code = i % 2 === 1 && (paired || i < pieces.length - 1);
    if (piece === "") return;
    const last = parts[parts.length - 1];
    if (last !== undefined && last.code === code) last.text += piece;
    else parts.push({ code, text: piece });
  });
  return parts;
}

/** The text as it reads, without the backticks. */
export function proseText(text: string): string {
  return proseParts(text)
    .map((p) => p.text)
    .join("");
}
