/**
 * Loading skills: every skill folder under the bundled and installed roots is read, its
 * signature verified against the trusted keys, its SKILL.md parsed and its requirements
 * checked. Nothing is dropped silently: a skill that fails any step is listed as unavailable
 * with the reason.
 *
 * Progressive disclosure: the model is told only each available skill's name and description
 * ({@linkcode SkillCatalog.promptSection}); it reads a body on demand through
 * {@linkcode SkillCatalog.readInstructions}, which verifies the signature again, so a skill
 * edited on disk after start-up is refused at that moment too.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkEligibility, type EligibilityContext } from "./eligibility.ts";
import { SkillParseError, SkillSignatureError } from "./errors.ts";
import { readSkillFolder, type SkillFiles } from "./manifest.ts";
import {
  type ParsedSkill,
  parseSkillMd,
  SKILL_NAME_RE,
  type SkillInstallHint,
  type SkillRequirements,
} from "./parse.ts";
import { PROJECT_PUBLIC_KEY } from "./project_key.ts";
import { type TrustedKey, verifySkillFiles } from "./signature.ts";

/** Where a skill came from. Installed skills shadow bundled ones of the same name. */
export type SkillSource = "bundled" | "installed";

/** The signature verdict of one skill. */
export interface SkillSignatureStatus {
  /** `verified`; `unsigned-allowed` (listed in `skills.allowUnsigned`); `refused`. */
  status: "verified" | "unsigned-allowed" | "refused";
  /** Label of the trusted key that signed it. */
  publisher?: string;
  fingerprint?: string;
  /** Why it was refused or only allowed. */
  reason?: string;
}

/** One skill as listed: available or not, and why. */
export interface SkillEntry {
  name: string;
  description: string;
  source: SkillSource;
  dir: string;
  emoji?: string;
  available: boolean;
  /** Why it is unavailable (empty when available). */
  reasons: string[];
  signature: SkillSignatureStatus;
  requires: SkillRequirements;
  install: SkillInstallHint[];
  /** Ships `skill.wasm`, run by the Wasm sandbox. */
  wasm: boolean;
  /** Not announced to the model (`disable-model-invocation`). */
  hiddenFromModel: boolean;
}

/**
 * An organisation's limit on which skills load (its signed policy's registry allow-list): only
 * signatures by `allowedKeys` count, and no skill runs unsigned, whatever local config trusts.
 */
export interface SkillPolicy {
  /** base64 public keys still trusted: the project key and the allowed registries' keys. */
  allowedKeys: readonly string[];
  /** Appended to a refusal: who restricts skills and why. */
  refusal: string;
}

/** What loading needs; the gateway builds it from config. */
export interface LoadOptions {
  /** Keys whose signatures are accepted. */
  trusted: readonly TrustedKey[];
  /** Skill names the user explicitly allowed to run unsigned (audited at install). */
  allowUnsigned: readonly string[];
  eligibility: EligibilityContext;
  /** The org policy's limit, when this gateway follows one. */
  policy?: SkillPolicy;
}

/**
 * The keys and unsigned names that still count under `policy` (all of them without one), and
 * how to word a refusal.
 */
export function trustUnder(
  trusted: readonly TrustedKey[],
  allowUnsigned: readonly string[],
  policy: SkillPolicy | undefined,
): { trusted: TrustedKey[]; allowUnsigned: string[]; refused: (reason: string) => string } {
  if (!policy) {
    return { trusted: [...trusted], allowUnsigned: [...allowUnsigned], refused: (r) => r };
  }
  return {
    trusted: trusted.filter((k) => policy.allowedKeys.includes(k.publicKey)),
    allowUnsigned: [],
    refused: (r) => `${r}; ${policy.refusal}`,
  };
}

/** A skill root folder and what its skills count as. */
export interface SkillRoot {
  dir: string;
  source: SkillSource;
}

/** The bundled skills folder (`skills/` in the repository). */
export function bundledSkillsDir(): string {
  return fileURLToPath(new URL("../../skills/", import.meta.url));
}

