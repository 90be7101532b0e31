// The disk guard's judgement on given numbers, its reading of real filesystems, and byte formatting.
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkDisk, DEFAULT_DISK_GUARD, formatBytes, judge, thresholdBytes, type FsSpace } from "../../agent-core/disk/disk-guard.js";

const GB = 1e9;
const space = (freeGb: number, totalGb: number, label = "job home", path = "/data"): FsSpace => ({
  label,
  path,
  freeBytes: freeGb * GB,
  totalBytes: totalGb * GB,
});

describe("thresholdBytes", () => {
  it("is the smaller of the GB limit and the percentage of the filesystem", () => {
    const settings = { minFreeGb: 10, minFreePercent: 10, hardFloorGb: 1 };
    expect(thresholdBytes(space(0, 50), settings)).toBe(5 * GB); // 10 % of 50 GB
    expect(thresholdBytes(space(0, 2000), settings)).toBe(10 * GB); // 10 GB < 200 GB
  });

  it("0 turns one limit off; both 0: no threshold", () => {
    expect(thresholdBytes(space(0, 2000), { minFreeGb: 0, minFreePercent: 10, hardFloorGb: 1 })).toBe(200 * GB);
    expect(thresholdBytes(space(0, 50), { minFreeGb: 10, minFreePercent: 0, hardFloorGb: 1 })).toBe(10 * GB);
    expect(thresholdBytes(space(0, 50), { minFreeGb: 0, minFreePercent: 0, hardFloorGb: 1 })).toBe(0);
  });
});

describe("judge", () => {
  it("ok above the threshold, low below it, with a reason naming the path, label and amounts", () => {
    const ok = judge([space(6, 50)], DEFAULT_DISK_GUARD);
    expect(ok.state).toBe("ok");
    expect(ok.reason).toBeNull();
    expect(ok.thresholds).toEqual([5 * GB]);

    const low = judge([space(4, 50)], DEFAULT_DISK_GUARD);
    expect(low.state).toBe("low");
    expect(low.reason).toContain("/data (job home)");
    expect(low.reason).toContain("4.0 GB");
    expect(low.reason).toContain("5.0 GB");
    expect(low.reason).toMatch(/no new job/);
  });

  it("with the percentage off, the GB limit alone decides (and the other way round)", () => {
    expect(judge([space(9, 2000)], { minFreeGb: 10, minFreePercent: 0, hardFloorGb: 1 }).state).toBe("low");
    expect(judge([space(11, 2000)], { minFreeGb: 10, minFreePercent: 0, hardFloorGb: 1 }).state).toBe("ok");
    expect(judge([space(150, 2000)], { minFreeGb: 0, minFreePercent: 10, hardFloorGb: 1 }).state).toBe("low");
    expect(judge([space(2, 10)], { minFreeGb: 0, minFreePercent: 10, hardFloorGb: 1 }).state).toBe("ok");
    // Both off: only the hard floor is left.
    expect(judge([space(1.5, 2000)], { minFreeGb: 0, minFreePercent: 0, hardFloorGb: 1 }).state).toBe("ok");
  });

  it("critical below the hard floor, whatever the other limits say; the reason says a job is stopped", () => {
    const critical = judge([space(0.5, 50)], DEFAULT_DISK_GUARD);
    expect(critical.state).toBe("critical");
    expect(critical.reason).toContain("/data (job home)");
    expect(critical.reason).toContain("500 MB");
    expect(critical.reason).toContain("hard floor of 1.0 GB");
    expect(critical.reason).toMatch(/running job is stopped/);
    // The floor off: the same space is only low.
    expect(judge([space(0.5, 50)], { ...DEFAULT_DISK_GUARD, hardFloorGb: 0 }).state).toBe("low");
  });

  it("the worst filesystem decides; a critical one wins over an earlier low one", () => {
    const verdict = judge([space(4, 50, "job home", "/data"), space(0.2, 50, "TMPDIR", "/scratch")], DEFAULT_DISK_GUARD);
    expect(verdict.state).toBe("critical");
    expect(verdict.reason).toContain("/scratch (TMPDIR)");
    expect(verdict.thresholds).toEqual([5 * GB, 5 * GB]);

    const firstLow = judge([space(100, 200, "job home", "/data"), space(3, 50, "TMPDIR", "/scratch")], DEFAULT_DISK_GUARD);
    expect(firstLow.state).toBe("low");
    expect(firstLow.reason).toContain("/scratch (TMPDIR)");
  });

  it("no spaces: ok", () => {
    expect(judge([], DEFAULT_DISK_GUARD)).toEqual({ state: "ok", reason: null, spaces: [], thresholds: [] });
  });
});

describe("checkDisk", () => {
  const a = mkdtempSync(join(tmpdir(), "sa-disk-a-"));
  const b = mkdtempSync(join(tmpdir(), "sa-disk-b-"));
  afterAll(() => {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  });

  it("reads two paths on one filesystem once, with both labels", async () => {
    const verdict = await checkDisk(
      [
        { label: "job home", path: a },
        { label: "TMPDIR", path: b },
      ],
      DEFAULT_DISK_GUARD,
    );
    expect(verdict.spaces).toHaveLength(1);
    const s = verdict.spaces[0] as FsSpace;
    expect(s.label).toBe("job home, TMPDIR");
    expect(s.path).toBe(a);
    const fs = statfsSync(a);
    expect(s.totalBytes).toBe(fs.blocks * fs.bsize);
    // Free space moves a little while other tests write; within 1 GB of what statfs says now.
    expect(Math.abs(s.freeBytes - fs.bavail * fs.bsize)).toBeLessThan(GB);
    expect(verdict.thresholds).toEqual([thresholdBytes(s, DEFAULT_DISK_GUARD)]);
  });

  it("leaves out a path that does not exist", async () => {
    const verdict = await checkDisk(
      [
        { label: "job home", path: join(a, "not-made-yet") },
        { label: "TMPDIR", path: b },
      ],
      DEFAULT_DISK_GUARD,
    );
    expect(verdict.spaces.map((s) => s.label)).toEqual(["TMPDIR"]);
  });

  it("impossible limits make a real filesystem low, with its path and labels in the reason", async () => {
    const verdict = await checkDisk(
      [
        { label: "job home", path: a },
        { label: "TMPDIR", path: b },
      ],
      { minFreeGb: 100_000_000, minFreePercent: 100, hardFloorGb: 0 },
    );
    expect(verdict.state).toBe("low");
    expect(verdict.reason).toContain(`${a} (job home, TMPDIR)`);
  });
});

describe("formatBytes", () => {
  it("decimal units, one decimal below 100", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.0 KB");
    expect(formatBytes(1234567890)).toBe("1.2 GB");
    expect(formatBytes(123_456_789)).toBe("123 MB");
    expect(formatBytes(5e9)).toBe("5.0 GB");
    expect(formatBytes(2.5e12)).toBe("2.5 TB");
    expect(formatBytes(3e15)).toBe("3.0 PB");
    expect(formatBytes(4e18)).toBe("4000 PB");
  });
});
