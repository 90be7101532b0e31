// Settings and the first-run setup (the same form, with a welcome while nothing is configured). The
// first run asks for the organisation and the token; everything else is under Advanced, closed then.
// The draft is in the store (store/settings-draft-store.ts), so it outlives the page. Validation
// errors from the host are shown under the field they name, and go as soon as that field is edited.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";
import type { FieldError, SettingsView } from "../../agent-core/host/contract.js";
import { diskGuardSentence, SANDBOX_LEVEL_WORDS } from "../sandbox-view.js";
import { agentIdle } from "../view-model.js";
import { askBrowserNotifications, browserNotificationPermission, type BrowserPermission } from "../browser-notifications.js";
import { configLabelOf, errorSentence, lineOfListError, newEnvRow, sandboxSettingsOf, type LineListField, type SettingsDraft } from "./settings-draft.js";
import type { SettingsDraftState } from "../store/settings-draft-store.js";
import { Prose } from "./Prose.js";
import { AlertIcon, CheckIcon, ChevronDownIcon, CopyIcon, DownloadIcon, PlusIcon, UploadIcon, XIcon } from "./icons.js";
import { SandboxLevel, SandboxNotice } from "./SandboxNotice.js";
import { useApp, useAppStore } from "./store-context.js";
import { ToolboxCard } from "./ToolboxCard.js";
import { ScheduleGrid } from "./ScheduleGrid.js";
import { GpuAgents } from "./SettingsGpu.js";
import { ErrorText, Field, type ErrorMap, type SectionProps, NumberInput } from "./SettingsFields.js";
import { hoursOn, presetGrid, scheduleSummary, type SchedulePreset } from "../schedule-grid.js";

const SIMPLE_FIELDS = new Set([
  "endpoint",
  "token",
  "name",
  "noHttps",
  "envVars",
  "files",
  "preJobHookPath",
  "postJobHookPath",
  "shutdownHookPath",
  "failOnPreJobHookError",
  "sourcePreJobHook",
  "uploadJobLogs",
  "disconnectAfterJob",
  "disconnectAfterIdleTimeout",
  "interruptionGracePeriod",
  "historyMaxJobs",
  "historyMaxMegabytes",
  "debugKeepJobs",
  "sandbox",
  "jobHomeCleanup",
  "jobHomeKeep",
  "sandboxAllowDocker",
  "sandboxReadOnlyPaths",
  "sandboxReadWritePaths",
  "diskMinFreeGb",
  "diskMinFreePercent",
  "diskHardFloorGb",
  "lendSchedule",
  "lendOnBattery",
  "lendIdleMinutes",
  "lendOwnerCpuPercent",
  "lendOnRunningJob",
  "breakerJobs",
  "gpuAgents",
  "gpuGroups",
  "gpuNotLent",
  "gpuMaxTemperatureC",
  "gpuMaxPowerW",
  "gpuOwnerUsePauses",
]);

/** Errors grouped by field, in the order they came. */
function groupErrors(errors: readonly FieldError[]): ErrorMap {
  const map: ErrorMap = new Map();
  for (const e of errors) map.set(e.field, [...(map.get(e.field) ?? []), e.message]);
  return map;
}

function Welcome({ startPending }: { startPending: boolean }) {
  const store = useAppStore();
  return (
    <section className="card welcome" data-testid="settings-welcome">
      <div>
        <h2>Welcome — let’s connect this machine to Semaphore</h2>
        <p>{startPending ? "Before the agent can start, it needs to know where to connect." : "The agent needs two things to start taking jobs:"}</p>
        <ol>
          <li>
            your organisation’s address, e.g. <span className="mono">acme.semaphoreci.com</span>;
          </li>
          <li>
            the registration token of a self-hosted agent type (in Semaphore: Settings → Self-hosted agents → your agent type).
          </li>
        </ol>
        <p className="hint" style={{ marginTop: 8 }}>
          No account?{" "}
          <button type="button" className="btn small" style={{ marginLeft: 4 }} data-testid="settings-try-demo" onClick={() => store.getState().selectView("demo")}>
            Try the local demo
          </button>{" "}
          — it runs everything on this machine.
        </p>
      </div>
    </section>
  );
}

function ConfigDialog({ title, children, onClose }: { title: string; children: ReactNode; onClose: () => void }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  // In a portal: the save bar's backdrop blur would otherwise become the dialog's containing block.
  return createPortal(
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <section className="card dialog" role="dialog" aria-modal="true" aria-label={title}>
        <div className="card-head">
          {title}
          <span className="spacer" />
          <button type="button" className="btn ghost icon-btn" aria-label="Close" onClick={onClose}>
            <XIcon size={15} />
          </button>
        </div>
        <div className="card-body">{children}</div>
      </section>
    </div>,
    document.body,
  );
}

