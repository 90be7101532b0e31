// The pure parts of the layout and state work (issue 13): the one date format, the divider's share,
// what every indicator says while the console connection is lost, demo runs told apart from the
// agent's, the agent's own variables left out of a job's list, and the console's 401 page.
import { describe, expect, it } from "vitest";
import { unauthorizedHtml, unauthorizedText } from "../../agent-core/console/unauthorized-page.js";
import { CONSOLE_CSP } from "../../agent-core/console/static-files.js";
import { idleAgentSnapshot } from "../../agent-core/host/contract.js";
import { DEBUG_MARKER_VAR } from "../../agent-core/host/debug-terminals.js";
import { JOB_MARKER_VAR } from "../../agent-core/shell/session.js";
import { formatClock, formatDateTime, formatDay, formatStarted, formatTime, formatWeekday } from "../../agent-core/util/date-format.js";
import { clockWords, sinceWords } from "../../renderer/lending-view.js";
import { clampShare, DEFAULT_LOG_SHARE, shareAfterKey, shareAt, shareBounds } from "../../renderer/split.js";
import { connectionLost, demoLeftover, demoRunning, formatAgo, INTERNAL_ENV_NAMES, retryText, shownEnvNames } from "../../renderer/view-model.js";

const AT = new Date(2025, 2, 14, 18, 5, 7).getTime(); // Fri 14 Mar 2025 18:05:07, local time

describe("one date format", () => {
  it("writes a moment as '14 Mar 2025 18:05', its day, its time and its weekday", () => {
    expect(formatDateTime(AT)).toBe("14 Mar 2025 18:05");
    expect(formatDay(AT)).toBe("14 Mar 2025");
    expect(formatClock(AT)).toBe("18:05");
    expect(formatTime(AT)).toBe("18:05:07");
    expect(formatWeekday(AT)).toBe("Fri");
    expect(formatDateTime(new Date(2025, 0, 2, 3, 4).getTime())).toBe("2 Jan 2025 03:04");
  });

  it("drops the date of a moment today, and every view's helpers say it the same way", () => {
    expect(formatStarted(AT, AT + 60_000)).toBe("18:05");
    expect(formatStarted(AT, AT + 86_400_000)).toBe("14 Mar 2025 18:05");
    expect(clockWords(new Date(2025, 5, 1, 7, 5).getTime(), AT)).toBe("1 Jun 2025 07:05");
    expect(clockWords(new Date(2025, 2, 15, 8, 0).getTime(), AT)).toBe("Sat 08:00");
    expect(sinceWords(AT)).toBe("14 Mar 2025");
    expect(formatAgo(AT, AT + 3 * 86_400_000)).toBe("14 Mar 2025 18:05");
    expect(retryText(AT + 120_000, AT)).toBe("next try at 18:07 (in 2 min 0 s)");
  });
});

describe("the divider between the log and the shell", () => {
  it("keeps each pane at its smallest size at least", () => {
    const bounds = shareBounds(400, 72, 190);
    expect(bounds).toEqual({ min: 18, max: 52 });
    expect(clampShare(5, bounds)).toBe(18);
    expect(clampShare(90, bounds)).toBe(52);
    expect(clampShare(Number.NaN, bounds)).toBe(35);
    expect(shareAt(200, 400, shareBounds(400, 10, 10))).toBe(50);
    // Too small for both: the middle.
    expect(shareBounds(0, 72, 190)).toEqual({ min: 50, max: 50 });
    expect(DEFAULT_LOG_SHARE.stacked).toBeLessThan(50);
  });

  it("moves with the arrows, Page Up/Down, Home and End; other keys are the page's", () => {
    const bounds = { min: 10, max: 90 };
    expect(shareAfterKey("ArrowUp", 50, bounds)).toBe(45);
    expect(shareAfterKey("ArrowLeft", 50, bounds)).toBe(45);
    expect(shareAfterKey("ArrowDown", 50, bounds)).toBe(55);
    expect(shareAfterKey("ArrowRight", 88, bounds)).toBe(90);
    expect(shareAfterKey("PageUp", 50, bounds)).toBe(25);
    expect(shareAfterKey("PageDown", 50, bounds)).toBe(75);
    expect(shareAfterKey("Home", 50, bounds)).toBe(10);
    expect(shareAfterKey("End", 50, bounds)).toBe(90);
    expect(shareAfterKey("Tab", 50, bounds)).toBeNull();
    expect(shareAfterKey("Enter", 50, bounds)).toBeNull();
  });
});

describe("state that is always true", () => {
  it("says the connection is lost (or refused) rather than the last known state", () => {
    expect(connectionLost({ status: "connected" })).toBeNull();
    expect(connectionLost({ status: "connecting" })).toBeNull();
    expect(connectionLost({ status: "reconnecting", attempt: 1, retryAt: 0 })).toMatchObject({ short: "Connection lost", tone: "warn" });
    expect(connectionLost({ status: "unauthorised" })).toMatchObject({ short: "Not authorised", tone: "error" });
  });

  it("tells a running demo from what a stopped one left in the snapshot", () => {
    const demo = idleAgentSnapshot({ mode: "demo", name: "local-demo-1", phase: "waiting-for-jobs" });
    expect(demoRunning(demo)).toBe(true);
    expect(demoLeftover(demo)).toBe(false);
    const stopped = idleAgentSnapshot({ mode: "demo", name: "local-demo-1" });
    expect(demoRunning(stopped)).toBe(false);
    expect(demoLeftover(stopped)).toBe(true);
    const real = idleAgentSnapshot({ mode: "semaphore" });
    expect(demoRunning(real) || demoLeftover(real)).toBe(false);
    expect(demoRunning(null) || demoLeftover(null)).toBe(false);
  });

  it("never lists the agent's own marker variables as the job's", () => {
    expect(INTERNAL_ENV_NAMES).toEqual(expect.arrayContaining([JOB_MARKER_VAR, DEBUG_MARKER_VAR]));
    expect(shownEnvNames(["SEMAPHORE_PROJECT_NAME", JOB_MARKER_VAR, "MY_VAR", DEBUG_MARKER_VAR])).toEqual(["SEMAPHORE_PROJECT_NAME", "MY_VAR"]);
  });
});

describe("the console's 401 page", () => {
  it("is HTML without any script, says where the URL is for both ways of starting, and how to get a new one", () => {
    for (const reason of ["missing", "wrong"] as const) {
      const html = unauthorizedHtml(8765, reason);
      expect(html).not.toMatch(/<script|\son[a-z]+=|javascript:/i);
      expect(html).not.toMatch(/<link|src=/i); // nothing loaded: the styles are inline (style-src allows it)
      expect(CONSOLE_CSP).toContain("style-src 'self' 'unsafe-inline'");
      expect(html).toContain("<style>");
      expect(html).toContain("npm start");
      expect(html).toContain("semaphore-agent console");
      expect(html).toContain("Web console: http://127.0.0.1:8765/?token=…");
      expect(html).toContain("Restart the console");
      expect(html).toContain(`data-reason="${reason}"`);
    }
    expect(unauthorizedHtml(1, "wrong")).toContain("not this console’s");
  });

  it("has the same words as plain text for other clients", () => {
    const text = unauthorizedText(8765, "wrong");
    expect(text).toMatch(/^401 Unauthorized\n/);
    expect(text).toContain("Open the URL that `semaphore-agent console` printed");
    expect(text).toContain("`npm start`");
    expect(text).toContain("http://127.0.0.1:8765/?token=...");
  });
});
