/**
 * Saving a setup: the key into the vault, then `config.json` in one atomic write. Nothing is
 * written before this point, so a cancelled wizard leaves the previous setup untouched.
 *
 * @module
 */
import { loadConfig, saveConfig } from "../config/load.ts";
import { ensureDataDir } from "../config/paths.ts";
import type { Config, ProviderConfig } from "../config/schema.ts";
import type { Secret } from "../secret.ts";
import { credentialNames } from "../vault/types.ts";

/** What the user chose. */
export interface SetupChoice {
  provider: ProviderConfig;
  /** Stored under `provider.<kind>.api_key`; absent: keep whatever the vault holds. */
  apiKey?: Secret;
}

/** The summary both the wizard and the non-interactive mode print. */
export function summary(config: Config): string {
  const p = config.provider;
  const channels = Object.keys(config.channels);
  return [
    "Setup complete!",
    `Provider: ${p ? `${p.kind} (${p.model})` : "none"}`,
    `Channels: ${
      channels.length
        ? channels.join(", ")
        : "none yet (add one with `wirken channel add <channel>`)"
    }`,
  ].join("\n");
}

/** Applies `choice` to the data directory and returns the saved config. */
export async function applySetup(
  dataDir: string,
  choice: SetupChoice,
  env: { get(name: string): string | undefined },
): Promise<Config> {
  const paths = await ensureDataDir(dataDir);
  const previous = await loadConfig(paths.config);
  const provider: ProviderConfig = { ...choice.provider };
  if (choice.apiKey) {
    const { openVault } = await import("../vault/mod.ts");
    const vault = await openVault({ dataDir, env });
    try {
      const name = credentialNames.providerKey(provider.kind);
      vault.set(name, choice.apiKey);
      provider.credential = name;
    } finally {
      vault.close();
    }
  }
  const next: Config = { ...previous, provider };
  await saveConfig(paths.config, next);
  return next;
}
