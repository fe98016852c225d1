/**
 * Adding, listing and removing chat channels: the one implementation behind `wirken channel
 * add|list|remove` and `wirken setup --channel`.
 *
 * Adding a channel checks its token(s) live against the platform first (nothing is written
 * when the check fails), then stores the tokens and a fresh Ed25519 adapter key in the vault
 * (private key) and config (public key), sets the owner allow-list, and routes the channel to
 * the default agent. Removing deletes every `channel.<name>.*` vault entry, the config entry
 * and the channel's routes.
 *
 * @module
 */
import { MANIFESTS } from "../../adapters/shared/manifests.ts";
import { loadConfig, saveConfig } from "../config/load.ts";
import { dataPaths, ensureDataDir } from "../config/paths.ts";
import type { Channel, Config } from "../config/schema.ts";
import { generateAdapterKey } from "../ipc/keys.ts";
import type { Secret } from "../secret.ts";
import { credentialNames, type CredentialStore } from "../vault/types.ts";
import {
  type BotIdentity,
  ChannelCheckError,
  verifyChannel,
  type VerifyOptions,
} from "./verify.ts";

/** Options of {@linkcode addChannel}. */
export interface AddChannelOptions {
  channel: Channel;
  dataDir: string;
  /** The opened vault. */
  vault: CredentialStore;
  /** The platform credentials by vault name (`channel.<channel>.<what>`). */
  secrets: ReadonlyMap<string, Secret>;
  /** Platform user ids allowed to talk to the agent (the owner); added to `allowFrom`. */
  owners: readonly string[];
  /** Skip the live token check (offline installs); the adapter will report a bad token. */
  skipCheck?: boolean;
  verify: VerifyOptions;
}

/** What {@linkcode addChannel} did. */
export interface AddChannelResult {
  channel: Channel;
  /** The bot as the platform knows it; `null` when not checked. */
  bot: BotIdentity | null;
  publicKey: string;
  allowFrom: string[];
  /** The agent the channel routes to. */
  agent: string;
  /** The vault names written. */
  stored: string[];
}

/** Stores a channel's credentials and key, and configures it; see the module doc. */
export async function addChannel(o: AddChannelOptions): Promise<AddChannelResult> {
  const manifest = MANIFESTS[o.channel];
  for (const c of manifest.credentials) {
    if (c.required && !o.secrets.has(c.name)) {
      throw new ChannelCheckError(`${c.name} is required (${c.description})`, {
        fix: `Give it at the prompt, on stdin, or with --secret-env ${
          c.name.split(".").pop()
        }=VAR.`,
      });
    }
  }
  const known = new Set(manifest.credentials.map((c) => c.name));
  for (const name of o.secrets.keys()) {
    if (!known.has(name)) throw new ChannelCheckError(`${o.channel} has no credential ${name}.`);
  }
  for (const owner of o.owners) {
    if (!/^[\w@:.+\-]{1,128}$/.test(owner)) {
      throw new ChannelCheckError(`"${owner}" does not look like a ${o.channel} user id.`);
    }
  }
  // Check before writing anything: a wrong token must leave no half-configured channel.
  const bot = o.skipCheck ? null : await verifyChannel(o.channel, o.secrets, o.verify);

  const paths = await ensureDataDir(o.dataDir);
  const config = await loadConfig(paths.config);
  const key = await generateAdapterKey();
  for (const [name, value] of o.secrets) o.vault.set(name, value);
  o.vault.set(credentialNames.adapterKey(o.channel), key.seed);

  const previous = config.channels[o.channel];
  const allowFrom = [...new Set([...(previous?.allowFrom ?? []), ...o.owners])];
  const { settingsFromEnv } = await import("./verify_part2.ts");
  config.channels[o.channel] = {
    // Channel settings (a Matrix homeserver, a webhook port) survive re-adding.
    ...previous,
    ...settingsFromEnv(o.channel, o.verify.env),
    enabled: true,
    publicKey: key.publicKeyBase64,
    allowFrom,
  };
  const agent = config.agents.find((a) => a.id === "default")?.id ?? config.agents[0]?.id ??
    "default";
  const routed = config.routes.find((r) => r.channel === o.channel && !r.conversation && !r.sender);
  if (!routed) config.routes.push({ channel: o.channel, agent });
  await saveConfig(paths.config, config);
  return {
    channel: o.channel,
    bot,
    publicKey: key.publicKeyBase64,
    allowFrom,
    agent: routed?.agent ?? agent,
    stored: [...o.secrets.keys(), credentialNames.adapterKey(o.channel)],
  };
}

/** Removes `channel`: vault entries, config entry, routes. Returns what was removed. */
export async function removeChannel(
  channel: Channel,
  dataDir: string,
  vault: CredentialStore,
): Promise<{ credentials: string[]; configured: boolean; routes: number }> {
  const prefix = `channel.${channel}.`;
  const credentials = vault.list().map((c) => c.name).filter((n) => n.startsWith(prefix));
  for (const name of credentials) vault.remove(name);
  const path = dataPaths(dataDir).config;
  let configured = false;
  let routes = 0;
  try {
    await Deno.stat(path);
  } catch {
    return { credentials, configured, routes };
  }
  const config = await loadConfig(path);
  configured = config.channels[channel] !== undefined;
  delete config.channels[channel];
  const before = config.routes.length;
  config.routes = config.routes.filter((r) => r.channel !== channel);
  routes = before - config.routes.length;
  if (configured || routes > 0) await saveConfig(path, config);
  return { credentials, configured, routes };
}

/** One line of `wirken channel list`. */
export interface ChannelRow {
  channel: Channel;
  enabled: boolean;
  /** A public key is registered (the adapter can authenticate). */
  keyed: boolean;
  allowFrom: string[];
  /** Required credentials missing from the vault. */
  missing: string[];
  /** From the running gateway's status file, when there is one. */
  adapter: { state: string; connected: boolean; lastError: string | null } | null;
}

/** Lists configured channels with their state; needs no vault unlock. */
export function listChannels(
  config: Config,
  credentialNamesInVault: readonly string[],
  status: readonly {
    channel: string;
    state: string;
    connected: boolean;
    lastError: string | null;
  }[],
): ChannelRow[] {
  const have = new Set(credentialNamesInVault);
  const rows: ChannelRow[] = [];
  for (const [name, ch] of Object.entries(config.channels)) {
    if (!ch) continue;
    const channel = name as Channel;
    const required = MANIFESTS[channel].credentials.filter((c) => c.required).map((c) => c.name);
    const s = status.find((a) => a.channel === channel);
    rows.push({
      channel,
      enabled: ch.enabled,
      keyed: ch.publicKey !== undefined && have.has(credentialNames.adapterKey(channel)),
      allowFrom: ch.allowFrom,
      missing: required.filter((n) => !have.has(n)),
      adapter: s ? { state: s.state, connected: s.connected, lastError: s.lastError } : null,
    });
  }
  return rows.sort((a, b) => a.channel.localeCompare(b.channel));
}
