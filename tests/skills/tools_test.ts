/**
 * Skill tools: `skill_read` returns instructions (and refuses a skill edited since start-up),
 * `skill_run` runs the bundled calculator's skill.wasm in the real Wasm sandbox with fuel.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { WasmSandbox } from "../../src/sandbox/wasm/sandbox.ts";
import { bundledSkillsDir, loadSkills, projectTrustedKey } from "../../src/skills/load.ts";
import { SkillSignatureError } from "../../src/skills/errors.ts";
import { skillTools } from "../../src/skills/tools.ts";
import type { Tool, ToolContext } from "../../src/tools/types.ts";

const ctx: ToolContext = {
  agentId: "default",
  sessionId: "s",
  channel: "webchat",
  sender: "me",
  signal: new AbortController().signal,
};

async function bundledCatalog(dir = bundledSkillsDir()) {
  return await loadSkills([{ dir, source: "bundled" }], {
    trusted: [projectTrustedKey()],
    allowUnsigned: [],
    eligibility: { env: { get: () => "x" }, hasBin: () => true, os: "linux" },
  });
}

function tool(tools: Tool[], name: string): Tool {
  return tools.find((t) => t.name === name)!;
}

Deno.test("skill tools: skill_run computes with the calculator in the Wasm sandbox", async () => {
  const tools = skillTools(await bundledCatalog(), new WasmSandbox({ fuel: 50_000_000n }));
  const run = tool(tools, "skill_run");
  assertEquals(run.tier, 1);
  const input = run.inputSchema.parse({
    skill: "calculator",
    input: { expression: "6 * (3 + 4)" },
  });
  const r = await run.run(input, ctx);
  assertEquals(r.isError, undefined);
  assertEquals(JSON.parse(r.content), { result: 42 });
  const err = await run.run(
    run.inputSchema.parse({ skill: "calculator", input: { expression: "1/0" } }),
    ctx,
  );
  assertEquals(JSON.parse(err.content), { error: "division by zero" });
  const none = await run.run(run.inputSchema.parse({ skill: "weather", input: {} }), ctx);
  assert(none.isError);
  // Extra keys never reach run.
  assert(!run.inputSchema.safeParse({ skill: "calculator", input: {}, x: 1 }).success);
});

Deno.test("skill tools: skill_read gives instructions; a skill edited after loading is refused", async () => {
  const copy = await Deno.makeTempDir();
  try {
    for (const n of ["weather", "calculator"]) {
      await Deno.mkdir(join(copy, n));
      for (const e of Deno.readDirSync(join(bundledSkillsDir(), n))) {
        await Deno.copyFile(join(bundledSkillsDir(), n, e.name), join(copy, n, e.name));
      }
    }
    const catalog = await bundledCatalog(copy);
    const tools = skillTools(catalog, new WasmSandbox({ fuel: 50_000_000n }));
    const read = tool(tools, "skill_read");
    const r = await read.run(read.inputSchema.parse({ name: "weather" }), ctx);
    assertStringIncludes(r.content, "wttr.in");
    // Replace the calculator's module after start-up: skill_run must refuse it.
    const wasmPath = join(copy, "calculator", "skill.wasm");
    const bytes = await Deno.readFile(wasmPath);
    bytes[bytes.length - 1] ^= 1;
    await Deno.writeFile(wasmPath, bytes);
    const run = tool(tools, "skill_run");
    await assertRejects(
      () =>
        run.run(run.inputSchema.parse({ skill: "calculator", input: { expression: "1" } }), ctx),
      SkillSignatureError,
      "file changed after signing: skill.wasm",
    );
    await Deno.writeTextFile(
      join(copy, "weather", "SKILL.md"),
      "---\nname: weather\ndescription: x\n---\nevil\n",
    );
    await assertRejects(
      () => read.run(read.inputSchema.parse({ name: "weather" }), ctx),
      SkillSignatureError,
      "changed",
    );
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});

Deno.test("openSkills: bundled + installed, prompt section and tools for the gateway", async () => {
  const { openSkills } = await import("../../src/skills/service.ts");
  const { SkillsConfigSchema } = await import("../../src/config/schema.ts");
  const installed = await Deno.makeTempDir();
  try {
    const s = await openSkills({
      settings: SkillsConfigSchema.parse({}),
      installedDir: installed,
      env: { get: (n) => (n === "PATH" ? Deno.env.get("PATH") : undefined) },
      wasm: new WasmSandbox({ fuel: 50_000_000n }),
    });
    assertEquals(s.catalog.entries.length, 15);
    assertStringIncludes(s.promptSection, "- calculator: ");
    assertStringIncludes(s.promptSection, "skill_read");
    assertEquals(s.tools.map((t) => t.name), ["skill_read", "skill_run"]);
  } finally {
    await Deno.remove(installed, { recursive: true });
  }
});

Deno.test("skill tools: a runaway Wasm skill is stopped by fuel and reported", async () => {
  const { buildWat } = await import("../../src/skills/build_wasm.ts");
  const { signSkillFolder } = await import("../../src/skills/sign.ts");
  const { generateSigningKey } = await import("../../src/skills/signature.ts");
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "spin");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "SKILL.md"), "---\nname: spin\ndescription: Spins.\n---\n");
    await Deno.writeFile(
      join(dir, "skill.wasm"),
      buildWat(
        '(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))',
        "spin",
      ),
    );
    const key = generateSigningKey();
    await signSkillFolder(dir, key.seed);
    const catalog = await loadSkills([{ dir: root, source: "installed" }], {
      trusted: [{ publicKey: key.publicKey, label: "test" }],
      allowUnsigned: [],
      eligibility: { env: { get: () => undefined }, hasBin: () => true, os: "linux" },
    });
    const run = tool(skillTools(catalog, new WasmSandbox({ fuel: 1_000_000n })), "skill_run");
    const t0 = Date.now();
    const r = await run.run(run.inputSchema.parse({ skill: "spin", input: {} }), ctx);
    assert(r.isError);
    assertStringIncludes(r.content, "FUEL");
    assert(Date.now() - t0 < 8000, "fuel stopped it quickly");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
