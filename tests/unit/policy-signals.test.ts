// The lending policy's readings on Linux: battery from a sysfs tree (a stand-in folder laid out as
// /sys/class/power_supply is), and the owner's CPU load from /proc minus this process tree's.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { linuxOnBattery, linuxOwnerCpu, loginctlIdleSeconds } from "../../agent-core/policy/signals.js";

const root = mkdtempSync(join(tmpdir(), "sa-power-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function supply(dir: string, name: string, files: Record<string, string>): void {
  mkdirSync(join(dir, name), { recursive: true });
  for (const [file, value] of Object.entries(files)) writeFileSync(join(dir, name, file), `${value}\n`);
}

describe("linuxOnBattery", () => {
  it("no battery: unknown; discharging with no mains: on battery; mains online: not", async () => {
    const desktop = join(root, "desktop");
    supply(desktop, "AC", { type: "Mains", online: "1" });
    expect(await linuxOnBattery(desktop)).toBeNull();
    expect(await linuxOnBattery(join(root, "missing"))).toBeNull();

    const laptop = join(root, "laptop");
    supply(laptop, "AC", { type: "Mains", online: "0" });
    supply(laptop, "BAT0", { type: "Battery", status: "Discharging" });
    expect(await linuxOnBattery(laptop)).toBe(true);
    writeFileSync(join(laptop, "AC", "online"), "1\n");
    writeFileSync(join(laptop, "BAT0", "status"), "Charging\n");
    expect(await linuxOnBattery(laptop)).toBe(false);
  });
});

describe("linuxOwnerCpu", () => {
  it("leaves out this process tree: over the same interval, a busy child of ours counts only for a reader rooted elsewhere", async () => {
    const ours = linuxOwnerCpu(process.pid);
    const nobodys = linuxOwnerCpu(999_999_999); // no such process: nothing is left out
    expect(await ours()).toBeNull(); // the baselines
    expect(await nobodys()).toBeNull();
    // ~400 ms of one core, in a child of ours (its time lands in our cutime once it exits).
    const busy = spawn(process.execPath, ["-e", "const end = Date.now() + 400; while (Date.now() < end) {}"]);
    await new Promise((r) => busy.on("exit", r));
    const [mine, all] = [await ours(), await nobodys()];
    expect(mine).not.toBeNull();
    expect(mine!).toBeGreaterThanOrEqual(0);
    expect(all!).toBeLessThanOrEqual(100);
    // Whatever else the machine did, it did for both readers: the difference is our tree's work.
    expect(all! - mine!).toBeGreaterThan(10);
  });
});

describe("loginctlIdleSeconds", () => {
  it("without a logind session it is unavailable (null), never a guess", async () => {
    expect(await loginctlIdleSeconds({})).toBeNull();
  });
});
