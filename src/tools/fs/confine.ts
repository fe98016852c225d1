/**
 * Workspace confinement: the only way file tools turn a model-supplied path into a file.
 *
 * Three layers, because each alone has a hole:
 * 1. the path text is checked before touching the disk (NUL and control bytes, `..`, absolute
 *    paths outside the root, `~`, backslashes, Unicode look-alikes of `/` and `.`, bidi marks);
 * 2. the path is resolved with `realPath` (symlinks included) and must stay under the real root;
 * 3. after opening, the opened handle is re-checked: its inode must be the one the (re-resolved)
 *    path names inside the root, and a regular file must have exactly one link. That closes
 *    the race where a component is swapped for a symlink between check and open (TOCTOU), and
 *    hard links that give an outside inode a name inside the workspace.
 *
 * Writes go to a fresh temp file created with O_CREAT|O_EXCL (which refuses to follow a
 * symlink, even a dangling one) in the verified parent, then are renamed over the target, so
 * a symlink planted at the target name is replaced, never followed, and an outside file is
 * never truncated.
 *
 * Residual risk, documented: a process racing inside the workspace could swap a parent
 * directory between the final check and `rename`; sandboxed exec children are killed with
 * their command, so no such racer outlives a tool call.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { WirkenError } from "../../errors.ts";

/** Why a path was refused; stable codes so tests and the model see the same reason. */
export type ConfinementReason =
  | "empty"
  | "too-long"
  | "nul-byte"
  | "control-char"
  | "lookalike"
  | "backslash"
  | "home"
  | "dot-dot"
  | "absolute-outside"
  | "symlink-outside"
  | "outside"
  | "hard-link"
  | "not-a-file"
  | "not-a-directory"
  | "not-found"
  | "swapped"
  | "too-large";

/** A path was refused by workspace confinement. The message is safe to show the model. */
export class ConfinementError extends WirkenError {
  /** Machine-readable reason. */
  readonly reason: ConfinementReason;

  /** Builds the error; `message` names the path as given, never file contents. */
  constructor(reason: ConfinementReason, message: string) {
    super(message, {
      fix: "Use a relative path inside the agent's workspace (no '..', no links leading out).",
    });
    this.reason = reason;
  }
}

/** Longest path text accepted (Linux PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;

/**
 * Characters that render like `/`, `\` or `.` but are not, or that hide what a path says.
 * NFKC folds some of them (fullwidth solidus); others (division slash) survive it, so both
 * the list and the NFKC test below are needed.
 */
const LOOKALIKES = new Set([
  0x2215, // DIVISION SLASH
  0x2044, // FRACTION SLASH
  0xff0f, // FULLWIDTH SOLIDUS
  0x29f8, // BIG SOLIDUS
  0x2571, // BOX DRAWINGS LIGHT DIAGONAL
  0x1735, // PHILIPPINE SINGLE PUNCTUATION
  0x2cc6, // COPTIC CAPITAL LETTER OLD COPTIC ESH (slash-like)
  0x3033, // VERTICAL KANA REPEAT MARK UPPER HALF
  0x27cb, // MATHEMATICAL RISING DIAGONAL
  0xfe68, // SMALL REVERSE SOLIDUS
  0xff3c, // FULLWIDTH REVERSE SOLIDUS
  0x29f5, // REVERSE SOLIDUS OPERATOR
  0x29f9, // BIG REVERSE SOLIDUS
  0x2216, // SET MINUS
  0x2024, // ONE DOT LEADER
  0x2025, // TWO DOT LEADER
  0x2026, // HORIZONTAL ELLIPSIS
  0xff0e, // FULLWIDTH FULL STOP
  0xfe52, // SMALL FULL STOP
  0x200b, // ZERO WIDTH SPACE
  0x200c, // ZERO WIDTH NON-JOINER
  0x200d, // ZERO WIDTH JOINER
  0x2060, // WORD JOINER
  0xfeff, // BYTE ORDER MARK
]);

function isBidiControl(cp: number): boolean {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x200e ||
    cp === 0x200f || cp === 0x061c;
}

/**
 * Checks the text of a path before any file system call and returns its segments relative
 * to `root` (an already-real directory path). Throws {@linkcode ConfinementError}.
 */
