/**
 * The file manifest of a skill: every file's relative path, size and SHA-256. A signature
 * covers this manifest, so an edited, added or removed file anywhere in the skill (not only
 * SKILL.md) breaks it.
 *
 * Skill folders and bundles are untrusted input: paths are checked for `..`, absolute paths,
 * backslashes and control characters, and symlinks and special files are refused outright
 * (a symlink could point the skill at `~/.ssh`, and following it would let a signed manifest
 * vouch for bytes outside the folder).
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { join } from "node:path";
import { SkillSignatureError } from "./errors.ts";

/** The signature file's name; it is the one file the manifest leaves out. */
export const SIGNATURE_FILE = ".wirken-signature.json";

/** Limits that keep a hostile skill from filling the disk or the memory. */
export const MANIFEST_LIMITS = { maxFiles: 500, maxTotalBytes: 20 * 1024 * 1024, maxDepth: 8 };

/** One file of a skill. */
export interface ManifestEntry {
  /** Relative, `/`-separated, normalized path. */
  path: string;
  size: number;
  /** Lowercase hex SHA-256 of the contents. */
  sha256: string;
}

/** A skill's files held in memory (from a bundle, or read from a folder before copying). */
export interface SkillFiles {
  /** Path -> contents; paths already checked with {@linkcode checkRelativePath}. */
  files: Map<string, Uint8Array>;
}

/**
 * Refuses a path that could escape the skill folder or confuse a file system: absolute, `..`
 * or `.` segments, empty segments, backslashes, control characters, or too deep.
 */
export function checkRelativePath(path: string): void {
  const bad = (why: string) =>
    new SkillSignatureError(`Refusing skill file path ${JSON.stringify(path)}: ${why}.`, {
      fix: "The skill is malformed or hostile; do not install it.",
    });
  if (path === "" || path.length > 255) throw bad("empty or too long");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(path)) throw bad("control character or backslash");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) throw bad("absolute path");
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw bad("`.`, `..` or empty segment");
  }
  if (parts.length > MANIFEST_LIMITS.maxDepth) throw bad("nested too deep");
}

/** SHA-256 hex of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/** The manifest of in-memory files, sorted by path; the signature file is left out. */
export function manifestOf(skill: SkillFiles): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  for (const [path, data] of skill.files) {
    if (path === SIGNATURE_FILE) continue;
    checkRelativePath(path);
    out.push({ path, size: data.length, sha256: sha256Hex(data) });
  }
  // Code-unit order, not locale order, so every machine sorts the same way.
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * Reads every file of a skill folder into memory, refusing symlinks, special files, bad names
 * and anything past {@linkcode MANIFEST_LIMITS}.
 */
export async function readSkillFolder(dir: string): Promise<SkillFiles> {
  const files = new Map<string, Uint8Array>();
  let total = 0;
  const rootInfo = await Deno.lstat(dir).catch((e) => {
    throw new SkillSignatureError(`Cannot read the skill folder ${dir}: ${(e as Error).message}`, {
      fix: "Check the path.",
    });
  });
  if (rootInfo.isSymlink || !rootInfo.isDirectory) {
    throw new SkillSignatureError(`${dir} is not a real folder (symlink or file).`, {
      fix: "Point at the skill's folder itself, not a link to it.",
    });
  }
  const walk = async (rel: string, depth: number): Promise<void> => {
    const abs = rel === "" ? dir : join(dir, rel);
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(abs)) entries.push(e);
    for (const e of entries) {
      const childRel = rel === "" ? e.name : `${rel}/${e.name}`;
      checkRelativePath(childRel);
      const info = await Deno.lstat(join(dir, childRel));
      if (info.isSymlink) {
        throw new SkillSignatureError(
          `Refusing ${join(dir, childRel)}: skills may not contain symlinks.`,
          {
            fix: "Replace the link with the file itself.",
          },
        );
      }
      if (info.isDirectory) {
        if (depth + 1 >= MANIFEST_LIMITS.maxDepth) {
          throw new SkillSignatureError(`Refusing ${join(dir, childRel)}: nested too deep.`, {
            fix: "Flatten the skill's folders.",
          });
        }
        await walk(childRel, depth + 1);
        continue;
      }
      if (!info.isFile) {
        throw new SkillSignatureError(`Refusing ${join(dir, childRel)}: not a regular file.`, {
          fix: "Remove sockets, fifos and devices from the skill.",
        });
      }
      total += info.size;
      if (files.size + 1 > MANIFEST_LIMITS.maxFiles || total > MANIFEST_LIMITS.maxTotalBytes) {
        throw new SkillSignatureError(`The skill ${dir} is too large.`, {
          fix: `A skill holds at most ${MANIFEST_LIMITS.maxFiles} files and ${
            MANIFEST_LIMITS.maxTotalBytes / 1024 / 1024
          } MiB.`,
        });
      }
      files.set(childRel, await Deno.readFile(join(dir, childRel)));
    }
  };
  await walk("", 0);
  return { files };
}
