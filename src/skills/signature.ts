/**
 * Ed25519 signatures over a skill's whole file manifest.
 *
 * The signed message is a canonical text of the skill name and every file's SHA-256, size and
 * path, so changing, adding or removing any file breaks the signature. The signature file names
 * the public key it was made with, but that key is only a hint: verification accepts a key only
 * when the caller lists it as trusted (the project key, the registry key, `skills.trustedKeys`),
 * so a skill cannot vouch for itself by bundling its own key.
 *
 * noble's synchronous API is used (with SHA-512 from @noble/hashes) because listing skills
 * verifies many small messages and must not depend on WebCrypto's Ed25519 availability.
 *
 * @module
 */
import { fromBase64, toBase64 } from "../encoding.ts";
import * as ed from "@noble/ed25519";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { z } from "zod";
import { SkillSignatureError } from "./errors.ts";
import { type ManifestEntry, manifestOf, SIGNATURE_FILE, type SkillFiles } from "./manifest.ts";

// noble v3 needs a synchronous SHA-512 for its sync API; assigning it is idempotent.
ed.hashes.sha512 = sha512;

/** Format tag of the signature file and first line of the signed text. */
export const SIGNATURE_FORMAT = "wirken-skill-signature/1";

const B64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/** The contents of `.wirken-signature.json`. */
export const SkillSignatureSchema = z.strictObject({
  format: z.literal(SIGNATURE_FORMAT),
  name: z.string().min(1).max(64),
  publicKey: z.string().regex(B64_KEY, "a base64 Ed25519 public key"),
  signedAt: z.string().min(1),
  files: z.array(z.strictObject({
    path: z.string().min(1).max(255),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })).max(1000),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "a base64 Ed25519 signature"),
});

/** A parsed signature file. */
export type SkillSignature = z.infer<typeof SkillSignatureSchema>;

/** A public key the caller trusts, with what it is (shown to the user). */
export interface TrustedKey {
  /** base64 raw 32-byte Ed25519 public key. */
  publicKey: string;
  /** e.g. `wirken project`, `registry https://...`, `trusted key`. */
  label: string;
}

/** The outcome of {@linkcode verifySkillFiles}. */
export type VerifyResult =
  | { ok: true; publisher: TrustedKey; fingerprint: string; signedAt: string }
  | {
    ok: false;
    /** `unsigned`, `untrusted-key`, `bad-signature`, `modified`, `added`, `removed`, `name`, `malformed`. */
    code: string;
    reason: string;
    /** Fingerprint of the key the signature names, when it could be read. */
    fingerprint?: string;
  };

/** Re-exported: the one base64 pair lives in `src/encoding.ts`. */
export { fromBase64, toBase64 };

/** A short, comparable fingerprint of a public key: `ed25519:` + 16 bytes of SHA-256, hex. */
export function fingerprint(publicKeyB64: string): string {
  const hex = bytesToHex(sha256(fromBase64(publicKeyB64))).slice(0, 32);
  return `ed25519:${hex.match(/.{4}/g)!.join(":")}`;
}

/** The exact bytes that are signed. */
export function signedText(name: string, files: readonly ManifestEntry[]): Uint8Array {
  const lines = [SIGNATURE_FORMAT, `name:${name}`];
  for (const f of files) lines.push(`${f.sha256} ${f.size} ${f.path}`);
  return new TextEncoder().encode(lines.join("\n") + "\n");
}

/** A new Ed25519 key pair: base64 32-byte seed (keep secret) and base64 public key. */
export function generateSigningKey(): { seed: string; publicKey: string } {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return { seed: toBase64(seed), publicKey: toBase64(ed.getPublicKey(seed)) };
}

/** The public key of a base64 seed; throws {@linkcode SkillSignatureError} on a bad seed. */
export function publicKeyOfSeed(seedB64: string): string {
  return toBase64(ed.getPublicKey(seedBytes(seedB64)));
}

function seedBytes(seedB64: string): Uint8Array {
  let seed: Uint8Array;
  try {
    seed = fromBase64(seedB64.trim());
  } catch {
    seed = new Uint8Array(0);
  }
  if (seed.length !== 32) {
    throw new SkillSignatureError("The signing key is not a base64 32-byte Ed25519 seed.", {
      fix: "Create one with `wirken skills sign --new-key` or store a valid seed in the vault.",
    });
  }
  return seed;
}

