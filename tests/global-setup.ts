// Once per test run: a fixture toolbox installed into a template HOME, which tests/helpers/processes.ts
// copies into every agent's HOME. So the whole agent suite runs with a toolbox installed, as on a
// real self-hosted machine, and its event-log expectations prove that loading it is silent.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { installFixtureToolbox } from "./helpers/toolbox-fixture.js";

let templateHome = "";

export async function setup(project: TestProject): Promise<void> {
  templateHome = mkdtempSync(join(tmpdir(), "sa-toolbox-template-"));
  await installFixtureToolbox(templateHome);
  project.provide("toolboxTemplateHome", templateHome);
}

export function teardown(): void {
  if (templateHome) rmSync(templateHome, { recursive: true, force: true });
}

declare module "vitest" {
  export interface ProvidedContext {
    toolboxTemplateHome: string;
  }
}
