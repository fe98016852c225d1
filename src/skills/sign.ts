/**
 * Signing and verifying a skill folder on disk (the pure parts are in `signature.ts`).
 *
 * @module
 */
import { basename, join } from "node:path";
import { writeFileAtomic } from "../config/paths.ts";
import { SkillSignatureError } from "./errors.ts";
import { readSkillFolder, SIGNATURE_FILE } from "./manifest.ts";
import { parseSkillMd } from "./parse.ts";
import {
  signatureJson,
  signSkillFiles,
  type SkillSignature,
  type TrustedKey,
  type VerifyResult,
  verifySkillFiles,
} from "./signature.ts";

/** Reads, parses (the name comes from SKILL.md) and signs `dir`, writing its signature file. */
export async function signSkillFolder(dir: string, seedB64: string): Promise<SkillSignature> {
  const files = await readSkillFolder(dir);
  const md = files.files.get("SKILL.md");
  if (!md) {
    throw new SkillSignatureError(`${dir} has no SKILL.md.`, {
      fix: "A skill folder must contain SKILL.md.",
    });
  }
  // Parsing first means a broken SKILL.md is never signed.
  const parsed = parseSkillMd(new TextDecoder().decode(md), {
    file: join(dir, "SKILL.md"),
    fallbackName: basename(dir),
  });
  const sig = signSkillFiles(files, parsed.name, seedB64);
  await writeFileAtomic(join(dir, SIGNATURE_FILE), signatureJson(sig));
  // Signature files are public; 0644 lets a shared skills folder be read by others.
  await Deno.chmod(join(dir, SIGNATURE_FILE), 0o644).catch(() => {});
  return sig;
}

/** Verifies the folder `dir` against `trusted`; `name` defaults to the one in SKILL.md. */
export async function verifySkillFolder(
  dir: string,
  trusted: readonly TrustedKey[],
): Promise<VerifyResult & { name: string }> {
  const files = await readSkillFolder(dir);
  const md = files.files.get("SKILL.md");
  if (!md) {
    return { ok: false, code: "malformed", reason: "no SKILL.md", name: basename(dir) };
  }
  const parsed = parseSkillMd(new TextDecoder().decode(md), {
    file: join(dir, "SKILL.md"),
    fallbackName: basename(dir),
  });
  return { ...verifySkillFiles(files, parsed.name, trusted), name: parsed.name };
}
