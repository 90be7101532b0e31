// Where jobs run, as the Agent view and Settings show it: the sandbox line, and — whenever the
// level in force is not the one asked for — a warning with the notice and the exact command that
// installs what is missing (never a silent fallback to none).
import type { SandboxStatus } from "../../agent-core/host/contract.js";
import { sandboxDowngraded, sandboxLine, workspaceWords } from "../sandbox-view.js";
import { CopyButton } from "./CopyButton.js";
import { AlertIcon, ShieldIcon } from "./icons.js";

/** "Sandbox: strict · job home /… · cleaned after each job", with the level as data-level. */
export function SandboxLevel({ status, prefix }: { status: SandboxStatus; prefix?: string }) {
  return (
    <div className={`sandbox-level ${status.level}`} data-testid="sandbox-level" data-level={status.level} data-requested={status.requested}>
      <ShieldIcon size={14} style={{ flex: "none", marginTop: 2 }} />
      <span>
        {prefix !== undefined ? <span className="sandbox-prefix">{prefix} </span> : null}
        {sandboxLine(status)} · {workspaceWords(status)}
      </span>
    </div>
  );
}

function CopyCommand({ command }: { command: string }) {
  return (
    <div className="sandbox-install">
      <code data-testid="sandbox-install-command">{command}</code>
      <CopyButton testid="sandbox-install-copy" text={() => command} />
    </div>
  );
}

/** The warning when strict was asked for and is not in force; null otherwise. */
export function SandboxNotice({ status, agentRunning }: { status: SandboxStatus; agentRunning: boolean }) {
  if (!sandboxDowngraded(status)) return null;
  const notice = status.notice ?? `The ${status.requested} sandbox was asked for, but jobs run with sandbox ${status.level}.`;
  return (
    <div className="callout warn sandbox-notice" role="alert" data-testid="sandbox-notice">
      <AlertIcon size={17} style={{ color: "var(--amber)", flex: "none", marginTop: 1 }} />
      <div className="grow">
        <div className="callout-title">The {status.requested} sandbox is not in force: jobs can see your files</div>
        <div>{notice}</div>
        {status.install !== null ? (
          <>
            <div style={{ marginTop: 8 }}>{agentRunning ? "Install it, then stop and start the agent:" : "Install it, then start the agent:"}</div>
            <CopyCommand command={status.install} />
          </>
        ) : null}
      </div>
    </div>
  );
}
