// The lending policy engine with a fake clock and fake signals: each condition, their order, the
// weekly schedule across midnight and across DST changes (Europe/Berlin), snooze expiry, the
// running-job policy per condition, the state line, and the circuit breaker.
import { describe, expect, it } from "vitest";
import { CircuitBreaker, decide, DEFAULT_LENDING_POLICY, stateLine, type LendingPolicy, type PolicySignals } from "../../agent-core/policy/engine.js";
import { nextScheduleChange, scheduleAllows, scheduleProblem, type WeeklySchedule } from "../../agent-core/policy/schedule.js";

const TZ = "Europe/Berlin";
/** Berlin local time (CET, +01:00, in December). */
const berlin = (iso: string) => Date.parse(`${iso}+01:00`);
const MON_10 = berlin("2026-12-07T10:00:00");

const signals = (patch: Partial<PolicySignals> = {}): PolicySignals => ({
  now: MON_10,
  pausedByHand: false,
  snoozedUntil: null,
  onBattery: false,
  idleSeconds: 3600,
  ownerCpuPercent: 0,
  disk: null,
  breaker: null,
  ...patch,
});
const policy = (patch: Partial<LendingPolicy> = {}): LendingPolicy => ({ ...DEFAULT_LENDING_POLICY, timeZone: TZ, ...patch });

/** Evenings 19-23 and nights 0-7 on weekdays, all weekend. */
const EVENINGS: WeeklySchedule = {
  days: [
    ...Array.from({ length: 5 }, () => [0, 1, 2, 3, 4, 5, 6, 7, 19, 20, 21, 22, 23]),
    Array.from({ length: 24 }, (_, h) => h),
    Array.from({ length: 24 }, (_, h) => h),
  ],
};

