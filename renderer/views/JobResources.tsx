// The Job view's "Resources": what the job used (wall and CPU time, peak memory, each GPU's peak
// memory, mean utilisation and energy) once it ended, and while it runs the GPUs it holds, live.
import { useMemo } from "react";
import type { JobUsage } from "../../agent-core/host/contract.js";
import { formatCelsius, formatCpuTime, formatEnergy, formatMemoryOf, formatMiB, formatPercent, formatRss, formatWatts, gpuLabel, jobGpus, latestReading } from "../gpu-view.js";
import type { JobPanel } from "../store/app-store.js";
import { effectiveResult, formatDuration } from "../view-model.js";
import { useApp } from "./store-context.js";

function UsageTotals({ usage }: { usage: JobUsage }) {
  return (
    <>
      <dl className="usage-facts" data-testid="job-usage-totals">
        <dt>Wall time</dt>
        <dd data-testid="job-usage-wall">{formatDuration(usage.wallMs)}</dd>
        <dt>CPU time</dt>
        <dd data-testid="job-usage-cpu">{formatCpuTime(usage.cpuMs)}</dd>
        <dt>Peak memory</dt>
        <dd data-testid="job-usage-rss" title="The most resident memory the job’s processes held at once">
          {formatRss(usage.peakRssBytes)}
        </dd>
      </dl>
      {usage.gpus.length > 0 ? (
        <table className="usage-gpus" data-testid="job-usage-gpus">
          <thead>
            <tr>
              <th>GPU</th>
              <th className="num" title="The most GPU memory the job’s processes held at once">
                Peak
              </th>
              <th className="num" title="The GPU’s mean utilisation while the job held it">
                Util.
              </th>
              <th className="num" title="Energy the GPU drew while the job held it">
                Energy
              </th>
            </tr>
          </thead>
          <tbody>
            {usage.gpus.map((g) => (
              <tr key={g.uuid} data-testid="job-usage-gpu" data-uuid={g.uuid}>
                <td title={`${g.name ?? ""} ${g.uuid}`.trim()}>{gpuLabel(g, false)}</td>
                <td className="num">{formatMiB(g.peakMemoryMiB)}</td>
                <td className="num">{formatPercent(g.meanUtilization)}</td>
                <td className="num">{formatEnergy(g.energyWh)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

/** The newest figures of the GPUs a running job holds. */
function LiveGpus({ jobId, agentId }: { jobId: string; agentId: string | null }) {
  const agents = useApp((s) => s.agents);
  const snapshot = useApp((s) => s.gpus);
  const held = useMemo(() => jobGpus(jobId, snapshot, agents, agentId), [jobId, snapshot, agents, agentId]);
  if (held.length === 0) return null;
  return (
    <ul className="usage-live" data-testid="job-gpu-live">
      {held.map((gpu) => {
        const r = latestReading(gpu);
        return (
          <li key={gpu.uuid} data-testid="job-gpu-live-gpu" data-uuid={gpu.uuid}>
            <div className="usage-live-name" title={gpu.uuid}>
              {gpuLabel(gpu)}
            </div>
            <dl className="usage-live-figures">
              <dt>Utilisation</dt>
              <dd data-testid="job-gpu-live-utilization">{formatPercent(r.utilization)}</dd>
              <dt>Memory</dt>
              <dd data-testid="job-gpu-live-memory">{formatMemoryOf(r.memoryUsedMiB, gpu.memoryTotalMiB)}</dd>
              <dt>Temperature</dt>
              <dd data-testid="job-gpu-live-temperature">{formatCelsius(r.temperatureC)}</dd>
              <dt>Power</dt>
              <dd data-testid="job-gpu-live-power">{formatWatts(r.powerW)}</dd>
            </dl>
          </li>
        );
      })}
    </ul>
  );
}

export function JobResources({ panel }: { panel: JobPanel }) {
  const summary = panel.summary;
  const usage = summary?.usage ?? null;
  const running = effectiveResult(summary?.result ?? null, panel.outline.result) === "running";
  const agentId = summary?.agentId ?? null;
  const several = useApp((s) => s.agents.length > 1);
  const live = useApp((s) => running && s.gpus !== null && jobGpus(panel.jobId, s.gpus, s.agents, agentId).length > 0);
  if (usage === null && !live) return null;
  const agentName = summary?.agentName || agentId;
  return (
    <section className="side-section" data-testid="job-usage">
      <div className="side-title">Resources</div>
      {several && agentName ? (
        <div className="hint usage-agent" data-testid="job-usage-agent">
          Run by agent {agentName}
        </div>
      ) : null}
      {usage !== null ? <UsageTotals usage={usage} /> : null}
      {running ? <LiveGpus jobId={panel.jobId} agentId={agentId} /> : null}
    </section>
  );
}
