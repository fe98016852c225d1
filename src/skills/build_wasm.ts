/**
 * Builds every bundled Wasm skill from its WebAssembly text: `skills/<name>/<name>.wat` ->
 * `skills/<name>/skill.wasm`, with binaryen (an npm package, so no other toolchain is needed).
 *
 *   deno run --allow-read --allow-write src/skills/build_wasm.ts          # build
 *   deno run --allow-read src/skills/build_wasm.ts --check                # fail if out of date
 *
 * The output is deterministic (no optimizer, no names section), so `--check` and the tests
 * can prove the committed skill.wasm is the one this source builds. After building, re-sign
 * the bundled skills (src/skills/sign_bundled.ts).
 *
 * @module
 */
import binaryen from "binaryen";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Compiles WebAssembly text to a validated binary module (MVP features only). */
export function buildWat(text: string, file: string): Uint8Array {
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals);
    if (!mod.validate()) throw new Error(`${file}: the module does not validate`);
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/** `[wat path, wasm path]` of every bundled Wasm skill. */
export function wasmSkillSources(skillsDir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const e of Deno.readDirSync(skillsDir)) {
    if (!e.isDirectory) continue;
    const wat = join(skillsDir, e.name, `${e.name}.wat`);
    try {
      Deno.statSync(wat);
    } catch {
      continue;
    }
    out.push([wat, join(skillsDir, e.name, "skill.wasm")]);
  }
  return out.sort();
}

if (import.meta.main) {
  const dir = fileURLToPath(new URL("../../skills/", import.meta.url));
  const check = Deno.args.includes("--check");
  let stale = 0;
  for (const [wat, wasm] of wasmSkillSources(dir)) {
    const bytes = buildWat(Deno.readTextFileSync(wat), wat);
    let current: Uint8Array | undefined;
    try {
      current = Deno.readFileSync(wasm);
    } catch {
      current = undefined;
    }
    const same = current !== undefined && current.length === bytes.length &&
      current.every((b, i) => b === bytes[i]);
    if (same) continue;
    if (check) {
      stale++;
      Deno.stderr.writeSync(new TextEncoder().encode(`stale: ${wasm}\n`));
    } else {
      Deno.writeFileSync(wasm, bytes);
      Deno.stdout.writeSync(new TextEncoder().encode(`built ${wasm} (${bytes.length} bytes)\n`));
    }
  }
  if (stale) Deno.exit(1);
}
