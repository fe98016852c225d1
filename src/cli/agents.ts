/**
 * `wirken agents add|list|remove|bind`: named agents and their routes.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 7, agent runtime";
const ID_ARG = { name: "id", description: "Agent id.", required: true } as const;

/** The `agents` command group. */
export const agentsCommand: CommandSpec = {
  name: "agents",
  summary: "Add, list, remove and bind agents.",
  examples: ["wirken agents list", "wirken agents bind research telegram"],
  subcommands: [
    {
      name: "add",
      summary: "Add an agent.",
      examples: ["wirken agents add research --model gpt-4o"],
      args: [ID_ARG],
      options: { model: { type: "string", description: "Model id.", valueName: "<id>" } },
      run: notYet("agents add", ISSUE),
    },
    {
      name: "list",
      summary: "List agents.",
      examples: ["wirken agents list --json"],
      json: true,
      run: notYet("agents list", ISSUE),
    },
    {
      name: "remove",
      summary: "Remove an agent.",
      examples: ["wirken agents remove research"],
      args: [ID_ARG],
      run: notYet("agents remove", ISSUE),
    },
    {
      name: "bind",
      summary: "Route a channel (or one conversation) to an agent.",
      examples: ["wirken agents bind research telegram"],
      args: [ID_ARG, { name: "channel", description: "Channel to route.", required: true }],
      options: {
        conversation: { type: "string", description: "Only this conversation.", valueName: "<id>" },
      },
      run: notYet("agents bind", ISSUE),
    },
  ],
};
