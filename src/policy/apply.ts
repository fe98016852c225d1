/**
 * Checking local config against the org policy. Local settings may be stricter; anything looser
 * is refused with the policy's own reason.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { WirkenError } from "../errors.ts";
import { because, registryOf } from "./effective.ts";
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
  if (policy.sandbox) {
    // `auto` means "whatever works here", which the requirement narrows; naming another
    // backend (or host) is choosing something the organisation does not allow.
    const local = config.tools.sandbox;
    const required = policy.sandbox.required;
    const same = local === "auto" || (local === "bwrap" && required === "bubblewrap") ||
      local === required;
    if (!same) {
      found.push(
        `tools.sandbox is ${local}, but ${policy.org} requires the ${required} sandbox${
          because(policy.sandbox.reason)
        }; set tools.sandbox to auto`,
      );
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
 * Human summary of a policy, for `wirken doctor` and `setup --org`: every section it shows is
 * enforced (providers and channels and the sandbox choice refuse a start; tiers, SIEM, audit
 * retention and skill registries are merged in by `applyPolicy`).
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
      `tier floors: ${Object.entries(policy.tiers).map(([t, n]) => `${t}>=T${n}`).join(", ")}`,
    );
  }
  if (policy.sandbox) {
    lines.push(`sandbox required for exec: ${policy.sandbox.required} (never a weaker fallback)`);
  }
  if (policy.skills) {
    lines.push(
      `skill registries: ${
        policy.skills.registries.map((r) => registryOf(r).url).join(", ") || "none"
      } (other skills refused, bundled ones excepted)`,
    );
  }
  if (policy.siem) {
    lines.push(
      `SIEM destinations always on: ${policy.siem.destinations.map((d) => d.name).join(", ")}`,
    );
  }
  if (policy.audit) {
    lines.push(`audit retention at least ${policy.audit.minRetentionDays} days`);
  }
  return lines;
}
