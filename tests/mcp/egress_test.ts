/**
 * MCP servers over HTTP go through the egress guard: a real MCP server (the SDK's own server
 * over streamable HTTP, in this process) is reached through `guardedFetch`; a server whose name
 * resolves to loopback, a redirect to the metadata address or to another host, and any host
 * not on the list are refused before a connection, audited through `onRefused`. Arguments of
 * MCP tool calls pass the secret scanner.
 */
import { z } from "zod";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { McpServerSchema } from "../../src/config/schema.ts";
import { EgressRefusedError } from "../../src/guard/egress.ts";
import { guardTool } from "../../src/guard/hooks.ts";
import { SecretScanner } from "../../src/guard/scan.ts";
import { implicitEntries, mcpFetch } from "../../src/mcp/egress.ts";
import { McpManager, type McpServerConfig } from "../../src/mcp/manager.ts";
import { mcpTools } from "../../src/mcp/tools.ts";
import { Secret } from "../../src/secret.ts";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import { recordingServer } from "../guard/helpers.ts";

/** A real MCP server (SDK, stateless streamable HTTP) whose `note` tool records its input. */
async function sdkServer(): Promise<
  { port: number; notes: string[]; hits: number; close(): Promise<void> }
> {
  const { McpServer } = await import("@modelcontextprotocol/sdk/server/mcp.js");
  const { WebStandardStreamableHTTPServerTransport } = await import(
    "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
  );
  const state = { notes: [] as string[], hits: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    state.hits++;
    // Stateless mode: one server and transport per request, as the SDK documents.
    const mcp = new McpServer({ name: "notes", version: "1.0.0" });
    mcp.registerTool(
      "note",
      { description: "Store a note", inputSchema: { text: z.string() } },
      ({ text }: { text: string }) => {
        state.notes.push(text);
        return { content: [{ type: "text", text: `noted: ${text}` }] };
      },
    );
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await mcp.connect(transport);
    return await transport.handleRequest(req);
  });
  return {
    port: server.addr.port,
    get notes() {
      return state.notes;
    },
    get hits() {
      return state.hits;
    },
    close: () => server.shutdown(),
  };
}

function config(name: string, url: string): McpServerConfig {
  return { name, ...McpServerSchema.parse({ url }) };
}

const opts = { sanitizeResources: false, sanitizeOps: false };

Deno.test("mcp egress: the implicit entries of a server URL", () => {
  assertEquals(implicitEntries(new URL("https://mcp.example.com/mcp")), ["mcp.example.com:443"]);
  assertEquals(implicitEntries(new URL("http://127.0.0.1:3000/mcp")), ["127.0.0.1:3000"]);
  assertEquals(implicitEntries(new URL("http://[::1]:3000/mcp")), ["[::1]:3000"]);
  assertEquals(implicitEntries(new URL("http://localhost:3000/mcp")), [
    "localhost:3000",
    "127.0.0.1:3000",
    "[::1]:3000",
  ]);
});

Deno.test({
  name: "mcp egress: a server on its own loopback URL works through the guard",
  ...opts,
  fn: async () => {
    const s = await sdkServer();
    const refused: EgressRefusedError[] = [];
    const m = new McpManager([config("notes", `http://127.0.0.1:${s.port}/mcp`)], {
      restart: { maxAttempts: 0 },
      egress: { onRefused: (_, e) => refused.push(e) },
    });
    try {
      await m.start();
      assertEquals(m.status()[0].state, "ready", m.status()[0].error);
      const r = await m.callTool("mcp_notes_note", { text: "hello" });
      assertStringIncludes(r.text, "noted: hello");
      assertEquals(s.notes, ["hello"]);
      assertEquals(refused, []);
    } finally {
      await m.close();
      await s.close();
    }
  },
});