function downloadText(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** An error with the name of its field in front, once ("`endpiont` is not a config.yaml option: did you mean `endpoint`?"). */
function ErrorSentence({ label, message }: { label: string | null; message: string }) {
  if (label === null || label === "") return <Prose text={message} />;
  const sentence = errorSentence(label, message);
  return (
    <>
      <code>{sentence.label}</code>
      {sentence.joiner}
      <Prose text={sentence.message} />
    </>
  );
}

function ImportExport() {
  const store = useAppStore();
  const fileInput = useRef<HTMLInputElement>(null);
  const paste = useApp((s) => s.configPaste);
  const [exported, setExported] = useState<null | { text: string; copied: boolean }>(null);
  const busy = useApp((s) => s.busy.settings);
  const close = () => store.getState().closeConfigPaste();

  return (
    <>
      <input
        ref={fileInput}
        type="file"
        accept=".yaml,.yml,application/yaml,text/yaml"
        style={{ display: "none" }}
        data-testid="settings-import-file"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = "";
          // A file with a mistake opens in the dialog, with what is wrong, to be fixed there.
          if (file !== undefined) void file.text().then((text) => store.getState().importConfig(text));
        }}
      />
      <button type="button" className="btn ghost small" disabled={busy} onClick={() => fileInput.current?.click()}>
        <UploadIcon size={14} /> Import config.yaml…
      </button>
      <button type="button" className="btn ghost small" data-testid="settings-import-paste" disabled={busy} onClick={() => store.getState().openConfigPaste()}>
        Paste YAML…
      </button>
      <button
        type="button"
        className="btn ghost small"
        data-testid="settings-export"
        onClick={() =>
          void store
            .getState()
            .exportConfig()
            .then((yaml) => {
              if (yaml !== null) setExported({ text: yaml, copied: false });
            })
        }
      >
        <DownloadIcon size={14} /> Export
      </button>
      {paste !== null ? (
        <ConfigDialog title="Import an agent config.yaml" onClose={close}>
          <div className="hint">Paste the official agent’s config.yaml. Its settings replace the ones here once they are valid.</div>
          <textarea
            className={`textarea${paste.errors.length > 0 ? " invalid" : ""}`}
            data-testid="config-yaml-input"
            spellCheck={false}
            autoFocus
            aria-label="config.yaml"
            placeholder={'endpoint: "acme.semaphoreci.com"\ntoken: "…"\nenv-vars: []'}
            value={paste.text}
            onChange={(e) => store.getState().editConfigPaste(e.target.value)}
          />
          {paste.errors.length > 0 ? (
            <div className="callout error config-import-errors" role="alert" data-testid="config-import-errors">
              <AlertIcon size={16} style={{ color: "var(--red)", flex: "none", marginTop: 2 }} />
              <div className="grow">
                <div className="callout-title">Nothing was imported: fix the file and import it again</div>
                {paste.errors.map((e, i) => (
                  <div key={`${e.field}-${i}`} data-testid="config-import-error" data-field={e.field}>
                    <ErrorSentence label={e.field === "" ? null : configLabelOf(e.field)} message={e.message} />
                  </div>
                ))}
              </div>
            </div>
          ) : null}
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={close}>
              Cancel
            </button>
            <button
              type="button"
              className="btn primary"
              data-testid="config-import-submit"
              disabled={busy || paste.text.trim() === ""}
              onClick={() => void store.getState().importConfig(paste.text)}
            >
              {busy ? "Importing…" : "Import"}
            </button>
          </div>
        </ConfigDialog>
      ) : null}
      {exported !== null ? (
        <ConfigDialog title="config.yaml" onClose={() => setExported(null)}>
          <div className="hint">The settings as the official agent’s config file. The registration token is left out.</div>
          <textarea className="textarea" data-testid="config-export-text" readOnly spellCheck={false} value={exported.text} />
          <div className="dialog-actions">
            <button
              type="button"
              className="btn"
              data-testid="config-export-copy"
              onClick={() => void navigator.clipboard.writeText(exported.text).then(() => setExported({ ...exported, copied: true }), () => undefined)}
            >
              {exported.copied ? <CheckIcon size={14} /> : <CopyIcon size={14} />}
              {exported.copied ? "Copied" : "Copy"}
            </button>
            <button type="button" className="btn primary" data-testid="config-export-download" onClick={() => downloadText("config.yaml", exported.text)}>
              <DownloadIcon size={14} /> Download
            </button>
          </div>
        </ConfigDialog>
      ) : null}
    </>
  );
}