export function checkPathText(path: string, root: string): string[] {
  if (typeof path !== "string" || path.length === 0) {
    throw new ConfinementError("empty", "The path is empty.");
  }
  if (path.length > MAX_PATH_LENGTH) {
    throw new ConfinementError(
      "too-long",
      `The path is longer than ${MAX_PATH_LENGTH} characters.`,
    );
  }
  for (const ch of path) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0) throw new ConfinementError("nul-byte", "The path contains a NUL byte.");
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
      throw new ConfinementError("control-char", "The path contains a control character.");
    }
    if (LOOKALIKES.has(cp) || isBidiControl(cp)) {
      throw new ConfinementError(
        "lookalike",
        `The path contains U+${
          cp.toString(16).toUpperCase().padStart(4, "0")
        }, which looks like a path character but is not one.`,
      );
    }
    if (ch === "\\") {
      throw new ConfinementError("backslash", "Backslashes are not path separators here.");
    }
    // Anything NFKC folds into a separator or dot is a disguise (e.g. fullwidth forms).
    if (ch !== "/" && ch !== "." && /[/.\\]/.test(ch.normalize("NFKC"))) {
      throw new ConfinementError("lookalike", "The path contains a disguised '/' or '.'.");
    }
  }
  if (path === "~" || path.startsWith("~/")) {
    throw new ConfinementError("home", "Home-relative paths ('~') lead outside the workspace.");
  }
  let rel = path;
  if (path.startsWith("/")) {
    if (path === root || path === root + "/") rel = ".";
    else if (path.startsWith(root + "/")) rel = path.slice(root.length + 1);
    else {
      throw new ConfinementError(
        "absolute-outside",
        `${path} is an absolute path outside the workspace.`,
      );
    }
  }
  const segments = rel.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) {
    // Even `a/../b` is refused: with symlinks, `a/..` need not be the workspace.
    throw new ConfinementError("dot-dot", "'..' is not allowed in workspace paths.");
  }
  return segments;
}

/** True when `path` is `root` or below it (both real, absolute, without trailing `/`). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : root + "/");
}

/** A path that passed confinement. */
export interface ConfinedPath {
  /** Absolute path; symlinks resolved for the part that exists. */
  abs: string;
  /** Path relative to the workspace root, `.` for the root. */
  rel: string;
  /** Whether it existed when resolved. */
  exists: boolean;
}

/** Result of {@linkcode Workspace.readFile}. */
export interface ReadResult {
  bytes: Uint8Array;
  /** File size on disk. */
  size: number;
  /** Only the first `maxBytes` were read. */
  truncated: boolean;
}

/** One entry of {@linkcode Workspace.listDir}. */
export interface DirEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
}

const encoder = new TextEncoder();

/** Options of {@linkcode Workspace.open}. */
export interface WorkspaceOptions {
  /**
   * Tests only: runs between the path check and the open, so a test can swap a symlink in
   * exactly there and prove the post-open check catches it.
   */
  afterResolve?: (abs: string) => Promise<void>;
  /** Create the root when missing (default true; false for configured extra roots). */
  create?: boolean;
}

/** The agent's workspace: every file tool goes through one of these. */
export class Workspace {
  /** The real (symlink-free) absolute path of the root. */
  readonly root: string;

  readonly #afterResolve: ((abs: string) => Promise<void>) | undefined;

  private constructor(root: string, afterResolve?: (abs: string) => Promise<void>) {
    this.root = root;
    this.#afterResolve = afterResolve;
  }

  /**
   * Opens (creating if missing, mode 0700) the workspace at `root`. Refuses `/` and a root
   * that is not a directory.
   */
  static async open(root: string, options: WorkspaceOptions = {}): Promise<Workspace> {
    if (options.create !== false) await Deno.mkdir(root, { recursive: true, mode: 0o700 });
    const real = await Deno.realPath(root);
    const info = await Deno.stat(real);
    if (!info.isDirectory) {
      throw new ConfinementError("not-a-directory", `The workspace ${root} is not a directory.`);
    }
    if (real === "/") {
      throw new ConfinementError("outside", "The workspace cannot be the file system root.");
    }
    return new Workspace(real, options.afterResolve);
  }

