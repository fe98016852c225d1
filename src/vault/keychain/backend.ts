/**
 * Where the vault's master key lives. Every source (macOS Keychain, Linux Secret Service,
 * a passphrase-encrypted key file) implements {@linkcode KeychainBackend}; new ones (Windows
 * DPAPI, a TPM, 1Password) slot in by implementing it and joining {@linkcode BACKEND_IDS}.
 *
 * A backend holds two slots per vault: `current`, and `next` which only exists while a rekey is
 * in flight. The vault writes the new key to `next` before re-encrypting, so a crash at any
 * point leaves a key that opens the database (see `Vault.rekey`).
 *
 * @module
 */
import type { Secret } from "../../secret.ts";

/** The two key slots of a vault. */
export type KeySlot = "current" | "next";

/** Identifiers of the built-in backends, in the order they are tried. */
export const BACKEND_IDS = ["macos-keychain", "libsecret", "passphrase"] as const;

/** Human names of the built-in backends (for output that has no backend instance at hand). */
export const BACKEND_LABELS: Readonly<Record<string, string>> = {
  "macos-keychain": "macOS Keychain (security)",
  libsecret: "Linux Secret Service (secret-tool)",
  passphrase: "passphrase-encrypted key file (scrypt)",
};

/** A built-in backend's identifier. */
export type BackendId = typeof BACKEND_IDS[number];

/** Whether a backend can be used here, with a one-line reason either way. */
export interface BackendStatus {
  ok: boolean;
  detail: string;
}

/** A store for one vault's master key. Keys travel as raw 32-byte arrays, never as text logs. */
export interface KeychainBackend {
  /** Stable identifier recorded in vault.db, e.g. `libsecret`. */
  readonly id: string;
  /** Human name, e.g. "Linux Secret Service (secret-tool)". */
  readonly label: string;
  /** True when the backend works on this machine right now. */
  available(): Promise<boolean>;
  /** Like {@linkcode available}, with the reason (shown by `wirken doctor`). */
  status(): Promise<BackendStatus>;
  /** The key in `slot`, or `null` when none is stored there. Throws when the backend fails. */
  loadMasterKey(slot?: KeySlot): Promise<Uint8Array | null>;
  /** Stores (replacing) the key in `slot`. */
  storeMasterKey(key: Uint8Array, slot?: KeySlot): Promise<void>;
  /** Deletes the key in `slot`; no error when it is absent. */
  deleteMasterKey(slot?: KeySlot): Promise<void>;
}

/** Supplies the passphrase for the key-file backend. */
export interface PassphraseSource {
  /**
   * `create`: a new key file is being written (an interactive source asks twice);
   * `unlock`: an existing one is read. Returns `null` when no passphrase can be had without
   * asking (e.g. `wirken doctor` checks non-interactively).
   */
  get(mode: "create" | "unlock"): Promise<Secret | null>;
}

/** What every backend constructor receives. */
export interface BackendContext {
  /** The vault's random identifier; keychain items are keyed by it, so several vaults coexist. */
  vaultId: string;
  /** The data directory (the key-file backend keeps `vault.key` there). */
  dataDir: string;
  /** Environment (a map in tests). */
  env: { get(name: string): string | undefined };
  /** Passphrase for the key-file backend. */
  passphrase: PassphraseSource;
}

/** Builds a backend bound to one vault. */
export type BackendFactory = (ctx: BackendContext) => KeychainBackend;

/** Keychain service name under which every wirken vault key is filed. */
export const KEYCHAIN_SERVICE = "wirken-vault";
