/**
 * `wirken channel add|list|remove`: chat channels and their adapters' keys and tokens.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const CHANNEL_ARG = {
  name: "channel",
  description: "telegram, discord, slack, teams, matrix or whatsapp.",
  required: true,
} as const;

/** The `channel` command group. */
export const channelCommand: CommandSpec = {
  name: "channel",
  summary: "Add, list and remove chat channels.",
  examples: ["wirken channel add telegram", "wirken channel list --json"],
  subcommands: [
    {
      name: "add",
      summary: "Store a channel's token(s), generate its adapter keypair and route it.",
      examples: ["wirken channel add telegram"],
      args: [CHANNEL_ARG],
      run: notYet("channel add", "issues 10 and 11, channel adapters"),
    },
    {
      name: "list",
      summary: "Show configured channels and their adapter state.",
      examples: ["wirken channel list", "wirken channel list --json"],
      json: true,
      run: notYet("channel list", "issues 10 and 11, channel adapters"),
    },
    {
      name: "remove",
      summary: "Delete a channel's keys, tokens and routes.",
      examples: ["wirken channel remove discord"],
      args: [CHANNEL_ARG],
      run: notYet("channel remove", "issues 10 and 11, channel adapters"),
    },
  ],
};