  /**
   * Resolves `path` inside the workspace. With `mustExist` false, trailing components may be
   * missing (for writes); the existing part is resolved and must be inside.
   */
  async resolve(path: string, options: { mustExist?: boolean } = {}): Promise<ConfinedPath> {
    const segments = checkPathText(path, this.root);
    const rel = segments.length === 0 ? "." : segments.join("/");
    let existing = this.root;
    let i = 0;
    for (; i < segments.length; i++) {
      const next = join(existing, segments[i]);
      let info: Deno.FileInfo;
      try {
        info = await Deno.lstat(next);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break;
        throw e;
      }
      let real = next;
      if (info.isSymlink) {
        try {
          real = await Deno.realPath(next);
        } catch {
          // Dangling or looping: either way nothing inside the workspace to use.
          throw new ConfinementError(
            "symlink-outside",
            `${rel} goes through a link that is dangling or loops.`,
          );
        }
        if (!isInside(this.root, real)) {
          throw new ConfinementError(
            "symlink-outside",
            `${rel} goes through a link that leads outside the workspace.`,
          );
        }
        info = await Deno.stat(real);
      }
      if (i < segments.length - 1 && !info.isDirectory) {
        throw new ConfinementError(
          "not-a-directory",
          `${segments.slice(0, i + 1).join("/")} is not a directory.`,
        );
      }
      existing = real;
    }
    if (i < segments.length) {
      if (options.mustExist) throw new ConfinementError("not-found", `${rel} does not exist.`);
      const abs = join(existing, ...segments.slice(i));
      return { abs, rel, exists: false };
    }
    // Resolve once more as a whole: a component may have changed during the walk.
    const real = await Deno.realPath(existing);
    if (!isInside(this.root, real)) {
      throw new ConfinementError("outside", `${rel} resolves outside the workspace.`);
    }
    return { abs: real, rel, exists: true };
  }

  /**
   * Re-checks an opened handle: same inode as what `abs` names now, still inside, and for a
   * regular file exactly one link (a hard link can give an outside file a name in here).
   */
  private async verifyOpened(file: Deno.FsFile, abs: string, rel: string): Promise<Deno.FileInfo> {
    const opened = await file.stat();
    if (opened.isFile && (opened.nlink ?? 1) > 1) {
      throw new ConfinementError(
        "hard-link",
        `${rel} has ${opened.nlink} hard links; files with more than one name are refused because one may lie outside the workspace.`,
      );
    }
    let real: string;
    try {
      real = await Deno.realPath(abs);
    } catch {
      throw new ConfinementError("swapped", `${rel} changed while it was being opened.`);
    }
    if (!isInside(this.root, real)) {
      throw new ConfinementError(
        "swapped",
        `${rel} was redirected outside the workspace while being opened.`,
      );
    }
    const now = await Deno.stat(real);
    if (now.dev !== opened.dev || now.ino !== opened.ino) {
      throw new ConfinementError("swapped", `${rel} changed while it was being opened.`);
    }
    return opened;
  }

  /** Reads at most `maxBytes` of a regular file inside the workspace. */
  async readFile(path: string, maxBytes: number): Promise<ReadResult> {
    const target = await this.resolve(path, { mustExist: true });
    const pre = await Deno.lstat(target.abs);
    // Refusing FIFOs and devices before open: opening a FIFO for reading would block.
    if (!pre.isFile) {
      throw new ConfinementError("not-a-file", `${target.rel} is not a regular file.`);
    }
    await this.#afterResolve?.(target.abs);
    const file = await Deno.open(target.abs, { read: true });
    try {
      const info = await this.verifyOpened(file, target.abs, target.rel);
      if (!info.isFile) {
        throw new ConfinementError("not-a-file", `${target.rel} is not a regular file.`);
      }
      const buf = new Uint8Array(Math.min(info.size, maxBytes) + 1);
      let got = 0;
      while (got < buf.length) {
        const n = await file.read(buf.subarray(got));
        if (n === null) break;
        got += n;
      }
      const truncated = got > maxBytes;
      return { bytes: buf.slice(0, Math.min(got, maxBytes)), size: info.size, truncated };
    } finally {
      file.close();
    }
  }

