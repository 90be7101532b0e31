// How a debug terminal reproduces a job's environment (spec §6): a login shell of the user the agent
// runs as, that sources the job's `.env-*` files in the order the agent wrote them, `cd`s to where
// the job starts (the agent's HOME) and prints one banner line naming the job. The job itself runs
// `bash --login`; the debug shell is the user's login shell when that is bash or zsh (both read the
// files' `export NAME='…'` lines), and bash otherwise (fish, tcsh, … cannot source them).
//
// The sourcing happens in the shell's own start-up, after the user's profile files (so the job's
// values win, as in the job, where they are sourced after bash's login files) and before the first
// prompt, through an init folder of ours: bash gets `--rcfile`, zsh a ZDOTDIR whose files chain to
// the user's own. Nothing is typed into the terminal, so nothing shows up as input or in history.
import { userInfo } from "node:os";
import { basename, join } from "node:path";
import { quoteEnvValue } from "../job/envfile.js";
import { TOOLBOX_BASH_LINE, TOOLBOX_ZSH_LINE } from "../toolbox/shell-snippet.js";

/** What the debug terminal must start. `files` are written 0600 into the init folder first. */
export interface DebugShellPlan {
  /** The program to spawn and its arguments. */
  file: string;
  args: string[];
  /** Added to the job's environment for this shell. */
  env: Record<string, string>;
  files: { name: string; content: string }[];
  /** "bash" or "zsh": what runs. */
  shell: string;
  /** Set when the user's login shell could not be used, saying why (shown in the banner). */
  note: string | null;
}

export interface DebugShellInput {
  /** The user's login shell (a path, e.g. /bin/zsh). */
  loginShell: string;
  /** The job's env files, in order. */
  envFiles: readonly string[];
  /** The job's start directory. */
  home: string;
  /** The banner's text (one line, printed after the sourcing). */
  banner: string;
  /** The init folder (private, removed when the terminal closes). */
  initDir: string;
  /** The user's ZDOTDIR, if set: zsh's own files are read from there. */
  zdotdir?: string | undefined;
}

/** The shells that can source the job's env files themselves. */
const SOURCING_SHELLS = new Set(["bash", "zsh"]);

/** The user's login shell: the password database's, else $SHELL, else bash. */
export function loginShellOf(env: NodeJS.ProcessEnv): string {
  let shell = "";
  try {
    shell = userInfo().shell ?? "";
  } catch {
    // No passwd entry (some containers).
  }
  return shell || env.SHELL || "/bin/bash";
}

/** The user the agent runs as. */
export function agentUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? String(process.getuid?.() ?? "unknown");
  }
}

/** Which shell a debug terminal runs for this login shell. */
export function debugShellName(loginShell: string): string {
  const name = basename(loginShell);
  return SOURCING_SHELLS.has(name) ? name : "bash";
}

/** POSIX single quoting of a path or word for the scripts we generate and for the manual equivalent. */
export const shellQuote = quoteEnvValue;

/** The lines that reproduce the environment, shared by both shells' init and the manual equivalent. */
export function sourceLines(envFiles: readonly string[], home: string): string[] {
  return [...envFiles.map((file) => `source ${shellQuote(file)}`), `cd ${shellQuote(home)}`];
}

/** What a person types, as the agent's user (DebugInfo.user), to get the same environment in a terminal of their own. */
export function manualEquivalent(envFiles: readonly string[], home: string): string[] {
  return ["bash --login", ...sourceLines(envFiles, home)];
}

export function planDebugShell(input: DebugShellInput): DebugShellPlan {
  const loginName = basename(input.loginShell);
  const shell = debugShellName(input.loginShell);
  const note = shell === loginName ? null : `your login shell ${loginName} cannot source the job's env files, so this is bash`;
  const banner = note === null ? input.banner : `${input.banner} (${note})`;
  // Sourced after the user's start-up files; the shell's history is not saved (a job running as the
  // same user could read what was typed here). The toolbox comes first, as in the job, whose shell
  // loads it in its bootstrap before the env files are sourced.
  const tail = [
    shell === "zsh" ? TOOLBOX_ZSH_LINE : TOOLBOX_BASH_LINE,
    ...sourceLines(input.envFiles, input.home),
    "unset HISTFILE",
    `printf '\\033[1;35m%s\\033[0m\\n' ${shellQuote(banner)}`,
  ];
  if (shell === "zsh") return zshPlan(input, tail, note);
  const rc = [
    "# Semaphore Agent Desktop: start-up of a debug shell (what `bash --login` reads, then the job's env files).",
    "if [ -r /etc/profile ]; then . /etc/profile; fi",
    'if [ -r "$HOME/.bash_profile" ]; then . "$HOME/.bash_profile"; elif [ -r "$HOME/.bash_login" ]; then . "$HOME/.bash_login"; elif [ -r "$HOME/.profile" ]; then . "$HOME/.profile"; fi',
    ...tail,
    "",
  ].join("\n");
  return {
    file: shell === loginName ? input.loginShell : "bash",
    args: ["--rcfile", join(input.initDir, "bashrc"), "-i"],
    env: {},
    files: [{ name: "bashrc", content: rc }],
    shell: "bash",
    note,
  };
}

/**
 * zsh reads $ZDOTDIR/.zshenv, .zprofile, .zshrc and .zlogin (login + interactive). Ours each read
 * the user's file of the same name (from their ZDOTDIR or HOME) with ZDOTDIR set back to theirs, then
 * point ZDOTDIR at ours again; the last one sources the job's files and leaves ZDOTDIR as it was.
 */
function zshPlan(input: DebugShellInput, tail: string[], note: string | null): DebugShellPlan {
  const ours = shellQuote(input.initDir);
  const restore = 'if [[ -n "$SAD_USER_ZDOTDIR_SET" ]]; then ZDOTDIR="$SAD_USER_ZDOTDIR"; else unset ZDOTDIR; fi';
  const chain = (name: string): string =>
    [
      `ZDOTDIR="\${SAD_USER_ZDOTDIR:-$HOME}"`,
      `[[ -r "$ZDOTDIR/${name}" ]] && . "$ZDOTDIR/${name}"`,
      // The user's .zshenv may move their ZDOTDIR: their later files are read from there.
      'if [[ "$ZDOTDIR" != "$HOME" ]]; then SAD_USER_ZDOTDIR="$ZDOTDIR"; SAD_USER_ZDOTDIR_SET=1; fi',
      `ZDOTDIR=${ours}`,
      "",
    ].join("\n");
  const zlogin = [
    `ZDOTDIR="\${SAD_USER_ZDOTDIR:-$HOME}"`,
    `[[ -r "$ZDOTDIR/.zlogin" ]] && . "$ZDOTDIR/.zlogin"`,
    restore,
    "unset SAD_USER_ZDOTDIR SAD_USER_ZDOTDIR_SET",
    ...tail,
    "",
  ].join("\n");
  const env: Record<string, string> = { ZDOTDIR: input.initDir };
  if (input.zdotdir !== undefined && input.zdotdir !== "") {
    env.SAD_USER_ZDOTDIR = input.zdotdir;
    env.SAD_USER_ZDOTDIR_SET = "1";
  }
  return {
    file: input.loginShell,
    args: ["-l", "-i"],
    env,
    files: [
      { name: ".zshenv", content: chain(".zshenv") },
      { name: ".zprofile", content: chain(".zprofile") },
      { name: ".zshrc", content: chain(".zshrc") },
      { name: ".zlogin", content: zlogin },
    ],
    shell: "zsh",
    note,
  };
}
