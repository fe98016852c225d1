/**
 * docs/getting-started.md cannot lie: every command in its fenced blocks labelled
 * `sh runnable` is run, in order, through the real CLI in one fresh data directory, against a
 * fake Ollama on 127.0.0.1:11434 (the address the page names), and must exit 0.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import { tempDataDir, wirken } from "./cli/helpers.ts";
import { ROOT, shellWords, walk } from "./docs_scan.ts";

/** The `sh runnable` commands of a Markdown text, in order. */
function runnable(md: string): string[][] {
  const out: string[][] = [];
  for (const part of walk(md)) {
    if (part.kind !== "code" || !/^sh\s+runnable\b/.test(part.info)) continue;
    const words = shellWords(part.text);
    if (words.length) out.push(words);
  }
  return out;
}

/** A minimal Ollama: model list for the live check, one streamed answer for every chat. */
function fakeOllama(): Deno.HttpServer<Deno.NetAddr> | null {
  try {
    return Deno.serve({ hostname: "127.0.0.1", port: 11434, onListen: () => {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/api/tags") {
        return Response.json({ models: [{ name: "llama3.2:latest", model: "llama3.2:latest" }] });
      }
      if (path === "/api/chat" && req.method === "POST") {
        await req.text();
        const lines = [
          { model: "llama3.2", message: { role: "assistant", content: "Hello from a fake." } },
          { model: "llama3.2", message: { role: "assistant", content: "" }, done: true },
        ].map((l) => JSON.stringify({ done: false, ...l }) + "\n").join("");
        return new Response(lines, { headers: { "content-type": "application/x-ndjson" } });
      }
      return new Response("not found", { status: 404 });
    });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) return null;
    throw e;
  }
}

const server = fakeOllama();
if (!server) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      "SKIPPING the getting-started runnable test: 127.0.0.1:11434 is in use (a real Ollama?)\n",
    ),
  );
}

Deno.test({
  name: "docs: every `sh runnable` command in getting-started.md runs and exits 0",
  ignore: server === null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    try {
      const md = await Deno.readTextFile(join(ROOT, "docs", "getting-started.md"));
      const commands = runnable(md);
      assert(commands.length >= 3, `only ${commands.length} runnable commands found`);
      const dataDir = await tempDataDir();
      const env = {
        WIRKEN_VAULT_BACKEND: "passphrase",
        WIRKEN_VAULT_PASSPHRASE: "getting started test passphrase",
      };
      const outputs: string[] = [];
      for (const words of commands) {
        assertEquals(words[0], "wirken", `a runnable line must be a wirken command: ${words}`);
        const r = await wirken(words.slice(1), { dataDir, env });
        assertEquals(r.code, 0, `\`${words.join(" ")}\` failed:\n${r.stdout}\n${r.stderr}`);
        outputs.push(r.stdout);
      }
      // What the page says each step shows.
      const all = outputs.join("\n");
      assertStringIncludes(all, "Provider: ollama (llama3.2)");
      assertStringIncludes(all, "Hello from a fake.");
      assertStringIncludes(all, "cli:terminal:default");
    } finally {
      await server?.shutdown();
    }
  },
});
