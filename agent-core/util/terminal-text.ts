// Lines the CLI prints on a terminal or appends to a log file carry text from outside: a server's
// error body (which may echo the Authorization header it was sent), a job id, a directive, an agent
// name. Tokens are redacted first, then control characters escaped, so a line can neither show a
// secret nor rewrite the terminal's title (`ESC ] 0 ; … BEL`) or erase and forge a line
// (`ESC [ 2 K`, CR, a newline): every printed line is exactly one line, as the text came.
import { escapeControlChars } from "./control-chars.js";
import { redactSecrets } from "./redact.js";

/** One line as the CLI prints it: `secrets` replaced by `[token]`, control characters as `\x1b`. */
export function terminalLine(text: string, secrets: Iterable<string>): string {
  return escapeControlChars(redactSecrets(text, secrets));
}
