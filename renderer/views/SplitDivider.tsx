// The divider between the job's log and its debug shell: drag it (pointer), or focus it and use the
// arrow keys, Page Up/Down, Home/End (a WAI-ARIA window splitter: role="separator" with its value, the
// log's share in %). Both terminals fit themselves to their new size (their ResizeObservers), and the
// shell tells the host its new rows and columns. The share is kept in localStorage, per layout.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent, type RefObject } from "react";
import { clampShare, DEFAULT_LOG_SHARE, shareAfterKey, shareAt, shareBounds } from "../split.js";

/** Whether a media query matches now, following its changes. */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => typeof window !== "undefined" && window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const changed = () => setMatches(list.matches);
    changed();
    list.addEventListener("change", changed);
    return () => list.removeEventListener("change", changed);
  }, [query]);
  return matches;
}

function storedShare(key: string): number | null {
  try {
    const value = Number(window.localStorage.getItem(key));
    return window.localStorage.getItem(key) !== null && Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

function storeShare(key: string, share: number): void {
  try {
    window.localStorage.setItem(key, String(share));
  } catch {
    // A private window without storage: the share lasts as long as the page.
  }
}

/** The container's length along the split (its height stacked, its width side by side), kept up to date. */
function useLength(container: RefObject<HTMLElement | null>, stacked: boolean): number {
  const [length, setLength] = useState(0);
  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const measure = () => setLength(stacked ? element.clientHeight : element.clientWidth);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [container, stacked]);
  return length;
}

export interface SplitOptions {
  /** Stacked (the shell below the log) or side by side. */
  stacked: boolean;
  /** The smallest log and shell, in pixels along the split (their CSS min sizes say the same). */
  minFirst: number;
  minSecond: number;
  /** The divider's own thickness (px). */
  thickness: number;
}

/** The log's share, clamped to what the container allows now, and its setter (which stores it). */
export function useSplitShare(container: RefObject<HTMLElement | null>, options: SplitOptions): { share: number; bounds: { min: number; max: number }; setShare: (share: number) => void; length: number } {
  const key = `semaphore-agent:job-split:${options.stacked ? "stacked" : "side"}`;
  const fallback = options.stacked ? DEFAULT_LOG_SHARE.stacked : DEFAULT_LOG_SHARE.sideBySide;
  const [chosen, setChosen] = useState<number | null>(() => storedShare(key));
  useEffect(() => setChosen(storedShare(key)), [key]);
  const length = useLength(container, options.stacked);
  const bounds = shareBounds(length - options.thickness, options.minFirst, options.minSecond);
  const share = clampShare(chosen ?? fallback, bounds);
  const setShare = useCallback(
    (next: number) => {
      setChosen(next);
      storeShare(key, next);
    },
    [key],
  );
  return { share, bounds, setShare, length };
}

export function SplitDivider({
  container,
  options,
  share,
  bounds,
  setShare,
  controls,
}: {
  container: RefObject<HTMLElement | null>;
  options: SplitOptions;
  share: number;
  bounds: { min: number; max: number };
  setShare: (share: number) => void;
  /** The ids of the two panes. */
  controls: string;
}) {
  const dragging = useRef<number | null>(null);
  const [active, setActive] = useState(false);

  const fromPointer = (event: PointerEvent<HTMLDivElement>) => {
    const element = container.current;
    if (element === null) return;
    const rect = element.getBoundingClientRect();
    const offset = options.stacked ? event.clientY - rect.top : event.clientX - rect.left;
    const total = (options.stacked ? rect.height : rect.width) - options.thickness;
    setShare(shareAt(offset - options.thickness / 2, total, bounds));
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const next = shareAfterKey(event.key, share, bounds);
    if (next === null) return;
    event.preventDefault();
    setShare(next);
  };

  return (
    <div
      role="separator"
      tabIndex={0}
      className={`split-divider ${options.stacked ? "stacked" : "side"}${active ? " active" : ""}`}
      data-testid="job-split"
      aria-orientation={options.stacked ? "horizontal" : "vertical"}
      aria-label="Resize the log and the debug shell"
      aria-controls={controls}
      aria-valuenow={share}
      aria-valuemin={bounds.min}
      aria-valuemax={bounds.max}
      aria-valuetext={`Log ${share} %, debug shell ${100 - share} %`}
      title={`Drag, or use the arrow keys, to share the ${options.stacked ? "height" : "width"} between the log and the debug shell (double-click: back to the default)`}
      onKeyDown={onKeyDown}
      onDoubleClick={() => setShare(options.stacked ? DEFAULT_LOG_SHARE.stacked : DEFAULT_LOG_SHARE.sideBySide)}
      onPointerDown={(event) => {
        if (event.button !== 0) return;
        event.preventDefault();
        event.currentTarget.setPointerCapture(event.pointerId);
        event.currentTarget.focus();
        dragging.current = event.pointerId;
        setActive(true);
      }}
      onPointerMove={(event) => {
        if (dragging.current === event.pointerId) fromPointer(event);
      }}
      onPointerUp={(event) => {
        if (dragging.current !== event.pointerId) return;
        fromPointer(event);
        dragging.current = null;
        setActive(false);
        event.currentTarget.releasePointerCapture(event.pointerId);
      }}
      onPointerCancel={() => {
        dragging.current = null;
        setActive(false);
      }}
    >
      <span className="split-grip" aria-hidden="true" />
    </div>
  );
}
