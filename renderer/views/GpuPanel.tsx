// The GPUs of this machine: per GPU its identity, live charts of the last 10 minutes (utilisation,
// memory, temperature, power), its processes (a job's, or yours), whether it is lent and by which
// agent, and its guard. The machine's CPU and memory above them.
import { useEffect, useMemo, useRef, useState } from "react";
// uPlot's own stylesheet, bundled into the app's CSS file (a <link>, as the page's CSP allows).
import "uplot/dist/uPlot.min.css";
import type { GpuProcessView, GpuView } from "../../agent-core/host/contract.js";
import { formatMiB, gpuLabel, lentWords, machineWords, splitProcesses } from "../gpu-view.js";
import { CopyButton } from "./CopyButton.js";
import { MetricChart, type MetricSpec } from "./gpu-chart.js";
import { AlertIcon, GpuIcon, InfoIcon } from "./icons.js";
import { useApp, useAppStore } from "./store-context.js";

const COLORS = { utilization: "#5aa2f0", memory: "#aa82f0", temperature: "#e0af4a", power: "#3fb57f" };

function MetricBox({ title, testId, at, values, spec }: { title: string; testId: string; at: number[]; values: (number | null)[]; spec: MetricSpec }) {
  const box = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLSpanElement>(null);
  const chart = useRef<MetricChart | null>(null);
  useEffect(() => {
    if (box.current === null || readout.current === null) return;
    const created = new MetricChart(box.current, readout.current, spec);
    chart.current = created;
    return () => {
      created.dispose();
      chart.current = null;
    };
    // Created once per card (not on every tick); later data and limits come through setData.
  }, []);
  useEffect(() => {
    chart.current?.setData(at, values, spec);
  }, [at, values, spec]);
  return (
    <div className="gpu-metric" data-testid={testId}>
      <div className="gpu-metric-head">
        <span className="gpu-swatch" style={{ background: spec.color }} />
        <span className="gpu-metric-title">{title}</span>
        <span className="gpu-metric-value" ref={readout} data-testid={`${testId}-value`} />
      </div>
      <div className="gpu-chart" ref={box} />
    </div>
  );
}

function GpuCharts({ gpu }: { gpu: GpuView }) {
  const s = gpu.series;
  // Memory in GiB on a card with more than 2 GiB, else in MiB.
  const gib = (gpu.memoryTotalMiB ?? 0) >= 2048;
  const memory = useMemo(() => (gib ? s.memoryUsedMiB.map((v) => (v === null ? null : v / 1024)) : s.memoryUsedMiB), [gib, s.memoryUsedMiB]);
  const memoryMax = gpu.memoryTotalMiB === null ? null : gib ? gpu.memoryTotalMiB / 1024 : gpu.memoryTotalMiB;
  const specs = useMemo(
    () => ({
      utilization: { label: "Utilisation", unit: "%", color: COLORS.utilization, max: 100, floor: 100, digits: 0 },
      memory: { label: "Memory", unit: gib ? "GiB" : "MiB", color: COLORS.memory, max: memoryMax, floor: 1, digits: gib ? 1 : 0 },
      temperature: { label: "Temperature", unit: "°C", color: COLORS.temperature, max: null, floor: 100, digits: 0 },
      power: { label: "Power", unit: "W", color: COLORS.power, max: gpu.powerLimitW, floor: 50, digits: 0 },
    }),
    [gib, memoryMax, gpu.powerLimitW],
  );
  const id = `gpu-chart-${gpu.index}`;
  return (
    <div className="gpu-charts" data-testid={`gpu-charts-${gpu.index}`}>
      <MetricBox title="Utilisation" testId={`${id}-utilization`} at={s.at} values={s.utilization} spec={specs.utilization} />
      <MetricBox title={`Memory${memoryMax !== null ? ` of ${formatMiB(gpu.memoryTotalMiB)}` : ""}`} testId={`${id}-memory`} at={s.at} values={memory} spec={specs.memory} />
      <MetricBox title="Temperature" testId={`${id}-temperature`} at={s.at} values={s.temperatureC} spec={specs.temperature} />
      <MetricBox title={`Power${gpu.powerLimitW !== null ? ` (limit ${Math.round(gpu.powerLimitW)} W)` : ""}`} testId={`${id}-power`} at={s.at} values={s.powerW} spec={specs.power} />
    </div>
  );
}

