/**
 * docs/troubleshooting.md quotes real messages: every line of its `text` blocks (the `error:` and
 * `fix:` lines and the plain messages) must still occur in the source of `src/` or `adapters/`,
 * with each `<placeholder>` standing for whatever the code interpolates there.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { ROOT, walk } from "./docs_scan.ts";

async function sourceText(dir: string): Promise<string> {
  const parts: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) parts.push(await sourceText(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
      parts.push(await Deno.readTextFile(p));
    }
  }
  return parts.join("\n");
}

/** The literal pieces of a quoted message: what is left between its placeholders. */
export function fragments(line: string): string[] {
  const text = line.trim().replace(/^(error|fix):\s*/, "");
  return text.split(/<[^>\s]+>/).map((f) => f.trim()).filter((f) => f.length >= 3);
}

Deno.test("docs: every message quoted in troubleshooting.md exists in the source", async () => {
  // Template literals escape backticks; the message the user sees does not.
  const source = (await sourceText(join(ROOT, "src")) + await sourceText(join(ROOT, "adapters")))
    .replaceAll("\\`", "`");
  const md = await Deno.readTextFile(join(ROOT, "docs", "troubleshooting.md"));
  const missing: string[] = [];
  let checked = 0;
  for (const part of walk(md)) {
    if (part.kind !== "code" || part.lang !== "text" || part.text.trim() === "") continue;
    for (const f of fragments(part.text)) {
      checked++;
      if (!source.includes(f)) missing.push(`troubleshooting.md:${part.line}: "${f}"`);
    }
  }
  assertEquals(missing, []);
  assert(checked > 30, `only ${checked} fragments found: the scanner is broken`);
});

Deno.test("docs: troubleshooting fragments split at placeholders", () => {
  assertEquals(
    fragments("  fix: Replace <dir> with a real directory (or point WIRKEN_DATA_DIR at one)."),
    [
      "Replace",
      "with a real directory (or point WIRKEN_DATA_DIR at one).",
    ],
  );
});
