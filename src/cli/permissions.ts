/**
 * `wirken permissions list|approve|revoke|pending`: tool tiers and remembered approvals.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 9, tools and permission tiers";

/** The `permissions` command group. */
export const permissionsCommand: CommandSpec = {
  name: "permissions",
  summary: "See and manage tool approvals.",
  examples: ["wirken permissions pending", "wirken permissions revoke exec"],
  subcommands: [
    {
      name: "list",
      summary: "List remembered approvals with their expiry.",
      examples: ["wirken permissions list --json"],
      json: true,
      run: notYet("permissions list", ISSUE),
    },
    {
      name: "approve",
      summary: "Approve a pending tool call by its id.",
      examples: ["wirken permissions approve 7f3a", "wirken permissions approve 7f3a --remember"],
      args: [{ name: "id", description: "Pending approval id.", required: true }],
      options: {
        remember: { type: "boolean", description: "Remember for 30 days (tier 2 only)." },
      },
      run: notYet("permissions approve", ISSUE),
    },
    {
      name: "revoke",
      summary: "Revoke a remembered approval.",
      examples: ["wirken permissions revoke exec --agent default"],
      args: [{ name: "tool", description: "Tool name.", required: true }],
      options: {
        agent: { type: "string", description: "Only for this agent.", valueName: "<id>" },
      },
      run: notYet("permissions revoke", ISSUE),
    },
    {
      name: "pending",
      summary: "List tool calls waiting for approval on any channel.",
      examples: ["wirken permissions pending --json"],
      json: true,
      run: notYet("permissions pending", ISSUE),
    },
  ],
};