function ProcessRows({ processes }: { processes: GpuProcessView[] }) {
  return (
    <>
      {processes.map((p) => (
        <tr key={p.pid} data-testid="gpu-process" data-pid={p.pid}>
          <td className="mono">{p.pid}</td>
          <td className="gpu-proc-name" title={p.name}>
            {p.name}
          </td>
          <td className="num">{formatMiB(p.usedMemoryMiB)}</td>
        </tr>
      ))}
    </>
  );
}

function GpuProcesses({ gpu }: { gpu: GpuView }) {
  const store = useAppStore();
  const history = useApp((s) => s.history);
  const { jobs, yours } = useMemo(() => splitProcesses(gpu, history), [gpu, history]);
  if (jobs.length === 0 && yours.length === 0) {
    return (
      <div className="hint gpu-procs-empty" data-testid={`gpu-processes-${gpu.index}`}>
        No compute processes on this GPU.
      </div>
    );
  }
  return (
    <table className="gpu-procs" data-testid={`gpu-processes-${gpu.index}`}>
      <thead>
        <tr>
          <th style={{ width: 90 }}>PID</th>
          <th>Process</th>
          <th className="num">Memory</th>
        </tr>
      </thead>
      {jobs.map((job) => (
        <tbody key={job.jobId} data-testid="gpu-process-job" data-job-id={job.jobId}>
          <tr className="gpu-proc-group">
            <th colSpan={3}>
              <button type="button" className="gpu-proc-job" title="Open the job’s log" onClick={() => store.getState().openJob(job.jobId)}>
                {job.label}
              </button>
            </th>
          </tr>
          <ProcessRows processes={job.processes} />
        </tbody>
      ))}
      {yours.length > 0 ? (
        <tbody data-testid="gpu-process-yours">
          <tr className="gpu-proc-group">
            <th colSpan={3}>Yours</th>
          </tr>
          <ProcessRows processes={yours} />
        </tbody>
      ) : null}
    </table>
  );
}

function LendToggle({ gpu }: { gpu: GpuView }) {
  const store = useAppStore();
  const busy = useApp((s) => s.busy.gpu === gpu.uuid);
  // What was asked shows at once; the host's answer (or a refusal) settles it.
  const [asked, setAsked] = useState<boolean | null>(null);
  const lent = asked ?? gpu.lent;
  const toggle = (next: boolean) => {
    setAsked(next);
    void store
      .getState()
      .setGpuLent(gpu.uuid, next)
      .finally(() => setAsked(null));
  };
  return (
    <label className={`switch${lent ? " on" : ""}`} title={lent ? "Jobs may use this GPU" : "Keep this GPU for yourself: no agent gets it"}>
      <input type="checkbox" data-testid={`gpu-lend-${gpu.index}`} checked={lent} disabled={busy} onChange={(e) => toggle(e.target.checked)} />
      <span className="switch-track" aria-hidden="true" />
      Lend this GPU
    </label>
  );
}

function GpuCard({ gpu }: { gpu: GpuView }) {
  const agents = useApp((s) => s.agents);
  const i = gpu.index;
  return (
    <section className="card gpu-card" data-testid={`gpu-card-${i}`} data-uuid={gpu.uuid} data-lent={gpu.lent ? "true" : "false"}>
      <div className="card-head">
        <GpuIcon size={15} />
        <span className="gpu-card-title" data-testid={`gpu-name-${i}`}>
          {gpuLabel(gpu)}
        </span>
        <span className="spacer" />
        <LendToggle gpu={gpu} />
      </div>
      <div className="card-body gpu-card-body">
        <dl className="facts gpu-facts">
          <dt>UUID</dt>
          <dd className="gpu-uuid">
            <span className="mono" data-testid={`gpu-uuid-${i}`}>
              {gpu.uuid}
            </span>
            <CopyButton text={() => gpu.uuid} testid={`gpu-uuid-copy-${i}`} />
          </dd>
          <dt>Bus</dt>
          <dd className="mono">{gpu.busId ?? "—"}</dd>
          <dt>Memory</dt>
          <dd>{formatMiB(gpu.memoryTotalMiB)}</dd>
          <dt>Lending</dt>
          <dd data-testid={`gpu-agent-${i}`} data-agent-id={gpu.agentId ?? ""}>
            {lentWords(gpu, agents)}
          </dd>
        </dl>
        {gpu.guard !== null ? (
          <div className="callout warn gpu-guard" role="status" data-testid={`gpu-guard-${i}`} data-kind={gpu.guard.kind}>
            <AlertIcon size={16} style={{ color: "var(--amber)", flex: "none", marginTop: 1 }} />
            <div className="grow">
              <div className="callout-title">No new jobs on this GPU for now</div>
              {gpu.guard.reason}
            </div>
          </div>
        ) : null}
        <GpuCharts gpu={gpu} />
        <GpuProcesses gpu={gpu} />
      </div>
    </section>
  );
}

