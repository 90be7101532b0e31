// Settings → "Agents on this machine": one agent for every lent GPU, one per lent GPU, or one per
// group of GPUs; which GPUs are lent; the temperature and power guards; the owner's own use.
import type { ReactNode } from "react";
import type { GpuView } from "../../agent-core/host/contract.js";
import { gpuLabel } from "../gpu-view.js";
import { assignGroup, groupsFromAssignment, type SettingsDraft } from "./settings-draft.js";
import { Field, type SectionProps, NumberInput } from "./SettingsFields.js";
import { useApp } from "./store-context.js";

const MODES: readonly { mode: SettingsDraft["gpuAgents"]; title: string; help: string }[] = [
  { mode: "one", title: "One agent for all lent GPUs", help: "Its jobs see every lent GPU. The simplest, and what a machine without GPUs has." },
  { mode: "per-gpu", title: "One agent per lent GPU", help: "One job per GPU at a time: each job sees only its own GPU." },
  { mode: "groups", title: "Groups of GPUs", help: "One agent per group (e.g. two GPUs joined by NVLink); a lent GPU in no group gets an agent of its own." },
];

/** "gpu-box-gpu0", or "<name>-gpu0" before a name is chosen. */
function agentNameExample(name: string, suffix: string): string {
  return `${name.trim() || "<name>"}-${suffix}`;
}

function GpuRow({ gpu, draft, set, groups }: { gpu: Pick<GpuView, "uuid" | "index" | "name">; draft: SettingsDraft; set: SectionProps["set"]; groups: number }) {
  const lent = !draft.gpuNotLent.includes(gpu.uuid);
  const group = draft.gpuGroupOf[gpu.uuid] ?? 0;
  return (
    <li className="settings-gpu" data-testid={`settings-gpu-${gpu.index}`}>
      <label className="check">
        <input
          type="checkbox"
          data-testid={`settings-gpu-lend-${gpu.index}`}
          checked={lent}
          onChange={(e) => set("gpuNotLent", e.target.checked ? draft.gpuNotLent.filter((u) => u !== gpu.uuid) : [...draft.gpuNotLent, gpu.uuid])}
        />
        <span>
          Lend {gpuLabel(gpu)}
          <span className="settings-gpu-uuid mono">{gpu.uuid}</span>
        </span>
      </label>
      {draft.gpuAgents === "groups" ? (
        <select
          className="select"
          data-testid={`settings-gpu-group-${gpu.index}`}
          aria-label={`Group of GPU ${gpu.index}`}
          value={group}
          disabled={!lent}
          onChange={(e) => set("gpuGroupOf", assignGroup(draft.gpuGroupOf, gpu.uuid, Number(e.target.value)))}
        >
          <option value={0}>Agent of its own</option>
          {Array.from({ length: groups }, (_, i) => (
            <option key={i + 1} value={i + 1}>
              Group {i + 1}
            </option>
          ))}
        </select>
      ) : null}
    </li>
  );
}

