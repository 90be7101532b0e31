// Semaphore's self-hosted toolbox: install (no sudo, atomic replace, verified) and status. The
// desktop host and the CLI use only what this file exports.

export { installToolbox } from "./install.js";
export type { ToolboxInstallOptions, ToolboxInstallPhase, ToolboxInstallProgress, ToolboxInstallResult } from "./install.js";
export { toolboxStatus, gitInstallCommand, TOOLBOX_INSTALL_COMMAND } from "./status.js";
export type { SelfHostedSupport, ToolboxFeature, ToolboxFeatureId, ToolboxStatus, ToolboxStatusOptions } from "./status.js";
export { ToolboxError } from "./errors.js";
export type { ToolboxErrorCode } from "./errors.js";
export {
  CHECKSUMS_ASSET,
  DEFAULT_TOOLBOX_RELEASES_URL,
  releaseAssetUrl,
  TOOLBOX_BASE_URL_ENV,
  TOOLBOX_VERSION_ENV,
  toolboxAssetName,
} from "./release.js";
export { readToolboxMetadata, toolboxBinDir, toolboxDir, TOOLBOX_COMMANDS, TOOLBOX_METADATA_FILE } from "./layout.js";
export type { ChecksumCheck, ToolboxCommand, ToolboxMetadata } from "./layout.js";
export { TOOLBOX_BASH_LINE, TOOLBOX_ZSH_LINE } from "./shell-snippet.js";
