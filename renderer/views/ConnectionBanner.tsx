// Says, at the top of the window, when the page cannot talk to the agent host.
import { retryText } from "../view-model.js";
import { useApp, useNow } from "./store-context.js";

function RetryCountdown({ retryAt }: { retryAt: number }) {
  const now = useNow(500);
  return <span style={{ marginLeft: "auto", opacity: 0.75 }}>{retryText(retryAt, now)}</span>;
}

export function ConnectionBanner() {
  const connection = useApp((s) => s.connection);
  if (connection.status === "unauthorised") {
    return (
      <div className="banner error" role="alert" data-testid="connection-banner">
        <span>
          Not authorised: open the URL that <code>npm start</code> or <code>semaphore-agent console</code> printed (it contains the token), or restart the console and open the new one
        </span>
      </div>
    );
  }
  if (connection.status === "reconnecting") {
    return (
      <div className="banner warn" role="status" data-testid="connection-banner">
        <span className="spin" />
        <span>Connection to the agent host lost — reconnecting… What the agent does now is not known here.</span>
        <RetryCountdown retryAt={connection.retryAt} />
      </div>
    );
  }
  return null;
}