describe("decide", () => {
  it("with the defaults, lends at any time whatever the signals", () => {
    const v = decide(DEFAULT_LENDING_POLICY, signals({ onBattery: true, idleSeconds: 0, ownerCpuPercent: 99 }));
    expect(v).toMatchObject({ allowed: true, kind: null, nextChangeAt: null, note: null });
    expect(stateLine(v)).toBe("Lending this machine");
  });

  it("checks the conditions in order: paused, snoozed, schedule, battery, idle, load, disk, breaker", () => {
    const p = policy({ schedule: EVENINGS, runOnBattery: false, idleMinutes: 5, ownerCpuPercent: 50 });
    const all = signals({ pausedByHand: true, snoozedUntil: MON_10 + 3600_000, onBattery: true, idleSeconds: 10, ownerCpuPercent: 80, disk: "Only 1 GB free", breaker: "5 jobs in a row failed" });
    const order: Array<[keyof PolicySignals, unknown]> = [
      ["pausedByHand", false],
      ["snoozedUntil", null],
      ["now", berlin("2026-12-07T20:00:00")], // inside the schedule
      ["onBattery", false],
      ["idleSeconds", 600],
      ["ownerCpuPercent", 10],
      ["disk", null],
      ["breaker", null],
    ];
    const seen: (string | null)[] = [];
    let s = all;
    for (const [key, value] of order) {
      seen.push(decide(p, s).kind);
      s = { ...s, [key]: value };
    }
    seen.push(decide(p, s).kind);
    expect(seen).toEqual(["paused", "snoozed", "schedule", "battery", "idle", "load", "disk", "breaker", null]);
  });

  it("snoozed until a time: the reason names it, it ends by itself at that time", () => {
    const until = berlin("2026-12-07T18:00:00");
    const v = decide(policy(), signals({ snoozedUntil: until }));
    expect(v).toMatchObject({ allowed: false, kind: "snoozed", nextChangeAt: until });
    expect(stateLine(v)).toBe("Snoozed until 18:00 (resumes at 18:00)");
    expect(decide(policy(), signals({ snoozedUntil: until, now: until })).allowed).toBe(true);
    // A snooze into another day names the day.
    expect(decide(policy(), signals({ snoozedUntil: berlin("2026-12-08T09:00:00") })).reason).toBe("Snoozed until Tue 09:00");
  });

  it("outside the schedule: names the next window; inside: says until when", () => {
    const out = decide(policy({ schedule: EVENINGS }), signals());
    expect(out).toMatchObject({ allowed: false, kind: "schedule", nextChangeAt: berlin("2026-12-07T19:00:00") });
    expect(stateLine(out)).toBe("Outside your schedule (next window 19:00)");
    const inside = decide(policy({ schedule: EVENINGS }), signals({ now: berlin("2026-12-07T22:30:00") }));
    // Monday 19-23 runs on into Tuesday 0-7: the window closes Tuesday 08:00.
    expect(inside).toMatchObject({ allowed: true, nextChangeAt: berlin("2026-12-08T08:00:00") });
    expect(stateLine(inside)).toBe("Lending this machine until Tue 08:00 (your schedule)");
    // Friday 08:00: the next window is that evening, then the whole weekend.
    const friday = decide(policy({ schedule: EVENINGS }), signals({ now: berlin("2026-12-11T08:00:00") }));
    expect(friday.next).toBe("next window 19:00");
    expect(nextScheduleChange(EVENINGS, berlin("2026-12-11T19:00:00"), TZ)).toBe(berlin("2026-12-14T08:00:00"));
  });

  it("an empty schedule never opens; a full one never closes", () => {
    const empty = { days: Array.from({ length: 7 }, () => []) };
    expect(decide(policy({ schedule: empty }), signals())).toMatchObject({ allowed: false, kind: "schedule", nextChangeAt: null, next: "no window in your schedule" });
    const full = { days: Array.from({ length: 7 }, () => Array.from({ length: 24 }, (_, h) => h)) };
    expect(decide(policy({ schedule: full }), signals())).toMatchObject({ allowed: true, nextChangeAt: null });
  });

  it("follows DST: the skipped spring hour never comes, the repeated autumn hour counts as its cell", () => {
    // Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST. A window of Sunday 02:00-03:00 only.
    const spring: WeeklySchedule = { days: [[], [], [], [], [], [], [2]] };
    const beforeSpring = Date.parse("2026-03-29T01:30:00+01:00");
    expect(scheduleAllows(spring, beforeSpring, TZ)).toBe(false);
    // The next change is a week later (the hour 02 of this Sunday does not exist), at 02:00 CEST.
    expect(nextScheduleChange(spring, beforeSpring, TZ)).toBe(Date.parse("2026-04-05T02:00:00+02:00"));
    // A window of Sunday 03:00-04:00 opens right at the jump, one real hour after 01:00 CET.
    const afterJump: WeeklySchedule = { days: [[], [], [], [], [], [], [3]] };
    expect(nextScheduleChange(afterJump, Date.parse("2026-03-29T01:00:00+01:00"), TZ)).toBe(Date.parse("2026-03-29T03:00:00+02:00"));

    // Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, so local 02:xx happens twice.
    const autumn: WeeklySchedule = { days: [[], [], [], [], [], [], [2]] };
    const firstTwo = Date.parse("2026-10-25T02:00:00+02:00");
    const secondTwo = Date.parse("2026-10-25T02:00:00+01:00");
    expect(scheduleAllows(autumn, firstTwo, TZ)).toBe(true);
    expect(scheduleAllows(autumn, secondTwo, TZ)).toBe(true);
    // Two real hours of lending: it closes at 03:00 CET.
    expect(nextScheduleChange(autumn, firstTwo, TZ)).toBe(Date.parse("2026-10-25T03:00:00+01:00"));
  });

  it("battery: only when the policy says so and the reading is known", () => {
    expect(decide(policy({ runOnBattery: false }), signals({ onBattery: true }))).toMatchObject({ allowed: false, kind: "battery" });
    expect(decide(policy({ runOnBattery: false }), signals({ onBattery: null })).allowed).toBe(true);
    expect(decide(policy({ runOnBattery: true }), signals({ onBattery: true })).allowed).toBe(true);
  });

  it("idle: in use pauses until N minutes without input; no reading is said, never silently ignored", () => {
    const p = policy({ idleMinutes: 5 });
    const busy = decide(p, signals({ idleSeconds: 30 }));
    expect(busy).toMatchObject({ allowed: false, kind: "idle" });
    expect(stateLine(busy)).toBe("Paused — you are using the computer (resumes after 5 min idle)");
    expect(decide(p, signals({ idleSeconds: 240 })).next).toBe("resumes after 5 min idle (in 1 min if untouched)");
    expect(decide(p, signals({ idleSeconds: 300 })).allowed).toBe(true);
    const unknown = decide(p, signals({ idleSeconds: null }));
    expect(unknown.allowed).toBe(true);
    expect(unknown.note).toMatch(/Idle detection is unavailable here/);
  });

  it("the owner's own CPU load above the limit pauses", () => {
    const v = decide(policy({ ownerCpuPercent: 50 }), signals({ ownerCpuPercent: 73.4 }));
    expect(v).toMatchObject({ allowed: false, kind: "load" });
    expect(stateLine(v)).toBe("Paused — your own programs use 73 % CPU (limit 50 %) (resumes when they use less)");
    expect(decide(policy({ ownerCpuPercent: 50 }), signals({ ownerCpuPercent: 50 })).allowed).toBe(true);
    expect(decide(policy({ ownerCpuPercent: 0 }), signals({ ownerCpuPercent: 99 })).allowed).toBe(true);
  });

  it("the running-job policy is the one of the condition that holds (finish by default)", () => {
    const p = policy({ idleMinutes: 5, onRunningJob: { idle: "stop", paused: "finish" } });
    expect(decide(p, signals({ idleSeconds: 1 })).onRunningJob).toBe("stop");
    expect(decide(p, signals({ pausedByHand: true, idleSeconds: 1 })).onRunningJob).toBe("finish");
    expect(decide(p, signals({ snoozedUntil: MON_10 + 1000 })).onRunningJob).toBe("finish");
  });
});

