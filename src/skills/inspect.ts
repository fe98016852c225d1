/**
 * `wirken skills inspect`: what wirken understood of one SKILL.md, as a plain JSON-able object.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { checkEligibility, type EligibilityContext } from "./eligibility.ts";
import { SkillParseError } from "./errors.ts";
import { parseSkillMd, type SkillInstallHint, type SkillRequirements } from "./parse.ts";

/** The report printed by `skills inspect`. */
export interface SkillInspection {
  file: string;
  name: string;
  description: string;
  homepage?: string;
  license?: string;
  emoji?: string;
  os: string[];
  primaryEnv?: string;
  requires: SkillRequirements;
  install: SkillInstallHint[];
  eligible: boolean;
  reasons: string[];
  unknownFields: string[];
  /** A `skill.wasm` sits beside SKILL.md. */
  wasm: boolean;
  bodyLines: number;
}

/** Reads a skill folder or a SKILL.md path; throws {@linkcode SkillParseError} on bad input. */
export async function inspectSkill(
  target: string,
  ctx: EligibilityContext,
): Promise<SkillInspection> {
  let file = target;
  try {
    if ((await Deno.stat(target)).isDirectory) file = join(target, "SKILL.md");
  } catch {
    throw new SkillParseError({ file: target }, "no such file or folder", "Check the path.");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new SkillParseError(
      { file },
      `cannot read: ${(e as Error).message}`,
      "A skill folder must contain a file named SKILL.md.",
    );
  }
  const dir = dirname(file);
  const parsed = parseSkillMd(text, { file, fallbackName: basename(dir) });
  const verdict = checkEligibility(parsed, ctx);
  let wasm = false;
  try {
    wasm = (await Deno.lstat(join(dir, "skill.wasm"))).isFile;
  } catch {
    wasm = false;
  }
  return {
    file,
    name: parsed.name,
    description: parsed.description,
    homepage: parsed.homepage,
    license: parsed.license,
    emoji: parsed.emoji,
    os: parsed.os,
    primaryEnv: parsed.primaryEnv,
    requires: parsed.requires,
    install: parsed.install,
    eligible: verdict.eligible,
    reasons: verdict.reasons,
    unknownFields: parsed.unknownFields,
    wasm,
    bodyLines: parsed.body.split("\n").length - 1,
  };
}
