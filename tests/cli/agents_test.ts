/** `wirken agents add|list|remove|bind` as a user runs them, on a fresh data directory. */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function wirken(dir: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--no-check", join(ROOT, "main.ts"), ...args],
    env: { WIRKEN_DATA_DIR: dir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("agents: add, bind, list, remove round trip through config.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let r = await wirken(
      dir,
      "agents",
      "add",
      "research",
      "--model",
      "gpt-4o",
      "--tools",
      "read_file,web_search",
      "--prompt",
      "Cite.",
    );
    assertEquals(r.code, 0, r.stderr);
    r = await wirken(dir, "agents", "add", "research");
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "already exists");
    r = await wirken(dir, "agents", "bind", "research", "telegram");
    assertEquals(r.code, 0, r.stderr);
    r = await wirken(
      dir,
      "agents",
      "bind",
      "research",
      "slack",
      "--conversation",
      "C1",
      "--sender",
      "U1",
    );
    assertEquals(r.code, 0, r.stderr);
    r = await wirken(dir, "agents", "bind", "nobody", "telegram");
    assertEquals(r.code, 2);
    r = await wirken(dir, "agents", "bind", "research", "myspace");
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "Unknown channel");

    r = await wirken(dir, "agents", "list", "--json");
    assertEquals(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout);
    assertEquals(list.map((a: { id: string }) => a.id), ["default", "research"]);
    assertEquals(list[1].model, "gpt-4o");
    assertEquals(list[1].tools, ["read_file", "web_search"]);
    assertEquals(list[1].routes, [
      { channel: "telegram", agent: "research" },
      { channel: "slack", conversation: "C1", sender: "U1", agent: "research" },
    ]);
    r = await wirken(dir, "agents", "list");
    assertStringIncludes(r.stdout, "research");
    assertStringIncludes(r.stdout, "telegram, slack/C1 from U1");

    const config = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assertEquals(config.agents[1].systemPrompt, "Cite.");
    assertEquals((await Deno.stat(join(dir, "config.json"))).mode! & 0o777, 0o600);

    r = await wirken(dir, "agents", "remove", "research");
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "2 route(s)");
    const after = JSON.parse(await Deno.readTextFile(join(dir, "config.json")));
    assertEquals(after.routes, []);
    r = await wirken(dir, "agents", "remove", "default");
    assertEquals(r.code, 2);
    assert(r.stderr.includes("only agent"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
