// The web console as a user starts it: `semaphore-agent console --port 0` in its own process, with a
// fresh data dir, HOME and TMPDIR. Stopped by processes.ts's `stopAll()` like every other process.
import { FAST_TIMINGS, runCli, tempDir, type Proc } from "./processes.js";

export interface ConsoleProcess {
  proc: Proc;
  /** The URL printed on start, with the token: what the owner opens. */
  url: string;
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  token: string;
  dataDir: string;
  home: string;
  tmp: string;
}

export async function startConsole(options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ConsoleProcess> {
  const dataDir = options.dataDir ?? tempDir("sa-console-data-");
  const home = tempDir("sa-console-home-");
  const tmp = tempDir("sa-console-tmp-");
  const proc = runCli(["console", "--port", "0", "--data-dir", dataDir], {
    HOME: home,
    TMPDIR: tmp,
    SEMAPHORE_AGENT_TEST_TIMINGS: JSON.stringify(FAST_TIMINGS),
    ...options.env,
  }, home);
  const m = await proc.waitForOutput(/Web console: (http:\/\/127\.0\.0\.1:(\d+))\/\?token=(\S+)/, 20_000, "stdout");
  const origin = m[1] as string;
  return { proc, url: `${origin}/?token=${m[3]}`, origin, port: Number(m[2]), token: m[3] as string, dataDir, home, tmp };
}
