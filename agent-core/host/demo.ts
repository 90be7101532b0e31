// The "Local demo": the embedded hub (a stand-in for Semaphore on 127.0.0.1) and the shipped
// example jobs, so the app can be tried without an account. The host pairs it with an agent.
// While it runs it also holds the local git repository that examples with `git_fixture: demo`
// (examples/checkout.yaml) check out (cli/local-jobs.ts): made when it starts, removed when it stops.
// Without git the demo still starts; such an example is then refused with the reason.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startHub, type Hub } from "../../hub/hub.js";
import { JobFileError, readJobDefinition } from "../cli/job-file.js";
import { createDemoGitRepo, LocalJobError, prepareLocalJob, type DemoGitRepo } from "../cli/local-jobs.js";
import { HostError, type DemoSnapshot, type ExampleJob } from "./contract.js";

/** How often the demo agent syncs: snappy, and still no busy loop. */
export const DEMO_NEXT_SYNC_AFTER_MS = 500;

/** The repository's examples/, from the sources (agent-core/host) or from the build (dist/agent-core/host). */
export function defaultExamplesDir(): string {
  const candidates = [new URL("../../examples/", import.meta.url), new URL("../../../examples/", import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((dir) => existsSync(join(dir, "hello-world.yaml"))) ?? (candidates[0] as string);
}

/** The example jobs in `dir` (`*.yaml`), the smallest one first. */
export function listExamples(dir: string): ExampleJob[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".yaml"));
  } catch {
    return [];
  }
  return names
    .map((name) => exampleOf(join(dir, name)))
    .sort((a, b) => (a.id === "hello-world" ? -1 : b.id === "hello-world" ? 1 : a.id.localeCompare(b.id)));
}

function exampleOf(path: string): ExampleJob {
  const id = basename(path, ".yaml");
  const comment: string[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^#\s?(.*)$/.exec(line.trimEnd());
    if (!match) break;
    comment.push((match[1] ?? "").trim());
  }
  const words = id.replace(/[-_]+/g, " ").trim();
  return {
    id,
    title: words.charAt(0).toUpperCase() + words.slice(1),
    description: comment.join(" ").trim(),
  };
}

export class LocalDemo {
  private hub: Hub | null = null;
  private starting: Promise<Hub> | null = null;
  private closing: Promise<void> = Promise.resolve();
  /** The repository of `git_fixture: demo` while the demo runs, or why it could not be made. */
  private git: DemoGitRepo | Error | null = null;
  readonly examples: ExampleJob[];

  constructor(private readonly examplesDir: string) {
    this.examples = listExamples(examplesDir);
  }

  get running(): boolean {
    return this.hub !== null;
  }

  /** The folder of the demo repository and its checkout while the demo runs (a sandboxed job writes there). */
  get gitRoot(): string | null {
    return this.git !== null && !(this.git instanceof Error) ? this.git.root : null;
  }

  snapshot(): DemoSnapshot {
    return { running: this.hub !== null, hubUrl: this.hub?.url ?? null, examples: this.examples.map((e) => ({ ...e })) };
  }

  /** Starts the embedded hub (idempotent while it runs). */
  async start(): Promise<Hub> {
    if (this.hub) return this.hub;
    this.starting ??= (async () => {
      const [hub, git] = await Promise.allSettled([
        startHub({ port: 0, nextSyncAfter: DEMO_NEXT_SYNC_AFTER_MS }),
        this.needsGit() ? createDemoGitRepo().catch((error: Error) => error) : Promise.resolve(null),
      ]);
      if (hub.status === "rejected") {
        if (git.status === "fulfilled" && git.value !== null && !(git.value instanceof Error)) git.value.remove();
        throw hub.reason;
      }
      this.git = git.status === "fulfilled" ? git.value : (git.reason as Error);
      this.hub = hub.value;
      return hub.value;
    })();
    try {
      return await this.starting;
    } finally {
      this.starting = null;
    }
  }

  /** Queues an example job at the hub, as `semaphore-agent run` does (cli/local-jobs.ts); returns its job id. */
  schedule(exampleId: string): { jobId: string } {
    const hub = this.hub;
    if (!hub) throw new HostError("invalid-state", "The local demo is not running: start it first.");
    // Only listed ids: an id is never joined into a path it came with.
    const example = this.examples.find((e) => e.id === exampleId);
    if (!example) throw new HostError("not-found", `No example job ${JSON.stringify(exampleId)}; there are: ${this.examples.map((e) => e.id).join(", ")}.`);
    let request;
    try {
      request = prepareLocalJob(readJobDefinition(join(this.examplesDir, `${example.id}.yaml`)), this.git);
    } catch (error) {
      if (error instanceof JobFileError) throw new HostError("internal", `The example job is broken: ${error.message}`);
      if (error instanceof LocalJobError) throw new HostError("invalid-state", `The example ${example.id} cannot run here: ${error.message}`);
      throw error;
    }
    return { jobId: hub.scheduleJob(request).job_id };
  }

  /** Whether an example checks out the demo repository (a broken file is reported when it is run). */
  private needsGit(): boolean {
    return this.examples.some((e) => {
      try {
        return readJobDefinition(join(this.examplesDir, `${e.id}.yaml`)).gitFixture === "demo";
      } catch {
        return false;
      }
    });
  }

  /** Stops the hub (every connection with it). Idempotent; a second call waits for the first. */
  async stop(): Promise<void> {
    const hub = this.hub ?? (this.starting ? await this.starting.catch(() => null) : null);
    this.hub = null;
    const git = this.git;
    this.git = null;
    if (git !== null && !(git instanceof Error)) git.remove();
    if (hub) this.closing = hub.close();
    await this.closing;
  }
}
