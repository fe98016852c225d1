/**
 * Shared test helpers for the vault: temp data dirs and an in-memory-env passphrase backend with
 * cheap scrypt parameters (the real cost is for attackers, not for the test suite).
 *
 * @module
 */
import { createPassphraseBackend } from "../../src/vault/keychain/passphrase.ts";
import type { OpenVaultOptions } from "../../src/vault/open.ts";

/** Cheap KDF cost for tests; real key files default to N=2^17. */
export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

/** The passphrase test vaults use unless a test says otherwise. */
export const TEST_PASSPHRASE = "correct horse battery staple";

/** A map-backed environment. */
export function mapEnv(
  entries: Record<string, string> = {},
): { get(name: string): string | undefined } {
  const m = new Map(Object.entries(entries));
  return { get: (k) => m.get(k) };
}

/** Options opening a passphrase-backed vault in `dataDir` that never touches a real keychain. */
export function testVaultOptions(
  dataDir: string,
  passphrase: string = TEST_PASSPHRASE,
): OpenVaultOptions {
  return {
    dataDir,
    env: mapEnv({ WIRKEN_VAULT_PASSPHRASE: passphrase }),
    backend: "passphrase",
    backends: { passphrase: (ctx) => createPassphraseBackend(ctx, { scrypt: FAST_SCRYPT }) },
  };
}

/** A fresh temp directory, removed by the returned disposer. */
export async function tempDir(
  prefix = "wirken-vault-",
): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}
