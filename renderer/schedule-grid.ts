// The weekly lending schedule as Settings edits it: 7 days (Monday first) × 24 local hours, each on
// or off; toggled by a click, painted by a drag, or set by a preset; and its conversion from and to
// the settings' `lendSchedule` ({days: allowed hours per day} or null: any time). Pure.
import type { SettingsInput } from "../agent-core/host/contract.js";

/** grid[day][hour]: day 0 = Monday … 6 = Sunday, hour 0–23 local time. */
export type WeekGrid = boolean[][];
export type LendSchedule = NonNullable<SettingsInput["lendSchedule"]>;

export const DAYS = 7;
export const HOURS = 24;
export const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
export const DAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export function gridOf(on: (day: number, hour: number) => boolean): WeekGrid {
  return Array.from({ length: DAYS }, (_, day) => Array.from({ length: HOURS }, (_, hour) => on(day, hour)));
}

export const fullGrid = (): WeekGrid => gridOf(() => true);
export const emptyGrid = (): WeekGrid => gridOf(() => false);

export type SchedulePreset = "all" | "none" | "evenings-weekends";

/** "Evenings & weekends": weekdays from 18:00 to 08:00 the next morning, and all of Saturday and Sunday. */
export function presetGrid(preset: SchedulePreset): WeekGrid {
  switch (preset) {
    case "all":
      return fullGrid();
    case "none":
      return emptyGrid();
    case "evenings-weekends":
      return gridOf((day, hour) => day >= 5 || hour >= 18 || hour < 8);
  }
}

/** The grid a saved schedule shows; any time (null) shows every hour on. */
export function gridFromSchedule(schedule: LendSchedule | null | undefined): WeekGrid {
  if (schedule == null) return fullGrid();
  return gridOf((day, hour) => schedule.days[day]?.includes(hour) === true);
}

/** The schedule a grid saves: each day's allowed hours, in order. */
export function scheduleFromGrid(grid: WeekGrid): LendSchedule {
  return { days: Array.from({ length: DAYS }, (_, day) => Array.from({ length: HOURS }, (_, hour) => hour).filter((hour) => grid[day]?.[hour] === true)) };
}

export function cellOn(grid: WeekGrid, day: number, hour: number): boolean {
  return grid[day]?.[hour] === true;
}

/** The grid with one cell set (the same grid when it already is). */
export function setCell(grid: WeekGrid, day: number, hour: number, on: boolean): WeekGrid {
  if (day < 0 || day >= DAYS || hour < 0 || hour >= HOURS || cellOn(grid, day, hour) === on) return grid;
  return grid.map((row, d) => (d === day ? row.map((v, h) => (h === hour ? on : v)) : row));
}

export function toggleCell(grid: WeekGrid, day: number, hour: number): WeekGrid {
  return setCell(grid, day, hour, !cellOn(grid, day, hour));
}

/** A whole day on, or off when it already is all on. */
export function toggleDay(grid: WeekGrid, day: number): WeekGrid {
  const on = !grid[day]!.every(Boolean);
  return grid.map((row, d) => (d === day ? row.map(() => on) : row));
}

/** An hour of every day on, or off when it already is on every day. */
export function toggleHour(grid: WeekGrid, hour: number): WeekGrid {
  const on = !grid.every((row) => row[hour] === true);
  return grid.map((row) => row.map((v, h) => (h === hour ? on : v)));
}

/**
 * Click-and-drag: the first cell flips, and every cell the pointer then passes over takes that same
 * value (so a drag that starts on an "on" cell erases, one that starts on an "off" cell paints).
 */
export class SchedulePaint {
  readonly value: boolean;
  private last: string;

  private constructor(
    public grid: WeekGrid,
    day: number,
    hour: number,
  ) {
    this.value = !cellOn(grid, day, hour);
    this.grid = setCell(grid, day, hour, this.value);
    this.last = `${day}:${hour}`;
  }

  static start(grid: WeekGrid, day: number, hour: number): SchedulePaint {
    return new SchedulePaint(grid, day, hour);
  }

  /** The pointer is over this cell now; returns whether the grid changed. */
  over(day: number, hour: number): boolean {
    const key = `${day}:${hour}`;
    if (key === this.last) return false;
    this.last = key;
    const next = setCell(this.grid, day, hour, this.value);
    if (next === this.grid) return false;
    this.grid = next;
    return true;
  }
}

export function hoursOn(grid: WeekGrid): number {
  return grid.reduce((n, row) => n + row.filter(Boolean).length, 0);
}

/** What the schedule amounts to: "Any time", "Never: no hour is chosen", "42 hours a week". */
export function scheduleSummary(enabled: boolean, grid: WeekGrid): string {
  if (!enabled) return "Any time: the schedule is not used.";
  const hours = hoursOn(grid);
  if (hours === 0) return "No hour is chosen: this machine is never lent.";
  if (hours === DAYS * HOURS) return "Every hour is chosen: any time.";
  return `${hours} ${hours === 1 ? "hour" : "hours"} a week, in local time.`;
}
