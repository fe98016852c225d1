/**
 * The MCP manager against real servers from npm over stdio: tools listed with the prefix and
 * tiers, arguments validated against the server's schema, a call answered, a slow call timed
 * out, a killed server restarted.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { McpError } from "../../src/mcp/errors.ts";
import { McpManager, type McpServerConfig } from "../../src/mcp/manager.ts";
import { McpServerSchema } from "../../src/config/schema.ts";
import { mcpServersDir, serverCommand } from "./servers.ts";
import { commandAvailable } from "../skip.ts";
import { bwrapWrapper } from "../../src/sandbox/bwrap.ts";

const dir = await mcpServersDir();
Deno.env.set("WIRKEN_TEST_GATEWAY_SECRET", "sk-should-not-leak");

function server(name: string, settings: Record<string, unknown>): McpServerConfig {
  return { name, ...McpServerSchema.parse(settings) };
}

Deno.test({
  name: "mcp stdio: server-everything tools listed, validated, called, timed out",
  ignore: dir === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const m = new McpManager([
      server("every", {
        command: serverCommand(dir!, "mcp-server-everything", "stdio"),
        timeoutSeconds: 2,
        tiers: { "get-sum": 1 },
      }),
    ]);
    try {
      await m.start();
      assertEquals(m.status()[0].state, "ready", m.status()[0].error);
      const tools = m.listTools();
      const echo = tools.find((t) => t.tool === "echo")!;
      assertEquals(echo.name, "mcp_every_echo");
      assertEquals(echo.tier, 2);
      assertEquals(tools.find((t) => t.tool === "get-sum")!.tier, 1);
      assertEquals(tools.find((t) => t.tool === "get-sum")!.name, "mcp_every_get-sum");
      const r = await m.callTool("mcp_every_echo", { message: "hello wirken" });
      assertStringIncludes(r.text, "hello wirken");
      assertEquals(r.isError, false);
      const sum = await m.callTool("mcp_every_get-sum", { a: 2, b: 40 });
      assertStringIncludes(sum.text, "42");
      // Wrong argument types never reach the server.
      await assertRejects(
        () => m.callTool("mcp_every_get-sum", { a: "two", b: 40 }),
        McpError,
        "Invalid arguments",
      );
      await assertRejects(() => m.callTool("mcp_every_nope", {}), McpError, "no MCP tool");
      // A slow tool (10 s) against a 2 s limit.
      const t0 = Date.now();
      await assertRejects(
        () => m.callTool("mcp_every_trigger-long-running-operation", { duration: 10, steps: 2 }),
        McpError,
        "timed out",
      );
      assert(Date.now() - t0 < 6000, "the timeout fired late");
      // The gateway's own environment (API keys) never reaches a server.
      const env = await m.callTool("mcp_every_get-env", {});
      assert(!env.text.includes("WIRKEN_TEST_GATEWAY_SECRET"), "gateway env leaked to the server");
      // The server still answers after a timed-out call.
      assertStringIncludes(
        (await m.callTool("mcp_every_echo", { message: "after" })).text,
        "after",
      );
    } finally {
      await m.close();
    }
  },
});

Deno.test({
  name: "mcp stdio: a killed server is restarted and its tools come back",
  ignore: dir === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const m = new McpManager([
      server("every", { command: serverCommand(dir!, "mcp-server-everything", "stdio") }),
    ], { restart: { initialMs: 100, maxMs: 1000 } });
    try {
      await m.start();
      const pid = m.pidOf("every")!;
      assert(pid > 0);
      Deno.kill(pid, "SIGKILL");
      // Once the manager has noticed the exit, a call waits for the restart.
      for (let i = 0; i < 100 && m.status()[0].restarts === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const r = await m.callTool("mcp_every_echo", { message: "back again" });
      assertStringIncludes(r.text, "back again");
      const s = m.status()[0];
      assertEquals(s.state, "ready");
      assertEquals(s.restarts, 1);
      assert(m.pidOf("every") !== pid);
    } finally {
      await m.close();
    }
  },
});

Deno.test({
  name: "mcp stdio: server-filesystem reads a file; a server that cannot start is failed",
  ignore: dir === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const root = await Deno.makeTempDir();
    await Deno.writeTextFile(`${root}/hello.txt`, "file contents 123\n");
    const m = new McpManager([
      server("fs", { command: serverCommand(dir!, "mcp-server-filesystem", root) }),
      server("broken", { command: ["node", "-e", "process.exit(3)"] }),
      server("off", { command: ["node", "-e", "0"], enabled: false }),
    ], { restart: { maxAttempts: 0 } });
    try {
      await m.start();
      const byName = Object.fromEntries(m.status().map((s) => [s.name, s]));
      assertEquals(byName.fs.state, "ready");
      assertEquals(byName.broken.state, "failed");
      assert(byName.broken.error, "a failed server says why");
      assertEquals(byName.off.state, "stopped");
      const read = m.listTools().find((t) => t.tool === "read_text_file" || t.tool === "read_file");
      assert(read, "filesystem server offers a read tool");
      const r = await m.callTool(read.name, { path: `${root}/hello.txt` });
      assertStringIncludes(r.text, "file contents 123");
      // Outside its allowed folder the server itself refuses (a tool-level error).
      const denied = await m.callTool(read.name, { path: "/etc/hostname" }).catch((e) => e);
      assert(
        denied instanceof McpError || (denied as { isError: boolean }).isError,
        "reading outside the root is refused",
      );
    } finally {
      await m.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

const bwrap = await commandAvailable("bwrap", "apt-get install bubblewrap", [
  "--ro-bind",
  "/",
  "/",
  "true",
]);

Deno.test({
  name: "mcp stdio: a server with sandbox: true runs under bubblewrap and works",
  ignore: dir === null || !bwrap,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = await Deno.realPath(await Deno.makeTempDir());
    await Deno.writeTextFile(`${work}/inside.txt`, "inside the sandbox\n");
    const bwrapPath = (await new Deno.Command("sh", { args: ["-c", "command -v bwrap"] }).output())
      .stdout;
    const m = new McpManager([
      server("boxed", {
        command: serverCommand(dir!, "mcp-server-filesystem", work),
        sandbox: true,
      }),
    ], {
      sandboxWrap: bwrapWrapper({
        workspace: work,
        bwrapPath: new TextDecoder().decode(bwrapPath).trim(),
        readOnlyPaths: [await Deno.realPath(dir!)],
      }),
    });
    try {
      await m.start();
      assertEquals(m.status()[0].state, "ready", m.status()[0].error);
      const read = m.listTools().find((t) => t.tool === "read_text_file")!;
      assertStringIncludes(
        (await m.callTool(read.name, { path: `${work}/inside.txt` })).text,
        "inside",
      );
      const list = m.listTools().find((t) => t.tool === "list_allowed_directories")!;
      assertStringIncludes((await m.callTool(list.name, {})).text, work);
    } finally {
      await m.close();
      await Deno.remove(work, { recursive: true });
    }
  },
});
