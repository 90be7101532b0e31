/** A sleep that can be cut short: `wake()` resolves the current (and only the current) wait early. */
export class WakeableSleep {
  private pending: { timer: NodeJS.Timeout; resolve: () => void } | null = null;

  sleep(ms: number): Promise<void> {
    this.wake();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = null;
        resolve();
      }, Math.max(0, ms));
      this.pending = { timer, resolve };
    });
  }

  wake(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    p.resolve();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
