// The share of the Job view's height (or width) the log gets beside the debug shell, as the divider
// between them sets it: dragged, or moved with the keys on the separator. Pure, so it is tested alone;
// views/SplitDivider.tsx binds it to the page.

/** The log's share (%) when nothing was chosen: side by side half each; stacked, the shell gets more. */
export const DEFAULT_LOG_SHARE = { sideBySide: 50, stacked: 35 } as const;
/** One arrow key press moves the divider this much (%); Page Up/Down five times as far. */
export const SPLIT_STEP = 5;

/** The shares the two panes' smallest sizes allow, in a container `total` pixels long (divider excluded). */
export function shareBounds(total: number, minFirst: number, minSecond: number): { min: number; max: number } {
  if (!(total > 0)) return { min: 50, max: 50 };
  const min = Math.min(50, (minFirst / total) * 100);
  const max = Math.max(50, 100 - (minSecond / total) * 100);
  return { min: Math.ceil(min), max: Math.floor(max) };
}

export function clampShare(share: number, bounds: { min: number; max: number }): number {
  if (!Number.isFinite(share)) return Math.round((bounds.min + bounds.max) / 2);
  return Math.round(Math.min(bounds.max, Math.max(bounds.min, share)));
}

/** The share for a pointer at `offset` pixels from the start of a container `total` pixels long. */
export function shareAt(offset: number, total: number, bounds: { min: number; max: number }): number {
  return clampShare(total > 0 ? (offset / total) * 100 : 50, bounds);
}

/**
 * The share after a key on the separator (WAI-ARIA window splitter): the arrows move it a step (left and
 * up shrink the first pane, right and down grow it), Page Up/Down five steps, Home/End to the ends.
 * Null for any other key (the page handles it: Tab moves on).
 */
export function shareAfterKey(key: string, share: number, bounds: { min: number; max: number }): number | null {
  switch (key) {
    case "ArrowLeft":
    case "ArrowUp":
      return clampShare(share - SPLIT_STEP, bounds);
    case "ArrowRight":
    case "ArrowDown":
      return clampShare(share + SPLIT_STEP, bounds);
    case "PageUp":
      return clampShare(share - 5 * SPLIT_STEP, bounds);
    case "PageDown":
      return clampShare(share + 5 * SPLIT_STEP, bounds);
    case "Home":
      return bounds.min;
    case "End":
      return bounds.max;
    default:
      return null;
  }
}
