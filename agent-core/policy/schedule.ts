// The weekly lending schedule: a grid of hours per day, in local time (the owner's time zone), as
// BOINC's and Folding@home's time-of-day preferences. A window across midnight is the last hours of
// one day and the first of the next. Local hours come from Intl, so DST is the time zone's: on the
// spring-forward night the skipped hour never comes, on the fall-back night the repeated hour counts
// twice, both as that hour's cell.

/** Hours (0-23, local) when lending is allowed, per day: days[0] is Monday, days[6] Sunday. */
export interface WeeklySchedule {
  days: number[][];
}

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** Why a schedule is unusable, naming the day and the entry; null when it is fine. */
export function scheduleProblem(schedule: unknown): string | null {
  if (typeof schedule !== "object" || schedule === null || !Array.isArray((schedule as WeeklySchedule).days)) return "must be { days: [[hours of Monday], …, [hours of Sunday]] }";
  const days = (schedule as WeeklySchedule).days;
  if (days.length !== 7) return `days must list 7 days, Monday first (got ${days.length})`;
  for (let d = 0; d < 7; d++) {
    const hours = days[d];
    if (!Array.isArray(hours)) return `days[${d}] (${WEEKDAYS[d]}) must be a list of hours`;
    for (let i = 0; i < hours.length; i++) {
      const h = hours[i];
      if (typeof h !== "number" || !Number.isInteger(h) || h < 0 || h > 23) return `days[${d}][${i}] (${WEEKDAYS[d]}): an hour is 0 to 23 (got ${JSON.stringify(h)})`;
    }
  }
  return null;
}

const partsFormat = new Map<string, Intl.DateTimeFormat>();

/** The process's time zone now (it follows a change of TZ). */
function zoneOf(timeZone?: string): string {
  return timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function localDayHour(at: number, timeZone: string): { day: number; hour: number } {
  const key = timeZone;
  let format = partsFormat.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { weekday: "short", hour: "2-digit", hourCycle: "h23", timeZone });
    partsFormat.set(key, format);
  }
  let weekday = "Mon";
  let hour = 0;
  for (const part of format.formatToParts(at)) {
    if (part.type === "weekday") weekday = part.value;
    else if (part.type === "hour") hour = Number(part.value) % 24;
  }
  return { day: WEEKDAYS.indexOf(weekday as (typeof WEEKDAYS)[number]), hour };
}

/** Whether the schedule allows lending at `at`. */
export function scheduleAllows(schedule: WeeklySchedule, at: number, timeZone?: string): boolean {
  const { day, hour } = localDayHour(at, zoneOf(timeZone));
  return schedule.days[day]?.includes(hour) ?? false;
}

const STEP_MS = 15 * 60_000;
const HORIZON_MS = 8 * 24 * 3_600_000;

/**
 * The next moment the schedule's answer changes after `now` (a window opens or closes), or null
 * when it never does (an empty or a full week). Hour edges of every time zone fall on a quarter
 * hour of UTC, so quarter steps find them exactly.
 */
export function nextScheduleChange(schedule: WeeklySchedule, now: number, timeZone?: string): number | null {
  const zone = zoneOf(timeZone);
  const current = scheduleAllows(schedule, now, zone);
  let t = Math.floor(now / STEP_MS) * STEP_MS + STEP_MS;
  for (; t <= now + HORIZON_MS; t += STEP_MS) {
    if (scheduleAllows(schedule, t, zone) !== current) return t;
  }
  return null;
}

/** "Mon–Fri 19:00–08:00, Sat–Sun all day"-like words are for the UI; this counts the hours lent per week. */
export function scheduledHours(schedule: WeeklySchedule): number {
  return schedule.days.reduce((sum, hours) => sum + new Set(hours).size, 0);
}

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/**
 * One entry of the headless agent's `lend-schedule`: `DAYS [HOURS]`. DAYS is a day (`mon`), a range
 * (`mon-fri`, `fri-mon` wraps), a comma list of those, or `*`; HOURS is `H-H` (from the first hour
 * up to the second, which is not included; `19-8` runs past midnight: 19:00-24:00 and 00:00-08:00
 * of each listed day), comma-separated, or absent for the whole day.
 * Examples: `mon-fri 19-8`, `sat,sun`, `* 0-6,22-24`; `never` alone: no hour at all.
 */
