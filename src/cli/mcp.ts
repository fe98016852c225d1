/**
 * `wirken mcp add|list|remove`: Model Context Protocol servers.
 *
 * @module
 */
import { notYet } from "./not_yet.ts";
import type { CommandSpec } from "./spec.ts";

const ISSUE = "issue 12, skills and MCP";

/** The `mcp` command group. */
export const mcpCommand: CommandSpec = {
  name: "mcp",
  summary: "Add, list and remove MCP servers.",
  examples: ["wirken mcp add fs -- npx -y @modelcontextprotocol/server-filesystem /tmp"],
  subcommands: [
    {
      name: "add",
      summary: "Register an MCP server (stdio command or HTTP URL).",
      examples: [
        "wirken mcp add fs -- npx -y @modelcontextprotocol/server-filesystem /tmp",
        "wirken mcp add docs --url https://mcp.example.com/mcp",
      ],
      args: [
        { name: "name", description: "Name for the server.", required: true },
        { name: "command", description: "Command and arguments after `--`.", variadic: true },
      ],
      options: {
        url: { type: "string", description: "Streamable HTTP endpoint.", valueName: "<url>" },
      },
      run: notYet("mcp add", ISSUE),
    },
    {
      name: "list",
      summary: "List MCP servers and their tools.",
      examples: ["wirken mcp list --json"],
      json: true,
      run: notYet("mcp list", ISSUE),
    },
    {
      name: "remove",
      summary: "Remove an MCP server.",
      examples: ["wirken mcp remove fs"],
      args: [{ name: "name", description: "Server name.", required: true }],
      run: notYet("mcp remove", ISSUE),
    },
  ],
};