describe("scheduleProblem", () => {
  it("names the day and the entry that is wrong", () => {
    expect(scheduleProblem(EVENINGS)).toBeNull();
    expect(scheduleProblem({ days: [[]] })).toMatch(/7 days/);
    expect(scheduleProblem({ days: [[], [], [25], [], [], [], []] })).toBe("days[2][0] (Wed): an hour is 0 to 23 (got 25)");
    expect(scheduleProblem("evenings")).toMatch(/days/);
  });
});

describe("CircuitBreaker", () => {
  it("trips after N early failures in a row; a job that ran a command resets the count", () => {
    const b = new CircuitBreaker(3);
    b.record(true);
    b.record(true);
    b.record(false);
    b.record(true);
    b.record(true);
    expect(b.tripped).toBeNull();
    b.record(true);
    expect(b.tripped).toMatch(/^3 jobs in a row failed before their first command finished/);
    b.reset();
    expect(b.tripped).toBeNull();
    expect(b.count).toBe(0);
  });

  it("is off with a limit of 0", () => {
    const b = new CircuitBreaker(0);
    for (let i = 0; i < 10; i++) b.record(true);
    expect(b.tripped).toBeNull();
  });
});

describe("the headless agent's lend-schedule entries and snooze file", () => {
  it("parses DAYS [HOURS], ranges wrapping the week and midnight", async () => {
    const { parseScheduleEntry, scheduleFromEntries } = await import("../../agent-core/policy/schedule.js");
    expect(parseScheduleEntry("mon-fri 19-8")).toEqual({ days: [0, 1, 2, 3, 4], hours: [0, 1, 2, 3, 4, 5, 6, 7, 19, 20, 21, 22, 23] });
    expect(parseScheduleEntry("sat,sun")).toEqual({ days: [5, 6], hours: Array.from({ length: 24 }, (_, h) => h) });
    expect(parseScheduleEntry("fri-mon 22-24")).toEqual({ days: [0, 4, 5, 6], hours: [22, 23] });
    expect(parseScheduleEntry("* 0-24")).toMatchObject({ days: [0, 1, 2, 3, 4, 5, 6] });
    expect(parseScheduleEntry("mon 19-19")).toMatch(/FROM-TO/);
    expect(parseScheduleEntry("weekdays")).toMatch(/unknown day "weekdays"/);
    expect(parseScheduleEntry("mon 25-3")).toMatch(/hours "25-3"/);
    expect(scheduleFromEntries([])).toBeNull();
    expect(scheduleFromEntries(["mon 9-10", "mon 20-21"])?.days[0]).toEqual([9, 20]);
  });

  it("reads a snooze file: absent, a future time, a past time, anything else", async () => {
    const { readSnoozeFile } = await import("../../agent-core/policy/headless.js");
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "sa-snooze-unit-"));
    try {
      const file = join(dir, "snooze");
      const now = Date.parse("2026-12-07T10:00:00Z");
      expect(await readSnoozeFile(file, now)).toEqual({ until: null, paused: false });
      writeFileSync(file, "2026-12-07T18:00:00Z\n");
      expect(await readSnoozeFile(file, now)).toEqual({ until: Date.parse("2026-12-07T18:00:00Z"), paused: false });
      writeFileSync(file, "1796000000");
      expect(await readSnoozeFile(file, now)).toEqual({ until: null, paused: false });
      writeFileSync(file, "");
      expect(await readSnoozeFile(file, now)).toEqual({ until: null, paused: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
