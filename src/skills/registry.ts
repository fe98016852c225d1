/**
 * The skill registry client and installer.
 *
 * A registry is an index (`index.json` at an HTTPS URL or in a local folder) listing skills
 * and where their bundles are. A bundle is one JSON file holding every file of a skill folder,
 * the `.wirken-signature.json` included. The registry's Ed25519 public key comes from config,
 * never from the index or the bundle.
 *
 * Installing verifies everything in memory before writing a byte: bundle hash against the
 * index, every path (no `..`, absolute paths or control characters), the signature over every
 * file against the trusted keys. Then it asks for approval (tier 3: every time) showing the
 * required binaries and env vars and the publisher's key fingerprint, records `skill.install`
 * in the audit log, and only then writes the folder atomically (temp folder + rename).
 *
 * @module
 */
import { join, resolve } from "node:path";
import { z } from "zod";
import type { AuditSink } from "../audit/types.ts";
import { DIR_MODE, FILE_MODE } from "../config/paths.ts";
import { requireSecureUrl } from "../net/secure_url.ts";
import { readCapped } from "../net/read_capped.ts";
import { checkEligibility, type EligibilityContext } from "./eligibility.ts";
import { SkillRegistryError, SkillSignatureError } from "./errors.ts";
import {
  checkRelativePath,
  MANIFEST_LIMITS,
  readSkillFolder,
  sha256Hex,
  type SkillFiles,
} from "./manifest.ts";
import { parseSkillMd, SKILL_NAME_RE, type SkillInstallHint } from "./parse.ts";
import { type SkillPolicy, trustUnder } from "./load.ts";
import { fromBase64, toBase64, type TrustedKey, verifySkillFiles } from "./signature.ts";

/** Format tag of a registry index. */
export const INDEX_FORMAT = "wirken-skill-registry/1";
/** Format tag of a skill bundle. */
export const BUNDLE_FORMAT = "wirken-skill-bundle/1";

/** Largest index or bundle fetched (bytes): base64 of the manifest limit, plus room. */
const MAX_DOWNLOAD = Math.ceil(MANIFEST_LIMITS.maxTotalBytes * 1.4) + 1024 * 1024;

/** One skill in a registry index. */
export const RegistryEntrySchema = z.looseObject({
  name: z.string().regex(SKILL_NAME_RE),
  description: z.string().default(""),
  version: z.string().min(1).max(64).default("0.0.0"),
  /** Bundle path relative to the index. */
  bundle: z.string().min(1).max(255),
  /** SHA-256 (hex) of the bundle file. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** A registry index. */
export const RegistryIndexSchema = z.looseObject({
  format: z.literal(INDEX_FORMAT),
  name: z.string().optional(),
  skills: z.array(RegistryEntrySchema).max(10_000),
});

/** A skill bundle: the files of one skill folder. */
export const BundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  name: z.string().regex(SKILL_NAME_RE),
  version: z.string().min(1).max(64).default("0.0.0"),
  files: z.array(z.strictObject({ path: z.string().min(1).max(255), data: z.string() }))
    .max(MANIFEST_LIMITS.maxFiles),
});

/** A registry entry, validated. */
export type RegistryEntry = z.infer<typeof RegistryEntrySchema>;
/** A registry index, validated. */
export type RegistryIndex = z.infer<typeof RegistryIndexSchema>;

/** The registry settings from config. */
export interface RegistrySettings {
  /** HTTPS URL of the index's folder (or of `index.json`), or a local folder. */
  url: string;
  publicKey: string;
}

