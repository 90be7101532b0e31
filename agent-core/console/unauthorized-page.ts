// The console's answer to a browser without its key (no token, a wrong one, or one of an earlier run):
// a page in the app's own colours that says what to do, whether the console was started by
// `npm start` or `semaphore-agent console`. Within the console's CSP: no script at all, its styles
// inline (style-src allows 'unsafe-inline'), nothing loaded from anywhere. Other clients get the same
// words as plain text.

import { escapeHtml } from "../util/html.js";

export type RefusedAuth = "missing" | "wrong";

const SERVICE_LOG = "journalctl --user -u semaphore-agent-console | grep 'Web console'";

/** The plain-text answer (curl, scripts, a request for a file). */
export function unauthorizedText(port: number, auth: RefusedAuth): string {
  return [
    "401 Unauthorized",
    "",
    `This is the Semaphore Agent Desktop web console. ${auth === "wrong" ? "The token in this address is not this console's: every run has its own." : "This request has no token."}`,
    `Open the URL that \`semaphore-agent console\` printed (\`npm start\` prints the same line): Web console: http://127.0.0.1:${port}/?token=... — the token in it lets this browser in.`,
    `Lost it, or the console was restarted? Restart it (Ctrl-C, then \`npm start\` or \`semaphore-agent console\` again) and open the new URL it prints. As a service: ${SERVICE_LOG}`,
  ].join("\n");
}

// The app's colours and fonts (renderer/styles.css), for a page that cannot load the app's stylesheet.
const STYLE = `
:root { color-scheme: dark; }
* { box-sizing: border-box; }
html, body { margin: 0; min-height: 100%; }
body {
  background: #0f1216; color: #e4e8ed; font-size: 14px; line-height: 1.5;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", system-ui, Ubuntu, Cantarell, "Noto Sans", "DejaVu Sans", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased; display: grid; place-items: center; padding: 32px 20px;
}
main { width: 100%; max-width: 640px; background: #181d24; border: 1px solid #2a313b; border-radius: 10px; box-shadow: 0 8px 24px rgba(0, 0, 0, 0.25); }
header { display: flex; align-items: center; gap: 12px; padding: 18px 24px; border-bottom: 1px solid #2a313b; }
.mark { width: 30px; height: 30px; border-radius: 8px; background: linear-gradient(145deg, #49c98e, #268a5c); display: grid; place-items: center; color: #08130d; flex: none; }
.brand { font-weight: 650; }
.brand small { display: block; color: #8a94a1; font-weight: 400; font-size: 12px; }
section { padding: 22px 24px 24px; }
h1 { font-size: 19px; font-weight: 650; margin: 0 0 8px; }
p { margin: 0 0 12px; color: #b4bcc7; }
ol { margin: 4px 0 0; padding-left: 22px; color: #b4bcc7; }
li { margin: 0 0 12px; padding-left: 4px; }
li strong { color: #e4e8ed; }
code { font-family: ui-monospace, "SF Mono", SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; color: #e4e8ed; background: #11151a; border: 1px solid #2a313b; border-radius: 5px; padding: 1px 5px; overflow-wrap: anywhere; }
code { white-space: nowrap; }
.line, .wrap { white-space: normal; }
.line { display: block; margin-top: 6px; padding: 7px 10px; }
.status { display: inline-block; font-size: 11.5px; font-weight: 650; letter-spacing: 0.6px; text-transform: uppercase; color: #ff9e98; background: rgba(239, 107, 101, 0.13); border: 1px solid rgba(239, 107, 101, 0.35); border-radius: 999px; padding: 1px 9px; margin-bottom: 10px; }
.hint { font-size: 12.5px; color: #8a94a1; margin: 4px 0 0; }
`;

/** The HTML page for a browser. */
export function unauthorizedHtml(port: number, auth: RefusedAuth): string {
  const url = `http://127.0.0.1:${port}/?token=…`;
  const why =
    auth === "wrong"
      ? "The token in this address is not this console’s. Every run of the console has its own, so an address from an earlier run no longer works."
      : "This page was opened without the console’s token, so the console does not know it is you.";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not authorised · Semaphore Agent web console</title>
<style>${STYLE}</style>
</head>
<body>
<main data-testid="unauthorized-page" data-reason="${auth}">
<header>
<div class="mark" aria-hidden="true"><svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"><path d="M5 14.5c2.4-1.6 4.6-2.4 7-2.4s4.6.8 7 2.4"/><path d="M5 9.5c2.4 1.6 4.6 2.4 7 2.4s4.6-.8 7-2.4"/></svg></div>
<div class="brand">Semaphore Agent<small>Web console on this machine</small></div>
</header>
<section>
<div class="status">401 · Not authorised</div>
<h1>This browser is not let in yet</h1>
<p>${escapeHtml(why)}</p>
<ol>
<li><strong>Open the URL that <code>semaphore-agent console</code> printed</strong> when it started (<code>npm start</code> prints the same line), in the terminal where it runs:<code class="line">Web console: ${escapeHtml(url)}</code>The token in it lets this browser in.</li>
<li><strong>Lost it, or the console was restarted?</strong> Restart the console: press Ctrl-C in its terminal, run <code>npm start</code> (or <code>semaphore-agent console</code>) again, and open the new URL it prints.</li>
</ol>
<p class="hint">Running as a service? Its URL is in its log: <code class="wrap">${escapeHtml(SERVICE_LOG)}</code></p>
</section>
</main>
</body>
</html>
`;
}
