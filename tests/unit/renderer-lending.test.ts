// The owner's terms in the renderer (renderer/lending-view.ts, renderer/schedule-grid.ts) and the
// Settings draft's lending fields (renderer/views/settings-draft.ts). Pure: no DOM. Times are built
// with local Date constructors, so the tests hold in any time zone.
import { describe, expect, it } from "vitest";
import { idleAgentSnapshot, type AgentSnapshot, type GivenSummary, type LendingState } from "../../agent-core/host/contract.js";
import { DEFAULT_LENDING_SETTINGS } from "../../agent-core/host/settings.js";
import {
  clockWords,
  defaultCustomSnooze,
  formatHours,
  formatRemaining,
  givenTop,
  jobsWords,
  lendingControls,
  lendingTone,
  localInputValue,
  parseCustomSnooze,
  pendingNotice,
  snoozeCountdown,
  snoozePresetUntil,
  tomorrowMorning,
} from "../../renderer/lending-view.js";
import {
  emptyGrid,
  fullGrid,
  gridFromSchedule,
  hoursOn,
  presetGrid,
  scheduleFromGrid,
  SchedulePaint,
  scheduleSummary,
  setCell,
  toggleCell,
  toggleDay,
  toggleHour,
} from "../../renderer/schedule-grid.js";
import { agentStatus } from "../../renderer/view-model.js";
import { draftFrom, LENDING_DEFAULTS, lendingSettingsOf, sameDraft, toSettingsInput } from "../../renderer/views/settings-draft.js";
import { settingsView } from "../helpers/settings-view.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** Friday 14 March 2025, 15:00:00 local time. */
const NOW = new Date(2025, 2, 14, 15, 0, 0).getTime();

const lending = (patch: Partial<LendingState> = {}): LendingState => ({ ...idleAgentSnapshot().lending, ...patch });
const agent = (patch: Partial<AgentSnapshot> = {}, lend: Partial<LendingState> = {}): AgentSnapshot =>
  idleAgentSnapshot({ phase: "waiting-for-jobs", startedAt: 1, ...patch, lending: lending(lend) });

describe("the snooze countdown", () => {
  it("says the time left: seconds below an hour, then whole minutes, then days", () => {
    expect(formatRemaining(0)).toBe("0 s");
    expect(formatRemaining(-5)).toBe("0 s");
    expect(formatRemaining(1)).toBe("1 s"); // never "0 s" while some remains
    expect(formatRemaining(42 * SECOND)).toBe("42 s");
    expect(formatRemaining(59_001)).toBe("1 min 0 s");
    expect(formatRemaining(12 * MINUTE + 5 * SECOND)).toBe("12 min 5 s");
    expect(formatRemaining(HOUR - 1500)).toBe("59 min 59 s");
    expect(formatRemaining(HOUR - 500)).toBe("1 h 0 min");
    expect(formatRemaining(HOUR)).toBe("1 h 0 min");
    // A 3 h snooze a moment after it began.
    expect(formatRemaining(3 * HOUR - 200)).toBe("2 h 59 min");
    expect(formatRemaining(26 * HOUR + 5 * MINUTE)).toBe("1 d 2 h");
  });

  it("names the end as the host's lending line does: a time today, a weekday within the week, else a date", () => {
    expect(clockWords(new Date(2025, 2, 14, 18, 0).getTime(), NOW)).toBe("18:00");
    expect(clockWords(new Date(2025, 2, 15, 8, 0).getTime(), NOW)).toBe("Sat 08:00");
    expect(clockWords(new Date(2025, 2, 20, 9, 30).getTime(), NOW)).toBe("Thu 09:30");
    const far = clockWords(new Date(2025, 5, 1, 7, 5).getTime(), NOW);
    expect(far).toMatch(/1/);
    expect(far).toMatch(/ 07:05$/);
  });

  it("reads 'Snoozed until 18:00 · 2 h 59 min left', and ticks", () => {
    const until = new Date(2025, 2, 14, 18, 0).getTime();
    expect(snoozeCountdown(until, NOW + 10 * SECOND)).toBe("Snoozed until 18:00 · 2 h 59 min left");
    expect(snoozeCountdown(until, until - 30 * MINUTE - 1500)).toBe("Snoozed until 18:00 · 30 min 2 s left");
    expect(snoozeCountdown(until, until - 999)).toBe("Snoozed until 18:00 · 1 s left");
  });
});

