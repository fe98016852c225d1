/**
 * The `Tool` interface: what the agent loop needs from a tool. The tools themselves (files,
 * exec, web, MCP, skills) live beside this file and in their own rooms; the loop only sees
 * this shape. Input is described by a zod schema, which is both what the model is shown (as
 * JSON Schema, via `z.toJSONSchema`) and what the model's arguments are checked against
 * before anything runs.
 *
 * @module
 */
import { z } from "zod";

/**
 * The permission tier a tool declares: 1 runs without asking, 2 asks on first use (remembered
 * for 30 days), 3 asks every time. `src/permissions/policy.ts` gives tiers their meaning and may
 * raise (never lower) a call's tier; the loop only passes the declared tier along.
 */
export type Tier = 1 | 2 | 3;

/** What a running tool may know about where it runs. */
export interface ToolContext {
  agentId: string;
  sessionId: string;
  channel: string;
  /** Who asked (the sender id on the channel). */
  sender: string;
  /** Folder the agent's file tools are confined to, when it has one. */
  workspace?: string;
  /** Aborted when the turn is cancelled; long-running tools must stop. */
  signal: AbortSignal;
}

/** What a tool returns; `content` is sent to the model as is. */
export interface ToolResult {
  content: string;
  /** The tool failed; the model is told so (and may retry or explain). */
  isError?: boolean;
}

/** A tool the agent can call. `I` is the validated input type. */
export interface Tool<I = unknown> {
  /** Unique name the model calls it by: letters, digits, `_` and `-`, at most 64. */
  name: string;
  /** One or two sentences the model reads to decide when to call it. */
  description: string;
  tier: Tier;
  /** Schema of the input; arguments failing it never reach `run`. */
  inputSchema: z.ZodType<I>;
  /** Runs the tool on validated input. Throwing is allowed: the loop reports it as an error. */
  run(input: I, ctx: ToolContext): Promise<ToolResult>;
}

/** Declares a tool with its input type inferred from the schema. */
export function defineTool<S extends z.ZodType>(tool: {
  name: string;
  description: string;
  tier: Tier;
  inputSchema: S;
  run(input: z.infer<S>, ctx: ToolContext): Promise<ToolResult>;
}): Tool<z.infer<S>> {
  return tool as Tool<z.infer<S>>;
}

// Every turn announces every tool, and converting a zod schema rebuilds it (~2.6 ms a turn for
// the built-in tools, the largest CPU cost of a turn in bench/). Schemas do not change once
// built, so each is converted once and shared, deeply frozen: a caller that tried to change it
// in place would fail loudly instead of changing what every later turn announces.
const jsonSchemas = new WeakMap<z.ZodType, Record<string, unknown>>();

/** The tool's input as JSON Schema (draft 2020-12), without the `$schema` marker. */
export function toolJsonSchema(tool: Tool): Record<string, unknown> {
  let converted = jsonSchemas.get(tool.inputSchema);
  if (!converted) {
    const schema = z.toJSONSchema(tool.inputSchema, {
      io: "input",
      unrepresentable: "any",
    }) as Record<
      string,
      unknown
    >;
    const { $schema: _marker, ...rest } = schema;
    // Providers require an object schema at the top; a tool without input gets an empty one.
    converted = deepFreeze(rest.type === "object" ? rest : { type: "object", properties: {} });
    jsonSchemas.set(tool.inputSchema, converted);
  }
  return converted;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
