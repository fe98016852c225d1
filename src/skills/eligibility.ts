/**
 * Whether a skill can work here: its required binaries on PATH, env vars set, config keys
 * truthy and OS supported. A skill that fails is listed as unavailable with every reason, never
 * silently dropped, so a user sees what to install.
 *
 * @module
 */
import { delimiter, join } from "node:path";
import type { ParsedSkill } from "./parse.ts";

/** What eligibility is checked against; tests pass fakes. */
export interface EligibilityContext {
  /** Environment lookup. */
  env: { get(name: string): string | undefined };
  /** True when `bin` is an executable on PATH. */
  hasBin(bin: string): boolean;
  /** OpenClaw's OS name: `linux`, `darwin` or `win32`. */
  os: string;
  /** True when the dotted config path is truthy; absent: every config requirement fails. */
  configHas?(path: string): boolean;
}

/** The verdict, with what is missing. */
export interface Eligibility {
  eligible: boolean;
  /** One human sentence per problem, e.g. `missing binary: gh`. */
  reasons: string[];
  missing: { bins: string[]; anyBins: string[]; env: string[]; config: string[]; os?: string };
}

/** Checks `skill` against `ctx`. */
export function checkEligibility(skill: ParsedSkill, ctx: EligibilityContext): Eligibility {
  const reasons: string[] = [];
  const bins = skill.requires.bins.filter((b) => !ctx.hasBin(b));
  for (const b of bins) reasons.push(`missing binary: ${b}`);
  const anyBins = skill.requires.anyBins.length > 0 &&
      !skill.requires.anyBins.some((b) => ctx.hasBin(b))
    ? [...skill.requires.anyBins]
    : [];
  if (anyBins.length) reasons.push(`missing binary: one of ${anyBins.join(", ")}`);
  const wantedEnv = [...skill.requires.env];
  if (skill.primaryEnv && !wantedEnv.includes(skill.primaryEnv)) wantedEnv.push(skill.primaryEnv);
  const env = wantedEnv.filter((e) => !(ctx.env.get(e) ?? "").trim());
  for (const e of env) reasons.push(`missing environment variable: ${e}`);
  const config = skill.requires.config.filter((c) => !(ctx.configHas?.(c) ?? false));
  for (const c of config) reasons.push(`missing config: ${c}`);
  let os: string | undefined;
  if (skill.os.length > 0 && !skill.os.includes(ctx.os)) {
    os = ctx.os;
    reasons.push(`not supported on ${ctx.os} (only ${skill.os.join(", ")})`);
  }
  return { eligible: reasons.length === 0, reasons, missing: { bins, anyBins, env, config, os } };
}

/** OpenClaw's name for the running OS. */
export function currentOs(): string {
  return Deno.build.os === "windows" ? "win32" : Deno.build.os;
}

/**
 * A PATH lookup: a regular file with an execute bit in some PATH directory. Results are cached
 * per instance because listing 100 skills asks about the same binaries many times.
 */
export function pathBinLookup(
  env: { get(name: string): string | undefined } = Deno.env,
): (bin: string) => boolean {
  const dirs = (env.get("PATH") ?? "").split(delimiter).filter((d) => d !== "");
  const cache = new Map<string, boolean>();
  return (bin: string) => {
    const hit = cache.get(bin);
    if (hit !== undefined) return hit;
    // A name with a separator is not a PATH lookup; refuse rather than probe arbitrary paths.
    let found = false;
    if (!/[\/\\]/.test(bin) && bin !== "") {
      for (const dir of dirs) {
        try {
          const info = Deno.statSync(join(dir, bin));
          if (info.isFile && (info.mode === null || (info.mode & 0o111) !== 0)) {
            found = true;
            break;
          }
        } catch {
          // not in this directory
        }
      }
    }
    cache.set(bin, found);
    return found;
  };
}

/** The default context: the real environment, PATH and OS. */
export function defaultEligibilityContext(
  configHas?: (path: string) => boolean,
): EligibilityContext {
  return { env: Deno.env, hasBin: pathBinLookup(), os: currentOs(), configHas };
}
