// Shows text that marks code with backticks (renderer/prose.ts): plain text, and code as code.
import { proseParts } from "../prose.js";

export function Prose({ text }: { text: string }) {
  return (
    <>
      {proseParts(text).map((part, i) =>
        part.code ? (
          <code key={i} className="prose-code">
            {part.text}
          </code>
        ) : (
          <span key={i}>{part.text}</span>
        ),
      )}
    </>
  );
}
