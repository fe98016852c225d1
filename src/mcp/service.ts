/**
 * One call for the gateway: start the configured MCP servers and get their tools.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { McpEgressOptions } from "./egress.ts";
import type { Logger } from "../log/logger.ts";
import type { Tool } from "../tools/types.ts";
import type { CredentialStore } from "../vault/types.ts";
import { McpManager } from "./manager.ts";
import { mcpTools } from "./tools.ts";

/** Running MCP servers. */
export interface McpService {
  manager: McpManager;
  /** The tools of every ready server now (call per turn: servers restart and recover). */
  tools(): Tool[];
  /** Stops every server. */
  stop(): Promise<void>;
}

/**
 * Starts every enabled server in `config.mcp.servers`. A server that fails is reported in
 * `manager.status()` and does not stop the gateway.
 */
export async function startMcp(options: {
  config: Pick<Config, "mcp" | "egress">;
  credentials?: CredentialStore;
  log?: Logger;
  /** For servers with `sandbox: true`, e.g. `bwrapWrapper(...)` from src/sandbox/bwrap.ts. */
  sandboxWrap?: (argv: readonly string[]) => string[];
  /** Refusals of HTTP servers' connections (the gateway audits them). */
  onEgressRefused?: McpEgressOptions["onRefused"];
}): Promise<McpService> {
  const servers = Object.entries(options.config.mcp.servers).map(([name, s]) => ({ name, ...s }));
  const manager = new McpManager(servers, {
    credentials: options.credentials,
    log: options.log?.child("mcp"),
    sandboxWrap: options.sandboxWrap,
    egress: { allow: options.config.egress.allow, onRefused: options.onEgressRefused },
  });
  await manager.start();
  return { manager, tools: () => mcpTools(manager), stop: () => manager.close() };
}
