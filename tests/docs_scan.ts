/**
 * Scanners over the Markdown docs, shared by the docs tests: quoted `wirken ...` commands,
 * shell word splitting, relative links and heading anchors.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** The Markdown files checked: README.md and every page in docs/. */
export async function docFiles(): Promise<string[]> {
  const out = [join(ROOT, "README.md")];
  for await (const e of Deno.readDir(join(ROOT, "docs"))) {
    if (e.isFile && e.name.endsWith(".md")) out.push(join(ROOT, "docs", e.name));
  }
  return out.sort();
}

/** One quoted command and where it is. */
export interface Quoted {
  file: string;
  line: number;
  text: string;
  /** An inline code span (may name a command without its arguments) or a shell line. */
  inline: boolean;
}

const SHELL_LANGS = new Set(["sh", "bash", "shell", "console"]);

/** Splits Markdown into prose lines and fenced blocks (with their info string). */
export function* walk(md: string): Generator<
  { kind: "prose"; line: number; text: string } | {
    kind: "code";
    line: number;
    lang: string;
    /** The whole info string after the fence, e.g. `sh runnable`. */
    info: string;
    text: string;
  }
> {
  const lines = md.split("\n");
  let fence: { marker: string; lang: string; info: string } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const m = /^\s*(```+|~~~+)\s*([^\s`]*)(.*)$/.exec(l);
    if (fence) {
      if (m && m[1].startsWith(fence.marker) && m[2] === "") fence = null;
      else yield { kind: "code", line: i + 1, lang: fence.lang, info: fence.info, text: l };
      continue;
    }
    if (m) {
      fence = { marker: m[1], lang: m[2].toLowerCase(), info: (m[2] + m[3]).trim() };
      continue;
    }
    yield { kind: "prose", line: i + 1, text: l };
  }
}

/**
 * Every `wirken ...` command quoted in `md`. `unlabelled`: lines of fenced blocks without a
 * language count too (true for docs/; README's usage block pairs commands with descriptions).
 */
export function quotedCommands(file: string, md: string, unlabelled = false): Quoted[] {
  const out: Quoted[] = [];
  let continued: Quoted | null = null;
  for (const part of walk(md)) {
    if (part.kind === "prose") {
      for (const m of part.text.matchAll(/(?<!`)`(wirken [^`]+)`(?!`)/g)) {
        out.push({ file, line: part.line, text: m[1], inline: true });
      }
      continue;
    }
    if (!SHELL_LANGS.has(part.lang) && !(unlabelled && part.lang === "")) continue;
    if (continued) {
      continued.text += " " + part.text.trim().replace(/\\$/, "");
      if (!part.text.trimEnd().endsWith("\\")) continued = null;
      continue;
    }
    const m = /^\s*(?:\$\s+)?(wirken(?:\s.*)?)$/.exec(part.text);
    if (!m) continue;
    const q = { file, line: part.line, text: m[1].replace(/\\$/, ""), inline: false };
    out.push(q);
    if (m[1].trimEnd().endsWith("\\")) continued = q;
  }
  return out;
}

/** Splits a command line like a POSIX shell would for plain words and quotes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = "";
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) current += line[++i];
      else current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === "\\" && i + 1 < line.length) {
      current += line[++i];
      has = true;
    } else if (c === "#" && !has && current === "") {
      break; // a comment
    } else if (/\s/.test(c)) {
      if (has) words.push(current);
      current = "";
      has = false;
    } else if ((c === "|" || c === ";" || c === "&" || c === ">") && !has) {
      break; // a pipe or redirect ends the wirken command
    } else {
      current += c;
      has = true;
    }
  }
  if (has) words.push(current);
  return words;
}

/**
 * True for a synopsis that cannot be checked as a command (`a|b`, `...`, `<command>`). Optional
 * parts in brackets are not enough: see {@linkcode expandOptional}.
 */
export function isSynopsis(text: string): boolean {
  return /\||\.\.\.|<command>/.test(text);
}

/**
 * `wirken credentials list [--json]` becomes `wirken credentials list --json`: with every
 * optional part written out, a synopsis still proves its command and flags exist.
 */
export function expandOptional(text: string): string {
  return text.replace(/[[\]]/g, " ").replace(/\s+/g, " ").trim();
}

/** GitHub's heading anchor for a heading text. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/[`*_~]/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[^\p{L}\p{N} -]/gu, "")
    .replace(/ /g, "-");
}

/** The heading anchors of a Markdown text (GitHub style, duplicates numbered). */
export function anchorsOf(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const part of walk(md)) {
    if (part.kind !== "prose") continue;
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(part.text);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every relative link target in `md`, with its line. */
export function relativeLinks(md: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const part of walk(md)) {
    if (part.kind !== "prose") continue;
    const text = part.text.replace(/`[^`]*`/g, "");
    const targets = [
      ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
      ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)].map((m) => m[1]),
    ];
    for (const t of targets) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(t)) continue; // https:, mailto:, ...
      out.push({ line: part.line, target: t });
    }
  }
  return out;
}
