/**
 * `wirken ask <text>`: one agent turn from the terminal.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

/** The `ask` command. */
export const askCommand: CommandSpec = {
  name: "ask",
  summary: "Ask the agent one question from the terminal, streaming the answer.",
  examples: [
    'wirken ask "What changed in ./notes today?"',
    'wirken ask --agent research "Summarise RFC 9180"',
  ],
  args: [{ name: "text", description: "The message.", required: true, variadic: true }],
  options: {
    agent: { type: "string", description: "Agent id (default: default).", valueName: "<id>" },
    provider: {
      type: "string",
      description: "Provider for this question only.",
      valueName: "<name>",
    },
    model: { type: "string", description: "Model for this question only.", valueName: "<id>" },
    "base-url": {
      type: "string",
      description: "Endpoint for this question only.",
      valueName: "<url>",
    },
  },
  json: true,
  run: notYet("ask", "issue 7, agent runtime"),
};
