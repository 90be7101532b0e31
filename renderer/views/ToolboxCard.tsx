// Semaphore's toolbox on this machine: the seed's table of self-hosted features (what works here,
// and the exact fix for what does not), and Install / Update with progress. Real jobs start with
// `checkout`, which only the toolbox provides.
import type { ToolboxView } from "../../agent-core/host/contract.js";
import { formatBytes } from "../view-model.js";
import { AlertIcon, CheckIcon, DownloadIcon, XIcon } from "./icons.js";
import { useApp, useAppStore } from "./store-context.js";

const SUPPORT_WORDS: Record<ToolboxView["features"][number]["selfHosted"], string> = { yes: "Yes", optional: "Optional", no: "No" };

function progressText(install: ToolboxView["install"]): string {
  switch (install.phase) {
    case "download":
      return install.totalBytes
        ? `Downloading… ${formatBytes(install.receivedBytes)} of ${formatBytes(install.totalBytes)}`
        : `Downloading… ${formatBytes(install.receivedBytes)}`;
    case "checksum":
      return "Verifying the download…";
    case "extract":
      return "Unpacking…";
    case "install":
      return "Installing…";
    default:
      return "Starting…";
  }
}

export function ToolboxCard() {
  const store = useAppStore();
  const toolbox = useApp((s) => s.toolbox);
  const busy = useApp((s) => s.busy.toolbox);
  if (toolbox === null) return null;
  const { install } = toolbox;
  const percent = install.totalBytes ? Math.min(100, Math.round((install.receivedBytes / install.totalBytes) * 100)) : null;
  return (
    <section className="card form-section toolbox-card" data-testid="toolbox-card">
      <div className="card-head">
        Semaphore toolbox
        <span className="spacer" />
        <span className="hint" data-testid="toolbox-version">
          {toolbox.installed ? `Installed${toolbox.version ? ` ${toolbox.version}` : ""} in ${toolbox.path}` : "Not installed"}
        </span>
      </div>
      <div className="card-body">
        {!toolbox.installed ? (
          <div className="callout warn" role="note" data-testid="toolbox-missing">
            <AlertIcon size={17} style={{ color: "var(--amber)", flex: "none", marginTop: 1 }} />
            <div className="grow">
              Real Semaphore jobs need the toolbox: their first command is almost always <code>checkout</code>, and many use <code>cache</code>,{" "}
              <code>artifact</code> and <code>test-results</code>. Without it those jobs fail on this machine.
            </div>
          </div>
        ) : null}
        <table className="table toolbox-table" data-testid="toolbox-table">
          <thead>
            <tr>
              <th>Feature</th>
              <th>On self-hosted agents</th>
              <th>Here</th>
              <th>What to do</th>
            </tr>
          </thead>
          <tbody>
            {toolbox.features.map((f) => (
              <tr key={f.id} data-testid="toolbox-feature" data-feature={f.id} data-works={String(f.works)}>
                <td title={f.detail}>{f.name}</td>
                <td>{SUPPORT_WORDS[f.selfHosted]}</td>
                <td>
                  {f.works ? (
                    <span className="toolbox-ok">
                      <CheckIcon size={13} /> Works
                    </span>
                  ) : (
                    <span className="toolbox-no">
                      <XIcon size={13} /> {f.selfHosted === "no" ? "Not available" : "Missing"}
                    </span>
                  )}
                </td>
                <td className="toolbox-fix">{f.fix !== null ? <code>{f.fix}</code> : <span className="sub">{f.detail}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="toolbox-actions">
          <button
            type="button"
            className={`btn${toolbox.installed ? "" : " primary"}`}
            data-testid="toolbox-install"
            disabled={busy || install.running}
            onClick={() => void store.getState().installToolbox()}
          >
            <DownloadIcon size={14} />
            {install.running ? "Installing…" : toolbox.installed ? "Update" : "Install the toolbox"}
          </button>
          {install.running ? (
            <div className="toolbox-progress" data-testid="toolbox-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent ?? undefined}>
              <div className="toolbox-bar">
                <div className="toolbox-bar-fill" style={{ width: `${percent ?? 30}%` }} />
              </div>
              <span className="hint">{progressText(install)}</span>
            </div>
          ) : install.error !== null ? (
            <span className="error-text" role="alert" data-testid="toolbox-error">
              {install.error}
            </span>
          ) : install.verified !== null ? (
            <span className="hint" data-testid="toolbox-verified">
              Installed and verified: {install.verified}
            </span>
          ) : (
            <span className="hint">No sudo: it goes into {toolbox.path}, and job shells load it themselves. Offline? Run <code>semaphore-agent toolbox install --from FILE</code>.</span>
          )}
        </div>
      </div>
    </section>
  );
}
