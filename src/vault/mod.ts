/**
 * The credential vault's public surface. Import from here (lazily, with `await import`, in CLI
 * bodies): `openVault`, `describeKeychain`, `requireCredential`, `credentialWarnings`.
 *
 * @module
 */
export {
  DEFAULT_BACKENDS,
  defaultPassphraseSource,
  describeKeychain,
  inspectVault,
  newPassphraseSource,
  openVault,
  readCredentialMetadata,
  rekeyTarget,
  vaultWarnings,
} from "./open.ts";
export type { Env, KeychainReport, OpenVaultOptions, VaultSummary } from "./open.ts";
export { CREDENTIAL_NAME, Vault } from "./store.ts";
export type { RekeyOptions, RekeyStep, VerifyReport } from "./store.ts";
export {
  credentialWarnings,
  enforcingExpiry,
  parsePeriodDays,
  parseWhen,
  requireCredential,
  WARN_WITHIN_DAYS,
} from "./expiry.ts";
export type { CredentialWarning } from "./expiry.ts";
export * from "./errors.ts";
export { BACKEND_IDS, BACKEND_LABELS, KEYCHAIN_SERVICE } from "./keychain/backend.ts";
export type {
  BackendContext,
  BackendFactory,
  BackendId,
  BackendStatus,
  KeychainBackend,
  KeySlot,
  PassphraseSource,
} from "./keychain/backend.ts";
export { createPassphraseBackend, DEFAULT_SCRYPT, keyFilePath } from "./keychain/passphrase.ts";
export { createLibsecretBackend } from "./keychain/libsecret.ts";
export { createMacosBackend } from "./keychain/macos.ts";
export type { CredentialInfo, CredentialStore, SetOptions } from "./types.ts";
export { credentialNames } from "./types.ts";
