/**
 * `wirken setup`: the three-step wizard and its non-interactive form.
 *
 * @module
 */
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
      description: "Install and enable a user service (systemd/launchd).",
    },
    org: {
      type: "string",
      description: "Pull signed organisation policy from this URL.",
      valueName: "<url>",
    },
  },
  run: notYet("setup", "issue 14, setup wizard"),
};
