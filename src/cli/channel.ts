/**
 * `wirken channel add|list|remove`: chat channels and their adapters' keys and tokens.
 * Tokens are read at a no-echo prompt, from stdin (one per line, in the order `add` names
 * them), or from environment variables named by flags; never from argv.
 *
 * @module
 */
import type { CommandContext, CommandSpec } from "./spec.ts";
import { channelConfigCommand } from "./channel_config.ts";
import type { Channel } from "../config/schema.ts";
import type { Secret } from "../secret.ts";
import type { Vault } from "../vault/store.ts";

const CHANNEL_ARG = {
  name: "channel",
  description: "telegram, discord, slack, teams, matrix or whatsapp.",
  required: true,
} as const;

const CHANNEL_NAMES = ["telegram", "discord", "slack", "teams", "matrix", "whatsapp"] as const;

async function channelOf(ctx: CommandContext): Promise<Channel> {
  const name = String(ctx.args.channel);
  if (!(CHANNEL_NAMES as readonly string[]).includes(name)) {
    const { UsageError } = await import("../errors.ts");
    throw new UsageError(`unknown channel "${name}"`, `use one of: ${CHANNEL_NAMES.join(", ")}`);
  }
  return name as Channel;
}

async function vaultOf(ctx: CommandContext): Promise<Vault> {
  const { openVault } = await import("../vault/open.ts");
  return await openVault({
    dataDir: ctx.dataDir,
    env: ctx.env,
    log: ctx.verbose ? ctx.log : undefined,
  });
}

function strings(v: string | boolean | string[] | undefined): string[] {
  return typeof v === "string" ? [v] : Array.isArray(v) ? v : [];
}

/**
 * Collects `channel`'s required credentials: `--token-env` (the first one), `--secret-env
 * what=VAR`, then a hidden prompt on a terminal or stdin lines otherwise.
 */
export async function readChannelSecrets(
  channel: Channel,
  flags: { tokenEnv?: string; secretEnv?: readonly string[] },
  env: { get(name: string): string | undefined },
): Promise<Map<string, Secret>> {
  const [{ MANIFESTS }, { Secret }, { UsageError }, prompt] = await Promise.all([
    import("../../adapters/shared/manifests.ts"),
    import("../secret.ts"),
    import("../errors.ts"),
    import("../vault/prompt.ts"),
  ]);
  const required = MANIFESTS[channel].credentials.filter((c) => c.required);
  const fromEnv = new Map<string, string>();
  if (flags.tokenEnv) fromEnv.set(required[0].name, flags.tokenEnv);
  for (const pair of flags.secretEnv ?? []) {
    const m = /^([a-z_]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(pair);
    if (!m) throw new UsageError(`--secret-env wants what=VAR, got "${pair}"`);
    fromEnv.set(`channel.${channel}.${m[1]}`, m[2]);
  }
  const out = new Map<string, Secret>();
  for (const [name, variable] of fromEnv) {
    const value = env.get(variable);
    if (!value) throw new UsageError(`${variable} is not set (it should hold ${name})`);
    out.set(name, new Secret(value));
  }
  const rest = required.filter((c) => !out.has(c.name));
  if (rest.length === 0) return out;
  if (prompt.stdinIsTerminal()) {
    for (const c of rest) {
      const v = await prompt.promptHidden(`${c.description} (${c.name}, not shown): `);
      if (!v) throw new UsageError(`no value given for ${c.name}`);
      out.set(c.name, new Secret(v));
    }
    return out;
  }
  const lines = (await prompt.readStdinSecret()).split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < rest.length) {
    throw new UsageError(
      `expected ${rest.length} line(s) on stdin: ${rest.map((c) => c.name).join(", ")}`,
      "pipe one value per line in that order, or use --token-env / --secret-env",
    );
  }
  rest.forEach((c, i) => out.set(c.name, new Secret(lines[i].trim())));
  return out;
}

async function readLine(question: string): Promise<string> {
  Deno.stderr.writeSync(new TextEncoder().encode(question));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0)).trim();
}

async function add(ctx: CommandContext): Promise<number> {
  const channel = await channelOf(ctx);
  const [{ addChannel, OWNER_HINT }, { print, printJson }] = await Promise.all([
    import("../channels/add.ts"),
    import("./output.ts"),
  ]);
  // Open (and unlock) first: a wrong vault passphrase fails before any token is typed.
  const vault = await vaultOf(ctx);
  try {
    const secrets = await readChannelSecrets(channel, {
      tokenEnv: typeof ctx.flags["token-env"] === "string" ? ctx.flags["token-env"] : undefined,
      secretEnv: strings(ctx.flags["secret-env"]),
    }, ctx.env);
    let owners = strings(ctx.flags.owner);
    if (owners.length === 0 && Deno.stdin.isTerminal()) {
      const answer = await readLine(`Owner: ${OWNER_HINT[channel]} (empty: add later): `);
      if (answer) owners = [answer];
    }
    const result = await addChannel({
      channel,
      dataDir: ctx.dataDir,
      vault,
      secrets,
      owners,
      skipCheck: ctx.flags["skip-check"] === true,
      verify: { env: ctx.env },
    });
    if (ctx.json) {
      printJson({
        ok: true,
        channel,
        bot: result.bot,
        publicKey: result.publicKey,
        allowFrom: result.allowFrom,
        agent: result.agent,
        stored: result.stored,
      });
      return 0;
    }
    print(
      `Added ${channel}${result.bot ? ` (bot ${result.bot.name}, token checked)` : ""}: ` +
        `${result.stored.length} vault entries, adapter key registered, routed to agent ` +
        `"${result.agent}".`,
    );
    print(
      result.allowFrom.length > 0
        ? `Allowed senders: ${result.allowFrom.join(", ")}.`
        : `Nobody may talk to it yet: run again with --owner <${OWNER_HINT[channel]}>.`,
    );
    print("Restart `wirken run` (or the service) to start its adapter.");
    return 0;
  } finally {
    vault.close();
  }
}