/** The project key, trusted for every skill (bundled skills are signed with it). */
export function projectTrustedKey(): TrustedKey {
  return { publicKey: PROJECT_PUBLIC_KEY, label: "wirken project" };
}

/**
 * Builds the trusted key list from config values: the project key, the registry key and any
 * extra keys the user chose to trust.
 */
export function trustedKeysFrom(
  settings: { registry?: { url: string; publicKey: string }; trustedKeys?: readonly string[] },
): TrustedKey[] {
  const keys: TrustedKey[] = [projectTrustedKey()];
  if (settings.registry) {
    keys.push({
      publicKey: settings.registry.publicKey,
      label: `registry ${settings.registry.url}`,
    });
  }
  for (const k of settings.trustedKeys ?? []) keys.push({ publicKey: k, label: "trusted key" });
  return keys;
}

interface Verified {
  entry: SkillEntry;
  parsed?: ParsedSkill;
}

async function verifyAndParse(
  dir: string,
  source: SkillSource,
  options: LoadOptions,
): Promise<Verified> {
  const folderName = dir.split(/[\\/]/).filter(Boolean).pop() ?? dir;
  const base: SkillEntry = {
    name: folderName,
    description: "",
    source,
    dir,
    available: false,
    reasons: [],
    signature: { status: "refused" },
    requires: { bins: [], anyBins: [], env: [], config: [] },
    install: [],
    wasm: false,
    hiddenFromModel: false,
  };
  let files: SkillFiles;
  try {
    files = await readSkillFolder(dir);
  } catch (e) {
    base.reasons.push((e as Error).message);
    base.signature.reason = (e as Error).message;
    return { entry: base };
  }
  const md = files.files.get("SKILL.md");
  if (!md) {
    base.reasons.push("no SKILL.md in the folder");
    return { entry: base };
  }
  let parsed: ParsedSkill;
  try {
    parsed = parseSkillMd(new TextDecoder().decode(md), {
      file: join(dir, "SKILL.md"),
      fallbackName: folderName,
    });
  } catch (e) {
    if (!(e instanceof SkillParseError)) throw e;
    base.reasons.push(e.message);
    return { entry: base };
  }
  const entry: SkillEntry = {
    ...base,
    name: parsed.name,
    description: parsed.description,
    emoji: parsed.emoji,
    requires: parsed.requires,
    install: parsed.install,
    wasm: files.files.has("skill.wasm"),
    hiddenFromModel: parsed.disableModelInvocation,
  };
  const trust = trustUnder(options.trusted, options.allowUnsigned, options.policy);
  const verdict = verifySkillFiles(files, parsed.name, trust.trusted);
  if (verdict.ok) {
    entry.signature = {
      status: "verified",
      publisher: verdict.publisher.label,
      fingerprint: verdict.fingerprint,
    };
  } else if (trust.allowUnsigned.includes(parsed.name)) {
    entry.signature = {
      status: "unsigned-allowed",
      fingerprint: verdict.fingerprint,
      reason: verdict.reason,
    };
  } else {
    const reason = trust.refused(verdict.reason);
    entry.signature = { status: "refused", fingerprint: verdict.fingerprint, reason };
    entry.reasons.push(`signature refused: ${reason}`);
    return { entry };
  }
  const elig = checkEligibility(parsed, options.eligibility);
  entry.reasons.push(...elig.reasons);
  entry.available = entry.reasons.length === 0;
  return { entry, parsed };
}

/** Loads one skill folder into an entry (never throws for a bad skill; it lists the reason). */
export async function loadSkillDir(
  dir: string,
  source: SkillSource,
  options: LoadOptions,
): Promise<SkillEntry> {
  return (await verifyAndParse(dir, source, options)).entry;
}

/** Lists every skill folder under `roots`; later roots shadow earlier ones by name. */
export async function loadSkills(
  roots: readonly SkillRoot[],
  options: LoadOptions,
): Promise<SkillCatalog> {
  const byName = new Map<string, SkillEntry>();
  for (const root of roots) {
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(root.dir)) {
        // Hidden folders are install temp dirs and editor state, not skills.
        if (!e.name.startsWith(".") && (e.isDirectory || e.isSymlink)) names.push(e.name);
      }
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    names.sort();
    for (const n of names) {
      const entry = await loadSkillDir(join(root.dir, n), root.source, options);
      byName.set(entry.name, entry);
    }
  }
  return new SkillCatalog(
    [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
    options,
  );
}

