/**
 * Signs every bundled skill with the project key, as part of the build:
 *
 *   WIRKEN_PROJECT_SKILL_KEY=<base64 seed> deno run --allow-read --allow-write --allow-env src/skills/sign_bundled.ts
 *   deno run --allow-read src/skills/sign_bundled.ts --check      # verify them against PROJECT_PUBLIC_KEY
 *
 * The seed is the private half of `src/skills/project_key.ts`; it is never committed. Run
 * `src/skills/build_wasm.ts` first: the signature covers skill.wasm too. A bundled skill changed
 * without re-signing is refused at load (and the bundled-skills test fails).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { projectTrustedKey } from "./load.ts";
import { signSkillFolder, verifySkillFolder } from "./sign.ts";
import { publicKeyOfSeed } from "./signature.ts";

const dir = fileURLToPath(new URL("../../skills/", import.meta.url));
const say = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
const names = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name).sort();

if (Deno.args.includes("--check")) {
  let bad = 0;
  for (const n of names) {
    const r = await verifySkillFolder(join(dir, n), [projectTrustedKey()]);
    if (!r.ok) {
      bad++;
      say(`${n}: ${r.reason}`);
    }
  }
  say(bad ? `${bad} bundled skill(s) not signed by the project key` : `${names.length} verified`);
  Deno.exit(bad ? 1 : 0);
}

const seed = Deno.env.get("WIRKEN_PROJECT_SKILL_KEY");
if (!seed) {
  say("Set WIRKEN_PROJECT_SKILL_KEY to the project's base64 Ed25519 seed.");
  Deno.exit(2);
}
if (publicKeyOfSeed(seed) !== projectTrustedKey().publicKey) {
  say("WIRKEN_PROJECT_SKILL_KEY is not the private half of src/skills/project_key.ts.");
  Deno.exit(2);
}
for (const n of names) {
  await signSkillFolder(join(dir, n), seed);
  say(`signed ${n}`);
}
