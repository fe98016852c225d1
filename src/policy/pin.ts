/**
 * `wirken setup --org URL`: fetch the policy, show and pin the org key's fingerprint, cache the
 * verified policy and record the pin in config.
 *
 * @module
 */
import { dataPaths, ensureDataDir, writeFileAtomic } from "../config/paths.ts";
import { loadConfig, saveConfig } from "../config/load.ts";
import { describePolicy, violations } from "./apply.ts";
import { fetchEnvelopeText } from "./refresh.ts";
import type { Policy } from "./schema.ts";
import { fingerprint, parseEnvelope, PolicyError, verifyEnvelope } from "./signature.ts";

/** Result of pinning. */
export interface PinResult {
  policy: Policy;
  fingerprint: string;
  /** Ways the current local config breaks the new policy (`wirken run` refuses until fixed). */
  violations: string[];
  summary: string[];
}

/**
 * Pins the org at `url`. The key is trusted only if its fingerprint equals `expected`, or, when
 * none is given, if `confirm` (an interactive yes/no) accepts the fingerprint shown to the user.
 */
export async function pinOrg(options: {
  url: string;
  dataDir: string;
  expected?: string;
  confirm?: (fingerprint: string) => boolean;
  fetchText?: (url: string) => Promise<string>;
}): Promise<PinResult> {
  const text = await (options.fetchText ?? fetchEnvelopeText)(options.url);
  const envelope = parseEnvelope(text, options.url);
  const raw = Uint8Array.from(atob(envelope.publicKey), (c) => c.charCodeAt(0));
  const fp = await fingerprint(raw);
  if (options.expected !== undefined) {
    if (options.expected.toLowerCase() !== fp) {
      throw new PolicyError(
        `The org key's fingerprint is ${fp}, not the expected ${options.expected}.`,
        {
          fix: "Check the fingerprint with your administrator; nothing was changed.",
        },
      );
    }
  } else if (!options.confirm) {
    throw new PolicyError(
      `The org key's fingerprint is ${fp}; it must be confirmed before it is trusted.`,
      {
        fix: `Compare it with your administrator's, then pass --org-fingerprint ${fp}.`,
      },
    );
  } else if (!options.confirm(fp)) {
    throw new PolicyError("The org key was not trusted; nothing was changed.", {
      fix: "Re-run when you have confirmed the fingerprint with your administrator.",
    });
  }
  const { policy } = await verifyEnvelope(envelope, fp, options.url);
  const paths = await ensureDataDir(options.dataDir);
  const config = await loadConfig(paths.config);
  await writeFileAtomic(dataPaths(options.dataDir).orgPolicy, text);
  await saveConfig(paths.config, { ...config, org: { url: options.url, fingerprint: fp } });
  return {
    policy,
    fingerprint: fp,
    violations: violations(config, policy),
    summary: describePolicy(policy),
  };
}
