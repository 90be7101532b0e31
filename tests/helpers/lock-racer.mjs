// A process that competes for a data dir's host.lock (tests/integration/data-dir-lock.test.ts).
// It uses the built lock (dist/, `npm run build:node`) exactly as Host.open does. Commands on stdin,
// one per line; one answer line each on stdout:
//   acquire DIR  ->  "held" | "busy <message>" | "error <message>"
//   release      ->  "released"
// It exits when stdin ends (the lock, if held, is released by its exit handler).
import { createInterface } from "node:readline";
import { DataDirLock } from "../../dist/agent-core/host/data-dir-lock.js";

let lock = null;
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  const [command, ...rest] = line.split(" ");
  if (command === "acquire") {
    try {
      lock = DataDirLock.acquire(rest.join(" "));
      process.stdout.write("held\n");
    } catch (error) {
      const kind = error && error.name === "HostError" ? "busy" : "error";
      process.stdout.write(`${kind} ${String(error && error.message).replaceAll("\n", " ")}\n`);
    }
  } else if (command === "release") {
    lock?.release();
    lock = null;
    process.stdout.write("released\n");
  }
});
lines.on("close", () => process.exit(0));
process.stdout.write("ready\n");
