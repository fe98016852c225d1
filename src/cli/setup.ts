/**
 * `wirken setup`: the three-step wizard and its non-interactive form.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

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
    return notYet("setup", "issue 14, setup wizard")(ctx);
  },
};
