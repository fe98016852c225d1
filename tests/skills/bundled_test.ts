/**
 * The 15 bundled skills: each parses, is signed by the project key, declares the binaries it
 * runs, references only tools that exist, and the Wasm calculator computes what it promises.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { buildWat } from "../../src/skills/build_wasm.ts";
import { bundledSkillsDir, loadSkills, projectTrustedKey } from "../../src/skills/load.ts";
import { parseSkillMd } from "../../src/skills/parse.ts";
import { pathBinLookup } from "../../src/skills/eligibility.ts";
import { runWasiStub } from "./wasi_stub.ts";

const NAMES = [
  "calculator",
  "csv-tools",
  "disk-usage",
  "docker",
  "file-search",
  "git",
  "github",
  "json-tools",
  "notes",
  "process-manager",
  "ssh",
  "system-info",
  "tmux",
  "weather",
  "web-fetch",
];

/** Built-in tool names (issue 9) plus the two skill tools; bodies may name only these. */
const KNOWN_TOOLS = new Set([
  "read_file",
  "write_file",
  "edit_file",
  "list_dir",
  "search_files",
  "web_search",
  "web_fetch",
  "exec",
  "skill_read",
  "skill_run",
]);

const dir = bundledSkillsDir();

Deno.test("bundled: exactly the 15 skills, each parsing with its folder's name", async () => {
  const found = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  assertEquals(found, NAMES);
  for (const n of NAMES) {
    const p = parseSkillMd(await Deno.readTextFile(join(dir, n, "SKILL.md")), { file: n });
    assertEquals(p.name, n);
    assert(p.description.length > 20, `${n}: description too short`);
    assert(p.emoji, `${n}: emoji`);
    assertEquals(p.license, "MIT");
    assertEquals(p.unknownFields, []);
  }
});

Deno.test("bundled: every skill is signed by the project key and loads", async () => {
  const catalog = await loadSkills([{ dir, source: "bundled" }], {
    trusted: [projectTrustedKey()],
    allowUnsigned: [],
    eligibility: { env: { get: () => "set" }, hasBin: () => true, os: "linux" },
  });
  assertEquals(catalog.entries.length, 15);
  for (const e of catalog.entries) {
    assertEquals(e.signature.status, "verified", `${e.name}: ${e.signature.reason}`);
    assertEquals(e.signature.publisher, "wirken project");
    assert(e.available, `${e.name}: ${e.reasons.join("; ")}`);
  }
  const prompt = catalog.promptSection();
  for (const n of NAMES) assertStringIncludes(prompt, `- ${n}: `);
  const body = await catalog.readInstructions("weather");
  assertStringIncludes(body.body, "wttr.in");
});

Deno.test("bundled: bodies name only existing tools, and declared binaries are used", async () => {
  for (const n of NAMES) {
    const p = parseSkillMd(await Deno.readTextFile(join(dir, n, "SKILL.md")), { file: n });
    // "`x` tool" is how bodies name a tool; every such name must exist.
    const toolRefs = [...p.body.matchAll(/`([a-z_]+)` tool/g)].map((m) => m[1]);
    for (const t of toolRefs) assert(KNOWN_TOOLS.has(t), `${n}: unknown tool \`${t}\``);
    const named = [...p.body.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    assert(named.some((t) => KNOWN_TOOLS.has(t)), `${n}: names no tool`);
    for (const bin of p.requires.bins) assertStringIncludes(p.body, bin, `${n}: declares ${bin}`);
    // A skill that runs commands through exec declares the binaries (or uses POSIX basics).
    if (named.includes("exec") && !["file-search", "calculator", "system-info"].includes(n)) {
      assert(p.requires.bins.length > 0, `${n}: uses exec but declares no binaries`);
    }
  }
});

Deno.test("bundled: calculator skill.wasm is built from calculator.wat and computes", async () => {
  const wat = await Deno.readTextFile(join(dir, "calculator", "calculator.wat"));
  const built = buildWat(wat, "calculator.wat");
  const committed = await Deno.readFile(join(dir, "calculator", "skill.wasm"));
  assertEquals([...committed], [...built], "skill.wasm is stale: run src/skills/build_wasm.ts");
  const cases: [string, string][] = [
    ["(17 + 3) * -4 % 7", '{"result":-3}'],
    ["1 + 2 * 3", '{"result":7}'],
    ["7 / -2", '{"result":-3}'],
    ["10 / (5 - 5)", '{"error":"division by zero"}'],
    ["9223372036854775807 + 1", '{"error":"overflow"}'],
    ["2 * (3", '{"error":"syntax error"}'],
    ["99999999999999999999", '{"error":"number too large"}'],
  ];
  for (const [expr, want] of cases) {
    assertEquals((await runWasiStub(committed, JSON.stringify({ expression: expr }))).trim(), want);
  }
  assertEquals(
    (await runWasiStub(committed, '{"x": 1}')).trim(),
    '{"error":"no expression in the input"}',
  );
});

Deno.test("bundled: json-tools and csv-tools commands work as written", async (t) => {
  const has = pathBinLookup();
  const work = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(work, "d.json"),
      '[{"id":1,"name":"a","status":"failed"},{"id":2,"name":"b","status":"ok"}]',
    );
    await Deno.writeTextFile(join(work, "d.csv"), 'name,amount\n"x, y",3\nz,4\n');
    await t.step({
      name: "jq to CSV",
      ignore: !has("jq"),
      fn: async () => {
        const out = await new Deno.Command("jq", {
          args: ["-r", ".[] | [.id, .name] | @csv", join(work, "d.json")],
        }).output();
        assertEquals(new TextDecoder().decode(out.stdout), '1,"a"\n2,"b"\n');
      },
    });
    await t.step({
      name: "python csv columns and rows",
      ignore: !has("python3"),
      fn: async () => {
        const body = await Deno.readTextFile(join(dir, "csv-tools", "SKILL.md"));
        const cmd = /`(python3 -c "[^`]+")/.exec(body)![1].replace(/^python3 -c /, "");
        const code = JSON.parse(cmd) as string;
        const out = await new Deno.Command("python3", {
          args: ["-c", code, join(work, "d.csv")],
        }).output();
        assertEquals(new TextDecoder().decode(out.stdout).trim(), "['name', 'amount'] 2");
      },
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
