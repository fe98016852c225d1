/**
 * The config wirken actually runs under an org policy. Sections that a local value can only
 * tighten are merged so the stricter side wins: tier floors (max of local and policy), SIEM
 * destinations (always present and enabled), audit retention (at least the minimum). The
 * required sandbox and the skill registry allow-list become limits handed to the sandbox
 * selection and the skill loader, which apply them themselves.
 *
 * Local values that would be loosening are never silently dropped: each change is listed in
 * `adjustments`, which `wirken doctor` and the gateway log show.
 *
 * @module
 */
import { type Config, SiemDestinationSchema } from "../config/schema.ts";
import type { RequiredSandbox } from "../sandbox/select.ts";
import type { SkillPolicy } from "../skills/load.ts";
import { PROJECT_PUBLIC_KEY } from "../skills/project_key.ts";
import type { Policy } from "./schema.ts";

/** What the policy imposes beyond config values. */
export interface OrgLimits {
  /** The only sandbox `exec` may use. */
  sandbox?: RequiredSandbox;
  /** Which skill signatures still count. */
  skills?: SkillPolicy;
}

/** The outcome of {@linkcode applyPolicy}. */
export interface EffectiveConfig {
  /** Local config with the policy's floors merged in. */
  config: Config;
  limits: OrgLimits;
  /** Each local value the policy overrode, as a sentence. */
  adjustments: string[];
}

/** `" (policy: reason)"`, or nothing. */
export function because(reason?: string): string {
  return reason ? ` (policy: ${reason})` : "";
}

/** A registry entry of the policy as `{ url, publicKey? }`. */
export function registryOf(entry: string | { url: string; publicKey: string }): {
  url: string;
  publicKey?: string;
} {
  return typeof entry === "string" ? { url: entry } : entry;
}

/** URLs compare by their parsed form, so `https://x/r` and `https://x/r/` are one registry. */
function sameUrl(a: string, b: string): boolean {
  try {
    const norm = (u: string) => new URL(u).href.replace(/\/+$/, "");
    return norm(a) === norm(b);
  } catch {
    // A local folder as registry is never an allowed registry URL.
    return false;
  }
}

/**
 * Is the locally configured registry (URL and key) one the policy allows? Only a registry whose
 * key the policy itself pins counts: a URL-only entry lets local config name any key for that
 * URL, so it cannot vouch for one. Undefined when the policy has no registry allow-list.
 */
export function registryAllowed(
  policy: Policy,
  registry: { url: string; publicKey: string } | undefined,
): boolean | undefined {
  if (!policy.skills) return undefined;
  return pinnedKeyFor(policy, registry) !== undefined;
}

/** The policy-pinned key of the entry matching `registry`'s URL and key, if there is one. */
function pinnedKeyFor(
  policy: Policy,
  registry: { url: string; publicKey: string } | undefined,
): string | undefined {
  if (!policy.skills || !registry) return undefined;
  return policy.skills.registries.map(registryOf).find((r) =>
    sameUrl(r.url, registry.url) && r.publicKey === registry.publicKey
  )?.publicKey;
}

/** Does the policy list `registry`'s URL without pinning a key for it? */
function listedWithoutKey(
  policy: Policy,
  registry: { url: string; publicKey: string } | undefined,
): boolean {
  if (!policy.skills || !registry) return false;
  return policy.skills.registries.map(registryOf).some((r) =>
    sameUrl(r.url, registry.url) && r.publicKey === undefined
  );
}

/** The skill limit of `policy` for this config's registry, if the policy has one. */
export function skillPolicyOf(config: Config, policy: Policy): SkillPolicy | undefined {
  if (!policy.skills) return undefined;
  // The key comes from the policy, never from local config: local config can only select
  // which of the policy's pinned registries is in use.
  const pinned = pinnedKeyFor(policy, config.skills.registry);
  const list = policy.skills.registries.map((r) => registryOf(r).url).join(", ") || "none";
  const unpinned = policy.skills.registries.some((r) => registryOf(r).publicKey === undefined)
    ? "; a registry listed by URL only has no key the policy pins, so its skills are refused"
    : "";
  return {
    allowedKeys: pinned ? [PROJECT_PUBLIC_KEY, pinned] : [PROJECT_PUBLIC_KEY],
    refusal:
      `${policy.org} allows only skills signed by the wirken project or by the keys its policy pins for its registries (${list})${unpinned}${
        because(policy.skills.reason)
      }`,
  };
}

/** Merges `policy` into `config` so that local values can only be stricter. */
export function applyPolicy(config: Config, policy: Policy): EffectiveConfig {
  const adjustments: string[] = [];
  const limits: OrgLimits = {};

  const tiers = { ...config.tools.tiers };
  for (const [tool, floor] of Object.entries(policy.tiers ?? {})) {
    const local = tiers[tool];
    if (local === undefined || local < floor) {
      if (local !== undefined) {
        adjustments.push(`tools.tiers.${tool} raised from T${local} to T${floor} by the policy`);
      }
      tiers[tool] = floor;
    }
  }

  if (policy.sandbox) {
    limits.sandbox = {
      backend: policy.sandbox.required,
      by: `${policy.org}'s policy${because(policy.sandbox.reason)}`,
    };
  }

  let destinations = config.siem.destinations;
  for (const forced of policy.siem?.destinations ?? []) {
    const mine = destinations.find((d) => d.name === forced.name);
    // Local tuning (credential name, batch size, tags) is kept when it is for the same wire
    // format; where it goes and whether it is on are the policy's.
    const base = mine && mine.kind === forced.kind
      ? mine
      : SiemDestinationSchema.parse({ name: forced.name, kind: forced.kind, url: forced.url });
    if (mine && (mine.kind !== forced.kind || mine.url !== forced.url || !mine.enabled)) {
      adjustments.push(
        `SIEM destination ${forced.name} forwards to the policy's ${forced.kind} ${forced.url}, enabled`,
      );
    }
    destinations = [
      ...destinations.filter((d) => d.name !== forced.name),
      { ...base, kind: forced.kind, url: forced.url, enabled: true },
    ];
  }

  let retentionDays = config.audit.retentionDays;
  const min = policy.audit?.minRetentionDays;
  if (min !== undefined && retentionDays < min) {
    adjustments.push(
      `audit.retentionDays raised from ${retentionDays} to the policy minimum of ${min}${
        because(policy.audit?.reason)
      }`,
    );
    retentionDays = min;
  }

  const skills = skillPolicyOf(config, policy);
  if (skills) {
    limits.skills = skills;
    const registry = config.skills.registry;
    if (registry && listedWithoutKey(policy, registry) && !registryAllowed(policy, registry)) {
      adjustments.push(
        `skills.registry ${registry.url} is listed by the policy, but the policy pins no key for it, so the local key is not trusted; its skills are refused`,
      );
    } else if (registry && !registryAllowed(policy, registry)) {
      adjustments.push(
        `skills.registry ${registry.url} is not allowed by the policy (or its key differs from the one the policy pins); its skills are refused`,
      );
    }
    if (config.skills.trustedKeys.length) {
      adjustments.push(
        `skills.trustedKeys (${config.skills.trustedKeys.length}) are ignored under the policy`,
      );
    }
    if (config.skills.allowUnsigned.length) {
      adjustments.push(
        `skills.allowUnsigned (${
          config.skills.allowUnsigned.join(", ")
        }) is ignored under the policy`,
      );
    }
  }

  return {
    config: {
      ...config,
      tools: { ...config.tools, tiers },
      siem: { ...config.siem, destinations },
      audit: { ...config.audit, retentionDays },
    },
    limits,
    adjustments,
  };
}