/** What the approval prompt shows before an install. */
export interface InstallRequest {
  name: string;
  version: string;
  description: string;
  /** Where it comes from: `registry <url>` or a folder path. */
  source: string;
  /** Fingerprint of the signing key, when signed. */
  publisherFingerprint?: string;
  /** Label of the trusted key that signed it. */
  publisher?: string;
  /** Installing without a valid signature (explicit `--allow-unsigned`). */
  unsigned: boolean;
  /** Why the signature check failed, when `unsigned`. */
  signatureProblem?: string;
  requires: { bins: string[]; anyBins: string[]; env: string[]; config: string[] };
  /** What is missing on this machine right now. */
  missing: string[];
  install: SkillInstallHint[];
  files: number;
  bytes: number;
  /** It replaces an installed skill of the same name. */
  replaces: boolean;
  /** Always 3: skill installs ask every time. */
  tier: 3;
}

/** What installing needs. */
export interface InstallOptions {
  /** `<data dir>/skills`. */
  skillsDir: string;
  trusted: readonly TrustedKey[];
  /** Asks the user (tier 3); false cancels without writing anything. */
  approve(request: InstallRequest): Promise<boolean>;
  audit?: AuditSink;
  /** Recorded as the audit actor (`cli`, a sender id). */
  actor: string;
  /** Install even though the signature does not verify (recorded as such). */
  allowUnsigned?: boolean;
  /** Replace an installed skill of the same name. */
  replace?: boolean;
  eligibility: EligibilityContext;
  /** The org policy's registry allow-list: only its keys count, and nothing installs unsigned. */
  policy?: SkillPolicy;
}

/** The result of an install. */
export interface InstallResult {
  name: string;
  dir: string;
  version: string;
  unsigned: boolean;
  publisherFingerprint?: string;
}

/** Reads a registry index (HTTPS or local folder). */
export async function fetchIndex(settings: RegistrySettings): Promise<RegistryIndex> {
  const { text, where } = await readLocation(settings.url, "index.json");
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(text));
  } catch (e) {
    throw new SkillRegistryError(
      `The registry index at ${where} is not JSON: ${(e as Error).message}`,
      {
        fix: "Check skills.registry.url points at a wirken skill registry.",
      },
    );
  }
  const parsed = RegistryIndexSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new SkillRegistryError(
      `The registry index at ${where} is invalid at ${i.path.join(".") || "(top)"}: ${i.message}`,
      { fix: "Check skills.registry.url points at a wirken skill registry." },
    );
  }
  return parsed.data;
}