  /**
   * Writes `data` to a file inside the workspace atomically, creating parent directories.
   * Refuses more than `maxBytes`. Returns the relative path written.
   */
  async writeFile(
    path: string,
    data: string | Uint8Array,
    maxBytes: number,
  ): Promise<{ rel: string; bytes: number; created: boolean }> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length > maxBytes) {
      throw new ConfinementError(
        "too-large",
        `Refusing to write ${bytes.length} bytes; the limit is ${maxBytes}.`,
      );
    }
    const target = await this.resolve(path, { mustExist: false });
    if (target.rel === ".") {
      throw new ConfinementError("not-a-file", "The workspace root is a directory.");
    }
    let mode = 0o644;
    if (target.exists) {
      const info = await Deno.lstat(target.abs);
      if (!info.isFile) {
        throw new ConfinementError("not-a-file", `${target.rel} is not a regular file.`);
      }
      if ((info.nlink ?? 1) > 1) {
        throw new ConfinementError(
          "hard-link",
          `${target.rel} has more than one hard link; one may lie outside the workspace.`,
        );
      }
      if (info.mode !== null) mode = info.mode & 0o777;
    }
    const parent = await this.makeParents(dirname(target.abs), target.rel);
    await this.#afterResolve?.(target.abs);
    const finalPath = join(parent, basename(target.abs));
    const tmp = join(parent, `.wirken-${crypto.randomUUID()}.tmp`);
    // createNew = O_CREAT|O_EXCL: never follows a symlink planted at the temp name.
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    let renamed = false;
    try {
      await this.verifyOpened(file, tmp, target.rel);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
      file.close();
      const parentNow = await Deno.realPath(parent);
      if (parentNow !== parent) {
        throw new ConfinementError(
          "swapped",
          `The folder of ${target.rel} changed during the write.`,
        );
      }
      // rename replaces a symlink at the target name instead of following it.
      await Deno.rename(tmp, finalPath);
      renamed = true;
      return { rel: target.rel, bytes: bytes.length, created: !target.exists };
    } finally {
      try {
        file.close();
      } catch { /* already closed */ }
      if (!renamed) await Deno.remove(tmp).catch(() => {});
    }
  }

  /** Creates missing directories under the root one by one, refusing links; returns the real parent. */
  private async makeParents(dir: string, rel: string): Promise<string> {
    if (!isInside(this.root, dir)) {
      throw new ConfinementError("outside", `${rel} resolves outside the workspace.`);
    }
    const parts = dir === this.root ? [] : dir.slice(this.root.length + 1).split("/");
    let cur = this.root;
    for (const part of parts) {
      const next = join(cur, part);
      try {
        await Deno.mkdir(next, { mode: 0o755 });
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      const real = await Deno.realPath(next);
      if (!isInside(this.root, real)) {
        throw new ConfinementError(
          "symlink-outside",
          `${rel} goes through a link that leads outside the workspace.`,
        );
      }
      if (!(await Deno.stat(real)).isDirectory) {
        throw new ConfinementError("not-a-directory", `A parent of ${rel} is not a directory.`);
      }
      cur = real;
    }
    return cur;
  }

  /** Lists a directory inside the workspace (links are reported, not followed). */
  async listDir(
    path: string,
    maxEntries: number,
  ): Promise<{ rel: string; entries: DirEntry[]; truncated: boolean }> {
    const target = await this.resolve(path, { mustExist: true });
    const before = await Deno.stat(target.abs);
    await this.#afterResolve?.(target.abs);
    if (!before.isDirectory) {
      throw new ConfinementError("not-a-directory", `${target.rel} is not a directory.`);
    }
    const entries: DirEntry[] = [];
    let truncated = false;
    for await (const e of Deno.readDir(target.abs)) {
      if (entries.length >= maxEntries) {
        truncated = true;
        break;
      }
      let size = 0;
      if (e.isFile) {
        size = (await Deno.lstat(join(target.abs, e.name)).catch(() => ({ size: 0 }))).size;
      }
      entries.push({
        name: e.name,
        type: e.isSymlink ? "symlink" : e.isDirectory ? "dir" : e.isFile ? "file" : "other",
        size,
      });
    }
    const realAfter = await Deno.realPath(target.abs);
    const after = await Deno.stat(realAfter);
    if (!isInside(this.root, realAfter) || after.ino !== before.ino || after.dev !== before.dev) {
      throw new ConfinementError("swapped", `${target.rel} changed while it was being listed.`);
    }
    entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return { rel: target.rel, entries, truncated };
  }
}