function SettingsForm({ settings, state }: { settings: SettingsView; state: SettingsDraftState }) {
  const store = useAppStore();
  const busy = useApp((s) => s.busy.settings);
  const hostErrors = useApp((s) => s.settingsErrors);
  const savedAt = useApp((s) => s.settingsSavedAt);
  const actionError = useApp((s) => (s.error?.scope === "settings" ? s.error.message : null));
  const startPending = useApp((s) => s.startAfterSetup);
  const idle = useApp((s) => agentIdle(s.agent));
  // The draft lives in the store (settings-draft-store.ts): leaving the page keeps it.
  const { draft, localErrors, mapping, dirty, advancedOpen } = state;

  const shownErrors = localErrors.length > 0 ? localErrors : hostErrors;
  const errors = groupErrors(shownErrors);
  // New errors (not those left after an edit cleared some): bring the first one into view, the form is longer than the window.
  const seen = useRef<ReadonlySet<string>>(new Set());
  useEffect(() => {
    const fields = new Set(shownErrors.map((e) => e.field));
    const fresh = [...fields].some((f) => !seen.current.has(f));
    seen.current = fields;
    if (fresh) document.querySelector(".field-error, .callout.error")?.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [shownErrors]);
  const placed = new Set<string>();
  const errorFor = (field: string) => {
    placed.add(field);
    return <ErrorText field={field} messages={errors.get(field)} />;
  };

  // An edit clears that field's errors (and only that field's) in the store.
  const set = <K extends keyof SettingsDraft>(key: K, value: SettingsDraft[K]) => store.getState().editSettings(key, value);

  const save = async () => {
    await store.getState().saveSettingsDraft();
  };

  // Env var rows: errors envVars[i](.name|.value) of the last save belong to the row sent as i.
  const rowErrors = (key: number) => {
    const i = mapping.envRowKeys.indexOf(key);
    if (i < 0) return null;
    return (
      <>
        {errorFor(`envVars[${i}].name`)}
        {errorFor(`envVars[${i}].value`)}
        {errorFor(`envVars[${i}]`)}
      </>
    );
  };
  const rowHasError = (key: number, part: "name" | "value") => {
    const i = mapping.envRowKeys.indexOf(key);
    return i >= 0 && errors.has(`envVars[${i}].${part}`);
  };
  // One-per-line lists: an error of entry i of the last save names the line it came from.
  const lineErrors = (list: LineListField) =>
    [...errors.entries()].map(([field, messages]) => {
      const at = lineOfListError(field, mapping.lines);
      if (at === null || at.list !== list) return null;
      placed.add(field);
      return <ErrorText key={field} field={field} messages={messages.map((m) => (at.line !== null ? `Line ${at.line}: ${m}` : m))} />;
    });
  const listInvalid = (list: LineListField) => errors.has(list) || [...errors.keys()].some((field) => lineOfListError(field, mapping.lines)?.list === list);
  const fileErrors = lineErrors("files");
  // Rendered here, not in the sections' own components: what is placed must be known before the list of unplaced errors.
  const sectionLineErrors: Record<Exclude<LineListField, "files">, ReactNode> = {
    jobHomeKeep: lineErrors("jobHomeKeep"),
    sandboxReadOnlyPaths: lineErrors("sandboxReadOnlyPaths"),
    sandboxReadWritePaths: lineErrors("sandboxReadWritePaths"),
  };
  // The GPU lists' entries ("gpuGroups[1][0]", "gpuNotLent[2]"): under the GPUs, whichever entry they name.
  const gpuListErrors = [...errors.entries()]
    .filter(([field]) => /^(gpuGroups|gpuNotLent)\[/.test(field))
    .map(([field, messages]) => {
      placed.add(field);
      return <ErrorText key={field} field={field} messages={messages} />;
    });

  const tokenPlaceholder = settings.tokenSet ? "•••••• (stored)" : "The agent type’s registration token";
  // What the first run asks for: where to connect, and the token. The rest is under Advanced.
  const essentials = (
    <section className="card form-section" data-testid="settings-connection">
      <div className="card-head">{settings.configured ? "Connection" : "Connect to Semaphore"}</div>
        <Field label="Organisation" configKey="endpoint" help="Your Semaphore organisation’s host name, without https://." error={errorFor("endpoint")}>
          <input
            className={`input mono${errors.has("endpoint") ? " invalid" : ""}`}
            data-testid="settings-endpoint"
            placeholder="acme.semaphoreci.com"
            spellCheck={false}
            value={draft.endpoint}
            onChange={(e) => set("endpoint", e.target.value)}
          />
        </Field>
        <Field
          label="Registration token"
          configKey="token"
          help={
            settings.tokenSet
              ? `A token is stored (${settings.tokenStorage === "safe-storage" ? "encrypted by the system keychain" : "in a file only you can read"}). Leave empty to keep it.`
              : "From the agent type’s page in Semaphore. It is stored on this machine only."
          }
          error={errorFor("token")}
        >
          <input
            className={`input mono${errors.has("token") ? " invalid" : ""}`}
            data-testid="settings-token"
            type="password"
            autoComplete="new-password"
            placeholder={tokenPlaceholder}
            value={draft.token}
            onChange={(e) => set("token", e.target.value)}
          />
        </Field>
    </section>
  );
  const advanced = (
    <>
      <section className="card form-section" data-testid="settings-agent">
        <div className="card-head">This agent</div>
        <Field label="Agent name" configKey="name" help="8 to 80 characters; a random name is chosen when empty." error={errorFor("name")}>
          <input className={`input${errors.has("name") ? " invalid" : ""}`} data-testid="settings-name" placeholder="Random" spellCheck={false} value={draft.name} onChange={(e) => set("name", e.target.value)} />
        </Field>
        <Field label="Plain HTTP" configKey="no-https" help="Only for a server on your own network, never for semaphoreci.com." error={errorFor("noHttps")}>
          <label className="check">
            <input type="checkbox" data-testid="settings-no-https" checked={draft.noHttps} onChange={(e) => set("noHttps", e.target.checked)} />
            Connect without HTTPS
          </label>
        </Field>
      </section>

      <WhenToLend draft={draft} set={set} errors={errors} errorFor={errorFor} />
      <GpuAgents draft={draft} set={set} errors={errors} errorFor={errorFor} listErrors={gpuListErrors} />
      <NotifyAndStart draft={draft} set={set} errors={errors} errorFor={errorFor} />

      <section className="card form-section">
        <div className="card-head">Jobs</div>
        <Field
          label="Environment variables"
          configKey="env-vars"
          help="Added to every job; they override the job’s own variables. Jobs show only their names."
          error={errorFor("envVars")}
        >
          <div className="env-rows" data-testid="settings-env-vars">
            {draft.envVars.map((row, index) => (
              <div key={row.key}>
                <div className="env-row">
                  <input
                    className={`input mono${rowHasError(row.key, "name") ? " invalid" : ""}`}
                    data-testid={`settings-env-var-name-${index}`}
                    placeholder="NAME"
                    spellCheck={false}
                    value={row.name}
                    onChange={(e) => set("envVars", draft.envVars.map((r) => (r.key === row.key ? { ...r, name: e.target.value } : r)))}
                  />
                  <input
                    className={`input mono${rowHasError(row.key, "value") ? " invalid" : ""}`}
                    data-testid={`settings-env-var-value-${index}`}
                    placeholder="value"
                    spellCheck={false}
                    value={row.value}
                    onChange={(e) => set("envVars", draft.envVars.map((r) => (r.key === row.key ? { ...r, value: e.target.value } : r)))}
                  />
                  <button
                    type="button"
                    className="btn ghost icon-btn"
                    aria-label={`Remove ${row.name || "variable"}`}
                    data-testid={`settings-env-var-remove-${index}`}
                    onClick={() => set("envVars", draft.envVars.filter((r) => r.key !== row.key))}
                  >
                    <XIcon size={14} />
                  </button>
                </div>
                {rowErrors(row.key)}
              </div>
            ))}
            <div>
              <button type="button" className="btn small" data-testid="settings-env-var-add" onClick={() => set("envVars", [...draft.envVars, newEnvRow()])}>
                <PlusIcon size={13} /> Add variable
              </button>
            </div>
          </div>
        </Field>
        <Field label="Files" configKey="files" help="One SRC:DEST per line. Used by the docker-compose executor; kept for compatibility." error={<>{errorFor("files")}{fileErrors}</>}>
          <textarea className="textarea" data-testid="settings-files" rows={2} spellCheck={false} placeholder="/host/path:/job/path" value={draft.files} onChange={(e) => set("files", e.target.value)} />
        </Field>
        <Field label="Upload job logs" configKey="upload-job-logs" help="As an artifact of the job (needs the artifact CLI on this machine)." error={errorFor("uploadJobLogs")}>
          <select className="select" data-testid="settings-upload-job-logs" value={draft.uploadJobLogs} onChange={(e) => set("uploadJobLogs", e.target.value as SettingsDraft["uploadJobLogs"])}>
            <option value="never">Never</option>
            <option value="when-trimmed">When the log was trimmed</option>
            <option value="always">Always</option>
          </select>
        </Field>
      </section>

      <WhereJobsRun draft={draft} set={set} errors={errors} errorFor={errorFor} lineErrors={sectionLineErrors} listInvalid={listInvalid} />
      <DiskGuard draft={draft} set={set} errors={errors} errorFor={errorFor} />

      <section className="card form-section">
        <div className="card-head">Hooks</div>
        <Field label="Pre-job hook" configKey="pre-job-hook-path" help="A script run in each job’s shell before its commands." error={errorFor("preJobHookPath")}>
          <input className="input mono" data-testid="settings-pre-job-hook" placeholder="/path/to/pre-job.sh" spellCheck={false} value={draft.preJobHookPath} onChange={(e) => set("preJobHookPath", e.target.value)} />
          <div style={{ display: "flex", gap: 18, flexWrap: "wrap" }}>
            <label className="check">
              <input type="checkbox" data-testid="settings-fail-on-pre-job-hook-error" checked={draft.failOnPreJobHookError} onChange={(e) => set("failOnPreJobHookError", e.target.checked)} />
              Fail the job when it fails
            </label>
            <label className="check">
              <input type="checkbox" data-testid="settings-source-pre-job-hook" checked={draft.sourcePreJobHook} onChange={(e) => set("sourcePreJobHook", e.target.checked)} />
              Source it (its exports reach the job)
            </label>
          </div>
          {errorFor("failOnPreJobHookError")}
          {errorFor("sourcePreJobHook")}
        </Field>
        <Field label="Post-job hook" configKey="post-job-hook-path" help="Run after the job’s epilogues." error={errorFor("postJobHookPath")}>
          <input className="input mono" data-testid="settings-post-job-hook" placeholder="/path/to/post-job.sh" spellCheck={false} value={draft.postJobHookPath} onChange={(e) => set("postJobHookPath", e.target.value)} />
        </Field>
        <Field label="Shutdown hook" configKey="shutdown-hook-path" help="Run once the agent has disconnected, with SEMAPHORE_AGENT_SHUTDOWN_REASON." error={errorFor("shutdownHookPath")}>
          <input className="input mono" data-testid="settings-shutdown-hook" placeholder="/path/to/shutdown.sh" spellCheck={false} value={draft.shutdownHookPath} onChange={(e) => set("shutdownHookPath", e.target.value)} />
        </Field>
      </section>

      <section className="card form-section">
        <div className="card-head">Lifecycle</div>
        <Field label="One job only" configKey="disconnect-after-job" help="Disconnect after the first job." error={errorFor("disconnectAfterJob")}>
          <label className="check">
            <input type="checkbox" data-testid="settings-disconnect-after-job" checked={draft.disconnectAfterJob} onChange={(e) => set("disconnectAfterJob", e.target.checked)} />
            Stop the agent after one job
          </label>
        </Field>
        <Field label="Idle timeout" configKey="disconnect-after-idle-timeout" help="Disconnect after this long without a job; 0 never does." error={errorFor("disconnectAfterIdleTimeout")}>
          <div className="inline">
            <input className={`input${errors.has("disconnectAfterIdleTimeout") ? " invalid" : ""}`} data-testid="settings-idle-timeout" inputMode="numeric" value={draft.disconnectAfterIdleTimeout} onChange={(e) => set("disconnectAfterIdleTimeout", e.target.value)} />
            <span className="unit">seconds</span>
          </div>
        </Field>
        <Field label="Interruption grace period" configKey="interruption-grace-period" help="How long Semaphore lets a running job go on after Stop, before stopping it." error={errorFor("interruptionGracePeriod")}>
          <div className="inline">
            <input className={`input${errors.has("interruptionGracePeriod") ? " invalid" : ""}`} data-testid="settings-grace-period" inputMode="numeric" value={draft.interruptionGracePeriod} onChange={(e) => set("interruptionGracePeriod", e.target.value)} />
            <span className="unit">seconds</span>
          </div>
        </Field>
      </section>

      <section className="card form-section">
        <div className="card-head">History on this machine</div>
        <Field label="Keep at most" help="Older jobs and their logs are removed first." error={<>{errorFor("historyMaxJobs")}{errorFor("historyMaxMegabytes")}</>}>
          <div className="inline" style={{ flexWrap: "wrap" }}>
            <input className={`input${errors.has("historyMaxJobs") ? " invalid" : ""}`} data-testid="settings-history-max-jobs" inputMode="numeric" value={draft.historyMaxJobs} onChange={(e) => set("historyMaxJobs", e.target.value)} />
            <span className="unit">jobs, and</span>
            <input className={`input${errors.has("historyMaxMegabytes") ? " invalid" : ""}`} data-testid="settings-history-max-mb" inputMode="numeric" value={draft.historyMaxMegabytes} onChange={(e) => set("historyMaxMegabytes", e.target.value)} />
            <span className="unit">MB of logs</span>
          </div>
        </Field>
        <Field
          label="Keep env files for debugging"
          help="Copies of the jobs’ env files (they hold secrets) are kept owner-only in the app’s data folder; 0 keeps none."
          error={errorFor("debugKeepJobs")}
        >
          <div className="inline">
            <span className="unit">last</span>
            <input
              className={`input${errors.has("debugKeepJobs") ? " invalid" : ""}`}
              data-testid="settings-debug-keep-jobs"
              aria-label="Keep env files for debugging: last N jobs"
              inputMode="numeric"
              value={draft.debugKeepJobs}
              onChange={(e) => set("debugKeepJobs", e.target.value)}
            />
            <span className="unit">jobs</span>
          </div>
        </Field>
      </section>
    </>
  );

  // Whatever the form has no place for (a key it does not know) is listed at the top.
  const unplaced = [...errors.entries()].filter(([field]) => !placed.has(field) && !SIMPLE_FIELDS.has(field));
  const showSaved = savedAt !== null && !dirty && localErrors.length === 0 && hostErrors.length === 0;

  return (
    <form
      className="page-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {actionError !== null ? (
        <div className="callout error" role="alert" data-testid="settings-error">
          <AlertIcon size={16} style={{ color: "var(--red)", flex: "none", marginTop: 2 }} />
          <div className="grow">{actionError}</div>
        </div>
      ) : null}
      {unplaced.length > 0 ? (
        <div className="callout error" role="alert" data-testid="settings-unplaced-errors">
          <AlertIcon size={16} style={{ color: "var(--red)", flex: "none", marginTop: 2 }} />
          <div className="grow">
            <div className="callout-title">Some settings are not valid</div>
            {unplaced.map(([field, messages]) => (
              <div key={field} data-testid={`field-error-${field}`}>
                <ErrorSentence label={field} message={messages.join("; ")} />
              </div>
            ))}
          </div>
        </div>
      ) : null}
      {essentials}
      <details
        className="advanced"
        data-testid="settings-advanced"
        open={advancedOpen}
        onToggle={(e) => store.getState().setSettingsAdvanced(e.currentTarget.open)}
      >
        <summary data-testid="settings-advanced-toggle">
          <ChevronDownIcon size={15} className="advanced-chevron" />
          <span className="advanced-title">Advanced</span>
          <span className="advanced-what">{advancedOpen ? "" : "Agent name, plain HTTP, when to lend, GPUs, notifications, jobs, sandbox, disk guard, hooks, lifecycle, history"}</span>
        </summary>
        <div className="advanced-body">{advanced}</div>
      </details>
      <div className="save-bar">
        <div className="inner">
          <button type="submit" className="btn primary" data-testid="settings-save" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
          {showSaved ? (
            <span className="saved" data-testid="settings-saved" role="status">
              <CheckIcon size={15} /> Settings saved
            </span>
          ) : dirty ? (
            <>
              <span className="unsaved" data-testid="settings-unsaved" role="status">
                <span className="unsaved-dot" aria-hidden="true" /> Unsaved changes
              </span>
              <button type="button" className="btn ghost small" data-testid="settings-discard" disabled={busy} onClick={() => store.getState().discardSettingsDraft()}>
                Discard
              </button>
            </>
          ) : null}
          {showSaved && startPending && settings.configured && idle ? (
            <button type="button" className="btn" data-testid="settings-start-agent" onClick={() => void store.getState().startAgent().then(() => store.getState().selectView("agent"))}>
              Start the agent
            </button>
          ) : null}
          <span style={{ flex: 1 }} />
          <ImportExport />
        </div>
      </div>
    </form>
  );
}


