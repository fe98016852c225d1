/**
 * Errors of the MCP room.
 *
 * @module
 */
import { WirkenError } from "../errors.ts";

/** An MCP server or tool call failed; the message is safe to show the model and the user. */
export class McpError extends WirkenError {}
