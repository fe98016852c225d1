/**
 * The start-up banner of `wirken run` (the layout of the original's README).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";

/** Facts the banner shows. */
export interface BannerFacts {
  config: Config;
  /** `Example Corp (serial 4)` when an org policy is in force. */
  policy?: string | null;
  /** The vault backend's label, or why the vault is locked. */
  vault?: { label: string } | { locked: string };
  socketPath: string | null;
  webchatUrl: string;
}

/** Describes the configured provider, e.g. `openai/gpt-4o`, or `null` when none is set. */
export function providerLabel(config: Config): string | null {
  return config.provider ? `${config.provider.kind}/${config.provider.model}` : null;
}

/** The banner text. */
export function banner({ config, policy, vault, socketPath, webchatUrl }: BannerFacts): string {
  const title = "wirken gateway";
  const lines = [title, "─".repeat(title.length)];
  const provider = providerLabel(config);
  lines.push(
    provider
      ? `Provider: ${provider}`
      : "Provider: none configured. Run `wirken setup` (or `wirken setup --provider ollama --model llama3.2`).",
  );
  const routes = config.routes.map((r) =>
    `Route: ${r.channel}${r.conversation ? `:${r.conversation}` : ""} -> agent:${r.agent}`
  );
  const routed = new Set(config.routes.map((r) => r.channel));
  for (const channel of Object.keys(config.channels)) {
    if (!routed.has(channel as never)) routes.push(`Route: ${channel} -> agent:default`);
  }
  if (!routed.has("webchat")) routes.push("Route: webchat -> agent:default");
  lines.push(...routes);
  if (policy) lines.push(`Policy: ${policy}`);
  if (vault) {
    lines.push(
      "locked" in vault
        ? `Vault: LOCKED, no messages are processed. ${vault.locked}`
        : `Vault: ${vault.label}`,
    );
  }
  lines.push(`Socket: ${socketPath ?? "not listening (adapters are not available yet)"}`);
  lines.push(`WebChat: ${webchatUrl}`);
  lines.push("", "Gateway running. Press Ctrl+C to stop.");
  return lines.join("\n");
}