Deno.test({
  name:
    "mcp egress: a server name resolving to loopback is refused before any connection, unless the address is listed",
  ...opts,
  fn: async () => {
    const s = await sdkServer();
    // `*.localhost` passes the plain-HTTP rule, so only the egress check can refuse it.
    const url = `http://mcp.localhost:${s.port}/mcp`;
    const resolve = (name: string) =>
      Promise.resolve(name === "mcp.localhost" ? ["127.0.0.1"] : []);
    const refused: { server: string; e: EgressRefusedError }[] = [];
    const m = new McpManager([config("notes", url)], {
      restart: { maxAttempts: 0 },
      egress: { resolve, onRefused: (server, e) => refused.push({ server, e }) },
    });
    try {
      await m.start();
      const st = m.status()[0];
      assertEquals(st.state, "failed");
      assertStringIncludes(st.error!, "127.0.0.1");
      assertEquals(s.hits, 0, "no request reached the server");
      assertEquals(refused.length >= 1, true);
      assertEquals(refused[0].server, "notes");
      assertEquals(refused[0].e.reason, "address");
      assertEquals(refused[0].e.address, "127.0.0.1");
    } finally {
      await m.close();
    }
    // Listed explicitly: the same server works, connected to the checked address.
    const ok = new McpManager([config("notes", url)], {
      restart: { maxAttempts: 0 },
      egress: { resolve, allow: [`127.0.0.1:${s.port}`] },
    });
    try {
      await ok.start();
      assertEquals(ok.status()[0].state, "ready", ok.status()[0].error);
      assertStringIncludes((await ok.callTool("mcp_notes_note", { text: "x" })).text, "noted: x");
    } finally {
      await ok.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "mcp egress: a server redirecting to the metadata address or to another host gets nowhere",
  ...opts,
  fn: async () => {
    const attacker = recordingServer();
    for (const target of ["http://169.254.169.254/latest/", `${attacker.origin}/steal`]) {
      const front = recordingServer(() =>
        new Response(null, { status: 307, headers: { location: target } })
      );
      const refused: EgressRefusedError[] = [];
      const m = new McpManager([config("front", `${front.origin}/mcp`)], {
        restart: { maxAttempts: 0 },
        egress: { onRefused: (_, e) => refused.push(e) },
      });
      try {
        await m.start();
        assertEquals(m.status()[0].state, "failed", target);
        assert(front.requests.length >= 1, "the configured server was asked");
      } finally {
        await m.close();
        await front.close();
      }
    }
    assertEquals(attacker.requests.length, 0, "nothing reached the other host");
    await attacker.close();
  },
});

Deno.test({
  name:
    "mcp egress: the transport's fetch refuses other hosts and checks every redirect hop itself",
  ...opts,
  fn: async () => {
    const attacker = recordingServer();
    const front = recordingServer((req) =>
      new URL(req.url).pathname === "/meta"
        ? new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } })
        : new Response(null, { status: 302, headers: { location: `${attacker.origin}/x` } })
    );
    const refused: EgressRefusedError[] = [];
    const f = mcpFetch("front", new URL(`${front.origin}/mcp`), {
      onRefused: (_, e) => refused.push(e),
    });
    try {
      const direct = await f(`${attacker.origin}/x`).then(() => null, (e) => e);
      // Another port of 127.0.0.1 is not the server's own address:port.
      assert(direct instanceof EgressRefusedError);
      assertEquals(direct.reason, "address");
      const meta = await f(`${front.origin}/meta`).then(() => null, (e) => e);
      assert(meta instanceof EgressRefusedError);
      assertEquals(meta.address, "169.254.169.254");
      const other = await f(`${front.origin}/other`).then(() => null, (e) => e);
      assert(other instanceof EgressRefusedError);
      assertEquals(other.reason, "address");
      assertEquals(attacker.requests.length, 0);
      assertEquals(refused.map((e) => e.reason), ["address", "address", "address"]);
    } finally {
      await front.close();
      await attacker.close();
    }
  },
});

class MemAudit implements AuditSink {
  events: AuditEventInput[] = [];
  append(e: AuditEventInput): Promise<number> {
    this.events.push(structuredClone(e));
    return Promise.resolve(this.events.length);
  }
}

Deno.test({
  name: "mcp egress: an MCP tool call carrying a vault secret is refused before the server sees it",
  ...opts,
  fn: async () => {
    const KEY = "xq7Lm2Pz9Rk4Tw8Yb3Nc6Vd1Hf5Jg0Sa";
    const s = await sdkServer();
    const m = new McpManager([config("notes", `http://127.0.0.1:${s.port}/mcp`)], {
      restart: { maxAttempts: 0 },
    });
    const audit = new MemAudit();
    const scanner = SecretScanner.fromSecrets([{ name: "openai.key", value: new Secret(KEY) }]);
    try {
      await m.start();
      const tool = mcpTools(m).find((t) => t.name === "mcp_notes_note")!;
      const guarded = guardTool(tool, { scanner, audit });
      const ctx = {
        agentId: "main",
        sessionId: "s",
        channel: "cli",
        sender: "local",
        signal: new AbortController().signal,
      };
      const r = await guarded.run({ text: `key=${btoa(KEY)}` }, ctx);
      assert(r.isError);
      assertStringIncludes(r.content, "openai.key");
      assertEquals(s.notes, []);
      assert(audit.events.some((e) => e.kind === "leak.blocked"));
      const fine = await guarded.run({ text: "harmless" }, ctx);
      assertStringIncludes(fine.content, "noted: harmless");
    } finally {
      await m.close();
      await s.close();
    }
  },
});
