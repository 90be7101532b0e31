// The lines that load the toolbox into a shell: what `source ~/.toolbox/toolbox` in ~/.bash_profile
// and the /usr/local/bin links do for the official install, done by the shells we start instead
// (we never edit a dotfile). Silent: the job shell runs it in its bootstrap, whose output the
// agent discards, and a toolbox that prints or fails must not change a job's log; stdin is
// /dev/null so that nothing in it can read the bootstrap's own input from the terminal.

// `.toolbox` and `bin` are layout.ts's TOOLBOX_DIR_NAME and TOOLBOX_BIN_DIR_NAME (a test checks).
const ON_PATH = 'if [ -d "$HOME/.toolbox/bin" ]; then export PATH="$HOME/.toolbox/bin:$PATH"; fi';

/**
 * One bash line: if `$HOME/.toolbox/toolbox` exists, source it (checkout & co. become functions)
 * and put `$HOME/.toolbox/bin` first on PATH; all output to /dev/null.
 */
export const TOOLBOX_BASH_LINE = `if [ -f "$HOME/.toolbox/toolbox" ]; then source "$HOME/.toolbox/toolbox" </dev/null >/dev/null 2>&1; ${ON_PATH}; fi`;

/**
 * The same for zsh (the debug terminal of a zsh user): the toolbox is bash code, so it is sourced
 * under ksh emulation, which zsh keeps for the functions it defines (sticky emulation).
 */
export const TOOLBOX_ZSH_LINE = `if [ -f "$HOME/.toolbox/toolbox" ]; then emulate ksh -c 'source "$HOME/.toolbox/toolbox"' </dev/null >/dev/null 2>&1; ${ON_PATH}; fi`;
