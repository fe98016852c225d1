/**
 * Ed25519 keys of adapters, through WebCrypto (about 10x faster to verify than pure JS, and
 * checked against RFC 8032 in keys_test.ts). A private key travels only as a {@linkcode Secret}
 * holding the base64 32-byte seed, which is how the vault stores it
 * (`credentialNames.adapterKey(channel)`); the public key is base64 in `config.json`.
 *
 * @module
 */
import { fromBase64 as decode, toBase64 } from "../encoding.ts";
import { Secret } from "../secret.ts";
import { IpcError } from "./errors.ts";

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): WebCrypto imports private keys only so.
const PKCS8_PREFIX = Uint8Array.from(
  "302e020100300506032b657004220420".match(/../g) ?? [],
  (h) => parseInt(h, 16),
);

/** Re-exported: the one base64 pair lives in `src/encoding.ts`. */
export { toBase64 };

/** Bytes of base64 text; throws {@linkcode IpcError} on invalid input. */
export function fromBase64(text: string): Uint8Array {
  try {
    return decode(text);
  } catch {
    throw new IpcError("not valid base64");
  }
}

/** An adapter's signing key, ready to sign handshakes. */
export interface AdapterSigner {
  /** The raw 32-byte public key. */
  publicKey: Uint8Array;
  /** Signs `message` (64-byte Ed25519 signature). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Imports a signer from the base64 seed held in a {@linkcode Secret}. */
export async function importSigner(seed: Secret): Promise<AdapterSigner> {
  const raw = fromBase64(seed.reveal());
  if (raw.length !== 32) {
    throw new IpcError("the adapter key must be a 32-byte Ed25519 seed (base64)", {
      fix: "Re-create it with `wirken channel add <channel>`.",
    });
  }
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(raw, PKCS8_PREFIX.length);
  raw.fill(0);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
  pkcs8.fill(0);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const publicKey = fromBase64(base64UrlToStd(jwk.x ?? ""));
  return {
    publicKey,
    async sign(message) {
      return new Uint8Array(await crypto.subtle.sign("Ed25519", key, copy(message)));
    },
  };
}

/** WebCrypto wants ArrayBuffer-backed views; frames may hand us views of any buffer. */
function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(bytes);
}

function base64UrlToStd(s: string): string {
  const std = s.replace(/-/g, "+").replace(/_/g, "/");
  return std + "=".repeat((4 - (std.length % 4)) % 4);
}

/** Verifies a 64-byte Ed25519 `signature` of `message` by the raw 32-byte `publicKey`. */
export async function verifySignature(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", copy(publicKey), "Ed25519", false, ["verify"]);
    return await crypto.subtle.verify("Ed25519", key, copy(signature), copy(message));
  } catch {
    // A malformed point is a failed verification, not an error of ours.
    return false;
  }
}

/** A fresh adapter key pair: the seed (for the vault) and the public key (for config). */
export async function generateAdapterKey(): Promise<{ seed: Secret; publicKeyBase64: string }> {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const seedSecret = new Secret(toBase64(seed));
  seed.fill(0);
  const signer = await importSigner(seedSecret);
  return { seed: seedSecret, publicKeyBase64: toBase64(signer.publicKey) };
}

/**
 * A throwaway signing key, e.g. the gateway's per-run identity on its socket: its public key
 * reaches adapters over their stdin, so nothing needs to be stored.
 */
export async function ephemeralSigner(): Promise<AdapterSigner> {
  const { seed } = await generateAdapterKey();
  return await importSigner(seed);
}
