// A SettingsView as the host sends it, for renderer tests: a configured agent with the app's
// retention settings; `patch` changes what a test is about.
import type { SettingsView } from "../../agent-core/host/contract.js";
import { DEFAULT_LENDING_SETTINGS } from "../../agent-core/host/settings.js";
import { SANDBOX_DEFAULTS } from "../../renderer/views/settings-draft.js";

export const settingsView = (patch: Partial<SettingsView> = {}): SettingsView => ({
  endpoint: "acme.semaphoreci.com",
  tokenSet: true,
  tokenStorage: "file",
  name: "",
  noHttps: false,
  envVars: [],
  files: [],
  preJobHookPath: "",
  postJobHookPath: "",
  shutdownHookPath: "",
  failOnPreJobHookError: false,
  sourcePreJobHook: false,
  uploadJobLogs: "never",
  disconnectAfterJob: false,
  disconnectAfterIdleTimeout: 0,
  interruptionGracePeriod: 0,
  historyMaxJobs: 500,
  historyMaxMegabytes: 1024,
  debugKeepJobs: 10,
  ...SANDBOX_DEFAULTS,
  jobHomeKeep: [],
  sandboxReadOnlyPaths: [],
  sandboxReadWritePaths: [],
  ...DEFAULT_LENDING_SETTINGS,
  lendOnRunningJob: { ...DEFAULT_LENDING_SETTINGS.lendOnRunningJob },
  configured: true,
  ...patch,
});
