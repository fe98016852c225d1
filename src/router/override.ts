/**
 * Provider overrides for one invocation (`wirken ask` and `wirken run`): `--provider`,
 * `--model`, `--base-url`, or `WIRKEN_PROVIDER`, `WIRKEN_MODEL`, `WIRKEN_BASE_URL`, so a user can
 * try a provider without editing config.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";

/** Provider overrides from flags, then environment. */
export interface ProviderOverride {
  kind?: string;
  model?: string;
  baseUrl?: string;
}

/** Reads `--provider/--model/--base-url`, falling back to `WIRKEN_*` variables. */
export function overrideFrom(ctx: {
  flags: Record<string, string | boolean | string[] | undefined>;
  env: { get(name: string): string | undefined };
}): ProviderOverride {
  const flag = (name: string) => {
    const v = ctx.flags[name];
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  return {
    kind: flag("provider") ?? (ctx.env.get("WIRKEN_PROVIDER") || undefined),
    model: flag("model") ?? (ctx.env.get("WIRKEN_MODEL") || undefined),
    baseUrl: flag("base-url") ?? (ctx.env.get("WIRKEN_BASE_URL") || undefined),
  };
}

/**
 * Applies a provider override to a config: with a provider, it replaces the top-level provider
 * and every agent's own, so the question really goes where the user said. Only a model: every
 * agent uses that model with the provider it has.
 */
export async function applyOverride(config: Config, o: ProviderOverride): Promise<Config> {
  if (!o.kind) {
    if (o.baseUrl) {
      const { UsageError } = await import("../errors.ts");
      throw new UsageError("--base-url needs --provider.", "Add --provider custom (or another).");
    }
    if (!o.model) return config;
    return { ...config, agents: config.agents.map((a) => ({ ...a, model: o.model })) };
  }
  const { PROVIDER_KINDS, ConfigSchema } = await import("../config/schema.ts");
  const { UsageError } = await import("../errors.ts");
  if (!(PROVIDER_KINDS as readonly string[]).includes(o.kind)) {
    throw new UsageError(
      `Unknown provider "${o.kind}".`,
      `Use one of: ${PROVIDER_KINDS.join(", ")}.`,
    );
  }
  const model = o.model ?? (o.kind === "ollama" ? "llama3.2" : undefined);
  if (!model) {
    throw new UsageError(
      `--model is required with --provider ${o.kind}.`,
      `For example: wirken ask --provider ${o.kind} --model <model id> "hello"`,
    );
  }
  return ConfigSchema.parse({
    ...config,
    provider: { kind: o.kind, model, ...(o.baseUrl ? { baseUrl: o.baseUrl } : {}) },
    agents: config.agents.map(({ provider: _p, model: _m, ...rest }) => rest),
  });
}
