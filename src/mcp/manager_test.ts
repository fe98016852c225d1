import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { McpServerSchema } from "../config/schema.ts";
import { McpError } from "./errors.ts";
import {
  type McpClientLike,
  McpManager,
  type McpServerConfig,
  prefixedToolName,
} from "./manager.ts";
import { renderResult, ToolResultSchema } from "./result.ts";

function fakeClient(result: unknown = { content: [{ type: "text", text: "ok" }] }): McpClientLike {
  return {
    listTools: () =>
      Promise.resolve({
        tools: [{
          name: "add",
          inputSchema: {
            type: "object",
            properties: { a: { type: "number" } },
            required: ["a"],
          },
        }],
      }),
    callTool: () => Promise.resolve(result),
    close: () => Promise.resolve(),
  };
}

function cfg(settings: Record<string, unknown>): McpServerConfig {
  return { name: "srv", ...McpServerSchema.parse(settings) };
}

Deno.test("mcp: prefixed names are model-safe, short and collision-free", () => {
  assertEquals(prefixedToolName("fs", "read_file"), "mcp_fs_read_file");
  const odd = prefixedToolName("fs", "read file/now");
  assert(/^[a-zA-Z0-9_-]{1,64}$/.test(odd), odd);
  assert(odd !== prefixedToolName("fs", "read_file_now"));
  assert(prefixedToolName("s", "x".repeat(100)).length <= 64);
});

Deno.test("mcp: config needs exactly one of command or url", () => {
  assert(!McpServerSchema.safeParse({}).success);
  assert(!McpServerSchema.safeParse({ command: ["a"], url: "http://x/mcp" }).success);
  assert(McpServerSchema.safeParse({ url: "https://x/mcp" }).success);
});

Deno.test("mcp: arguments are validated against the schema; malformed results refused", async () => {
  const m = new McpManager([cfg({ command: ["x"] })], {
    connect: () => Promise.resolve({ client: fakeClient() }),
  });
  await m.start();
  assertEquals((await m.callTool("mcp_srv_add", { a: 1 })).text, "ok");
  await assertRejects(() => m.callTool("mcp_srv_add", { a: "1" }), McpError, "a:");
  await assertRejects(() => m.callTool("mcp_srv_add", {}), McpError, "Invalid arguments");
  const bad = new McpManager([cfg({ command: ["x"] })], {
    connect: () => Promise.resolve({ client: fakeClient({ content: [{ type: "text" }] }) }),
  });
  await bad.start();
  await assertRejects(() => bad.callTool("mcp_srv_add", { a: 1 }), McpError, "malformed");
});

Deno.test("mcp: a sandboxed server without a sandbox fails instead of running on the host", async () => {
  let connected = false;
  const m = new McpManager([cfg({ command: ["x"], sandbox: true })], {
    connect: () => {
      connected = true;
      return Promise.resolve({ client: fakeClient() });
    },
  });
  await m.start();
  assertEquals(connected, false);
  assertStringIncludes(m.status()[0].error!, "sandbox");
  let wrapped: string[] = [];
  const ok = new McpManager([cfg({ command: ["x", "y"], sandbox: true })], {
    sandboxWrap: (argv) => ["bwrap", "--", ...argv],
    connect: (_s, r) => {
      wrapped = r.command!;
      return Promise.resolve({ client: fakeClient() });
    },
  });
  await ok.start();
  assertEquals(wrapped, ["bwrap", "--", "x", "y"]);
});

Deno.test("mcp: a server that keeps dying is given up on after maxAttempts", async () => {
  let connects = 0;
  const clients: McpClientLike[] = [];
  const m = new McpManager([cfg({ command: ["x"] })], {
    restart: { initialMs: 1, maxMs: 2, maxAttempts: 2 },
    connect: () => {
      connects++;
      if (connects > 1) return Promise.reject(new Error("spawn failed"));
      const c = fakeClient();
      clients.push(c);
      return Promise.resolve({ client: c });
    },
  });
  await m.start();
  clients[0].onclose!();
  for (let i = 0; i < 100 && !m.status()[0].error?.includes("gave up"); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assertEquals(m.status()[0].state, "failed");
  assertStringIncludes(m.status()[0].error!, "gave up after 2 restarts");
  await m.close();
});

Deno.test("mcp: results render text, describe images, cap size", () => {
  const r = renderResult(ToolResultSchema.parse({
    content: [
      { type: "text", text: "hello" },
      { type: "image", data: "AAAA", mimeType: "image/png" },
      { type: "resource", resource: { uri: "file:///x", text: "inner" } },
    ],
    isError: true,
  }));
  assertEquals(r.text, "hello\n[image image/png, 3 bytes]\ninner");
  assert(r.isError);
  const big = renderResult(ToolResultSchema.parse({
    content: [{ type: "text", text: "x".repeat(70_000) }],
  }));
  assert(big.truncated);
});
