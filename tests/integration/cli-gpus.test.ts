// `semaphore-agent start --gpus ...` (a real CLI process against a real hub process), on the
// 2-GPU machine the stand-in nvidia-smi on PATH describes: per-gpu starts 2 agents under
// <name>-gpu<index>, each job sees its own GPU's UUID and its agent's own HOME and TMPDIR; one
// SIGINT interrupts both the spec's way and the process exits 0. A UUID that is not on the
// machine, or no nvidia-smi at all, is an error naming --gpus.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { expectNoViolations, outputOf } from "../helpers/jobs.js";
import { job, ROOT, startAgent, startHub, stopAll } from "../helpers/processes.js";

const BIN = join(ROOT, "tests/helpers/bin");
const uuid = (i: number) => `GPU-${(0x5c3f0000 + i).toString(16)}-1b2c-4d5e-8f90-${String(i).padStart(12, "a")}`;
const withStandIn = { PATH: `${BIN}:${process.env.PATH}`, FAKE_NVIDIA_GPUS: "2" };

describe("start --gpus", () => {
  afterEach(stopAll);

  it("per-gpu: one agent per GPU, each job with its own GPU, HOME and TMPDIR; one SIGINT stops both", async () => {
    const hub = await startHub();
    const agent = startAgent(hub, { args: ["--name", "cli-gpu-box", "--gpus", "per-gpu"], env: withStandIn });
    await agent.waitForOutput(/starting 2 agents/, 20_000);
    await hub.api.waitForAgent((agents) => ["cli-gpu-box-gpu0", "cli-gpu-box-gpu1"].every((n) => agents.some((a) => a.name === n && a.state === "waiting-for-jobs")), 20_000);
    expect(agent.stderr).toContain(`[cli-gpu-box-gpu1] `);
    expect(agent.stderr).toMatch(new RegExp(`semaphore-agent \\[cli-gpu-box-gpu0\\]: lends GPU 0 \\(${uuid(0)}\\)`));

    const commands = ['echo "$CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES"', 'echo "$HOME"', 'echo "$TMPDIR"', "sleep 1"];
    const ids = [await hub.api.schedule(job({ commands })), await hub.api.schedule(job({ commands }))];
    const views = await Promise.all(ids.map((id) => hub.api.waitForJob(id, "finished", 30_000)));
    expect(views.map((v) => v.result)).toEqual(["passed", "passed"]);
    const seen = await Promise.all(
      ids.map(async (id) => {
        const events = await hub.api.events(id);
        return { agent: (await hub.api.job(id)).agent, gpu: outputOf(events, commands[0] as string).trim(), home: outputOf(events, commands[1] as string).trim(), tmp: outputOf(events, commands[2] as string).trim() };
      }),
    );
    for (const s of seen) {
      const i = Number(/gpu(\d)$/.exec(s.agent ?? "")?.[1]);
      expect(s.gpu).toBe(`${uuid(i)} ${uuid(i)}`);
      expect(s.home).toMatch(new RegExp(`job-homes/cli-gpu-box-gpu${i}$`));
      expect(s.tmp).toMatch(new RegExp(`agent-cli-gpu-box-gpu${i}$`));
    }
    // Both jobs' agents were different: each GPU took one.
    expect(new Set(seen.map((s) => s.agent)).size).toBe(2);

    agent.child.kill("SIGINT");
    expect(await agent.waitForExit(20_000)).toBe(0);
    await hub.api.waitForAgent((agents) => agents.filter((a) => a.disconnected).length === 2, 10_000);
    await expectNoViolations(hub);
  });

  it("a list of UUIDs is one agent for those GPUs, named after them", async () => {
    const hub = await startHub();
    const agent = startAgent(hub, { args: ["--name", "cli-gpu-list", "--gpus", uuid(1)], env: withStandIn });
    await hub.api.waitForAgent((agents) => agents.some((a) => a.name === "cli-gpu-list-gpu1" && a.state === "waiting-for-jobs"), 20_000);
    const id = await hub.api.schedule(job({ commands: ['echo "$CUDA_VISIBLE_DEVICES"'] }));
    await hub.api.waitForJob(id, "finished", 30_000);
    expect(outputOf(await hub.api.events(id), 'echo "$CUDA_VISIBLE_DEVICES"').trim()).toBe(uuid(1));
    agent.child.kill("SIGINT");
    expect(await agent.waitForExit(20_000)).toBe(0);
  });

  it("a GPU that is not on the machine, or no nvidia-smi, is an error naming --gpus", async () => {
    const wrong = startAgent(null, { args: ["--endpoint", "127.0.0.1:9", "--token", "not-a-real-token-1", "--gpus", "GPU-not-here"], env: withStandIn });
    expect(await wrong.waitForExit(20_000)).toBe(1);
    expect(wrong.stderr).toMatch(/--gpus: no GPU GPU-not-here on this machine \(nvidia-smi reports 0: GPU-5c3f0000/);
    const none = startAgent(null, { args: ["--endpoint", "127.0.0.1:9", "--token", "not-a-real-token-1", "--gpus=all"], env: { PATH: "/usr/bin:/bin" } });
    expect(await none.waitForExit(20_000)).toBe(1);
    expect(none.stderr).toMatch(/--gpus: no GPU to lend: nvidia-smi is not installed/);
    const bad = startAgent(null, { args: ["--endpoint", "127.0.0.1:9", "--token", "not-a-real-token-1", "--gpus", "all,per-gpu"], env: withStandIn });
    expect(await bad.waitForExit(20_000)).toBe(1);
    expect(bad.stderr).toMatch(/--gpus "all,per-gpu": expected all, per-gpu, or GPU UUIDs/);
  });
});
