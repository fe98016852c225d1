/**
 * Signing and verifying policy envelopes (Ed25519 via WebCrypto) and key fingerprints.
 *
 * @module
 */
import { fromBase64, toBase64 } from "../encoding.ts";
import { WirkenError } from "../errors.ts";
import { type Envelope, EnvelopeSchema, type Policy, PolicySchema } from "./schema.ts";

/** The policy could not be trusted or parsed. */
export class PolicyError extends WirkenError {}

/** Domain separation: a signature made for anything else never verifies as a policy. */
const CONTEXT = new TextEncoder().encode("wirken-org-policy-v1\0");

function signedBytes(payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(CONTEXT.length + payload.length);
  out.set(CONTEXT);
  out.set(payload, CONTEXT.length);
  return out;
}

/** `sha256:<hex>` of the raw 32-byte public key: what users compare and pin. */
export async function fingerprint(publicKey: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", publicKey));
  return "sha256:" + [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses an envelope from untrusted text. */
export function parseEnvelope(text: string, source: string): Envelope {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PolicyError(`The org policy from ${source} is not JSON.`, {
      fix: "Check the --org URL: it must serve a signed wirken policy envelope.",
    });
  }
  const parsed = EnvelopeSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PolicyError(`The org policy from ${source} is not a wirken policy envelope.`, {
      fix: "Check the --org URL; ask your administrator for the policy endpoint.",
    });
  }
  return parsed.data;
}

/**
 * Verifies the envelope's signature with its embedded key, checks that key against the pinned
 * fingerprint, and parses the policy. A key that is not pinned is never trusted.
 */
export async function verifyEnvelope(
  envelope: Envelope,
  pinned: string,
  source: string,
): Promise<{ policy: Policy; fingerprint: string }> {
  const publicKey = fromBase64(envelope.publicKey);
  const payload = fromBase64(envelope.payload);
  const signature = fromBase64(envelope.signature);
  const fp = await fingerprint(publicKey);
  if (fp !== pinned) {
    throw new PolicyError(`The org policy from ${source} is signed by an unknown key (${fp}).`, {
      fix: `The pinned key is ${pinned}. If your organisation really changed its key, re-run ` +
        "`wirken setup --org <url> --org-fingerprint <new>` with the fingerprint from your administrator.",
    });
  }
  let ok = false;
  if (publicKey.length === 32 && signature.length === 64) {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, [
      "verify",
    ]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signedBytes(payload));
  }
  if (!ok) {
    throw new PolicyError(
      `The org policy from ${source} has an invalid signature; it was not applied.`,
      {
        fix: "Someone may have altered it in transit or on the server. Tell your administrator.",
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new PolicyError(`The signed org policy from ${source} is not JSON.`, {
      fix: "Tell your administrator.",
    });
  }
  const policy = PolicySchema.safeParse(json);
  if (!policy.success) {
    const first = policy.error.issues[0];
    throw new PolicyError(
      `The signed org policy from ${source} is invalid at ${
        first?.path.join(".") || "top level"
      }: ${first?.message}`,
      {
        fix:
          "This wirken may be too old for your organisation's policy; upgrade, or tell your administrator.",
      },
    );
  }
  return { policy: policy.data, fingerprint: fp };
}

/** Signs a policy (for administrators' tooling and tests). `privateKey` is a WebCrypto Ed25519 key. */
export async function signPolicy(
  policy: Policy,
  privateKey: CryptoKey,
  publicKeyRaw: Uint8Array,
): Promise<Envelope> {
  const payload = new TextEncoder().encode(JSON.stringify(policy));
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, privateKey, signedBytes(payload)),
  );
  return {
    format: "wirken-org-policy-v1",
    publicKey: toBase64(publicKeyRaw),
    payload: toBase64(payload),
    signature: toBase64(sig),
  };
}