/** Signs the skill's files (everything but the signature file) as skill `name`. */
export function signSkillFiles(
  skill: SkillFiles,
  name: string,
  seedB64: string,
  now: Date = new Date(),
): SkillSignature {
  const seed = seedBytes(seedB64);
  const files = manifestOf(skill);
  const signature = toBase64(ed.sign(signedText(name, files), seed));
  return {
    format: SIGNATURE_FORMAT,
    name,
    publicKey: toBase64(ed.getPublicKey(seed)),
    signedAt: now.toISOString(),
    files,
    signature,
  };
}

/** Serializes a signature file (stable key order, trailing newline). */
export function signatureJson(sig: SkillSignature): string {
  return JSON.stringify(sig, null, 2) + "\n";
}

/**
 * Verifies a skill's files against its `.wirken-signature.json` and the `trusted` keys.
 * `expectedName` is the name from SKILL.md: a signature made for another skill is refused.
 */
export function verifySkillFiles(
  skill: SkillFiles,
  expectedName: string,
  trusted: readonly TrustedKey[],
): VerifyResult {
  const raw = skill.files.get(SIGNATURE_FILE);
  if (!raw) {
    return { ok: false, code: "unsigned", reason: `no ${SIGNATURE_FILE}: the skill is unsigned` };
  }
  let parsed: SkillSignature;
  try {
    const r = SkillSignatureSchema.safeParse(JSON.parse(new TextDecoder().decode(raw)));
    if (!r.success) {
      return {
        ok: false,
        code: "malformed",
        reason: `${SIGNATURE_FILE} is malformed at ${r.error.issues[0].path.join(".")}: ${
          r.error.issues[0].message
        }`,
      };
    }
    parsed = r.data;
  } catch (e) {
    return {
      ok: false,
      code: "malformed",
      reason: `${SIGNATURE_FILE} is not JSON: ${(e as Error).message}`,
    };
  }
  const fp = fingerprint(parsed.publicKey);
  // The key in the file is a hint only; the bytes we verify with come from the trusted list.
  const key = trusted.find((k) => k.publicKey === parsed.publicKey);
  if (!key) {
    return {
      ok: false,
      code: "untrusted-key",
      fingerprint: fp,
      reason:
        `signed by ${fp}, which is not a trusted key (project, registry or skills.trustedKeys)`,
    };
  }
  let valid = false;
  try {
    valid = ed.verify(
      fromBase64(parsed.signature),
      signedText(parsed.name, parsed.files),
      fromBase64(key.publicKey),
    );
  } catch {
    valid = false;
  }
  if (!valid) {
    return {
      ok: false,
      code: "bad-signature",
      fingerprint: fp,
      reason: `the signature does not verify with ${fp} (forged or damaged)`,
    };
  }
  if (parsed.name !== expectedName) {
    return {
      ok: false,
      code: "name",
      fingerprint: fp,
      reason: `signed for skill "${parsed.name}" but SKILL.md names "${expectedName}"`,
    };
  }
  let actual: ManifestEntry[];
  try {
    actual = manifestOf(skill);
  } catch (e) {
    return { ok: false, code: "malformed", fingerprint: fp, reason: (e as Error).message };
  }
  const signed = new Map(parsed.files.map((f) => [f.path, f]));
  for (const f of actual) {
    const s = signed.get(f.path);
    if (!s) {
      return {
        ok: false,
        code: "added",
        fingerprint: fp,
        reason: `file added after signing: ${f.path}`,
      };
    }
    if (s.sha256 !== f.sha256 || s.size !== f.size) {
      return {
        ok: false,
        code: "modified",
        fingerprint: fp,
        reason: `file changed after signing: ${f.path}`,
      };
    }
    signed.delete(f.path);
  }
  for (const path of signed.keys()) {
    return {
      ok: false,
      code: "removed",
      fingerprint: fp,
      reason: `file removed after signing: ${path}`,
    };
  }
  return { ok: true, publisher: key, fingerprint: fp, signedAt: parsed.signedAt };
}
