// Start/end-marker protocol of one command (spec §5.3, steps 2–5), on raw PTY bytes.
// Pure: fed with Buffers, hands program output to a callback, reports the exit code.

const SOH = 0x01;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Printed by the job shell's PROMPT_COMMAND, i.e. each time bash is back at its prompt, with the
 * exit status of the line it just finished. After a complete wrapper line it comes after the end
 * marker and is discarded with everything else that follows it. Before the end marker it means bash
 * discarded the rest of the wrapper line: an interactive shell with job control does that when a
 * foreground job is killed by SIGINT (or bash itself gets one) while it sources a file, so the end
 * marker never comes and the job would hang forever (as the Go agent's does). The status is then
 * 130, and the command ends with it (spec §5.8.3: "a process killed by SIGINT").
 */
export const PROMPT_MARKER = "949556c7-prompt";

/**
 * The bootstrap line that installs the prompt marker. Replaces a PROMPT_COMMAND from the user's
 * profile (its output was never visible) and keeps it out of the environment of the job's
 * processes, so a nested interactive shell does not print the marker.
 */
export const PROMPT_COMMAND_LINE = `PROMPT_COMMAND='echo -e "\\001 ${PROMPT_MARKER} $?"'; export -n PROMPT_COMMAND`;

/** The marker names for a command started at Unix second `t` (spec §5.3 step 2). */
export function commandMarkers(t: number): { start: string; end: string } {
  return { start: `949556c7-${t}-start`, end: `949556c7-${t}-end` };
}

/**
 * The one line written to the PTY (spec §5.3 step 3). `\\001` is the four characters
 * backslash-0-0-1: `echo -e` turns it into the 0x01 byte, so the marker never appears verbatim in
 * the (possibly echoed) input line.
 */
export function commandLine(start: string, end: string, commandFile: string): string {
  return (
    `echo -e "\\001 ${start}"; source ${commandFile}; AGENT_CMD_RESULT=$?; ` +
    `echo -e "\\001 ${end} $AGENT_CMD_RESULT"; echo "exit $AGENT_CMD_RESULT" | sh\n`
  );
}

export class MarkerScanner {
  private readonly startLine: Buffer;
  private readonly end: Buffer;
  private readonly prompt: Buffer | null;
  /** Spec: once the bytes held from a 0x01 on reach len(END) + 10 without a match, they are output. */
  private readonly giveUp: number;
  private started = false;
  private pending: Buffer | null = null;
  private code: number | null = null;
  private abortedFlag = false;

  /** `promptMarker`: also end the command at PROMPT_MARKER (bash abandoned the wrapper line). */
  constructor(startMarker: string, endMarker: string, promptMarker: string | null = null) {
    this.startLine = Buffer.from(`${startMarker}\r\n`, "latin1");
    this.end = Buffer.from(endMarker, "latin1");
    this.prompt = promptMarker === null ? null : Buffer.from(promptMarker, "latin1");
    this.giveUp = Math.max(this.end.length, this.prompt?.length ?? 0) + 10;
  }

  /** The exit code from the end marker, or null while it has not been seen. */
  get exitCode(): number | null {
    return this.code;
  }

  /** True when the command ended at the prompt marker instead of the end marker. */
  get aborted(): boolean {
    return this.abortedFlag;
  }

  /**
   * Feeds bytes read from the PTY. Program output is passed to `output` (sub-arrays of `data`, do
   * not keep them beyond the call unless you own them; they are never modified). Returns true once
   * the end marker has been matched; everything after it is discarded.
   */
  feed(data: Buffer, output: (bytes: Buffer) => void): boolean {
    if (this.code !== null) return true;
    let buf = data;
    if (this.pending) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let pos = 0;
    if (!this.started) {
      const i = buf.indexOf(this.startLine);
      if (i < 0) {
        // Everything before the start marker is dropped (spec §5.3 step 4); keep just enough to
        // recognise a marker split across two reads.
        const keep = Math.min(buf.length, this.startLine.length - 1);
        this.pending = Buffer.from(buf.subarray(buf.length - keep));
        return false;
      }
      this.started = true;
      pos = i + this.startLine.length;
    }
    while (pos < buf.length) {
      const soh = buf.indexOf(SOH, pos);
      if (soh < 0) {
        output(buf.subarray(pos));
        return false;
      }
      if (soh > pos) output(buf.subarray(pos, soh));
      const match = this.matchEnd(buf, soh);
      if (match === "wait") {
        this.pending = Buffer.from(buf.subarray(soh));
        return false;
      }
      if (match !== "none") {
        // Deviation from the letter of §5.3 step 5 ("the bytes from the 0x01 on are discarded"):
        // when the marker's own "\x01 " is found, a genuine 0x01 before it and the output after it
        // (`printf '\001 foo'`) are program output, so they are kept.
        if (match.markerStart > soh) output(buf.subarray(soh, match.markerStart));
        this.code = match.code;
        this.abortedFlag = match.aborted;
        return true;
      }
      // A genuine 0x01: release the bytes up to the next 0x01, which may begin the real marker.
      const next = buf.indexOf(SOH, soh + 1);
      const stop = next < 0 ? buf.length : next;
      output(buf.subarray(soh, stop));
      pos = stop;
    }
    return false;
  }

  /** The shell died: bytes held after a 0x01 turned out not to be a marker, so they are output. */
  flushPending(output: (bytes: Buffer) => void): void {
    if (this.started && this.code === null && this.pending) output(this.pending);
    this.pending = null;
  }

  /**
   * Tries `<END> (\d+)[\r\n]+`, then `<PROMPT> (\d+)[\r\n]+`, in the bytes from the 0x01 at `soh`.
   * "wait" while either could still match with more bytes.
   */
  private matchEnd(buf: Buffer, soh: number): { code: number; markerStart: number; aborted: boolean } | "wait" | "none" {
    const end = this.matchMarker(buf, soh, this.end);
    if (typeof end === "object") return { ...end, aborted: false };
    const prompt = this.prompt ? this.matchMarker(buf, soh, this.prompt) : "none";
    if (typeof prompt === "object") return { ...prompt, aborted: true };
    return end === "wait" || prompt === "wait" ? "wait" : "none";
  }

  /**
   * Tries `<marker> (\d+)[\r\n]+` in the bytes from the 0x01 at `soh`. The marker has to start
   * within the give-up window, which keeps the search bounded when binary output contains many
   * 0x01 bytes.
   */
  private matchMarker(buf: Buffer, soh: number, marker: Buffer): { code: number; markerStart: number } | "wait" | "none" {
    const held = buf.length - soh;
    const windowEnd = Math.min(buf.length, soh + this.giveUp);
    const m = buf.subarray(0, windowEnd).indexOf(marker, soh + 1);
    if (m < 0) return held < this.giveUp ? "wait" : "none";
    let i = m + marker.length;
    if (i >= buf.length) return held < this.giveUp ? "wait" : "none";
    if (buf[i] !== SPACE) return "none";
    i++;
    const digitsStart = i;
    while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
    if (i === buf.length) return held < this.giveUp ? "wait" : "none";
    if (i === digitsStart || (buf[i] !== CR && buf[i] !== LF)) return "none";
    const code = Number.parseInt(buf.toString("latin1", digitsStart, i), 10);
    const markerStart = m >= soh + 2 && buf[m - 1] === SPACE && buf[m - 2] === SOH ? m - 2 : soh;
    return { code, markerStart };
  }
}
