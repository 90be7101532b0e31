// How the registration token is kept at rest. Electron passes a codec built on safeStorage (the OS
// keychain); without one (headless console, CLI, tests) the token sits in a 0600 file as it is,
// which is what the official agent's config.yaml does too.
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic-file.js";

export interface SecretCodec {
  storage: "safe-storage" | "file";
  encrypt(plain: string): Buffer;
  decrypt(data: Buffer): string;
}

/** The token in clear in a file readable only by its owner. */
export function plainFileCodec(): SecretCodec {
  return {
    storage: "file",
    encrypt: (plain) => Buffer.from(plain, "utf8"),
    decrypt: (data) => data.toString("utf8"),
  };
}

/** The stored secret, or null when there is none. Throws when the codec cannot decrypt it. */
export function readSecretFile(path: string, codec: SecretCodec): string | null {
  if (!existsSync(path)) return null;
  return codec.decrypt(readFileSync(path));
}

export function writeSecretFile(path: string, codec: SecretCodec, plain: string): void {
  writeFileAtomic(path, codec.encrypt(plain), 0o600);
}
