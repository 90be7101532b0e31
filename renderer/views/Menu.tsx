// A button with a small menu under it: opens on click, closes on a choice, Escape, or a click elsewhere.
import { useEffect, useRef, type ReactNode } from "react";
import { ChevronDownIcon } from "./icons.js";

export function MenuButton({
  open,
  onOpenChange,
  label,
  testId,
  className = "btn small",
  disabled,
  title,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  label: ReactNode;
  testId: string;
  className?: string;
  disabled?: boolean;
  title?: string;
  children: ReactNode;
}) {
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      if (root.current !== null && !root.current.contains(e.target as Node)) onOpenChange(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onOpenChange(false);
    };
    document.addEventListener("pointerdown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("pointerdown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open, onOpenChange]);
  return (
    <div className="menu-anchor" ref={root}>
      <button
        type="button"
        className={className}
        data-testid={testId}
        aria-haspopup="menu"
        aria-expanded={open}
        disabled={disabled}
        title={title}
        onClick={() => onOpenChange(!open)}
      >
        {label}
        <ChevronDownIcon size={13} />
      </button>
      {open ? (
        <div className="menu" role="menu" data-testid={`${testId}-menu`}>
          {children}
        </div>
      ) : null}
    </div>
  );
}

export function MenuItem({ testId, onSelect, hint, children, disabled }: { testId: string; onSelect: () => void; hint?: ReactNode; children: ReactNode; disabled?: boolean }) {
  return (
    <button type="button" role="menuitem" className="menu-item" data-testid={testId} disabled={disabled} onClick={onSelect}>
      <span className="menu-item-title">{children}</span>
      {hint !== undefined ? <span className="menu-item-hint">{hint}</span> : null}
    </button>
  );
}
