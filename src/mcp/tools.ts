/**
 * MCP tools as agent tools: each tool of each ready server becomes a {@linkcode Tool} named
 * `mcp_<server>_<tool>`, with the tier from config and an input schema built from the server's
 * JSON Schema, so the agent loop validates, audits and asks permission exactly as for a
 * built-in tool. The manager validates again against the original schema before calling.
 *
 * @module
 */
import { z } from "zod";
import { defineTool, type Tool } from "../tools/types.ts";
import type { McpManager } from "./manager.ts";

/** The tools of every ready server, now. Call again after a server restarts or is added. */
export function mcpTools(manager: McpManager): Tool[] {
  return manager.listTools().map((info) =>
    defineTool({
      name: info.name,
      description: `${info.description || info.tool} (MCP server ${info.server})`,
      tier: info.tier,
      inputSchema: schemaOf(info.inputSchema),
      run: async (input, ctx) => {
        const r = await manager.callTool(info.name, input, ctx.signal);
        return { content: r.text, isError: r.isError };
      },
    })
  );
}

function schemaOf(json: Record<string, unknown>): z.ZodType<Record<string, unknown>> {
  try {
    const s = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0]);
    return s as z.ZodType<Record<string, unknown>>;
  } catch {
    // A schema zod cannot convert still gets an object check here; the server checks the rest.
    return z.record(z.string(), z.unknown());
  }
}
