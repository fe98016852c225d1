/**
 * An MCP tool called through the real agent loop: announced to the model with its prefix,
 * permission asked at its tier (2), audited before it runs, result returned to the model;
 * a denied call never reaches the server.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { type PermissionRequest, runTurn } from "../../src/agent/loop.ts";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import { McpServerSchema } from "../../src/config/schema.ts";
import { McpManager } from "../../src/mcp/manager.ts";
import { mcpTools } from "../../src/mcp/tools.ts";
import type { ChatEvent, ChatRequest, Provider } from "../../src/providers/types.ts";
import { mcpServersDir, serverCommand } from "./servers.ts";

const dir = await mcpServersDir();

/** A scripted model: first asks for get-sum, then answers with what the tool returned. */
function scriptedProvider(seen: ChatRequest[]): Provider {
  return {
    kind: "openai",
    baseUrl: "http://127.0.0.1:0",
    models: () => Promise.resolve(["fake"]),
    health: () => Promise.resolve({ ok: true, message: "ok", latencyMs: 0 }),
    async *chat(request: ChatRequest): AsyncIterable<ChatEvent> {
      seen.push(request);
      const last = request.messages[request.messages.length - 1];
      if (last.role === "tool") {
        const out = last.results.map((r) => r.content).join(" ");
        yield { type: "text", text: `The tool said: ${out}` };
      } else {
        yield {
          type: "tool_call",
          call: { id: "c1", name: "mcp_every_get-sum", arguments: '{"a": 19, "b": 23}' },
        };
      }
      yield { type: "done", stopReason: last.role === "tool" ? "stop" : "tool_calls" };
    },
  };
}

class MemoryAudit implements AuditSink {
  events: AuditEventInput[] = [];
  append(e: AuditEventInput): Promise<number> {
    this.events.push(e);
    return Promise.resolve(this.events.length);
  }
}

Deno.test({
  name: "mcp + agent loop: a server tool is called with approval, audited, answered",
  ignore: dir === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const m = new McpManager([{
      name: "every",
      ...McpServerSchema.parse({ command: serverCommand(dir!, "mcp-server-everything", "stdio") }),
    }]);
    try {
      await m.start();
      for (const decision of ["allow", "deny"] as const) {
        const seen: ChatRequest[] = [];
        const asked: PermissionRequest[] = [];
        const audit = new MemoryAudit();
        const result = await runTurn({
          provider: scriptedProvider(seen),
          agent: { id: "default", model: "fake" },
          tools: mcpTools(m),
          history: [],
          message: "what is 19 + 23?",
          audit,
          permit: (r) => {
            asked.push(r);
            return Promise.resolve(decision);
          },
          session: { id: "s1", channel: "webchat", sender: "me" },
        });
        // The model was offered the prefixed tool with the server's schema.
        const offered = seen[0].tools?.find((t) => t.name === "mcp_every_get-sum");
        assert(offered, "tool announced to the model");
        assertEquals(asked.length, 1);
        assertEquals(asked[0].tier, 2);
        assertEquals(asked[0].tool, "mcp_every_get-sum");
        assert(audit.events.some((e) => e.kind === "tool.requested"), "audited before running");
        if (decision === "allow") {
          assertStringIncludes(result.text, "42");
        } else {
          assert(!result.text.includes("42"), "a denied call never ran");
        }
      }
    } finally {
      await m.close();
    }
  },
});
