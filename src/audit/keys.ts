/**
 * The gateway's Ed25519 audit key: signs checkpoints (so pruning is provable) and the chain head
 * (so a truncated tail is detectable). The private key lives in the vault under
 * `credentialNames.auditSigningKey` as a base64 32-byte seed.
 *
 * noble's synchronous `sign` is used because the head is signed inside the SQLite write
 * transaction, which must not span an `await` (other code sharing the connection would run
 * inside it).
 *
 * @module
 */
import { fromBase64, toBase64 } from "../encoding.ts";
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { Secret } from "../secret.ts";
import { credentialNames, type CredentialStore } from "../vault/types.ts";
import { AuditError } from "./errors.ts";

// noble v3 needs a synchronous SHA-512 for its sync API; assigning it is idempotent.
ed.hashes.sha512 = sha512;

/** A loaded signing key: the public half in base64 and a sign function. */
export interface AuditSigner {
  /** Raw 32-byte Ed25519 public key, base64. */
  readonly publicKey: string;
  /** Signs `message`, returning a base64 64-byte signature. */
  sign(message: Uint8Array): string;
}

/** Re-exported: the one base64 pair lives in `src/encoding.ts`. */
export { fromBase64, toBase64 };

/** Builds a signer from the vault value (a base64 32-byte seed). */
export function signerFromSecret(key: Secret): AuditSigner {
  let seed: Uint8Array;
  try {
    seed = fromBase64(key.reveal().trim());
  } catch {
    seed = new Uint8Array(0);
  }
  if (seed.length !== 32) {
    throw new AuditError("The audit signing key is not a base64 32-byte Ed25519 seed.", {
      fix:
        `Remove the credential ${credentialNames.auditSigningKey} (wirken credentials remove) so the gateway makes a new one.`,
    });
  }
  const publicKey = toBase64(ed.getPublicKey(seed));
  return {
    publicKey,
    sign: (message) => toBase64(ed.sign(message, seed)),
  };
}

/** True when `signature` (base64) is `publicKey`'s (base64) signature of `message`. */
export function verifySignature(
  publicKey: string,
  message: Uint8Array,
  signature: string,
): boolean {
  try {
    const pk = fromBase64(publicKey);
    const sig = fromBase64(signature);
    if (pk.length !== 32 || sig.length !== 64) return false;
    return ed.verify(sig, message, pk);
  } catch {
    return false;
  }
}

/** A fresh random signing key, as the vault stores it. */
export function generateSigningKey(): Secret {
  return new Secret(toBase64(crypto.getRandomValues(new Uint8Array(32))));
}

/**
 * The gateway's audit signing key from `store`, creating and storing one on first use. The
 * gateway calls this once at start and hands the result to `openAuditLog`.
 */
export function ensureSigningKey(store: CredentialStore): Secret {
  const existing = store.get(credentialNames.auditSigningKey);
  if (existing) return existing;
  const key = generateSigningKey();
  store.set(credentialNames.auditSigningKey, key);
  return key;
}