/** The sandbox level, the job home's policy, the Docker socket and extra paths, and what is in force now. */
function WhereJobsRun({
  draft,
  set,
  errorFor,
  lineErrors,
  listInvalid,
}: SectionProps & { lineErrors: Record<Exclude<LineListField, "files">, ReactNode>; listInvalid: (list: LineListField) => boolean }) {
  const status = useApp((s) => s.sandbox);
  const savedLevel = useApp((s) => (s.settings === null ? null : sandboxSettingsOf(s.settings).sandbox));
  const agentRunning = useApp((s) => !agentIdle(s.agent));
  const strict = draft.sandbox === "strict";
  return (
    <section className="card form-section" data-testid="settings-where-jobs-run">
      <div className="card-head">Where jobs run</div>
      <Field
        label="Sandbox"
        configKey="sandbox"
        error={errorFor("sandbox")}
        help={
          status === null ? (
            "Checking what this machine supports…"
          ) : (
            <div className="sandbox-status">
              <SandboxLevel status={status} prefix={savedLevel !== null && savedLevel !== draft.sandbox ? "Until you save:" : "In force:"} />
              <SandboxNotice status={status} agentRunning={agentRunning} />
            </div>
          )
        }
      >
        <div className="choice-list" role="radiogroup" aria-label="Sandbox level" data-testid="settings-sandbox" data-value={draft.sandbox}>
          {(["strict", "none"] as const).map((level) => (
            <label key={level} className={`choice${draft.sandbox === level ? " on" : ""}`}>
              <input type="radio" name="sandbox" value={level} data-testid={`settings-sandbox-${level}`} checked={draft.sandbox === level} onChange={() => set("sandbox", level)} />
              <span>
                <span className="choice-title">{SANDBOX_LEVEL_WORDS[level].title}</span>
                <span className="choice-help">{SANDBOX_LEVEL_WORDS[level].protects}</span>
              </span>
            </label>
          ))}
        </div>
      </Field>
      <Field
        label="Job home"
        configKey="job-home-cleanup"
        help="Each job starts in the app’s private job home (its HOME). Cleaning it stops one job’s files and credentials from reaching the next."
        error={errorFor("jobHomeCleanup")}
      >
        <select className="select" data-testid="settings-job-home-cleanup" value={draft.jobHomeCleanup} onChange={(e) => set("jobHomeCleanup", e.target.value as SettingsDraft["jobHomeCleanup"])}>
          <option value="clean">Clean it after each job</option>
          <option value="keep">Keep everything between jobs</option>
        </select>
      </Field>
      <Field
        label="Keep when cleaning"
        configKey="job-home-keep"
        help={draft.jobHomeCleanup === "clean" ? "One path per line, relative to the job home (e.g. .cache/pip): left in place when the rest is cleaned." : "Not used while everything is kept."}
        error={
          <>
            {errorFor("jobHomeKeep")}
            {lineErrors.jobHomeKeep}
          </>
        }
      >
        <textarea
          className={`textarea${listInvalid("jobHomeKeep") ? " invalid" : ""}`}
          data-testid="settings-job-home-keep"
          rows={2}
          spellCheck={false}
          placeholder={".cache/pip\n.m2/repository"}
          value={draft.jobHomeKeep}
          onChange={(e) => set("jobHomeKeep", e.target.value)}
        />
      </Field>
      <Field label="Docker" configKey="sandbox-allow-docker" error={errorFor("sandboxAllowDocker")}>
        <label className="check">
          <input type="checkbox" data-testid="settings-sandbox-allow-docker" checked={draft.sandboxAllowDocker} onChange={(e) => set("sandboxAllowDocker", e.target.checked)} />
          Let jobs use the Docker socket
        </label>
        <div className={`field-warn${draft.sandboxAllowDocker ? " on" : ""}`} data-testid="settings-docker-warning">
          <AlertIcon size={13} style={{ flex: "none", marginTop: 2 }} />
          <span>The Docker socket gives root on this machine: a job that can reach it can read and change every file here, whatever the sandbox.</span>
        </div>
      </Field>
      <Field
        label="Extra read-only paths"
        configKey="sandbox-read-only-paths"
        help={strict ? "One absolute path per line (e.g. /data/datasets): jobs can read them but not change them." : "Used by the strict sandbox only: without it jobs see all your files."}
        error={
          <>
            {errorFor("sandboxReadOnlyPaths")}
            {lineErrors.sandboxReadOnlyPaths}
          </>
        }
      >
        <textarea
          className={`textarea${listInvalid("sandboxReadOnlyPaths") ? " invalid" : ""}`}
          data-testid="settings-sandbox-read-only-paths"
          rows={2}
          spellCheck={false}
          placeholder="/data/datasets"
          value={draft.sandboxReadOnlyPaths}
          onChange={(e) => set("sandboxReadOnlyPaths", e.target.value)}
        />
      </Field>
      <Field
        label="Extra read-write paths"
        configKey="sandbox-read-write-paths"
        help={strict ? "One absolute path per line (e.g. /scratch): jobs can read and change them." : "Used by the strict sandbox only: without it jobs can change all your files."}
        error={
          <>
            {errorFor("sandboxReadWritePaths")}
            {lineErrors.sandboxReadWritePaths}
          </>
        }
      >
        <textarea
          className={`textarea${listInvalid("sandboxReadWritePaths") ? " invalid" : ""}`}
          data-testid="settings-sandbox-read-write-paths"
          rows={2}
          spellCheck={false}
          placeholder="/scratch"
          value={draft.sandboxReadWritePaths}
          onChange={(e) => set("sandboxReadWritePaths", e.target.value)}
        />
      </Field>
    </section>
  );
}

