// What a job was asked to run, as the UI needs it: the directives of its commands and of each kind of
// epilogue, named as the job's log names them, and the directives of the agent's own steps. Pure (no
// Node, no zod): the renderer reads it through the contract. Local bookkeeping only: nothing here
// changes what the agent sends to Semaphore.
import type { JobCommand, JobRequest } from "../protocol/types.js";

/** The agent's own steps and hooks, exactly as the runner logs them (and Semaphore receives them). */
export const ENV_STEP_DIRECTIVE = "Exporting environment variables";
export const FILES_STEP_DIRECTIVE = "Injecting Files";
export const CHECK_RESULT_DIRECTIVE = "Checking job result";
export const PRE_JOB_HOOK_ALIAS = "Running the pre-job hook configured in the agent";
export const POST_JOB_HOOK_ALIAS = "Running the post-job hook configured in the agent";

/** The directives of a job's commands and epilogues, in order: an alias where the command has one, as in its log. */
export interface JobPlan {
  commands: string[];
  epilogueAlways: string[];
  epilogueOnPass: string[];
  epilogueOnFail: string[];
}

/** A list longer than this is not kept: the UI then shows the job as it would without a plan. */
export const MAX_PLAN_COMMANDS = 2000;
/** Longer directives are kept cut to this many characters (and compared by that prefix). */
export const MAX_PLAN_DIRECTIVE_CHARS = 4096;

/** The directive the log gives a command (runner.ts: the alias when there is one). */
export function loggedDirective(command: Pick<JobCommand, "directive" | "alias">): string {
  return command.alias !== "" ? command.alias : command.directive;
}

function directives(commands: readonly JobCommand[]): string[] {
  return commands.map((c) => loggedDirective(c).slice(0, MAX_PLAN_DIRECTIVE_CHARS));
}

/** The plan of a decoded job request: directives only, never an env value or a file. Null when a list is too long to keep. */
export function jobPlanOf(request: Pick<JobRequest, "commands" | "epilogue_always_commands" | "epilogue_on_pass_commands" | "epilogue_on_fail_commands">): JobPlan | null {
  const lists = [request.commands, request.epilogue_always_commands, request.epilogue_on_pass_commands, request.epilogue_on_fail_commands];
  if (lists.some((list) => list.length > MAX_PLAN_COMMANDS)) return null;
  return {
    commands: directives(request.commands),
    epilogueAlways: directives(request.epilogue_always_commands),
    epilogueOnPass: directives(request.epilogue_on_pass_commands),
    epilogueOnFail: directives(request.epilogue_on_fail_commands),
  };
}

/** A logged directive is the planned one (a planned directive that was cut matches by its prefix). */
export function sameDirective(logged: string, planned: string | undefined): boolean {
  if (planned === undefined) return false;
  return planned.length >= MAX_PLAN_DIRECTIVE_CHARS ? logged.slice(0, MAX_PLAN_DIRECTIVE_CHARS) === planned : logged === planned;
}
