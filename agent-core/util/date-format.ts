// The one way the app writes a moment, in every view of the renderer and in the host's own lines (the
// debug shell's banner): "14 Mar 2025 18:05" (day, month, year, then the 24-hour local time), its date
// alone ("14 Mar 2025"), its time alone ("18:05", "18:05:07" where the seconds matter), and a weekday
// within the week ("Sat 08:00", as the host's lending line says it). The same on every machine, whatever
// the locale; pure (no DOM, no Node), so the renderer bundles it and it is tested on its own.

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;

const two = (n: number) => String(n).padStart(2, "0");

/** "18:05:07": a time of day with its seconds (the Activity feed, chart readouts). */
export function formatTime(at: number): string {
  const d = new Date(at);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** "18:05": a time of day. */
export function formatClock(at: number): string {
  const d = new Date(at);
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** "14 Mar 2025": a day. */
export function formatDay(at: number): string {
  const d = new Date(at);
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

/** "14 Mar 2025 18:05": a moment. */
export function formatDateTime(at: number): string {
  return `${formatDay(at)} ${formatClock(at)}`;
}

/** "Sat": the short weekday (English, as the host's lending line writes it). */
export function formatWeekday(at: number): string {
  return WEEKDAYS[new Date(at).getDay()]!;
}

/** A moment today as "18:05", an older (or later) one with its date: "14 Mar 2025 18:05". */
export function formatStarted(at: number, now: number): string {
  return new Date(at).toDateString() === new Date(now).toDateString() ? formatClock(at) : formatDateTime(at);
}