/** Skills whose name or description contains every word of `query` (case-insensitive). */
export async function searchRegistry(
  settings: RegistrySettings,
  query: string,
): Promise<RegistryEntry[]> {
  const index = await fetchIndex(settings);
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return index.skills.filter((s) => {
    const hay = `${s.name} ${s.description}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** Downloads a skill's bundle, checks its hash and paths, and returns its files in memory. */
export async function fetchBundle(
  settings: RegistrySettings,
  name: string,
): Promise<{ entry: RegistryEntry; files: SkillFiles }> {
  const index = await fetchIndex(settings);
  const entry = index.skills.find((s) => s.name === name);
  if (!entry) {
    throw new SkillRegistryError(`The registry has no skill named "${name}".`, {
      fix: "Search with `wirken skills search <words>`.",
    });
  }
  checkRelativePath(entry.bundle);
  const { text, where } = await readLocation(settings.url, entry.bundle);
  if (sha256Hex(text) !== entry.sha256) {
    throw new SkillSignatureError(`The bundle ${where} does not match the hash in the index.`, {
      fix: "The download was altered or the registry is inconsistent; nothing was installed.",
    });
  }
  const files = parseBundle(text, where, name);
  return { entry, files };
}

/** Parses and checks a bundle's bytes (paths, duplicates, size); `name` must match. */
export function parseBundle(bytes: Uint8Array, where: string, name: string): SkillFiles {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SkillRegistryError(`The bundle ${where} is not JSON.`, {
      fix: "Nothing was installed.",
    });
  }
  const parsed = BundleSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new SkillRegistryError(
      `The bundle ${where} is invalid at ${i.path.join(".") || "(top)"}: ${i.message}`,
      { fix: "Nothing was installed." },
    );
  }
  if (parsed.data.name !== name) {
    throw new SkillSignatureError(
      `The bundle ${where} holds "${parsed.data.name}", not "${name}".`,
      {
        fix: "Nothing was installed.",
      },
    );
  }
  const files = new Map<string, Uint8Array>();
  let total = 0;
  for (const f of parsed.data.files) {
    checkRelativePath(f.path);
    if (files.has(f.path)) {
      throw new SkillSignatureError(`The bundle ${where} lists ${f.path} twice.`, {
        fix: "Nothing was installed.",
      });
    }
    let data: Uint8Array;
    try {
      data = fromBase64(f.data);
    } catch {
      throw new SkillRegistryError(`The bundle ${where} has bad base64 for ${f.path}.`, {
        fix: "Nothing was installed.",
      });
    }
    total += data.length;
    if (total > MANIFEST_LIMITS.maxTotalBytes) {
      throw new SkillSignatureError(`The bundle ${where} is too large.`, {
        fix: "Nothing was installed.",
      });
    }
    files.set(f.path, data);
  }
  // A file and a folder of the same name cannot both exist on disk.
  for (const p of files.keys()) {
    const parts = p.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (files.has(parts.slice(0, i).join("/"))) {
        throw new SkillSignatureError(
          `The bundle ${where} uses ${parts.slice(0, i).join("/")} as file and folder.`,
          {
            fix: "Nothing was installed.",
          },
        );
      }
    }
  }
  return { files };
}

/** Packs a skill folder into a bundle (for publishing to a registry). */
export async function bundleSkillFolder(dir: string, version = "0.0.0"): Promise<string> {
  const files = await readSkillFolder(dir);
  const md = files.files.get("SKILL.md");
  if (!md) throw new SkillRegistryError(`${dir} has no SKILL.md.`, { fix: "Add one." });
  const parsed = parseSkillMd(new TextDecoder().decode(md), { file: join(dir, "SKILL.md") });
  const list = [...files.files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([path, data]) => ({ path, data: toBase64(data) }));
  return JSON.stringify({ format: BUNDLE_FORMAT, name: parsed.name, version, files: list }) + "\n";
}

/**
 * Publishes a signed skill folder into a registry folder: writes its bundle and adds (or
 * replaces) its entry in `index.json`. The folder can then be served over HTTPS as is.
 */
export async function publishToFolder(
  registryDir: string,
  skillDir: string,
  version: string,
): Promise<RegistryEntry> {
  const bundle = new TextEncoder().encode(await bundleSkillFolder(skillDir, version));
  const parsed = BundleSchema.parse(JSON.parse(new TextDecoder().decode(bundle)));
  const md = parsed.files.find((f) => f.path === "SKILL.md")!;
  const skill = parseSkillMd(new TextDecoder().decode(fromBase64(md.data)), {
    file: join(skillDir, "SKILL.md"),
  });
  if (!parsed.files.some((f) => f.path === ".wirken-signature.json")) {
    throw new SkillRegistryError(`${skillDir} is not signed.`, {
      fix: "Sign it first (`wirken skills sign`) with the key the registry publishes.",
    });
  }
  const file = `${parsed.name}-${version.replace(/[^A-Za-z0-9._-]/g, "_")}.json`;
  await Deno.mkdir(registryDir, { recursive: true });
  await Deno.writeFile(join(registryDir, file), bundle);
  let index: RegistryIndex = { format: INDEX_FORMAT, skills: [] };
  const indexPath = join(registryDir, "index.json");
  try {
    index = RegistryIndexSchema.parse(JSON.parse(await Deno.readTextFile(indexPath)));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new SkillRegistryError(`${indexPath} is not a registry index.`, {
        fix: "Point at an empty folder or an existing registry.",
      });
    }
  }
  const entry: RegistryEntry = {
    name: parsed.name,
    description: skill.description,
    version,
    bundle: file,
    sha256: sha256Hex(bundle),
  };
  index.skills = [...index.skills.filter((e) => e.name !== parsed.name), entry]
    .sort((a, b) => a.name.localeCompare(b.name));
  await Deno.writeTextFile(indexPath, JSON.stringify(index, null, 2) + "\n");
  return entry;
}

/** Installs a skill from the registry: verify, approve, audit, write. */
export function installFromRegistry(
  settings: RegistrySettings,
  name: string,
  options: InstallOptions,
): Promise<InstallResult> {
  return fetchBundle(settings, name).then(({ entry, files }) =>
    installSkillFiles(
      files,
      { source: `registry ${settings.url}`, version: entry.version },
      options,
    )
  );
}

/** Installs a skill from a local folder (symlinks and escapes refused while reading). */
export async function installFromFolder(
  dir: string,
  options: InstallOptions,
): Promise<InstallResult> {
  const files = await readSkillFolder(dir);
  return installSkillFiles(files, { source: resolve(dir), version: "local" }, options);
}

/** The shared install path for in-memory files. Writes nothing unless every check passes. */
export async function installSkillFiles(
  skill: SkillFiles,
  origin: { source: string; version: string },
  options: InstallOptions,
): Promise<InstallResult> {
  const md = skill.files.get("SKILL.md");
  if (!md) {
    throw new SkillSignatureError(`The skill from ${origin.source} has no SKILL.md.`, {
      fix: "Nothing was installed.",
    });
  }
  const parsed = parseSkillMd(new TextDecoder().decode(md), { file: `${origin.source}/SKILL.md` });
  const trust = trustUnder(options.trusted, [], options.policy);
  const verdict = verifySkillFiles(skill, parsed.name, trust.trusted);
  if (!verdict.ok && options.policy) {
    throw new SkillSignatureError(
      `Refusing to install "${parsed.name}": ${trust.refused(verdict.reason)}.`,
      { fix: "Nothing was installed. Install it from a registry your organisation allows." },
    );
  }
  if (!verdict.ok && !options.allowUnsigned) {
    throw new SkillSignatureError(`Refusing to install "${parsed.name}": ${verdict.reason}.`, {
      fix: verdict.code === "untrusted-key"
        ? "Install only from your configured registry, or trust the publisher's key in skills.trustedKeys."
        : "Nothing was installed. Get the skill again from its publisher.",
    });
  }
  const dest = join(options.skillsDir, parsed.name);
  const exists = await Deno.lstat(dest).then(() => true, () => false);
  if (exists && !options.replace) {
    throw new SkillRegistryError(`A skill named "${parsed.name}" is already installed.`, {
      fix: `Remove it first (\`wirken skills remove ${parsed.name}\`) or pass --replace.`,
    });
  }
  const elig = checkEligibility(parsed, options.eligibility);
  const request: InstallRequest = {
    name: parsed.name,
    version: origin.version,
    description: parsed.description,
    source: origin.source,
    publisherFingerprint: verdict.ok ? verdict.fingerprint : verdict.fingerprint,
    publisher: verdict.ok ? verdict.publisher.label : undefined,
    unsigned: !verdict.ok,
    signatureProblem: verdict.ok ? undefined : verdict.reason,
    requires: {
      bins: parsed.requires.bins,
      anyBins: parsed.requires.anyBins,
      env: [...parsed.requires.env, ...(parsed.primaryEnv ? [parsed.primaryEnv] : [])],
      config: parsed.requires.config,
    },
    missing: elig.reasons,
    install: parsed.install,
    files: skill.files.size,
    bytes: [...skill.files.values()].reduce((n, d) => n + d.length, 0),
    replaces: exists,
    tier: 3,
  };
  const approved = await options.approve(request);
  const payload = {
    name: request.name,
    version: request.version,
    source: request.source,
    publisher: request.publisher ?? null,
    fingerprint: request.publisherFingerprint ?? null,
    unsigned: request.unsigned,
    signatureProblem: request.signatureProblem ?? null,
    files: request.files,
    replaces: request.replaces,
    approved,
  };
  // Audited before anything is written, approved or not.
  await options.audit?.append({ kind: "skill.install", actor: options.actor, payload });
  if (!approved) {
    throw new SkillRegistryError(`Installing "${parsed.name}" was not approved.`, {
      fix: "Nothing was installed.",
      exitCode: 1,
    });
  }
  await Deno.mkdir(options.skillsDir, { recursive: true, mode: DIR_MODE });
  const tmp = join(options.skillsDir, `.install-${crypto.randomUUID()}`);
  try {
    await Deno.mkdir(tmp, { mode: DIR_MODE });
    for (const [path, data] of skill.files) {
      const target = join(tmp, ...path.split("/"));
      await Deno.mkdir(join(target, ".."), { recursive: true, mode: DIR_MODE });
      await Deno.writeFile(target, data, { createNew: true, mode: FILE_MODE });
    }
    if (exists) {
      const old = join(options.skillsDir, `.old-${crypto.randomUUID()}`);
      await Deno.rename(dest, old);
      await Deno.rename(tmp, dest);
      await Deno.remove(old, { recursive: true });
    } else {
      await Deno.rename(tmp, dest);
    }
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new SkillRegistryError(`Could not write ${dest}: ${(e as Error).message}`, {
      fix: "Check the data directory's permissions.",
      cause: e,
    });
  }
  return {
    name: parsed.name,
    dir: dest,
    version: origin.version,
    unsigned: !verdict.ok,
    publisherFingerprint: request.publisherFingerprint,
  };
}

