import { join } from "node:path";
import { assert, assertEquals } from "../../tests/assert.ts";
import { checkEligibility, pathBinLookup } from "./eligibility.ts";
import { parseSkillMd } from "./parse.ts";

function skill(meta: string) {
  return parseSkillMd(`---\nname: x\ndescription: d\nmetadata: ${meta}\n---\n`, { file: "x" });
}

Deno.test("eligibility: every missing requirement is a reason", () => {
  const s = skill(
    '{openclaw: {os: ["darwin"], primaryEnv: "KEY", requires: {bins: ["a", "b"], anyBins: ["c", "d"], env: ["E"], config: ["x.y"]}}}',
  );
  const v = checkEligibility(s, {
    env: { get: (n) => (n === "E" ? "1" : undefined) },
    hasBin: (b) => b === "a",
    os: "linux",
    configHas: () => false,
  });
  assert(!v.eligible);
  assertEquals(v.reasons, [
    "missing binary: b",
    "missing binary: one of c, d",
    "missing environment variable: KEY",
    "missing config: x.y",
    "not supported on linux (only darwin)",
  ]);
  const ok = checkEligibility(s, {
    env: { get: () => "v" },
    hasBin: (b) => b !== "c",
    os: "darwin",
    configHas: () => true,
  });
  assert(ok.eligible, ok.reasons.join());
});

Deno.test("eligibility: PATH lookup finds executables only, never paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(join(dir, "plain"), "x", { mode: 0o644 });
    const has = pathBinLookup({ get: (n) => (n === "PATH" ? `/nonexistent:${dir}` : undefined) });
    assert(has("tool"));
    assert(!has("plain"));
    assert(!has("missing"));
    assert(!has(join(dir, "tool")), "a path is not a PATH lookup");
    assert(!has(""));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