describe("snooze times", () => {
  it("1 h and 3 h from now; tomorrow is the next day at 08:00 local time", () => {
    expect(snoozePresetUntil("1h", NOW)).toBe(NOW + HOUR);
    expect(snoozePresetUntil("3h", NOW)).toBe(NOW + 3 * HOUR);
    expect(snoozePresetUntil("tomorrow", NOW)).toBe(new Date(2025, 2, 15, 8, 0).getTime());
    // Just after midnight, "tomorrow" is still the next day, not in a few hours.
    expect(tomorrowMorning(new Date(2025, 2, 15, 0, 10).getTime())).toBe(new Date(2025, 2, 16, 8, 0).getTime());
    // Across the end of a month and a year.
    expect(tomorrowMorning(new Date(2025, 11, 31, 23, 0).getTime())).toBe(new Date(2026, 0, 1, 8, 0).getTime());
  });

  it("the custom time is local, in the future, and within a year", () => {
    expect(localInputValue(new Date(2025, 2, 4, 9, 5).getTime())).toBe("2025-03-04T09:05");
    expect(defaultCustomSnooze(NOW)).toBe("2025-03-14T16:00");
    expect(defaultCustomSnooze(NOW + 10 * MINUTE)).toBe("2025-03-14T17:00");
    expect(parseCustomSnooze("2025-03-14T18:30", NOW)).toEqual({ ok: true, until: new Date(2025, 2, 14, 18, 30).getTime() });
    expect(parseCustomSnooze("2025-03-14T14:59", NOW)).toEqual({ ok: false, error: "Choose a time in the future" });
    expect(parseCustomSnooze("2025-03-14T15:00", NOW)).toEqual({ ok: false, error: "Choose a time in the future" });
    expect(parseCustomSnooze("2026-04-01T08:00", NOW)).toEqual({ ok: false, error: "At most a year from now" });
    expect(parseCustomSnooze("", NOW)).toEqual({ ok: false, error: "Enter a date and a time" });
    expect(parseCustomSnooze("2025-02-30T08:00", NOW)).toEqual({ ok: false, error: "Enter a date and a time" });
    expect(parseCustomSnooze("tomorrow", NOW)).toEqual({ ok: false, error: "Enter a date and a time" });
  });
});

