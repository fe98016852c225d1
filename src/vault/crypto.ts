/**
 * The vault's sealing primitive: XChaCha20-Poly1305 with a fresh random 24-byte nonce per write
 * and the credential's name bound as associated data, so a ciphertext copied under another name
 * (or with any bit of nonce, ciphertext or name changed) fails to open.
 *
 * XChaCha's 192-bit nonce is why random nonces are safe here without a counter: collisions are
 * negligible even across billions of writes, and no nonce state has to survive crashes.
 *
 * @module
 */
import { fromBase64, toBase64 } from "../encoding.ts";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";

/** Bytes of a master key. */
export const KEY_BYTES = 32;
/** Bytes of a nonce. */
export const NONCE_BYTES = 24;
/** Bytes of the Poly1305 tag appended to every ciphertext. */
export const TAG_BYTES = 16;

/** Versioned domain prefix of the associated data; a future format changes it. */
const AAD_PREFIX = "wirken.vault.v1\0";
const encoder = new TextEncoder();

/** One sealed value: the nonce and the ciphertext (tag included). */
export interface Sealed {
  nonce: Uint8Array;
  ciphertext: Uint8Array;
}

/** Why {@linkcode openSealed} refused a blob; callers turn it into a user-facing error. */
export class OpenFailure extends Error {
  /** A short description, e.g. "authentication tag mismatch". */
  readonly reason: string;
  /** `reason` is shown to the user inside the vault's tamper error. */
  constructor(reason: string) {
    super(reason);
    this.name = "OpenFailure";
    this.reason = reason;
  }
}

/** A new random 32-byte master key from the OS CSPRNG. */
export function generateKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

/** The associated data binding a sealed value to `context` (a credential name, or a purpose). */
export function associatedData(context: string): Uint8Array {
  return encoder.encode(AAD_PREFIX + context);
}

/** Encrypts `plaintext` under `key`, bound to `context`, with a fresh random nonce. */
export function seal(key: Uint8Array, context: string, plaintext: Uint8Array): Sealed {
  checkKey(key);
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const ciphertext = xchacha20poly1305(key, nonce, associatedData(context)).encrypt(plaintext);
  return { nonce, ciphertext };
}

/**
 * Decrypts a sealed value, or throws {@linkcode OpenFailure}: a wrong key, a changed byte in
 * nonce or ciphertext, a different context, or a truncated blob are all refused.
 */
export function openSealed(key: Uint8Array, context: string, sealed: Sealed): Uint8Array {
  checkKey(key);
  if (!(sealed.nonce instanceof Uint8Array) || sealed.nonce.length !== NONCE_BYTES) {
    throw new OpenFailure(`nonce is ${sealed.nonce?.length ?? 0} bytes, expected ${NONCE_BYTES}`);
  }
  if (!(sealed.ciphertext instanceof Uint8Array) || sealed.ciphertext.length < TAG_BYTES) {
    throw new OpenFailure("ciphertext is truncated");
  }
  try {
    return xchacha20poly1305(key, sealed.nonce, associatedData(context)).decrypt(
      sealed.ciphertext,
    );
  } catch {
    throw new OpenFailure("authentication tag mismatch");
  }
}

/** Overwrites key material in place once it is no longer needed. */
export function wipe(bytes: Uint8Array | null | undefined): void {
  bytes?.fill(0);
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new TypeError(`a vault key must be ${KEY_BYTES} bytes`);
  }
}

/** Re-exported: the one base64 pair lives in `src/encoding.ts`. */
export { fromBase64, toBase64 };