const SCHEDULE_PRESETS: readonly { preset: SchedulePreset; label: string; title: string }[] = [
  { preset: "all", label: "All", title: "Every hour of the week" },
  { preset: "none", label: "None", title: "No hour: start painting from an empty week" },
  { preset: "evenings-weekends", label: "Evenings & weekends", title: "Weekdays from 18:00 to 08:00, and all of Saturday and Sunday" },
];

const RUNNING_JOB_CONDITIONS: readonly { key: keyof SettingsDraft["lendOnRunningJob"]; label: string }[] = [
  { key: "schedule", label: "The schedule’s hours end" },
  { key: "battery", label: "The computer goes on battery" },
  { key: "idle", label: "You use the computer" },
  { key: "load", label: "Your own programs load the CPU" },
];

/** When to lend this machine: the weekly schedule, idle, battery, the owner's load, a running job, the circuit breaker. */
/** Notifications (each kind) and start at login: the desktop app's own; in a browser tab, the browser's permission. */
function NotifyAndStart({ draft, set }: SectionProps) {
  // The desktop app loads the page from file://; the console serves it over http://127.0.0.1.
  const inBrowser = typeof location !== "undefined" && location.protocol.startsWith("http");
  const [permission, setPermission] = useState<BrowserPermission>(() => browserNotificationPermission());
  const check = (key: "notifyJobs" | "notifyConnection" | "notifyPauses", testid: string, label: string) => (
    <label className="check">
      <input type="checkbox" data-testid={testid} checked={draft[key]} onChange={(e) => set(key, e.target.checked)} />
      {label}
    </label>
  );
  return (
    <section className="card form-section" data-testid="settings-notify">
      <div className="card-head">Notifications and start</div>
      <Field label="Notify me" help={inBrowser ? "In this browser tab, once the browser allows it." : "As desktop notifications."}>
        <div style={{ display: "flex", flexDirection: "column", alignItems: "flex-start", gap: 2 }}>
          {check("notifyJobs", "settings-notify-jobs", "When a job passes, fails or is stopped")}
          {check("notifyConnection", "settings-notify-connection", "When the agent cannot connect to Semaphore")}
          {check("notifyPauses", "settings-notify-pauses", "When lending pauses or resumes")}
        </div>
        {inBrowser && permission !== "granted" ? (
          <div className="hint" data-testid="settings-notify-permission">
            {permission === "unsupported" ? (
              "This browser cannot show notifications."
            ) : permission === "denied" ? (
              "This browser blocks notifications from this page: allow them in its site settings."
            ) : (
              <button type="button" className="btn" data-testid="settings-notify-allow" onClick={() => void askBrowserNotifications().then(setPermission)}>
                Allow notifications in this browser
              </button>
            )}
          </div>
        ) : null}
      </Field>
      <Field label="Start at login" help={inBrowser ? undefined : "Starts hidden in the tray when you log in."}>
        {inBrowser ? (
          <div className="hint" data-testid="settings-start-at-login-console">
            For the web console on a server, run <code className="mono">semaphore-agent console --install-service</code>: it writes a systemd user service and says how to enable it.
          </div>
        ) : (
          <label className="check">
            <input type="checkbox" data-testid="settings-start-at-login" checked={draft.startAtLogin} onChange={(e) => set("startAtLogin", e.target.checked)} />
            Start Semaphore Agent Desktop when I log in
          </label>
        )}
      </Field>
    </section>
  );
}

