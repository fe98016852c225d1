/**
 * The documentation cannot drift from the code: every relative link in `docs/*.md` and
 * `README.md` points at a file that exists (and at a heading that exists, for `#anchors` into
 * Markdown), and every `wirken ...` command they quote parses against the real command tree,
 * so a renamed command or flag breaks this test.
 *
 * What counts as a quoted command: an inline code span starting with `wirken `, and every line
 * starting with `wirken ` (or `$ wirken `) inside a fenced block labelled `sh`, `bash`, `shell`
 * or `console` (in docs/ also in unlabelled blocks). Synopses are not commands and are skipped: spans containing `|`, `[`, `...` or
 * `<command>`. The generated pages (cli.md, configuration.md) are checked by docs_test.ts.
 */
import { dirname, join, relative } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { parse } from "../src/cli/parse.ts";
import { rootCommand } from "../src/cli/tree.ts";
import { DOCS_URL, helpText } from "../src/cli/help.ts";
import {
  anchorsOf,
  docFiles,
  expandOptional,
  isSynopsis,
  quotedCommands,
  relativeLinks,
  ROOT,
  shellWords,
  slug,
} from "./docs_scan.ts";

const GENERATED = new Set(["docs/cli.md", "docs/configuration.md"]);

Deno.test("docs: every relative link in docs/ and README.md resolves", async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const file of await docFiles()) {
    const md = await Deno.readTextFile(file);
    for (const { line, target } of relativeLinks(md)) {
      checked++;
      const [path, anchor] = target.split("#", 2);
      const dest = path === "" ? file : join(dirname(file), decodeURIComponent(path));
      const where = `${relative(ROOT, file)}:${line}: ${target}`;
      const info = await Deno.stat(dest).catch(() => null);
      if (!info) {
        problems.push(`${where}: no such file`);
        continue;
      }
      if (anchor && dest.endsWith(".md") && !anchorsOf(await Deno.readTextFile(dest)).has(anchor)) {
        problems.push(`${where}: no heading #${anchor}`);
      }
    }
  }
  assertEquals(problems, []);
  assert(checked > 0, "no links found: the scanner is broken");
});

Deno.test("docs: every quoted `wirken ...` command parses against the real command tree", async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const file of await docFiles()) {
    const rel = relative(ROOT, file);
    if (GENERATED.has(rel)) continue;
    const md = await Deno.readTextFile(file);
    for (const q of quotedCommands(rel, md, rel.startsWith("docs/"))) {
      if (isSynopsis(q.text)) continue;
      const words = shellWords(expandOptional(q.text));
      if (words[0] !== "wirken" || words[1]?.startsWith("<")) continue;
      checked++;
      try {
        parse(rootCommand, words.slice(1));
      } catch (e) {
        const message = (e as Error).message;
        // Prose may name a command (`wirken ask`) without its arguments; its words and flags
        // were still checked, since unknown commands and flags fail before missing arguments.
        if (q.inline && /^missing argument|needs a subcommand/.test(message)) continue;
        // A placeholder (`--backend ID`, `--backend <id>`) stands for one of the choices.
        if (/^invalid value "([A-Z][A-Z0-9_]*|<[^>]+>)" for --/.test(message)) continue;
        problems.push(`${q.file}:${q.line}: \`${q.text}\`: ${message}`);
      }
    }
  }
  assertEquals(problems, []);
  assert(checked > 20, `only ${checked} commands found: the scanner is broken`);
});

Deno.test("docs: the scanners find commands and links and catch a renamed flag", () => {
  const md = [
    "Run `wirken doctor --json` or `wirken channel add|list` (a synopsis).",
    "See [vault](vault.md#unlock) and [site](https://example.com).",
    "```sh",
    "wirken agents add research --model gpt-4o  # a comment",
    'wirken ask "hello there" \\',
    "  --agent research",
    "```",
    "```",
    "wirken not checked: no shell label",
    "```",
  ].join("\n");
  const q = quotedCommands("x.md", md).map((c) => c.text);
  assertEquals(quotedCommands("x.md", md).map((c) => c.inline), [true, true, false, false]);
  assertEquals(q, [
    "wirken doctor --json",
    "wirken channel add|list",
    "wirken agents add research --model gpt-4o  # a comment",
    'wirken ask "hello there"  --agent research',
  ]);
  assertEquals(shellWords(q[2]), ["wirken", "agents", "add", "research", "--model", "gpt-4o"]);
  assertEquals(shellWords(q[3]), ["wirken", "ask", "hello there", "--agent", "research"]);
  assertEquals(relativeLinks(md).map((l) => l.target), ["vault.md#unlock"]);
  let threw = false;
  try {
    parse(rootCommand, shellWords("wirken agents add research --modle gpt-4o").slice(1));
  } catch {
    threw = true;
  }
  assert(threw, "a misspelled flag must not parse");
  assertEquals(slug("The `wirken run` banner"), "the-wirken-run-banner");
  assertEquals(
    expandOptional("wirken credentials list [--json]"),
    "wirken credentials list --json",
  );
  assert(isSynopsis("wirken channel add|list") && !isSynopsis("wirken run [--port N]"));
});

Deno.test("docs: `wirken --help` ends by pointing at docs/, and the issue's pages exist", async () => {
  const help = helpText([rootCommand]);
  assert(help.endsWith(`Documentation: ${DOCS_URL}`), help.slice(-200));
  assert(DOCS_URL.endsWith("/docs"));
  for (
    const page of [
      "getting-started",
      "cli",
      "configuration",
      "channels",
      "multi-agent",
      "skills",
      "mcp",
      "enterprise",
      "troubleshooting",
      "architecture",
      "migration",
    ]
  ) {
    const info = await Deno.stat(join(ROOT, "docs", `${page}.md`)).catch(() => null);
    assert(info?.isFile, `docs/${page}.md is missing`);
  }
});

Deno.test("docs: architecture.md names every folder of src/ (a new room needs its line)", async () => {
  const md = await Deno.readTextFile(join(ROOT, "docs", "architecture.md"));
  const missing: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, "src"))) {
    if (e.isDirectory && !md.includes(`[src/${e.name}/](../src/${e.name}/)`)) {
      missing.push(`src/${e.name}/`);
    }
  }
  assertEquals(missing, [], "add a row for each to the folder table in docs/architecture.md");
});
