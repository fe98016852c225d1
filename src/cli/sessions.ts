/**
 * `wirken sessions list|show|clear`: stored conversations.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 7, agent runtime and sessions";

/** The `sessions` command group. */
export const sessionsCommand: CommandSpec = {
  name: "sessions",
  summary: "List, show and clear conversation sessions.",
  examples: ["wirken sessions list", "wirken sessions show telegram:12345:default"],
  subcommands: [
    {
      name: "list",
      summary: "List sessions with channel, agent and last activity.",
      examples: ["wirken sessions list --json"],
      options: {
        agent: { type: "string", description: "Only this agent's sessions.", valueName: "<id>" },
      },
      json: true,
      run: notYet("sessions list", ISSUE),
    },
    {
      name: "show",
      summary: "Show one session's messages and tool calls.",
      examples: ["wirken sessions show telegram:12345:default --json"],
      args: [{ name: "session", description: "Session id from `sessions list`.", required: true }],
      json: true,
      run: notYet("sessions show", ISSUE),
    },
    {
      name: "clear",
      summary: "Delete a session's history (the audit log keeps its record).",
      examples: ["wirken sessions clear telegram:12345:default"],
      args: [{ name: "session", description: "Session id from `sessions list`.", required: true }],
      run: notYet("sessions clear", ISSUE),
    },
  ],
};