function WhenToLend({ draft, set, errors, errorFor }: SectionProps) {
  const note = useApp((s) => s.agent?.lending.note ?? null);
  const number = (field: "lendIdleMinutes" | "lendOwnerCpuPercent" | "breakerJobs", testid: string, label: string) => <NumberInput field={field} testid={testid} label={label} draft={draft} set={set} errors={errors} />;
  const empty = draft.lendScheduleEnabled && hoursOn(draft.lendSchedule) === 0;
  return (
    <section className="card form-section" data-testid="settings-lending">
      <div className="card-head">When to lend this machine</div>
      <Field
        label="Schedule"
        help="Click an hour to turn it on or off, or drag across hours to paint them; a day’s name toggles the whole day. Outside these hours the agent leaves Semaphore and comes back by itself."
        error={errorFor("lendSchedule")}
      >
        <div className="schedule-tools">
          <label className="check" style={{ paddingTop: 0 }}>
            <input type="checkbox" data-testid="settings-schedule-enabled" checked={draft.lendScheduleEnabled} onChange={(e) => set("lendScheduleEnabled", e.target.checked)} />
            Only at these times
          </label>
          <span className="spacer" />
          {SCHEDULE_PRESETS.map(({ preset, label, title }) => (
            <button key={preset} type="button" className="btn small ghost" data-testid={`settings-schedule-preset-${preset}`} title={title} onClick={() => set("lendSchedule", presetGrid(preset))}>
              {label}
            </button>
          ))}
        </div>
        <ScheduleGrid grid={draft.lendSchedule} active={draft.lendScheduleEnabled} onChange={(grid) => set("lendSchedule", grid)} />
        <div className={`schedule-summary${empty ? " warn" : ""}`} data-testid="settings-schedule-summary">
          {scheduleSummary(draft.lendScheduleEnabled, draft.lendSchedule)}
        </div>
      </Field>
      <Field
        label="Computer in use"
        help={
          <>
            0: whether or not it is in use.
            {note !== null ? <span data-testid="settings-lending-note"> {note}</span> : null}
          </>
        }
        error={errorFor("lendIdleMinutes")}
      >
        <div className="inline wrap">
          <span className="unit">Only when the computer has not been used for</span>
          {number("lendIdleMinutes", "settings-lend-idle-minutes", "Minutes without use before lending")}
          <span className="unit">minutes</span>
        </div>
      </Field>
      <Field label="On battery" help="Off: a laptop takes no jobs while it runs on battery." error={errorFor("lendOnBattery")}>
        <label className="check">
          <input type="checkbox" data-testid="settings-lend-on-battery" checked={draft.lendOnBattery} onChange={(e) => set("lendOnBattery", e.target.checked)} />
          Also while on battery power
        </label>
      </Field>
      <Field label="Your own load" help="Jobs’ own processes do not count. 0: whatever your programs use." error={errorFor("lendOwnerCpuPercent")}>
        <div className="inline wrap">
          <span className="unit">Not while my own programs use more than</span>
          {number("lendOwnerCpuPercent", "settings-lend-owner-cpu", "Your own CPU use in percent")}
          <span className="unit">% of the CPU</span>
        </div>
      </Field>
      <Field label="A running job" help="What happens to a job that is running when one of these starts." error={errorFor("lendOnRunningJob")}>
        <div className="running-job-policy">
          {RUNNING_JOB_CONDITIONS.map(({ key, label }) => (
            <label key={key} style={{ display: "contents" }}>
              <span>{label}</span>
              <select
                className="select"
                data-testid={`settings-lend-on-running-${key}`}
                value={draft.lendOnRunningJob[key]}
                onChange={(e) => set("lendOnRunningJob", { ...draft.lendOnRunningJob, [key]: e.target.value as "finish" | "stop" })}
              >
                <option value="finish">Let it finish</option>
                <option value="stop">Stop it now</option>
              </select>
            </label>
          ))}
        </div>
      </Field>
      <Field label="Circuit breaker" help="Lending pauses until you resume. 0: never." error={errorFor("breakerJobs")}>
        <div className="inline wrap">
          <span className="unit">Pause after</span>
          {number("breakerJobs", "settings-breaker-jobs", "Jobs in a row that fail before their first command finished")}
          <span className="unit">jobs in a row fail before their first command finished</span>
        </div>
      </Field>
    </section>
  );
}

