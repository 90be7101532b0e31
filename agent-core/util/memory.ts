// Handing memory back once the agent is idle. V8 collects the young generation all the time but
// leaves what start-up (or a job) made of the old one until allocation pressure asks for a full
// collection, which an idle agent never creates: about 10 MB of garbage then stays resident for
// hours. One full collection a moment after the agent becomes idle returns it.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/** V8's gc(), made available without --expose-gc (null where that is refused). */
function collector(): (() => void) | null {
  if (gc !== undefined) return gc;
  try {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === "function") return (gc = exposed);
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  } catch {
    gc = null;
  }
  return gc;
}

let timer: NodeJS.Timeout | null = null;

/** One full collection `delayMs` from now (calls meanwhile fold into it); never keeps the process alive. */
export function compactWhenIdle(delayMs = 2000): void {
  if (timer !== null) return;
  timer = setTimeout(() => {
    timer = null;
    collector()?.();
  }, delayMs);
  timer.unref();
}
