// A small "Copy" button that says "Copied" for a moment after it copied.
import { useEffect, useState } from "react";
import { copyToClipboard } from "./clipboard.js";
import { CheckIcon, CopyIcon } from "./icons.js";

export function CopyButton({ text, testid, label = "Copy" }: { text: () => string; testid: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 1500);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <button type="button" className="btn small" data-testid={testid} onClick={() => void copyToClipboard(text()).then(setCopied)}>
      {copied ? <CheckIcon size={14} /> : <CopyIcon size={14} />}
      {copied ? "Copied" : label}
    </button>
  );
}
