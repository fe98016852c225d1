/**
 * Saving a setup: the provider key and every channel's secrets and adapter key into the vault,
 * then `config.json` in one atomic write. Nothing is written before this point, so a cancelled
 * wizard leaves the previous setup untouched; while the writes run, Ctrl+C is held back so it
 * cannot stop them halfway.
 *
 * @module
 */
import { type AddChannelResult, type ChannelPlan, planChannel } from "../channels/add.ts";
import type { BotIdentity } from "../channels/verify.ts";
import { loadConfig, saveConfig } from "../config/load.ts";
import { ensureDataDir } from "../config/paths.ts";
import type { Channel, Config, ProviderConfig } from "../config/schema.ts";
import type { Secret } from "../secret.ts";
import { credentialNames } from "../vault/types.ts";
import { onSigint } from "./cancel.ts";

/** A channel whose credentials were checked (or deliberately not) and are ready to store. */
export interface ChannelChoice {
  channel: Channel;
  /** The platform credentials by vault name (`channel.<channel>.<what>`). */
  secrets: ReadonlyMap<string, Secret>;
  /** Platform user ids allowed to talk to the agent. */
  owners: readonly string[];
  /** The bot as the platform's check reported it; `null` when unchecked. */
  bot: BotIdentity | null;
}

/** What the user chose. */
export interface SetupChoice {
  provider: ProviderConfig;
  /** Stored under `provider.<kind>.api_key`; absent: keep whatever the vault holds. */
  apiKey?: Secret;
  /** Channels to add (or re-add with new credentials); others stay as they are. */
  channels?: readonly ChannelChoice[];
}

/** What {@linkcode commitSetup} saved. */
export interface SetupResult {
  config: Config;
  channels: AddChannelResult[];
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

/**
 * Applies `choice` to the data directory: every vault entry first, then the config in one
 * atomic write (the config is what makes the new entries take effect, so it goes last).
 */
export async function commitSetup(
  dataDir: string,
  choice: SetupChoice,
  env: { get(name: string): string | undefined },
): Promise<SetupResult> {
  const paths = await ensureDataDir(dataDir);
  const previous = await loadConfig(paths.config);
  const provider: ProviderConfig = { ...choice.provider };
  const entries = new Map<string, Secret>();
  if (choice.apiKey) {
    const name = credentialNames.providerKey(provider.kind);
    entries.set(name, choice.apiKey);
    provider.credential = name;
  }
  // Copies of the parts planChannel changes, so `previous` stays what is on disk.
  const next: Config = {
    ...previous,
    provider,
    channels: { ...previous.channels },
    routes: [...previous.routes],
  };
  const plans: ChannelPlan[] = [];
  for (const c of choice.channels ?? []) {
    const plan = await planChannel(next, { ...c, env }, c.bot);
    for (const [name, value] of plan.entries) entries.set(name, value);
    plans.push(plan);
  }
  if (entries.size === 0) {
    await withoutInterrupts(() => saveConfig(paths.config, next));
    return { config: next, channels: [] };
  }
  const { openVault } = await import("../vault/mod.ts");
  // Opened here, not earlier: a first run must not create a vault before the user confirmed.
  const vault = await openVault({ dataDir, env });
  try {
    await withoutInterrupts(async () => {
      for (const [name, value] of entries) vault.set(name, value);
      await saveConfig(paths.config, next);
    });
  } finally {
    vault.close();
  }
  return { config: next, channels: plans.map((p) => p.result) };
}

/** Applies `choice` (see {@linkcode commitSetup}) and returns the saved config. */
export async function applySetup(
  dataDir: string,
  choice: SetupChoice,
  env: { get(name: string): string | undefined },
): Promise<Config> {
  return (await commitSetup(dataDir, choice, env)).config;
}

/**
 * Runs `fn` with SIGINT held back: a Ctrl+C pressed while the setup is being written must not
 * leave new vault entries without the config that uses them.
 */
function withoutInterrupts<T>(fn: () => Promise<T>): Promise<T> {
  return onSigint(() => {}, fn);
}
