// Text that came from outside (a URL, a server's error body, a file name in an archive) is printed
// to a terminal through this: control characters could otherwise move the cursor, recolour the
// screen or hide what follows (ESC sequences, CR, bidi overrides).

/** C0 controls (except none), DEL, C1 controls, line/paragraph separators and bidi controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** `text` with every control character written as a visible escape (`\x1b`, `\u202e`); newlines too. */
export function escapeControlChars(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
