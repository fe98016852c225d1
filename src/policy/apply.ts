/**
 * Checking local config against the org policy. Local settings may be stricter; anything looser
 * is refused with the policy's own reason.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { WirkenError } from "../errors.ts";
import type { Policy } from "./schema.ts";

/** Local config breaks the org policy. */
export class PolicyViolationError extends WirkenError {}

function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return re.test(value);
}

/** Is `kind`/`model` allowed? */
export function providerAllowed(policy: Policy, kind: string, model: string): boolean {
  if (!policy.providers) return true;
  return policy.providers.allowed.some((p) =>
    p.kind === kind && (!p.models || p.models.some((m) => globMatch(m, model)))
  );
}

/** Every way `config` breaks `policy`, as sentences; empty when it complies. */
export function violations(config: Config, policy: Policy): string[] {
  const found: string[] = [];
  const because = (r?: string) => (r ? ` (policy: ${r})` : "");
  const providers = [
    ...(config.provider ? [{ where: "provider", p: config.provider }] : []),
    ...config.agents.flatMap((
      a,
    ) => (a.provider ? [{ where: `agent ${a.id}`, p: a.provider }] : [])),
  ];
  for (const { where, p } of providers) {
    if (!providerAllowed(policy, p.kind, p.model)) {
      found.push(
        `${where} uses ${p.kind}/${p.model}, which ${policy.org} does not allow${
          because(policy.providers?.reason)
        }`,
      );
    }
  }
  if (policy.channels) {
    for (const [channel, c] of Object.entries(config.channels)) {
      if (c?.enabled && !policy.channels.allowed.includes(channel as never)) {
        found.push(
          `channel ${channel} is not allowed by ${policy.org}${because(policy.channels.reason)}`,
        );
      }
    }
  }
  return found;
}

/** Throws a {@linkcode PolicyViolationError} listing every violation. */
export function enforce(config: Config, policy: Policy): void {
  const list = violations(config, policy);
  if (list.length === 0) return;
  throw new PolicyViolationError(
    `Your config breaks the policy of ${policy.org}:\n${list.map((v) => `  - ${v}`).join("\n")}`,
    {
      fix:
        "Change config.json (or re-run `wirken setup`) to stay within the organisation's policy.",
    },
  );
}

/**
 * Human summary of a policy, for `wirken doctor` and `setup --org`. Providers and channels are
 * enforced (`violations`); the other sections are shown as not enforced yet, never implied.
 */
export function describePolicy(policy: Policy): string[] {
  const lines = [`${policy.org}, serial ${policy.serial}, issued ${policy.issuedAt}`];
  if (policy.providers) {
    lines.push(
      "providers: " +
        policy.providers.allowed.map((
          p,
        ) => (p.models ? `${p.kind} (${p.models.join(", ")})` : p.kind)).join("; "),
    );
  }
  if (policy.channels) lines.push(`channels: ${policy.channels.allowed.join(", ") || "none"}`);
  if (policy.tiers) {
    lines.push(
      `tier floors (not enforced yet): ${
        Object.entries(policy.tiers).map(([t, n]) => `${t}>=T${n}`).join(", ")
      }`,
    );
  }
  if (policy.sandbox) lines.push(`sandbox required (not enforced yet): ${policy.sandbox.required}`);
  if (policy.skills) {
    lines.push(`skill registries (not enforced yet): ${policy.skills.registries.join(", ")}`);
  }
  if (policy.siem) {
    lines.push(
      `SIEM destinations (not enforced yet): ${
        policy.siem.destinations.map((d) => d.name).join(", ")
      }`,
    );
  }
  if (policy.audit) {
    lines.push(`audit retention at least ${policy.audit.minRetentionDays} days (not enforced yet)`);
  }
  return lines;
}
