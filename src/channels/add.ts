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

/** Where a user finds their own id on each platform (the owner prompt's hint). */
export const OWNER_HINT: Record<Channel, string> = {
  telegram: "your numeric Telegram user id (ask @userinfobot)",
  discord: "your Discord user id (Developer Mode > right-click your name > Copy User ID)",
  slack: "your Slack member id (profile > ... > Copy member ID, e.g. U012ABCDEF)",
  teams: "your Teams user's AAD object id",
  matrix: "your Matrix user id (@you:example.org)",
  whatsapp: "your phone number in international format without + (e.g. 4915112345678)",
};

/**
 * Why `owner` is not a plausible user id of `channel`, or `undefined` when it is. The wizard
 * validates as the user types; {@linkcode addChannel} refuses the same ids.
 */
export function ownerIdProblem(channel: Channel, owner: string): string | undefined {
  return /^[\w@:.+\-]{1,128}$/.test(owner)
    ? undefined
    : `"${owner}" does not look like a ${channel} user id.`;
}

/**
 * The checks {@linkcode addChannel} makes before it talks to the platform: every required
 * credential given, none unknown, plausible owner ids. Throws {@linkcode ChannelCheckError}.
 */
export function checkChannelInput(
  channel: Channel,
  secrets: ReadonlyMap<string, Secret>,
  owners: readonly string[],
): void {
  const manifest = MANIFESTS[channel];
  for (const c of manifest.credentials) {
    if (c.required && !secrets.has(c.name)) {
      throw new ChannelCheckError(`${c.name} is required (${c.description})`, {
        fix: `Give it at the prompt, on stdin, or with --secret-env ${
          c.name.split(".").pop()
        }=VAR.`,
      });
    }
  }
  const known = new Set(manifest.credentials.map((c) => c.name));
  for (const name of secrets.keys()) {
    if (!known.has(name)) throw new ChannelCheckError(`${channel} has no credential ${name}.`);
  }
  for (const owner of owners) {
    const problem = ownerIdProblem(channel, owner);
    if (problem) throw new ChannelCheckError(problem);
  }
}

/** A channel added to a config in memory: what to put in the vault, and what was done. */
export interface ChannelPlan {
  /** Vault entries to write (the platform secrets and the adapter's private key). */
  entries: Map<string, Secret>;
  result: AddChannelResult;
}

/**
 * Adds an already checked channel to `config` in place (fresh adapter key, public key in the
 * channel entry, owners merged into `allowFrom`, a route to the default agent) and returns the
 * vault entries to store. Writes nothing, so a caller can save several changes in one go.
 */
export async function planChannel(
  config: Config,
  o: {
    channel: Channel;
    secrets: ReadonlyMap<string, Secret>;
    owners: readonly string[];
    env: VerifyOptions["env"];
  },
  bot: BotIdentity | null,
): Promise<ChannelPlan> {
  const key = await generateAdapterKey();
  const entries = new Map(o.secrets);
  entries.set(credentialNames.adapterKey(o.channel), key.seed);
  const previous = config.channels[o.channel];
  const allowFrom = [...new Set([...(previous?.allowFrom ?? []), ...o.owners])];
  const { settingsFromEnv } = await import("./verify_part2.ts");
  config.channels[o.channel] = {
    // Channel settings (a Matrix homeserver, a webhook port) survive re-adding.
    ...previous,
    ...settingsFromEnv(o.channel, o.env),
    enabled: true,
    publicKey: key.publicKeyBase64,
    allowFrom,
  };
  const agent = config.agents.find((a) => a.id === "default")?.id ?? config.agents[0]?.id ??
    "default";
  const routed = config.routes.find((r) => r.channel === o.channel && !r.conversation && !r.sender);
  if (!routed) config.routes.push({ channel: o.channel, agent });
  return {
    entries,
    result: {
      channel: o.channel,
      bot,
      publicKey: key.publicKeyBase64,
      allowFrom,
      agent: routed?.agent ?? agent,
      stored: [...entries.keys()],
    },
  };
}

/** Stores a channel's credentials and key, and configures it; see the module doc. */
export async function addChannel(o: AddChannelOptions): Promise<AddChannelResult> {
  checkChannelInput(o.channel, o.secrets, o.owners);
  // Check before writing anything: a wrong token must leave no half-configured channel.
  const bot = o.skipCheck ? null : await verifyChannel(o.channel, o.secrets, o.verify);

  const paths = await ensureDataDir(o.dataDir);
  const config = await loadConfig(paths.config);
  const plan = await planChannel(config, { ...o, env: o.verify.env }, bot);
  for (const [name, value] of plan.entries) o.vault.set(name, value);
  await saveConfig(paths.config, config);
  return plan.result;
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
