/**
 * Fetching the org policy, verifying it against the pinned key, refusing rollbacks, and keeping
 * the last verified copy for offline starts.
 *
 * @module
 */
import { writeFileAtomic } from "../config/paths.ts";
import { requireSecureUrl } from "../net/secure_url.ts";
import { readCapped } from "../net/read_capped.ts";
import type { Policy } from "./schema.ts";
import { parseEnvelope, PolicyError, verifyEnvelope } from "./signature.ts";

/** Largest policy accepted; a policy is a small JSON document. */
export const MAX_POLICY_BYTES = 1 << 20;

/** Where the org policy comes from and which key may sign it. */
export interface OrgPin {
  url: string;
  /** `sha256:<hex>` of the org's Ed25519 public key. */
  fingerprint: string;
}

/** Outcome of a refresh. */
export interface RefreshResult {
  policy: Policy;
  /** `fresh`: fetched and verified now; `cache`: the last verified copy. */
  source: "fresh" | "cache";
  /** Why the cache was used, when it was. */
  warning?: string;
}

/** Fetches the envelope text from `url` (HTTPS, or HTTP on loopback), size and time capped. */
export async function fetchEnvelopeText(url: string, timeoutMs = 10_000): Promise<string> {
  const parsed = requireSecureUrl(url, "org policy");
  const res = await fetch(parsed, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: "application/json" },
    redirect: "error",
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new PolicyError(`The org policy server answered ${res.status}.`, {
      fix: "Check the --org URL, or try again later.",
    });
  }
  const all = await readCapped(res.body, MAX_POLICY_BYTES);
  if (all === null) {
    throw new PolicyError(`The org policy is larger than ${MAX_POLICY_BYTES} bytes; refused.`, {
      fix: "Check the --org URL.",
    });
  }
  return new TextDecoder().decode(all);
}

/**
 * The last verified policy from the cache (verified again now), or null when there is none.
 * For commands that must respect the policy without reaching the network.
 */
export async function readCachedPolicy(pin: OrgPin, cachePath: string): Promise<Policy | null> {
  return await readCache(cachePath, pin);
}

async function readCache(cachePath: string, pin: OrgPin): Promise<Policy | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(cachePath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  // The cache is re-verified: a local user editing it gains nothing.
  const { policy } = await verifyEnvelope(
    parseEnvelope(text, cachePath),
    pin.fingerprint,
    cachePath,
  );
  return policy;
}

/**
 * Fetches and verifies the policy; falls back to the verified cache when the server cannot be
 * reached. A bad signature, an unknown key or an older serial than the cache is never applied.
 */
export async function refreshPolicy(
  pin: OrgPin,
  cachePath: string,
  fetchText: (url: string) => Promise<string> = fetchEnvelopeText,
): Promise<RefreshResult> {
  const cached = await readCache(cachePath, pin);
  let text: string;
  try {
    text = await fetchText(pin.url);
  } catch (e) {
    const why = e instanceof PolicyError
      ? e.message
      : `cannot reach ${pin.url} (${(e as Error).name})`;
    if (cached) {
      return {
        policy: cached,
        source: "cache",
        warning: `${why}; using the cached policy (serial ${cached.serial})`,
      };
    }
    throw new PolicyError(`No org policy is available: ${why}.`, {
      fix: "Connect to your organisation's network once so wirken can fetch and cache the policy.",
    });
  }
  const { policy } = await verifyEnvelope(parseEnvelope(text, pin.url), pin.fingerprint, pin.url);
  if (cached && policy.serial < cached.serial) {
    throw new PolicyError(
      `The org policy from ${pin.url} has serial ${policy.serial}, older than the cached serial ${cached.serial}; refused as a rollback.`,
      {
        fix:
          "An old policy is being replayed. Tell your administrator; the cached policy stays in force.",
      },
    );
  }
  if (
    cached && policy.serial === cached.serial && JSON.stringify(policy) !== JSON.stringify(cached)
  ) {
    throw new PolicyError(
      `The org policy from ${pin.url} reuses serial ${policy.serial} with different content; refused.`,
      { fix: "Every new policy needs a higher serial. Tell your administrator." },
    );
  }
  await writeFileAtomic(cachePath, text);
  return { policy, source: "fresh" };
}