describe("the Agent view's lending controls", () => {
  it("Pause and Snooze while lending; Pause asks now or after the job only while a Semaphore job runs", () => {
    expect(lendingControls(agent())).toEqual({ jobRunning: false, canPause: true, canPauseAfterJob: false, canSnooze: true, canResume: false });
    expect(lendingControls(agent({ phase: "running-job", jobId: "j1" }))).toMatchObject({ jobRunning: true, canPauseAfterJob: true, canResume: false });
    // The local demo's jobs are not lent.
    expect(lendingControls(agent({ mode: "demo", phase: "running-job", jobId: "j1" })).jobRunning).toBe(false);
    expect(lendingControls(null)).toEqual({ jobRunning: false, canPause: false, canPauseAfterJob: false, canSnooze: false, canResume: false });
  });

  it("Resume while paused, snoozed, pausing after the job, or the breaker has tripped", () => {
    expect(lendingControls(agent({}, { pausedByHand: true, kind: "paused" }))).toMatchObject({ canPause: false, canSnooze: false, canResume: true });
    expect(lendingControls(agent({}, { snoozedUntil: NOW, kind: "snoozed" }))).toMatchObject({ canPause: true, canResume: true });
    expect(lendingControls(agent({ jobId: "j1" }, { pauseAfterJob: true, pending: "finish" }))).toMatchObject({ canPause: true, canPauseAfterJob: false, canResume: true });
    expect(lendingControls(agent({}, { kind: "breaker" })).canResume).toBe(true);
    // A schedule or the owner's use ends by itself: nothing to resume.
    expect(lendingControls(agent({}, { kind: "schedule" })).canResume).toBe(false);
    expect(lendingControls(agent({}, { kind: "idle" })).canResume).toBe(false);
  });

  it("the pending notice: a pause after the job (Resume cancels it), a condition letting the job finish or stopping it", () => {
    const identity = { projectName: "web-app", jobName: "Unit tests" } as AgentSnapshot["jobIdentity"];
    expect(pendingNotice(agent({ jobId: "j1", jobIdentity: identity }, { pauseAfterJob: true, pending: "finish" }))).toEqual({
      kind: "after-job",
      text: "Pausing after job web-app · Unit tests — Resume to cancel",
    });
    expect(pendingNotice(agent({ jobId: "j1" }, { pauseAfterJob: true }))?.text).toBe("Pausing after job j1 — Resume to cancel");
    expect(pendingNotice(agent({ jobId: "j1" }, { kind: "schedule", pending: "finish" }))?.kind).toBe("finish");
    expect(pendingNotice(agent({ jobId: "j1" }, { kind: "load", pending: "stop" }))?.text).toBe("Stopping job j1; then the agent takes no new job.");
    expect(pendingNotice(agent({ jobId: "j1" }))).toBeNull();
    // Once the job is over, the hold says the rest.
    expect(pendingNotice(agent({ jobId: null }, { pauseAfterJob: true }))).toBeNull();
  });

  it("tones and state words", () => {
    expect(lendingTone(lending())).toBe("ok");
    expect(lendingTone(lending({ kind: "snoozed" }))).toBe("warn");
    expect(lendingTone(lending({ pauseAfterJob: true }))).toBe("warn");
    expect(lendingTone(lending({ kind: "breaker" }))).toBe("error");
    const hold = (kind: NonNullable<AgentSnapshot["hold"]>["kind"]) => agent({ phase: "idle", hold: { kind, reason: "r", since: 1, next: null, until: null } });
    expect(agentStatus(hold("snoozed"))).toEqual({ words: "Snoozed", tone: "warn", running: true });
    expect(agentStatus(hold("paused")).words).toBe("Paused");
    expect(agentStatus(hold("breaker")).tone).toBe("error");
  });
});

describe("this machine has given", () => {
  it("hours of job time read as minutes below an hour, one decimal below ten", () => {
    expect(formatHours(0)).toBe("0 h");
    expect(formatHours(0.001)).toBe("< 1 min");
    expect(formatHours(1 / 60)).toBe("1 min");
    expect(formatHours(0.42)).toBe("25 min");
    expect(formatHours(1)).toBe("1.0 h");
    expect(formatHours(3.44)).toBe("3.4 h");
    expect(formatHours(9.96)).toBe("10 h");
    expect(formatHours(128.4)).toBe("128 h");
    expect(jobsWords(1)).toBe("1 job");
    expect(jobsWords(12)).toBe("12 jobs");
  });

  it("lists the top projects as the host ordered them, and how many more", () => {
    const given: GivenSummary = {
      gpuHours: 0,
      energyWh: 0,
      jobs: 9,
      hours: 4,
      since: 1,
      byProject: Array.from({ length: 7 }, (_, i) => ({ project: `p${i}`, jobs: 1, hours: 1 - i / 10 })),
    };
    expect(givenTop(given).shown.map((p) => p.project)).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    expect(givenTop(given).more).toBe(2);
    expect(givenTop(given, 10)).toEqual({ shown: given.byProject, more: 0 });
  });
});

