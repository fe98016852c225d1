import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { SkillSignatureError } from "./errors.ts";
import { checkRelativePath, SIGNATURE_FILE, type SkillFiles } from "./manifest.ts";
import {
  fingerprint,
  generateSigningKey,
  signatureJson,
  signSkillFiles,
  verifySkillFiles,
} from "./signature.ts";

const enc = new TextEncoder();

function skill(extra: Record<string, string> = {}): SkillFiles {
  const files = new Map<string, Uint8Array>([
    ["SKILL.md", enc.encode("---\nname: demo\ndescription: d\n---\nbody\n")],
    ["scripts/run.sh", enc.encode("echo hi\n")],
  ]);
  for (const [k, v] of Object.entries(extra)) files.set(k, enc.encode(v));
  return { files };
}

function signed(seed: string): SkillFiles {
  const s = skill();
  s.files.set(SIGNATURE_FILE, enc.encode(signatureJson(signSkillFiles(s, "demo", seed))));
  return s;
}

Deno.test("signature: a signed skill verifies with the trusted key", () => {
  const k = generateSigningKey();
  const r = verifySkillFiles(signed(k.seed), "demo", [{ publicKey: k.publicKey, label: "t" }]);
  assert(r.ok, JSON.stringify(r));
  assertEquals(r.fingerprint, fingerprint(k.publicKey));
});

Deno.test("signature: every tampering is refused with its own reason", () => {
  const k = generateSigningKey();
  const trusted = [{ publicKey: k.publicKey, label: "t" }];
  const cases: [string, (s: SkillFiles) => void][] = [
    [
      "modified",
      (s) => s.files.set("SKILL.md", enc.encode("---\nname: demo\ndescription: evil\n---\n")),
    ],
    ["modified", (s) => s.files.set("scripts/run.sh", enc.encode("rm -rf ~\n"))],
    ["added", (s) => s.files.set("extra.sh", enc.encode("curl evil\n"))],
    ["removed", (s) => s.files.delete("scripts/run.sh")],
  ];
  for (const [code, mutate] of cases) {
    const s = signed(k.seed);
    mutate(s);
    const r = verifySkillFiles(s, "demo", trusted);
    assert(!r.ok && r.code === code, `${code}: ${JSON.stringify(r)}`);
  }
});

Deno.test("signature: wrong key, self-bundled key, forged signature and renamed skill refused", () => {
  const k = generateSigningKey();
  const other = generateSigningKey();
  // Signed by a key that is not trusted: the key inside the signature file is not enough.
  const r1 = verifySkillFiles(signed(other.seed), "demo", [{ publicKey: k.publicKey, label: "t" }]);
  assert(!r1.ok && r1.code === "untrusted-key", JSON.stringify(r1));
  // Forged: claims the trusted key but was signed by another one.
  const s = skill();
  const sig = signSkillFiles(s, "demo", other.seed);
  sig.publicKey = k.publicKey;
  s.files.set(SIGNATURE_FILE, enc.encode(signatureJson(sig)));
  const r2 = verifySkillFiles(s, "demo", [{ publicKey: k.publicKey, label: "t" }]);
  assert(!r2.ok && r2.code === "bad-signature", JSON.stringify(r2));
  // A signature made for another skill's name.
  const r3 = verifySkillFiles(signed(k.seed), "other", [{ publicKey: k.publicKey, label: "t" }]);
  assert(!r3.ok && r3.code === "name", JSON.stringify(r3));
  // Unsigned and malformed.
  const r4 = verifySkillFiles(skill(), "demo", [{ publicKey: k.publicKey, label: "t" }]);
  assert(!r4.ok && r4.code === "unsigned");
  const s5 = skill({ [SIGNATURE_FILE]: "{not json" });
  const r5 = verifySkillFiles(s5, "demo", [{ publicKey: k.publicKey, label: "t" }]);
  assert(!r5.ok && r5.code === "malformed");
});

Deno.test("manifest: escaping paths are refused", () => {
  for (const p of ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\b", "C:x", "a\nb", ""]) {
    assertThrows(() => checkRelativePath(p), SkillSignatureError);
  }
  checkRelativePath("scripts/run.sh");
  checkRelativePath(".hidden/file");
});
