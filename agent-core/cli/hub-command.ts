// `semaphore-agent hub`: the local hub on 127.0.0.1 until Ctrl-C.
import { startHub } from "../../hub/hub.js";
import { parseFlags, UsageError } from "./args.js";

export async function runHubCommand(argv: string[]): Promise<number> {
  let flags;
  try {
    ({ flags } = parseFlags(argv, {
      port: "int",
      "registration-token": "string",
      "next-sync-after": "int",
      "log-max-events": "int",
      "log-max-bytes": "int",
    }));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`semaphore-agent hub: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const hub = await startHub({
    port: (flags.port as number | undefined) ?? 4567,
    registrationToken: flags["registration-token"] as string | undefined,
    nextSyncAfter: flags["next-sync-after"] as number | undefined,
    logMaxEvents: flags["log-max-events"] as number | undefined,
    logMaxBytes: flags["log-max-bytes"] as number | undefined,
  }).catch((error: NodeJS.ErrnoException) => {
    process.stderr.write(`semaphore-agent hub: cannot listen: ${error.code === "EADDRINUSE" ? "port already in use (try --port 0)" : error.message}\n`);
    return null;
  });
  if (!hub) return 1;
  process.stdout.write(
    [
      `Local hub listening on ${hub.url}`,
      `registration token: ${hub.registrationToken}`,
      `Start an agent against it:`,
      // The token goes in the environment: on the command line, `ps` would show it to every user.
      `  SEMAPHORE_AGENT_TOKEN=${hub.registrationToken} semaphore-agent start --endpoint ${hub.endpoint} --no-https`,
      `Schedule a job:  curl -X POST ${hub.url}/private/jobs -d '{"commands":[{"directive":"echo hello"}]}'`,
      `Harness API: see hub/README.md. Ctrl-C stops the hub.`,
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await hub.close();
  return 0;
}