describe("the weekly schedule grid", () => {
  it("converts to and from lendSchedule (Monday first, hours in order); null shows every hour on", () => {
    const schedule = { days: [[19, 20, 21], [], [], [], [0, 23], Array.from({ length: 24 }, (_, h) => h), []] };
    const grid = gridFromSchedule(schedule);
    expect(grid).toHaveLength(7);
    expect(grid.every((row) => row.length === 24)).toBe(true);
    expect(grid[0]![19]).toBe(true);
    expect(grid[0]![18]).toBe(false);
    expect(scheduleFromGrid(grid)).toEqual(schedule);
    expect(hoursOn(grid)).toBe(29);
    expect(gridFromSchedule(null)).toEqual(fullGrid());
    expect(scheduleFromGrid(emptyGrid())).toEqual({ days: [[], [], [], [], [], [], []] });
  });

  it("a click toggles a cell; a day's name or an hour toggles them all", () => {
    const grid = emptyGrid();
    const one = toggleCell(grid, 2, 9);
    expect(one[2]![9]).toBe(true);
    expect(grid[2]![9]).toBe(false); // never changed in place
    expect(toggleCell(one, 2, 9)).toEqual(grid);
    expect(setCell(one, 2, 9, true)).toBe(one);
    expect(setCell(one, 7, 0, true)).toBe(one);
    expect(toggleDay(one, 2)[2]!.every(Boolean)).toBe(true);
    expect(toggleDay(toggleDay(one, 2), 2)[2]!.some(Boolean)).toBe(false);
    expect(toggleHour(grid, 5).every((row) => row[5] === true)).toBe(true);
    expect(hoursOn(toggleHour(grid, 5))).toBe(7);
  });

  it("a drag paints with the first cell's new value: starting on an off cell paints, on an on cell erases", () => {
    const paint = SchedulePaint.start(emptyGrid(), 0, 18);
    expect(paint.value).toBe(true);
    expect(paint.over(0, 18)).toBe(false); // still the first cell
    expect(paint.over(0, 19)).toBe(true);
    expect(paint.over(0, 20)).toBe(true);
    expect(paint.over(1, 20)).toBe(true);
    expect(scheduleFromGrid(paint.grid).days.slice(0, 2)).toEqual([[18, 19, 20], [20]]);

    const erase = SchedulePaint.start(paint.grid, 0, 19);
    expect(erase.value).toBe(false);
    expect(erase.over(0, 20)).toBe(true);
    expect(erase.over(0, 5)).toBe(false); // already off: nothing changes
    expect(erase.over(0, 18)).toBe(true);
    expect(scheduleFromGrid(erase.grid).days.slice(0, 2)).toEqual([[], [20]]);
  });

  it("presets, and what the schedule amounts to", () => {
    const evenings = scheduleFromGrid(presetGrid("evenings-weekends")).days;
    expect(evenings[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 18, 19, 20, 21, 22, 23]);
    expect(evenings[5]).toHaveLength(24);
    expect(evenings[6]).toHaveLength(24);
    expect(presetGrid("all")).toEqual(fullGrid());
    expect(presetGrid("none")).toEqual(emptyGrid());
    expect(scheduleSummary(false, emptyGrid())).toBe("Any time: the schedule is not used.");
    expect(scheduleSummary(true, emptyGrid())).toBe("No hour is chosen: this machine is never lent.");
    expect(scheduleSummary(true, fullGrid())).toBe("Every hour is chosen: any time.");
    expect(scheduleSummary(true, presetGrid("evenings-weekends"))).toBe("118 hours a week, in local time.");
    expect(scheduleSummary(true, toggleCell(emptyGrid(), 0, 0))).toBe("1 hour a week, in local time.");
  });
});

