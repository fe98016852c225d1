/**
 * `wirken setup`: the three-step wizard and its non-interactive form.
 *
 * @module
 */
import { UsageError, WirkenError } from "../errors.ts";
import type { Channel, Config } from "../config/schema.ts";
import type { ProviderKind } from "../providers/types.ts";
import type { Secret } from "../secret.ts";
import type { CommandContext, CommandSpec } from "./spec.ts";

type CheckedChannel = { channel: Channel; secrets: Map<string, Secret> };

/** `setup --channel`: reads each channel's token(s) (env var, prompt or stdin); checks them. */
async function checkedChannels(ctx: CommandContext): Promise<CheckedChannel[]> {
  const [{ readChannelSecrets }, { verifyChannel }] = await Promise.all([
    import("./channel.ts"),
    import("../channels/verify.ts"),
  ]);
  const flag = ctx.flags.channel;
  const names = typeof flag === "string" ? [flag] : Array.isArray(flag) ? [...flag] : [];
  const tokenEnv = ctx.flags["telegram-token-env"];
  if (typeof tokenEnv === "string" && !names.includes("telegram")) names.push("telegram");
  const out: CheckedChannel[] = [];
  for (const name of new Set(names)) {
    const channel = name as Channel;
    const secrets = await readChannelSecrets(channel, {
      tokenEnv: channel === "telegram" && typeof tokenEnv === "string" ? tokenEnv : undefined,
    }, ctx.env);
    await verifyChannel(channel, secrets, { env: ctx.env });
    out.push({ channel, secrets });
  }
  return out;
}

/** Stores the checked channels (the same `addChannel` as `wirken channel add`). */
async function addCheckedChannels(
  ctx: CommandContext,
  channels: readonly CheckedChannel[],
): Promise<string[]> {
  const [{ addChannel }, { openVault }] = await Promise.all([
    import("../channels/add.ts"),
    import("../vault/open.ts"),
  ]);
  const vault = await openVault({ dataDir: ctx.dataDir, env: ctx.env });
  const owner = ctx.flags.owner;
  const owners = typeof owner === "string" ? [owner] : Array.isArray(owner) ? owner : [];
  const lines: string[] = [];
  try {
    for (const c of channels) {
      const r = await addChannel({
        channel: c.channel,
        dataDir: ctx.dataDir,
        vault,
        secrets: c.secrets,
        owners,
        skipCheck: true,
        verify: { env: ctx.env },
      });
      lines.push(
        `Channel ${c.channel}: token checked, adapter key registered, routed to "${r.agent}"; ` +
          (r.allowFrom.length > 0
            ? `allowed senders: ${r.allowFrom.join(", ")}.`
            : `nobody may talk to it yet (wirken channel add ${c.channel} --owner <id>).`),
      );
    }
  } finally {
    vault.close();
  }
  return lines;
}

/** `setup --provider ...`: the same steps as the wizard, from flags and environment. */
async function nonInteractive(ctx: CommandContext): Promise<Config> {
  const [{ PROVIDER_NEEDS, liveCheck }, { applySetup }, { Secret }] = await Promise.all([
    import("../setup/provider_step.ts"),
    import("../setup/apply.ts"),
    import("../secret.ts"),
  ]);
  const kind = ctx.flags.provider as ProviderKind;
  const needs = PROVIDER_NEEDS[kind];
  const model = typeof ctx.flags.model === "string" ? ctx.flags.model : needs.model;
  if (!model) throw new UsageError(`--model is required for ${kind}`, "e.g. --model <model id>");
  const baseUrl = typeof ctx.flags["base-url"] === "string" ? ctx.flags["base-url"] : undefined;
  if (needs.baseUrl === "required" && !baseUrl) {
    throw new UsageError(
      `--base-url is required for ${kind}`,
      "e.g. --base-url https://llm.example.com/v1",
    );
  }
  const keyEnv = ctx.flags["api-key-env"];
  let apiKey: Secret | undefined;
  if (typeof keyEnv === "string") {
    const value = ctx.env.get(keyEnv);
    if (!value) throw new UsageError(`--api-key-env names ${keyEnv}, but ${keyEnv} is not set`);
    apiKey = new Secret(value);
  } else if (needs.key === "required") {
    throw new UsageError(
      `${kind} needs an API key`,
      "pass --api-key-env <VAR> naming the environment variable that holds it (never the key itself)",
    );
  }
  const check = await liveCheck({ kind, baseUrl, apiKey }, ctx.env);
  if (!check.ok) {
    throw new WirkenError(`The provider check failed: ${check.message}`, {
      fix: check.badKey
        ? "Check the key in " + String(keyEnv) + "; nothing was saved."
        : "Check --base-url and the network; nothing was saved.",
    });
  }
  return await applySetup(ctx.dataDir, { provider: { kind, model, baseUrl }, apiKey }, ctx.env);
}

