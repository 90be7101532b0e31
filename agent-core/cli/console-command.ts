// `semaphore-agent console [--port N] [--data-dir DIR]`: the desktop app's backend and UI served to a
// browser on this machine, for boxes without a display (or reached through an SSH tunnel).
// `--install-service` / `--uninstall-service`: a systemd user unit that runs it at boot.
import { Host } from "../host/host.js";
import { plainFileCodec } from "../host/secret-store.js";
import { startConsoleServer, type ConsoleServer } from "../console/server.js";
import { defaultDataDir, defaultRendererDir } from "../console/paths.js";
import { timingsFromEnv } from "../timings.js";
import { parseFlags, UsageError } from "./args.js";
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { installService, SERVICE_NAME, serviceUnit, servicePath, uninstallService } from "../host/autostart.js";

/** The service listens on a fixed port, so its URL stays the same across restarts (the token does not). */
const DEFAULT_SERVICE_PORT = 8765;

/** After a graceful stop, anything the host left behind gets this long before the process exits anyway. */
const EXIT_GRACE_MS = 3000;

export async function runConsoleCommand(argv: string[]): Promise<number> {
  let flags;
  try {
    ({ flags } = parseFlags(argv, { port: "int", "data-dir": "string", "install-service": "bool", "uninstall-service": "bool" }));
    if (flags["install-service"] && flags["uninstall-service"]) throw new UsageError("--install-service and --uninstall-service: choose one");
    if (flags.port !== undefined && (flags.port as number) > 65535) throw new UsageError("--port: expected 0..65535");
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`semaphore-agent console: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const dataDir = (flags["data-dir"] as string | undefined) ?? defaultDataDir(process.env);
  if (flags["uninstall-service"]) {
    const removed = uninstallService(process.env);
    process.stdout.write(
      removed
        ? `Removed ${servicePath(process.env)}.\nStop it and reload systemd:  systemctl --user disable --now ${SERVICE_NAME}; systemctl --user daemon-reload\n`
        : `No service to remove (${servicePath(process.env)} does not exist).\n`,
    );
    return 0;
  }
  if (flags["install-service"]) {
    const servicePort = (flags.port as number | undefined) ?? DEFAULT_SERVICE_PORT;
    const script = realpathSync(process.argv[1] ?? "semaphore-agent");
    const unit = serviceUnit({
      command: [process.execPath, script, "console", "--port", String(servicePort), "--data-dir", resolve(dataDir)],
      workingDirectory: process.env.HOME || homedir(),
      environment: process.env.PATH ? { PATH: process.env.PATH } : {},
    });
    const path = installService(unit, process.env);
    const name = SERVICE_NAME.replace(/\.service$/, "");
    process.stdout.write(
      [
        `Wrote ${path}: the web console on 127.0.0.1:${servicePort}, data in ${resolve(dataDir)}.`,
        `Enable and start it:          systemctl --user daemon-reload && systemctl --user enable --now ${name}`,
        `Keep it running logged out:   sudo loginctl enable-linger ${process.env.USER || "$USER"}`,
        `Its URL, with the token:      journalctl --user -u ${name} | grep 'Web console'`,
        `Remove it:                    semaphore-agent console --uninstall-service`,
        "",
      ].join("\n"),
    );
    return 0;
  }
  const port = (flags.port as number | undefined) ?? 0;

  let host: Host;
  try {
    host = await Host.open({ dataDir, secretCodec: plainFileCodec(), env: process.env, timings: timingsFromEnv(process.env) });
  } catch (error) {
    process.stderr.write(`semaphore-agent console: cannot open the data folder ${dataDir}: ${(error as Error).message}\n`);
    return 1;
  }

  let server: ConsoleServer;
  try {
    server = await startConsoleServer({
      host,
      port,
      rendererDir: defaultRendererDir(process.env),
      log: (line) => process.stderr.write(`semaphore-agent console: ${line}\n`),
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(
      `semaphore-agent console: cannot listen on 127.0.0.1:${port}: ${code === "EADDRINUSE" ? "port already in use (try --port 0)" : (error as Error).message}\n`,
    );
    await host.close().catch(() => {});
    return 1;
  }

  // The one line on stdout: scripts (and `npm start`) read the URL from it.
  process.stdout.write(`Web console: ${server.url}\n`);
  process.stderr.write(
    [
      `semaphore-agent console: open the URL above in a browser on this machine; it holds this run's access token, keep it private.`,
      `  Listening on 127.0.0.1 only. From another machine: ssh -L ${server.port}:127.0.0.1:${server.port} THIS-HOST, then open the URL there (keep the port number the same).`,
      `  Data: ${dataDir}`,
      `  Ctrl-C stops the console and the agent (a running job is interrupted as Semaphore asks, spec §3.3); Ctrl-C again quits at once.`,
      "",
    ].join("\n"),
  );

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
  process.stderr.write(`semaphore-agent console: ${signal}: stopping (again to quit now)\n`);
  const forceExit = (second: NodeJS.Signals) => {
    process.stderr.write(`semaphore-agent console: ${second} again: quitting now\n`);
    process.exit(second === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", () => forceExit("SIGINT"));
  process.once("SIGTERM", () => forceExit("SIGTERM"));

  let code = 0;
  try {
    await server.close();
  } catch (error) {
    process.stderr.write(`semaphore-agent console: closing the web server failed: ${(error as Error).message}\n`);
  }
  try {
    await host.close();
  } catch (error) {
    process.stderr.write(`semaphore-agent console: stopping the agent failed: ${(error as Error).message}\n`);
    code = 1;
  }
  process.stderr.write(`semaphore-agent console: stopped\n`);
  // Nothing should be left running; if something is, it must not keep the process alive.
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  return code;
}