/** The loaded skills, and on-demand access to their instructions. */
export class SkillCatalog {
  /** Every skill found, available or not. */
  readonly entries: readonly SkillEntry[];
  readonly #options: LoadOptions;

  /** Wraps loaded entries; `options` are reused to re-verify on every read. */
  constructor(entries: readonly SkillEntry[], options: LoadOptions) {
    this.entries = entries;
    this.#options = options;
  }

  /** The skills the model may use. */
  available(): SkillEntry[] {
    return this.entries.filter((e) => e.available);
  }

  /** An entry by name. */
  get(name: string): SkillEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  /**
   * The system-prompt section announcing available skills by name and description only, so a
   * hundred skills cost a hundred lines, not a hundred bodies. Empty when there are none.
   */
  promptSection(): string {
    const shown = this.available().filter((e) => !e.hiddenFromModel);
    if (shown.length === 0) return "";
    const lines = shown.map((e) =>
      `- ${e.name}: ${e.description.replace(/\s+/g, " ")}${e.wasm ? " (runs as a Wasm tool)" : ""}`
    );
    return [
      "## Skills",
      "Skills are instructions for specific tasks. When a request matches a skill, call the",
      "`skill_read` tool with its name to read its instructions before acting.",
      ...lines,
    ].join("\n");
  }

  /**
   * The Markdown instructions of an available skill, read and verified again now: a skill
   * changed on disk since start-up is refused here.
   */
  async readInstructions(name: string): Promise<{ name: string; dir: string; body: string }> {
    const entry = this.get(name);
    if (!entry || !SKILL_NAME_RE.test(name)) {
      throw new SkillSignatureError(`There is no skill named "${name}".`, {
        fix: `Available skills: ${this.available().map((e) => e.name).join(", ") || "none"}.`,
      });
    }
    if (!entry.available) {
      throw new SkillSignatureError(
        `The skill "${name}" is unavailable: ${entry.reasons.join("; ")}.`,
        {
          fix: "See `wirken skills list`.",
        },
      );
    }
    const again = await verifyAndParse(entry.dir, entry.source, this.#options);
    if (!again.parsed || !again.entry.available) {
      throw new SkillSignatureError(
        `The skill "${name}" is refused now: ${again.entry.reasons.join("; ")}.`,
        { fix: "Reinstall the skill (`wirken skills install`) or restore its files." },
      );
    }
    // {baseDir} is OpenClaw's placeholder for the skill's folder in instructions.
    return { name, dir: entry.dir, body: again.parsed.body.replaceAll("{baseDir}", entry.dir) };
  }

  /** The verified bytes of a file of an available skill (e.g. `skill.wasm`), re-checked now. */
  async readVerifiedFile(name: string, path: string): Promise<Uint8Array> {
    const entry = this.get(name);
    if (!entry?.available) {
      throw new SkillSignatureError(`The skill "${name}" is not available.`, {
        fix: "See `wirken skills list`.",
      });
    }
    const files = await readSkillFolder(entry.dir);
    const md = files.files.get("SKILL.md");
    const trust = trustUnder(
      this.#options.trusted,
      this.#options.allowUnsigned,
      this.#options.policy,
    );
    const verdict = md
      ? verifySkillFiles(files, entry.name, trust.trusted)
      : { ok: false as const, reason: "SKILL.md is gone" };
    if (!verdict.ok && !trust.allowUnsigned.includes(name)) {
      throw new SkillSignatureError(
        `The skill "${name}" is refused now: ${trust.refused(verdict.reason)}.`,
        { fix: "Reinstall the skill (`wirken skills install`) or restore its files." },
      );
    }
    const data = files.files.get(path);
    if (!data) {
      throw new SkillSignatureError(`The skill "${name}" has no file ${path}.`, {
        fix: "Reinstall the skill.",
      });
    }
    return data;
  }
}