/** The disk guard's three limits and what they do, in one sentence. */
function DiskGuard({ draft, set, errors, errorFor }: SectionProps) {
  const number = (field: "diskMinFreeGb" | "diskMinFreePercent" | "diskHardFloorGb", testid: string, label: string) => (
    <input
      className={`input${errors.has(field) ? " invalid" : ""}`}
      data-testid={testid}
      aria-label={label}
      inputMode="numeric"
      value={draft[field]}
      onChange={(e) => set(field, e.target.value)}
    />
  );
  return (
    <section className="card form-section" data-testid="settings-disk-guard">
      <div className="card-head">Disk guard</div>
      <Field
        label="Minimum free space"
        configKey="disk-min-free-gb, -percent"
        help="Checked on the job home’s and TMPDIR’s disks. Below it the agent finishes its job, leaves Semaphore and comes back by itself once there is room. 0 turns a limit off."
        error={
          <>
            {errorFor("diskMinFreeGb")}
            {errorFor("diskMinFreePercent")}
          </>
        }
      >
        <div className="inline" style={{ flexWrap: "wrap" }}>
          {number("diskMinFreeGb", "settings-disk-min-free-gb", "Minimum free space in GB")}
          <span className="unit">GB or</span>
          {number("diskMinFreePercent", "settings-disk-min-free-percent", "Minimum free space in percent of the disk")}
          <span className="unit">% of the disk, whichever is smaller</span>
        </div>
      </Field>
      <Field label="Hard floor" configKey="disk-hard-floor-gb" help="Below this a running job is stopped, before the disk fills up. 0 never stops one." error={errorFor("diskHardFloorGb")}>
        <div className="inline">
          {number("diskHardFloorGb", "settings-disk-hard-floor-gb", "Hard floor in GB")}
          <span className="unit">GB</span>
        </div>
      </Field>
      <div className="disk-sentence" data-testid="settings-disk-guard-sentence">
        {diskGuardSentence(draft.diskMinFreeGb, draft.diskMinFreePercent, draft.diskHardFloorGb)}
      </div>
    </section>
  );
}

export function SettingsPage() {
  const settings = useApp((s) => s.settings);
  const state = useApp((s) => s.settingsDraft);
  const startPending = useApp((s) => s.startAfterSetup);
  // First run: the card shows while the toolbox is missing, and stays for the install's outcome.
  const toolboxMissing = useApp((s) => s.toolbox !== null && (!s.toolbox.installed || s.toolbox.install.running || s.toolbox.install.verified !== null || s.toolbox.install.error !== null));
  if (settings === null || state === null) return <div className="loading">Loading…</div>;
  return (
    <div className="page" data-testid="view-settings">
      <div className="page-head">
        <h1>{settings.configured ? "Settings" : "Set up the agent"}</h1>
      </div>
      {!settings.configured ? <Welcome startPending={startPending} /> : null}
      <SettingsForm settings={settings} state={state} />
      {/* First run: a recommendation below what is needed, not a step before it. */}
      {settings.configured || toolboxMissing ? <ToolboxCard /> : null}
    </div>
  );
}
