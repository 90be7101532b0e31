// The wake and network watch that lets an agent in back-off try at once: a timer that fires much
// later than due is a wake from sleep, a change in the interfaces' addresses is a network change.
import { afterEach, describe, expect, it } from "vitest";
import { ConnectivityWatch, interfacesSignature } from "../../agent-core/host/connectivity.js";

const watches: ConnectivityWatch[] = [];
afterEach(() => watches.splice(0).forEach((w) => w.stop()));

function watch(clock: { now: number }, interfaces: { value: string }) {
  const seen: string[] = [];
  let ticks = 0;
  let resolveTick: (() => void) | null = null;
  const w = new ConnectivityWatch({
    intervalMs: 5,
    sleepGapMs: 1_000,
    now: () => clock.now,
    readInterfaces: () => {
      ticks++;
      resolveTick?.();
      return interfaces.value;
    },
    onChange: (why) => seen.push(why),
  });
  watches.push(w);
  // Each call waits for the next tick of the watch (its read of the interfaces).
  const nextTick = () => new Promise<void>((r) => (resolveTick = r)).then(() => new Promise((r) => setImmediate(r)));
  return { seen, nextTick, ticks: () => ticks };
}

describe("ConnectivityWatch", () => {
  it("reports a wake when a tick comes far later than due, and a network change when the addresses change", async () => {
    const clock = { now: 0 };
    const interfaces = { value: "eth0/10.0.0.2" };
    const w = watch(clock, interfaces);
    clock.now += 5;
    await w.nextTick();
    expect(w.seen).toEqual([]);
    clock.now += 60_000; // the laptop slept
    await w.nextTick();
    expect(w.seen).toEqual(["wake"]);
    interfaces.value = "eth0/10.0.0.2,wlan0/192.168.1.5";
    clock.now += 5;
    await w.nextTick();
    expect(w.seen).toEqual(["wake", "network"]);
    clock.now += 5;
    await w.nextTick();
    expect(w.seen).toEqual(["wake", "network"]);
  });

  it("reads this machine's interfaces without the loopback", () => {
    expect(interfacesSignature()).not.toMatch(/127\.0\.0\.1/);
  });
});
