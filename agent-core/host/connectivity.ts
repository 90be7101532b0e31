// "The machine woke up" and "the network came back", for an agent that waits to retry a server it
// could not reach: it should try at once, not at the end of a back-off that began before the laptop
// lid closed. Works without Electron (the web console on a headless box): a timer that fires much
// later than it was due means the machine slept; a change in the network interfaces' addresses
// means a network came or went. Electron's powerMonitor 'resume' calls the same retry on top.
import { networkInterfaces } from "node:os";

export interface ConnectivityWatchOptions {
  /** How often to look (ms). */
  intervalMs?: number;
  /** A tick this much later than due counts as a wake from sleep (ms). */
  sleepGapMs?: number;
  onChange: (why: "wake" | "network") => void;
  /** For tests: the interfaces' signature. */
  readInterfaces?: () => string;
  now?: () => number;
}

export class ConnectivityWatch {
  private readonly timer: NodeJS.Timeout;
  private last: number;
  private signature: string;

  constructor(private readonly options: ConnectivityWatchOptions) {
    const interval = options.intervalMs ?? 5_000;
    const now = options.now ?? Date.now;
    const read = options.readInterfaces ?? interfacesSignature;
    const gap = options.sleepGapMs ?? Math.max(30_000, interval * 4);
    this.last = now();
    this.signature = read();
    this.timer = setInterval(() => {
      const at = now();
      const late = at - this.last - interval;
      this.last = at;
      const signature = read();
      const changed = signature !== this.signature;
      this.signature = signature;
      if (late > gap) this.options.onChange("wake");
      else if (changed) this.options.onChange("network");
    }, interval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The external (non-internal) addresses of every interface, sorted: changes when a network comes or goes. */
export function interfacesSignature(): string {
  const out: string[] = [];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const address of addresses ?? []) if (!address.internal) out.push(`${name}/${address.address}`);
  }
  return out.sort().join(",");
}