/** The `setup` command. */
export const setupCommand: CommandSpec = {
  name: "setup",
  summary: "Pick a provider, model and channels; keys go into the encrypted vault.",
  examples: [
    "wirken setup",
    "wirken setup --provider openai --model gpt-4o --api-key-env OPENAI_API_KEY --channel telegram --telegram-token-env TG_TOKEN",
  ],
  options: {
    provider: {
      type: "string",
      description: "Provider for non-interactive setup.",
      valueName: "<name>",
      choices: [
        "openai",
        "anthropic",
        "gemini",
        "bedrock",
        "tinfoil",
        "privatemode",
        "ollama",
        "custom",
      ],
    },
    model: { type: "string", description: "Model id, e.g. gpt-4o.", valueName: "<id>" },
    "api-key-env": {
      type: "string",
      description: "Read the provider key from this environment variable.",
      valueName: "<VAR>",
    },
    "base-url": {
      type: "string",
      description: "Endpoint for custom, Ollama or proxies.",
      valueName: "<url>",
    },
    channel: {
      type: "string",
      multiple: true,
      description: "Add a channel (repeatable).",
      valueName: "<channel>",
      choices: ["telegram", "discord", "slack", "teams", "matrix", "whatsapp"],
    },
    "telegram-token-env": {
      type: "string",
      description: "Read the Telegram bot token from this environment variable.",
      valueName: "<VAR>",
    },
    owner: {
      type: "string",
      multiple: true,
      description: "Platform user id allowed to talk to the agent on the added channels.",
      valueName: "<id>",
    },
    "install-service": {
      type: "boolean",
      description: "Install and enable a user service (systemd/launchd) that runs `wirken run`.",
    },
    "uninstall-service": { type: "boolean", description: "Stop and remove that service." },
    org: {
      type: "string",
      description: "Follow the signed organisation policy at this URL (re-fetched at every run).",
      valueName: "<url>",
    },
    "org-fingerprint": {
      type: "string",
      description:
        "Expected sha256: fingerprint of the org's policy key (else asked on a terminal).",
      valueName: "<sha256:hex>",
    },
  },
  async run(ctx) {
    if (ctx.flags["install-service"] || ctx.flags["uninstall-service"]) {
      const [{ installService, uninstallService }, { selfCommand }, { print }] = await Promise.all([
        import("../service/install.ts"),
        import("./self.ts"),
        import("./output.ts"),
      ]);
      const home = ctx.env.get("HOME");
      if (!home) throw new UsageError("HOME is not set, so there is no user service directory");
      const result = ctx.flags["uninstall-service"]
        ? await uninstallService({ home })
        : await installService({ command: selfCommand(["run"]), dataDir: ctx.dataDir }, { home });
      print(result.message);
      if (!result.loaded && result.text) print(`\n${result.text}`);
      return 0;
    }
    if (typeof ctx.flags.org === "string") {
      const [{ pinOrg }, { print }] = await Promise.all([
        import("../policy/pin.ts"),
        import("./output.ts"),
      ]);
      const expected = ctx.flags["org-fingerprint"];
      const result = await pinOrg({
        url: ctx.flags.org,
        dataDir: ctx.dataDir,
        expected: typeof expected === "string" ? expected : undefined,
        confirm: Deno.stdin.isTerminal()
          ? (fp) => confirm(`Organisation policy key fingerprint:\n  ${fp}\nTrust this key?`)
          : undefined,
      });
      print(`Organisation policy pinned (${result.fingerprint}):`);
      for (const line of result.summary) print(`  ${line}`);
      if (result.violations.length) {
        print(
          "\nYour current config breaks this policy; `wirken run` will refuse to start until fixed:",
        );
        for (const v of result.violations) print(`  - ${v}`);
      }
      return 0;
    }
    const { print } = await import("./output.ts");
    if (ctx.flags.channel || ctx.flags["telegram-token-env"]) {
      // Every channel's token is read and checked before anything is written: a half-applied
      // setup would be worse than none.
      const channels = await checkedChannels(ctx);
      if (typeof ctx.flags.provider === "string") {
        const config = await nonInteractive(ctx);
        const { summary } = await import("../setup/apply.ts");
        print(summary(config));
      }
      for (const line of await addCheckedChannels(ctx, channels)) print(line);
      return 0;
    }
    if (typeof ctx.flags.provider === "string") {
      const config = await nonInteractive(ctx);
      const { summary } = await import("../setup/apply.ts");
      print(summary(config));
      return 0;
    }
    if (!Deno.stdin.isTerminal()) {
      throw new UsageError(
        "`wirken setup` needs a terminal for its questions",
        "in scripts pass --provider <name> --model <id> [--api-key-env VAR] [--base-url URL]",
      );
    }
    const { runWizard } = await import("../setup/wizard.ts");
    await runWizard(ctx.dataDir, ctx.env);
    return 0;
  },
};
