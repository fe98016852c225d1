/**
 * Reading inside an OpenClaw folder without ever leaving it.
 *
 * Paths come from an untrusted `openclaw.json` (`workspace`, `skills.load.extraDirs`), so each
 * one is resolved against the OpenClaw folder and refused when it points outside it, and every
 * component is checked with `lstat` so a symlink anywhere on the way is refused rather than
 * followed (a link could point the migration at `~/.ssh`).
 *
 * @module
 */
import { isAbsolute, join, normalize, relative } from "node:path";

/** Largest single file the migration reads (config, SOUL.md); larger ones are reported. */
export const MAX_TEXT_BYTES = 1024 * 1024;

/**
 * Resolves an OpenClaw path setting to a path relative to `root`, or null when it lies outside.
 * `~/.openclaw/x` means `<root>/x` (the folder being migrated, wherever it now is); any other
 * `~` path, and anything that normalizes to `..`, is outside.
 */
export function insideRoot(root: string, setting: string): string | null {
  let p = setting.trim();
  if (p === "~/.openclaw" || p === "~/.openclaw/") return "";
  if (p.startsWith("~/.openclaw/")) p = p.slice("~/.openclaw/".length);
  else if (p.startsWith("~")) return null;
  const abs = isAbsolute(p) ? normalize(p) : normalize(join(root, p));
  const rel = relative(root, abs);
  if (rel === "") return "";
  if (rel.startsWith("..") || isAbsolute(rel)) return null;
  return rel.split(/[\\/]/).join("/");
}

/** What {@linkcode lstatInside} found. */
export type Found =
  | { kind: "missing" }
  | { kind: "symlink"; at: string }
  | { kind: "file"; size: number }
  | { kind: "dir" }
  | { kind: "other" };

/**
 * Looks at `<root>/<rel>` one component at a time with `lstat`: a symlink at any level is
 * reported (and not followed), so nothing outside `root` is ever reached.
 */
export async function lstatInside(root: string, rel: string): Promise<Found> {
  const parts = rel === "" ? [] : rel.split("/");
  let current = root;
  for (let i = 0; i < parts.length; i++) {
    current = join(current, parts[i]);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(current);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
        return { kind: "missing" };
      }
      throw e;
    }
    if (info.isSymlink) return { kind: "symlink", at: parts.slice(0, i + 1).join("/") };
    if (i < parts.length - 1 && !info.isDirectory) return { kind: "missing" };
    if (i === parts.length - 1) {
      if (info.isFile) return { kind: "file", size: info.size };
      if (info.isDirectory) return { kind: "dir" };
      return { kind: "other" };
    }
  }
  return { kind: "dir" };
}

/**
 * Reads a small text file inside `root`; a reason instead of text when it is missing, a
 * symlink, not a regular file or larger than `maxBytes`.
 */
export async function readTextInside(
  root: string,
  rel: string,
  maxBytes = MAX_TEXT_BYTES,
): Promise<{ text: string } | { reason: string; missing: boolean }> {
  const found = await lstatInside(root, rel);
  switch (found.kind) {
    case "missing":
      return { reason: "not found", missing: true };
    case "symlink":
      return { reason: `${found.at} is a symbolic link (not followed)`, missing: false };
    case "dir":
    case "other":
      return { reason: "not a regular file", missing: false };
    case "file":
      if (found.size > maxBytes) {
        return {
          reason: `too large (${found.size} bytes; at most ${maxBytes} are read)`,
          missing: false,
        };
      }
  }
  // A link swapped in between the lstat and the open would be followed, so the kind and size
  // are checked again on the open file: at worst another regular, small file is read.
  const file = await Deno.open(join(root, rel), { read: true });
  try {
    const info = await file.stat();
    if (!info.isFile || info.size > maxBytes) {
      return { reason: "changed while read", missing: false };
    }
    const buf = new Uint8Array(info.size);
    let off = 0;
    while (off < buf.length) {
      const n = await file.read(buf.subarray(off));
      if (n === null) break;
      off += n;
    }
    return { text: new TextDecoder().decode(buf.subarray(0, off)) };
  } finally {
    file.close();
  }
}