export function GpuAgents({ draft, set, errors, errorFor, listErrors }: SectionProps & { listErrors: ReactNode }) {
  const snapshot = useApp((s) => s.gpus);
  const known = snapshot?.available === true ? snapshot.gpus : [];
  // GPUs the settings name that are not found now keep what was chosen for them.
  const knownIds = new Set(known.map((g) => g.uuid));
  const missing = new Set([...draft.gpuNotLent, ...Object.keys(draft.gpuGroupOf)].filter((u) => !knownIds.has(u)));
  const assigned = Math.max(0, ...Object.values(draft.gpuGroupOf));
  const groups = Math.max(known.length, assigned, 2);
  const number = (field: "gpuMaxTemperatureC" | "gpuMaxPowerW", testid: string, label: string) => <NumberInput field={field} testid={testid} label={label} draft={draft} set={set} errors={errors} />;
  const first = known[0]?.index ?? 0;
  const groupsNow = groupsFromAssignment(draft.gpuGroupOf);
  return (
    <section className="card form-section" data-testid="settings-gpu-agents">
      <div className="card-head">Agents on this machine</div>
      <Field
        label="Agents"
        help={
          <>
            With more than one, each agent is named after its GPUs (e.g. <span className="mono">{agentNameExample(draft.name, `gpu${first}`)}</span>
            {draft.gpuAgents === "groups" ? (
              <>
                , or <span className="mono">{agentNameExample(draft.name, `gpu${first}-${first + 1}`)}</span> for a group
              </>
            ) : null}
            ) and gets its own job home, TMPDIR and toolbox; its jobs see only its GPUs (CUDA_VISIBLE_DEVICES). The agents are set up again between jobs.
          </>
        }
        error={errorFor("gpuAgents")}
      >
        <div className="choice-list" role="radiogroup" aria-label="Agents on this machine" data-testid="settings-gpu-agents-mode" data-value={draft.gpuAgents}>
          {MODES.map(({ mode, title, help }) => (
            <label key={mode} className={`choice${draft.gpuAgents === mode ? " on" : ""}`}>
              <input type="radio" name="gpuAgents" value={mode} data-testid={`settings-gpu-agents-${mode}`} checked={draft.gpuAgents === mode} onChange={() => set("gpuAgents", mode)} />
              <span>
                <span className="choice-title">{title}</span>
                <span className="choice-help">{help}</span>
              </span>
            </label>
          ))}
        </div>
      </Field>
      <Field
        label="GPUs"
        help={
          draft.gpuAgents === "groups" && groupsNow.length > 0
            ? `${groupsNow.length} ${groupsNow.length === 1 ? "group" : "groups"}: ${groupsNow.map((g) => g.length).join(" + ")} GPUs. A GPU you keep is in no agent.`
            : "A GPU you keep is in no agent, and no job sees it."
        }
        error={
          <>
            {errorFor("gpuNotLent")}
            {errorFor("gpuGroups")}
            {listErrors}
          </>
        }
      >
        {known.length === 0 ? (
          <div className="hint settings-gpus-none" data-testid="settings-gpus-none">
            {snapshot === null ? "Reading the GPUs…" : snapshot.available ? "No GPU found on this machine." : (snapshot.reason ?? "No GPU can be read on this machine.")}
          </div>
        ) : (
          <ul className="settings-gpus" data-testid="settings-gpus">
            {known.map((gpu) => (
              <GpuRow key={gpu.uuid} gpu={gpu} draft={draft} set={set} groups={groups} />
            ))}
          </ul>
        )}
        {missing.size > 0 ? (
          <div className="hint" data-testid="settings-gpus-missing">
            {missing.size === 1 ? "A GPU not found now keeps its settings" : `${missing.size} GPUs not found now keep their settings`}: <span className="mono">{[...missing].join(", ")}</span>
          </div>
        ) : null}
      </Field>
      <Field label="Temperature limit" help="No new jobs on a GPU at or above it; taken again 5 °C below. 0: no limit." error={errorFor("gpuMaxTemperatureC")}>
        <div className="inline wrap">
          <span className="unit">No new jobs on a GPU at</span>
          {number("gpuMaxTemperatureC", "settings-gpu-max-temperature", "Temperature limit in °C")}
          <span className="unit">°C or more</span>
        </div>
      </Field>
      <Field label="Power limit" help="0: no limit." error={errorFor("gpuMaxPowerW")}>
        <div className="inline wrap">
          <span className="unit">No new jobs on a GPU drawing</span>
          {number("gpuMaxPowerW", "settings-gpu-max-power", "Power limit in W")}
          <span className="unit">W or more</span>
        </div>
      </Field>
      <Field label="Your own use" help="Your own compute processes on a lent GPU (a training run, a game) pause the agent that lends it while they run." error={errorFor("gpuOwnerUsePauses")}>
        <label className="check">
          <input type="checkbox" data-testid="settings-gpu-owner-use-pauses" checked={draft.gpuOwnerUsePauses} onChange={(e) => set("gpuOwnerUsePauses", e.target.checked)} />
          Pause a GPU’s agent while I use that GPU myself
        </label>
      </Field>
    </section>
  );
}