describe("the Settings draft's lending fields", () => {
  it("LENDING_DEFAULTS are the host's own defaults", () => {
    const keys = Object.keys(LENDING_DEFAULTS) as (keyof typeof LENDING_DEFAULTS)[];
    expect(Object.fromEntries(keys.map((k) => [k, DEFAULT_LENDING_SETTINGS[k]]))).toEqual(LENDING_DEFAULTS);
    // A view without them (an older host) gets the defaults.
    const { lendSchedule: _s, lendOnBattery: _b, lendIdleMinutes: _i, lendOwnerCpuPercent: _c, lendOnRunningJob: _r, breakerJobs: _k, ...older } = settingsView();
    expect(lendingSettingsOf(older as never)).toEqual(LENDING_DEFAULTS);
    expect(toSettingsInput(draftFrom(older as never)).input).toMatchObject(LENDING_DEFAULTS);
  });

  it("round-trip: the schedule's grid, battery, idle, load, the running-job policy and the breaker", () => {
    const view = settingsView({
      lendSchedule: { days: [[19, 20], [], [], [], [], [9], []] },
      lendOnBattery: false,
      lendIdleMinutes: 5,
      lendOwnerCpuPercent: 50,
      lendOnRunningJob: { schedule: "stop", battery: "finish", idle: "stop", load: "finish" },
      breakerJobs: 0,
    });
    const draft = draftFrom(view);
    expect(draft.lendScheduleEnabled).toBe(true);
    expect(draft.lendSchedule[0]![19]).toBe(true);
    expect(draft.lendIdleMinutes).toBe("5");
    const { input, errors } = toSettingsInput(draft);
    expect(errors).toEqual([]);
    expect(input).toMatchObject({
      lendSchedule: { days: [[19, 20], [], [], [], [], [9], []] },
      lendOnBattery: false,
      lendIdleMinutes: 5,
      lendOwnerCpuPercent: 50,
      lendOnRunningJob: { schedule: "stop", battery: "finish", idle: "stop", load: "finish" },
      breakerJobs: 0,
    });
    expect(sameDraft(draft, draftFrom(view))).toBe(true);
    expect(sameDraft({ ...draft, lendSchedule: toggleCell(draft.lendSchedule, 3, 3) }, draft)).toBe(false);
  });

  it("'Only at these times' off saves any time (null); on saves the grid, even an empty one", () => {
    const draft = draftFrom(settingsView());
    expect(draft.lendScheduleEnabled).toBe(false);
    expect(draft.lendSchedule).toEqual(fullGrid());
    expect(toSettingsInput({ ...draft, lendSchedule: emptyGrid() }).input?.lendSchedule).toBeNull();
    expect(toSettingsInput({ ...draft, lendScheduleEnabled: true, lendSchedule: emptyGrid() }).input?.lendSchedule).toEqual({ days: [[], [], [], [], [], [], []] });
    const painted = toggleCell(toggleCell(emptyGrid(), 6, 23), 0, 0);
    expect(toSettingsInput({ ...draft, lendScheduleEnabled: true, lendSchedule: painted }).input?.lendSchedule).toEqual({ days: [[0], [], [], [], [], [], [23]] });
  });

  it("idle minutes, CPU percent and the breaker are whole numbers in range, checked before asking the host", () => {
    const draft = draftFrom(settingsView());
    const c = toSettingsInput({ ...draft, lendIdleMinutes: "1441", lendOwnerCpuPercent: "50.5", breakerJobs: "1001" });
    expect(c.input).toBeNull();
    expect(c.errors).toEqual([
      { field: "lendIdleMinutes", message: "Enter 1440 or less" },
      { field: "lendOwnerCpuPercent", message: "Enter a whole number" },
      { field: "breakerJobs", message: "Enter 1000 or less" },
    ]);
    expect(toSettingsInput({ ...draft, lendIdleMinutes: " 1440 ", lendOwnerCpuPercent: "100", breakerJobs: "0" }).input).toMatchObject({
      lendIdleMinutes: 1440,
      lendOwnerCpuPercent: 100,
      breakerJobs: 0,
    });
  });
});
