/**
 * Files outside the workspace: only inside configured extra roots, with the same confinement,
 * and at a higher tier (reading 2, writing 3).
 */
import { join } from "node:path";
import { ConfigSchema } from "../../src/config/schema.ts";
import { effectiveTier } from "../../src/permissions/policy.ts";
import { builtinToolsFromConfig } from "../../src/tools/builtin.ts";
import type { ToolContext } from "../../src/tools/types.ts";
import { assertEquals, assertStringIncludes } from "../assert.ts";

Deno.test("extra roots: read-only and writable folders outside the workspace", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "wirken-extra-" }));
  try {
    const ws = join(base, "ws");
    const ro = join(base, "docs");
    const rw = join(base, "out");
    for (const d of [ws, ro, rw]) await Deno.mkdir(d);
    await Deno.writeTextFile(join(ro, "manual.txt"), "read me");
    await Deno.symlink("/etc", join(ro, "etc"));
    const config = ConfigSchema.parse({
      tools: { extraRoots: [{ path: ro }, { path: rw, write: true }] },
    });
    const tools = new Map(builtinToolsFromConfig(config, {}).map((t) => [t.name, t]));
    const ctx: ToolContext = {
      agentId: "a",
      sessionId: "s",
      channel: "webchat",
      sender: "u",
      workspace: ws,
      signal: new AbortController().signal,
    };
    const run = (name: string, input: unknown) => {
      const t = tools.get(name)!;
      return t.run(t.inputSchema.parse(input), ctx);
    };
    assertEquals((await run("read_file", { path: join(ro, "manual.txt") })).content, "read me");
    const roWrite = await run("write_file", { path: join(ro, "x.txt"), content: "no" });
    assertStringIncludes(roWrite.content, "read-only");
    assertStringIncludes(
      (await run("write_file", { path: join(rw, "y.txt"), content: "ok" })).content,
      "Created",
    );
    assertEquals(await Deno.readTextFile(join(rw, "y.txt")), "ok");
    const outside = await run("read_file", { path: join(base, "elsewhere.txt") });
    assertStringIncludes(outside.content, "not in tools.extraRoots");
    const viaLink = await run("read_file", { path: join(ro, "etc", "passwd") });
    assertStringIncludes(viaLink.content, "Refused");
    const prefix = await run("read_file", { path: `${ro}2/manual.txt` });
    assertStringIncludes(prefix.content, "not in tools.extraRoots");
    const found = await run("search_files", { query: "read", path: ro });
    assertEquals(found.content, `${ro}/manual.txt:1: read me`);
    // Relative paths are still the workspace.
    await run("write_file", { path: "w.txt", content: "in ws" });
    assertEquals(await Deno.readTextFile(join(ws, "w.txt")), "in ws");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("extra roots: absolute paths raise the tier (read 2, write 3), relative ones do not", () => {
  assertEquals(effectiveTier("read_file", 1, { path: "a.txt" }), 1);
  assertEquals(effectiveTier("read_file", 1, { path: "/srv/a.txt" }), 2);
  assertEquals(effectiveTier("list_dir", 1, { path: "/srv" }), 2);
  assertEquals(effectiveTier("search_files", 1, { query: "x", path: "/srv" }), 2);
  assertEquals(effectiveTier("write_file", 1, { path: "/srv/a.txt", content: "" }), 3);
  assertEquals(effectiveTier("edit_file", 1, { path: "/srv/a.txt" }), 3);
  assertEquals(effectiveTier("write_file", 1, { path: "a.txt", content: "" }), 1);
});
