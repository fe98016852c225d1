import { z } from "zod";
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { defineTool, toolJsonSchema } from "./types.ts";

const tool = (inputSchema: z.ZodType) =>
  defineTool({
    name: "t",
    description: "d",
    tier: 1,
    inputSchema,
    run: () => Promise.resolve({ content: "" }),
  });

Deno.test("toolJsonSchema: converted once per schema, shared frozen, never changed in place", () => {
  const a = tool(z.object({ path: z.string().describe("where"), n: z.number().optional() }));
  const first = toolJsonSchema(a);
  assertEquals(first, {
    type: "object",
    properties: { path: { type: "string", description: "where" }, n: { type: "number" } },
    required: ["path"],
  });
  assert(toolJsonSchema(a) === first, "converted once");
  // A provider adapting the schema in place fails loudly instead of changing later turns.
  assertThrows(() => {
    (first.properties as Record<string, unknown>).path = "mutated";
  }, TypeError);
  assertThrows(() => {
    first.extra = true;
  }, TypeError);
  assertEquals(toolJsonSchema(a), {
    type: "object",
    properties: { path: { type: "string", description: "where" }, n: { type: "number" } },
    required: ["path"],
  });
  // Another schema is converted on its own, not served from the first one's entry.
  assertEquals(toolJsonSchema(tool(z.object({ q: z.string() }))).properties, {
    q: { type: "string" },
  });
  assertEquals(toolJsonSchema(tool(z.string())), { type: "object", properties: {} });
});
