/**
 * `wirken credentials ...`: the encrypted vault.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 5, credential vault";
const NAME_ARG = {
  name: "name",
  description: "Credential name, e.g. provider.openai.api_key.",
  required: true,
} as const;

/** The `credentials` command group. */
export const credentialsCommand: CommandSpec = {
  name: "credentials",
  summary: "Manage encrypted credentials (values never printed).",
  examples: ["wirken credentials list", "wirken credentials add provider.openai.api_key"],
  subcommands: [
    {
      name: "list",
      summary: "List credential names and dates.",
      examples: ["wirken credentials list --json"],
      json: true,
      run: notYet("credentials list", ISSUE),
    },
    {
      name: "add",
      summary: "Add a credential (value from a no-echo prompt or stdin).",
      examples: ["wirken credentials add provider.openai.api_key"],
      args: [NAME_ARG],
      run: notYet("credentials add", ISSUE),
    },
    {
      name: "rotate",
      summary: "Replace a credential's value atomically.",
      examples: ["wirken credentials rotate channel.telegram.token"],
      args: [NAME_ARG],
      run: notYet("credentials rotate", ISSUE),
    },
    {
      name: "show",
      summary: "Show a credential's metadata.",
      examples: ["wirken credentials show provider.openai.api_key --json"],
      args: [NAME_ARG],
      json: true,
      run: notYet("credentials show", ISSUE),
    },
    {
      name: "remove",
      summary: "Delete a credential.",
      examples: ["wirken credentials remove provider.openai.api_key"],
      args: [NAME_ARG],
      run: notYet("credentials remove", ISSUE),
    },
  ],
};
