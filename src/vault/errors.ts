/**
 * Errors of the credential vault. Each names what failed and the command that fixes it; none
 * ever carries a credential value or key material.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** Base class of every vault error. */
export class VaultError extends WirkenError {}

/** The master key could not be loaded, or does not open this vault. */
export class VaultKeyError extends VaultError {}

/** The passphrase protecting the key file is wrong. */
export class WrongPassphraseError extends VaultKeyError {
  /** `keyFile` is the path of the passphrase-protected key file. */
  constructor(keyFile: string) {
    super(
      `The passphrase does not unlock the vault key file ${keyFile} (or the file was modified).`,
      {
        fix:
          "Check WIRKEN_VAULT_PASSPHRASE (or retype the passphrase); the vault cannot be opened without it.",
      },
    );
  }
}

/**
 * A stored row failed authentication: its ciphertext, nonce or name was changed (or it was
 * truncated). The value is never returned in that case.
 */
export class VaultTamperError extends VaultError {
  /** The credential whose row failed authentication. */
  readonly credential: string;
  /** `name` is the row's credential name; `what` says what was found wrong. */
  constructor(name: string, what: string) {
    super(
      `Credential "${name}" failed its integrity check (${what}); vault.db was modified outside wirken.`,
      {
        fix:
          `Restore vault.db from a backup, or remove and re-add it: wirken credentials remove ${name} --yes && wirken credentials add ${name}`,
      },
    );
    this.credential = name;
  }
}

/** No credential has the requested name. */
export class CredentialNotFoundError extends VaultError {
  /** The name that was asked for. */
  readonly credential: string;
  /** `name` is the missing credential's name. */
  constructor(name: string) {
    super(`No credential named "${name}" is in the vault.`, {
      fix: `Add it: wirken credentials add ${name}  (see names with: wirken credentials list)`,
    });
    this.credential = name;
  }
}

/** The credential exists but its `expires_at` has passed. */
export class CredentialExpiredError extends VaultError {
  /** The expired credential's name. */
  readonly credential: string;
  /** When it expired. */
  readonly expiredAt: Date;
  /** `name` expired at `at`. */
  constructor(name: string, at: Date) {
    super(`Credential "${name}" expired on ${at.toISOString()}.`, {
      fix: `Store a fresh value: wirken credentials rotate ${name}`,
    });
    this.credential = name;
    this.expiredAt = at;
  }
}

/** A credential name that wirken refuses (see `CREDENTIAL_NAME`). */
export class InvalidCredentialNameError extends VaultError {
  /** `name` is the refused name. */
  constructor(name: string) {
    super(`"${name}" is not a valid credential name.`, {
      fix:
        "Use letters, digits, '.', '_' and '-' (1 to 128 characters, starting with a letter or digit), e.g. provider.openai.api_key.",
      exitCode: 2,
    });
  }
}