function MachineCard() {
  const machine = useApp((s) => s.gpus?.machine ?? null);
  if (machine === null) return null;
  const words = machineWords(machine);
  return (
    <section className="card gpu-machine" data-testid="gpu-machine">
      <div className="gpu-machine-figure">
        <span className="gpu-machine-label">CPU</span>
        <span className="gpu-machine-value" data-testid="gpu-machine-cpu">
          {words.cpu}
        </span>
      </div>
      <div className="gpu-machine-figure">
        <span className="gpu-machine-label">Memory</span>
        <span className="gpu-machine-value" data-testid="gpu-machine-memory">
          {words.memory}
        </span>
      </div>
      <span className="hint">this whole machine, your programs and the jobs together</span>
    </section>
  );
}

function Unavailable({ reason, install }: { reason: string | null; install: string | null }) {
  return (
    <div className="callout warn" role="status" data-testid="gpu-unavailable">
      <AlertIcon size={17} style={{ color: "var(--amber)", flex: "none", marginTop: 1 }} />
      <div className="grow">
        <div className="callout-title">No GPU can be read on this machine</div>
        <div data-testid="gpu-unavailable-reason">{reason ?? "No GPU tool works here."}</div>
        {install !== null ? (
          <div className="sandbox-install">
            <code className="mono" data-testid="gpu-unavailable-install">
              {install}
            </code>
            <CopyButton text={() => install} testid="gpu-unavailable-install-copy" />
          </div>
        ) : null}
        <div className="hint" style={{ marginTop: 6 }}>
          Jobs still run on the CPU; this machine lends no GPU until one can be read.
        </div>
      </div>
    </div>
  );
}

export function GpuPanel() {
  const store = useAppStore();
  const gpus = useApp((s) => s.gpus);
  const error = useApp((s) => s.gpusError);
  return (
    <div className="page" data-testid="gpu-panel">
      <div className="page-head">
        <h1>GPUs</h1>
        <span className="hint">{gpus !== null && gpus.gpus.length > 0 ? `${gpus.gpus.length} on this machine · the last 10 minutes` : ""}</span>
      </div>
      <MachineCard />
      {gpus === null ? (
        error !== null ? (
          <div className="callout error" role="alert" data-testid="gpu-error">
            <AlertIcon size={17} style={{ color: "var(--red)", flex: "none", marginTop: 1 }} />
            <div className="grow">Could not read the GPUs: {error}</div>
            <button type="button" className="btn small" onClick={() => void store.getState().loadGpus()}>
              Try again
            </button>
          </div>
        ) : (
          <div className="feed-empty">Reading the GPUs…</div>
        )
      ) : !gpus.available ? (
        <Unavailable reason={gpus.reason} install={gpus.install} />
      ) : gpus.gpus.length === 0 ? (
        <div className="callout info" data-testid="gpu-none">
          <InfoIcon size={17} style={{ color: "var(--blue)", flex: "none", marginTop: 1 }} />
          <div className="grow">{gpus.reason ?? "No GPU found on this machine."}</div>
        </div>
      ) : (
        gpus.gpus.map((gpu) => <GpuCard key={gpu.uuid} gpu={gpu} />)
      )}
    </div>
  );
}