export function parseScheduleEntry(entry: string): { days: number[]; hours: number[] } | string {
  const parts = entry.trim().toLowerCase().split(/\s+/);
  // A week that never lends (every cell off): [] would mean any time.
  if (parts.length === 1 && parts[0] === "never") return { days: [], hours: [] };
  if (parts.length === 0 || parts[0] === "" || parts.length > 2) return "must be DAYS [HOURS], e.g. \"mon-fri 19-8\" or \"sat,sun\"";
  const days = new Set<number>();
  for (const token of (parts[0] as string).split(",")) {
    if (token === "*") {
      for (let d = 0; d < 7; d++) days.add(d);
      continue;
    }
    const [from, to] = token.split("-");
    const a = DAY_NAMES.indexOf(from as (typeof DAY_NAMES)[number]);
    const b = to === undefined ? a : DAY_NAMES.indexOf(to as (typeof DAY_NAMES)[number]);
    if (a < 0 || b < 0) return `has an unknown day ${JSON.stringify(token)} (use mon, tue, wed, thu, fri, sat, sun, a range like mon-fri, or *)`;
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === b) break;
    }
  }
  const hours = new Set<number>();
  if (parts[1] === undefined) {
    for (let h = 0; h < 24; h++) hours.add(h);
  } else {
    for (const token of parts[1].split(",")) {
      const m = /^(\d{1,2})-(\d{1,2})$/.exec(token);
      const from = m ? Number(m[1]) : NaN;
      const to = m ? Number(m[2]) : NaN;
      if (!m || from > 23 || to > 24 || from === to) return `has hours ${JSON.stringify(token)}: use FROM-TO in whole hours, e.g. 19-24 or 22-6`;
      const span = (to - from + 24) % 24 || 24;
      for (let i = 0; i < span; i++) hours.add((from + i) % 24);
    }
  }
  return { days: [...days].sort((x, y) => x - y), hours: [...hours].sort((x, y) => x - y) };
}

/** Why an entry is unusable, or null. */
export function scheduleEntryProblem(entry: string): string | null {
  const parsed = parseScheduleEntry(entry);
  return typeof parsed === "string" ? parsed : null;
}

/** The week the entries allow together; null for none (any time). */
export function scheduleFromEntries(entries: readonly string[]): WeeklySchedule | null {
  if (entries.length === 0) return null;
  const days: number[][] = Array.from({ length: 7 }, () => []);
  for (const entry of entries) {
    const parsed = parseScheduleEntry(entry);
    if (typeof parsed === "string") throw new Error(`lend-schedule: ${JSON.stringify(entry)} ${parsed}`);
    for (const d of parsed.days) days[d] = [...new Set([...(days[d] ?? []), ...parsed.hours])].sort((a, b) => a - b);
  }
  return { days };
}

/** The week as `lend-schedule` entries, a day each ("mon 0-8,19-24"); [] for null (any time). */
export function entriesFromSchedule(schedule: WeeklySchedule | null): string[] {
  if (schedule === null) return [];
  const out: string[] = [];
  schedule.days.forEach((hours, d) => {
    const on = [...new Set(hours)].sort((a, b) => a - b);
    if (on.length === 0) return;
    const ranges: string[] = [];
    for (let i = 0; i < on.length; ) {
      let j = i;
      while (j + 1 < on.length && on[j + 1] === (on[j] as number) + 1) j++;
      ranges.push(`${on[i]}-${(on[j] as number) + 1}`);
      i = j + 1;
    }
    out.push(on.length === 24 ? DAY_NAMES[d]! : `${DAY_NAMES[d]} ${ranges.join(",")}`);
  });
  return out.length === 0 ? ["never"] : out;
}