/** Removes an installed skill; false when none had that name. */
export async function removeSkill(skillsDir: string, name: string): Promise<boolean> {
  if (!SKILL_NAME_RE.test(name)) {
    throw new SkillRegistryError(`"${name}" is not a skill name.`, {
      fix: "Use the name shown by `wirken skills list`.",
    });
  }
  const dir = join(skillsDir, name);
  const info = await Deno.lstat(dir).catch(() => null);
  if (!info) return false;
  await Deno.remove(dir, { recursive: true });
  return true;
}

/** Reads `file` relative to a registry location: HTTPS(-or-loopback) URL or local folder. */
async function readLocation(
  base: string,
  file: string,
): Promise<{ text: Uint8Array; where: string }> {
  checkRelativePath(file);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base) && !base.startsWith("file://")) {
    const root = requireSecureUrl(base, "skill registry");
    const dirUrl = root.pathname.endsWith(".json")
      ? new URL(".", root)
      : new URL(root.pathname.endsWith("/") ? root.href : root.href + "/");
    const url = new URL(file, dirUrl);
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(30_000), redirect: "error" });
    } catch (e) {
      throw new SkillRegistryError(
        `Cannot reach the skill registry at ${url.host}: ${(e as Error).message}`,
        {
          fix: "Check your network and skills.registry.url.",
        },
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new SkillRegistryError(
        `The skill registry answered ${res.status} for ${url.pathname}.`,
        {
          fix: "Check skills.registry.url.",
        },
      );
    }
    return { text: await readDownload(res, url.href), where: url.href };
  }
  const dir = base.startsWith("file://") ? new URL(base).pathname : base;
  const root = dir.endsWith(".json") ? join(dir, "..") : dir;
  const path = join(root, ...file.split("/"));
  try {
    const info = await Deno.stat(path);
    if (info.size > MAX_DOWNLOAD) throw new Error("file too large");
    return { text: await Deno.readFile(path), where: path };
  } catch (e) {
    throw new SkillRegistryError(`Cannot read ${path}: ${(e as Error).message}`, {
      fix: "Check skills.registry.url points at a registry folder with index.json.",
    });
  }
}

async function readDownload(res: Response, where: string): Promise<Uint8Array> {
  const bytes = await readCapped(res.body, MAX_DOWNLOAD);
  if (bytes === null) {
    throw new SkillRegistryError(`${where} is larger than ${MAX_DOWNLOAD} bytes.`, {
      fix: "The registry is serving something that is not a skill; nothing was installed.",
    });
  }
  return bytes;
}
