/**
 * The MCP manager against server-everything over streamable HTTP, with a header taken from
 * the vault by name.
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { McpError } from "../../src/mcp/errors.ts";
import { McpManager, type McpServerConfig } from "../../src/mcp/manager.ts";
import { McpServerSchema } from "../../src/config/schema.ts";
import { Secret } from "../../src/secret.ts";
import type { CredentialStore } from "../../src/vault/types.ts";
import { freePort, mcpServersDir, serverCommand } from "./servers.ts";

const dir = await mcpServersDir();

function vault(values: Record<string, string>): CredentialStore {
  return {
    get: (n) => (values[n] === undefined ? undefined : new Secret(values[n])),
    set: () => {},
    remove: () => false,
    list: () => [],
  };
}

async function startHttpServer(port: number): Promise<Deno.ChildProcess> {
  const [cmd, ...args] = serverCommand(dir!, "mcp-server-everything", "streamableHttp");
  const child = new Deno.Command(cmd, {
    args,
    env: { PORT: String(port) },
    stdout: "null",
    stderr: "null",
    stdin: "null",
  }).spawn();
  // Ready when the port accepts connections (at most ~10 s).
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGKILL");
  throw new Error("server-everything (streamableHttp) did not start");
}

Deno.test({
  name: "mcp http: server-everything over streamable HTTP lists and calls tools",
  ignore: dir === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const port = freePort();
    const child = await startHttpServer(port);
    const url = `http://127.0.0.1:${port}/mcp`;
    const config = (name: string, headers: Record<string, string>): McpServerConfig => ({
      name,
      ...McpServerSchema.parse({ url, headers }),
    });
    const m = new McpManager(
      [config("web", { "X-Api-Key": "mcp.web.key" }), config("nokey", { "X-Api-Key": "missing" })],
      { credentials: vault({ "mcp.web.key": "k-123" }), restart: { maxAttempts: 0 } },
    );
    try {
      await m.start();
      const s = Object.fromEntries(m.status().map((x) => [x.name, x]));
      assertEquals(s.web.state, "ready", s.web.error);
      assertEquals(s.web.transport, "http");
      assertEquals(s.nokey.state, "failed");
      assertStringIncludes(s.nokey.error!, "missing");
      assertStringIncludes(s.nokey.error!, "not in the vault");
      const r = await m.callTool("mcp_web_echo", { message: "over http" });
      assertStringIncludes(r.text, "over http");
    } finally {
      await m.close();
      child.kill("SIGTERM");
      await child.status;
    }
  },
});

Deno.test({
  name: "mcp http: a server that went away is reconnected when it is back",
  ignore: dir === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const port = freePort();
    let child = await startHttpServer(port);
    const m = new McpManager(
      [{ name: "web", ...McpServerSchema.parse({ url: `http://127.0.0.1:${port}/mcp` }) }],
      { restart: { initialMs: 100, maxMs: 500, maxAttempts: 20 } },
    );
    try {
      await m.start();
      assertStringIncludes((await m.callTool("mcp_web_echo", { message: "one" })).text, "one");
      child.kill("SIGKILL");
      await child.status;
      const down = await m.callTool("mcp_web_echo", { message: "two" }).then(() => null, (e) => e);
      assert(down instanceof McpError, "a call to a dead server fails");
      child = await startHttpServer(port);
      // The manager reconnects on its own; the next call waits for it.
      for (let i = 0; i < 100 && m.status()[0].state !== "ready"; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assertStringIncludes((await m.callTool("mcp_web_echo", { message: "three" })).text, "three");
      assert(m.status()[0].restarts >= 1);
    } finally {
      await m.close();
      child.kill("SIGTERM");
      await child.status;
    }
  },
});

Deno.test("mcp http: header values come from the vault and are sent to the server", async () => {
  const seen: (string | null)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push(req.headers.get("x-api-key"));
    await req.body?.cancel();
    return new Response("no", { status: 403 });
  });
  const m = new McpManager(
    [{
      name: "web",
      ...McpServerSchema.parse({
        url: `http://127.0.0.1:${server.addr.port}/mcp`,
        headers: { "X-Api-Key": "mcp.web.key" },
      }),
    }],
    { credentials: vault({ "mcp.web.key": "k-secret-123" }), restart: { maxAttempts: 0 } },
  );
  try {
    await m.start();
    assertEquals(m.status()[0].state, "failed");
    assertEquals(seen[0], "k-secret-123");
  } finally {
    await m.close();
    await server.shutdown();
  }
});