async function list(ctx: CommandContext): Promise<number> {
  const [{ listChannels }, { loadConfig }, { dataPaths }, { readCredentialMetadata }, out, sf] =
    await Promise.all([
      import("../channels/add.ts"),
      import("../config/load.ts"),
      import("../config/paths.ts"),
      import("../vault/open.ts"),
      import("./output.ts"),
      import("../gateway/status_file.ts"),
    ]);
  const paths = dataPaths(ctx.dataDir);
  const config = await loadConfig(paths.config);
  const names = (await readCredentialMetadata(ctx.dataDir)).map((c) => c.name);
  let adapters: { channel: string; state: string; connected: boolean; lastError: string | null }[] =
    [];
  try {
    const parsed = sf.StatusFileSchema.safeParse(
      JSON.parse(await Deno.readTextFile(`${paths.sockets}/${sf.STATUS_FILE}`)),
    );
    if (parsed.success) adapters = parsed.data.adapters;
  } catch { /* no gateway has run */ }
  const rows = listChannels(config, names, adapters);
  if (ctx.json) {
    out.printJson({ channels: rows });
    return 0;
  }
  if (rows.length === 0) {
    out.print("No channels yet. Add one with `wirken channel add telegram`.");
    return 0;
  }
  out.print(out.table(
    ["CHANNEL", "ENABLED", "KEY", "TOKENS", "OWNERS", "ADAPTER"],
    rows.map((r) => [
      r.channel,
      r.enabled ? "yes" : "no",
      r.keyed ? "ok" : "missing",
      r.missing.length === 0 ? "ok" : `missing ${r.missing.join(", ")}`,
      r.allowFrom.length === 0 ? "none" : r.allowFrom.join(","),
      r.adapter
        ? `${r.adapter.state}${r.adapter.connected ? ", connected" : ""}${
          r.adapter.lastError ? ` (${r.adapter.lastError.slice(0, 60)})` : ""
        }`
        : "-",
    ]),
  ));
  return 0;
}

async function remove(ctx: CommandContext): Promise<number> {
  const channel = await channelOf(ctx);
  const [{ removeChannel }, { print, printJson }] = await Promise.all([
    import("../channels/add.ts"),
    import("./output.ts"),
  ]);
  const vault = await vaultOf(ctx);
  try {
    const r = await removeChannel(channel, ctx.dataDir, vault);
    if (ctx.json) {
      printJson({ ok: true, channel, ...r });
      return 0;
    }
    if (!r.configured && r.credentials.length === 0 && r.routes === 0) {
      print(`${channel} was not configured; nothing removed.`);
      return 0;
    }
    print(
      `Removed ${channel}: ${r.credentials.length} vault entries (tokens and adapter key), ` +
        `${r.routes} route(s)${r.configured ? ", its config entry" : ""}.`,
    );
    return 0;
  } finally {
    vault.close();
  }
}

/** The `channel` command group. */
export const channelCommand: CommandSpec = {
  name: "channel",
  summary: "Add, list and remove chat channels.",
  examples: ["wirken channel add telegram", "wirken channel list --json"],
  subcommands: [
    {
      name: "add",
      summary: "Store a channel's token(s), generate its adapter keypair and route it.",
      description:
        "Tokens are asked for without echo on a terminal, read from stdin otherwise (one per " +
        "line, in the order the prompts would ask: e.g. Slack's bot token then app token), or " +
        "taken from environment variables named by --token-env / --secret-env. Each token is " +
        "checked live against the platform before anything is written.",
      examples: [
        "wirken channel add telegram --owner 123456789",
        "printf '%s\\n' \"$TG_TOKEN\" | wirken channel add telegram --owner 123456789",
        "wirken channel add slack --secret-env bot_token=SLACK_BOT --secret-env app_token=SLACK_APP --owner U012ABCDEF",
      ],
      args: [CHANNEL_ARG],
      json: true,
      options: {
        owner: {
          type: "string",
          multiple: true,
          valueName: "<id>",
          description: "Platform user id allowed to talk to the agent and approve (repeatable).",
        },
        "token-env": {
          type: "string",
          valueName: "<VAR>",
          description: "Read the channel's (first) token from this environment variable.",
        },
        "secret-env": {
          type: "string",
          multiple: true,
          valueName: "<what=VAR>",
          description: "Read channel.<channel>.<what> from VAR (repeatable).",
        },
        "skip-check": {
          type: "boolean",
          description: "Do not check the token against the platform (offline installs).",
        },
      },
      run: add,
    },
    {
      name: "list",
      summary: "Show configured channels and their adapter state.",
      examples: ["wirken channel list", "wirken channel list --json"],
      json: true,
      run: list,
    },
    {
      name: "remove",
      summary: "Delete a channel's keys, tokens and routes.",
      examples: ["wirken channel remove discord"],
      args: [CHANNEL_ARG],
      json: true,
      run: remove,
    },
    channelConfigCommand,
  ],
};
