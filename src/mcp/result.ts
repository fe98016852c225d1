/**
 * MCP tool results: validated with zod (a server is untrusted input) and rendered into text
 * for the model, with a size cap.
 *
 * @module
 */
import { z } from "zod";

/** Most characters of a tool result handed to the model; the rest is cut and marked. */
export const MAX_RESULT_CHARS = 64 * 1024;

const ContentSchema = z.union([
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("image"), data: z.string(), mimeType: z.string() }),
  z.looseObject({ type: z.literal("audio"), data: z.string(), mimeType: z.string() }),
  z.looseObject({
    type: z.literal("resource"),
    resource: z.looseObject({
      uri: z.string(),
      mimeType: z.string().optional(),
      text: z.string().optional(),
      blob: z.string().optional(),
    }),
  }),
  z.looseObject({
    type: z.literal("resource_link"),
    uri: z.string(),
    name: z.string().optional(),
    description: z.string().optional(),
  }),
]);

/** The `tools/call` result as MCP defines it (unknown extra fields are tolerated). */
export const ToolResultSchema = z.looseObject({
  content: z.array(ContentSchema).default([]),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
});

/** One content part. */
export type McpContent = z.infer<typeof ContentSchema>;

/** A tool result ready for the agent. */
export interface McpToolResult {
  /** The server reported a tool-level error (the model should see it and may retry). */
  isError: boolean;
  /** Text for the model: text parts verbatim, other parts described. */
  text: string;
  /** The validated parts, for channels that can show images. */
  content: McpContent[];
  structuredContent?: Record<string, unknown>;
  /** `text` was cut at {@linkcode MAX_RESULT_CHARS}. */
  truncated: boolean;
}

/** Renders a validated result. */
export function renderResult(result: z.infer<typeof ToolResultSchema>): McpToolResult {
  const parts = result.content.map((c): string => {
    switch (c.type) {
      case "text":
        return c.text;
      case "image":
      case "audio":
        return `[${c.type} ${c.mimeType}, ${Math.floor((c.data.length * 3) / 4)} bytes]`;
      case "resource":
        return c.resource.text ??
          `[resource ${c.resource.uri}${c.resource.mimeType ? ` (${c.resource.mimeType})` : ""}]`;
      case "resource_link":
        return `[link ${c.name ?? ""} ${c.uri}]`.replace("  ", " ");
    }
  });
  let text = parts.join("\n");
  if (!text && result.structuredContent) text = JSON.stringify(result.structuredContent);
  const truncated = text.length > MAX_RESULT_CHARS;
  if (truncated) text = text.slice(0, MAX_RESULT_CHARS) + "\n[... truncated]";
  return {
    isError: result.isError ?? false,
    text,
    content: result.content,
    structuredContent: result.structuredContent,
    truncated,
  };
}
