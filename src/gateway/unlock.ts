/**
 * Opening the vault at gateway start. On a terminal the passphrase backend may ask; without a
 * terminal, a keychain or `WIRKEN_VAULT_PASSPHRASE`, the gateway starts LOCKED: WebChat says so
 * and no message is processed, rather than running without credentials or audit signing.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import type { Vault } from "../vault/mod.ts";

/** The vault, or why it stayed locked. */
export type Unlocked = { vault: Vault; locked: null } | { vault: null; locked: string };

/** Opens (creating on first start) the vault, or reports why it is locked. */
export async function unlockVault(
  dataDir: string,
  env: { get(name: string): string | undefined },
  log: Logger,
): Promise<Unlocked> {
  const { openVault, VaultKeyError, WrongPassphraseError } = await import("../vault/mod.ts");
  try {
    return { vault: await openVault({ dataDir, env, log }), locked: null };
  } catch (e) {
    // A wrong passphrase is an error to fix, not a reason to run locked.
    if (
      e instanceof VaultKeyError && !(e instanceof WrongPassphraseError) && !Deno.stdin.isTerminal()
    ) {
      return {
        vault: null,
        locked: `${e.message} Set WIRKEN_VAULT_PASSPHRASE, or start \`wirken run\` in a terminal.`,
      };
    }
    throw e;
  }
}
