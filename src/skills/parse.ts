/**
 * Parses `SKILL.md`: YAML front matter (`name`, `description`, `homepage`, `license`,
 * `metadata`, ...) followed by Markdown instructions, compatible with the skills people already
 * have for OpenClaw (`metadata.openclaw.requires.bins`, `requires.env`, `os`, `install`,
 * `primaryEnv`, `emoji`).
 *
 * In the wild `metadata` is usually a JSON object written inline inside the YAML, often
 * JSON5-ish (trailing commas, unquoted keys, comments) which YAML rejects or misreads. So a
 * `metadata:` value that starts with `{` is cut out of the YAML text (keeping line numbers) and
 * parsed with `json5`; everything else is YAML. Every error names the file, the line and the
 * field.
 *
 * @module
 */
import JSON5 from "json5";
import { isMap, isScalar, LineCounter, parseDocument, type Range } from "yaml";
import { z } from "zod";
import { SkillParseError } from "./errors.ts";

/** Binaries, env vars and config keys a skill needs before it is offered to the model. */
export interface SkillRequirements {
  /** Every one must be on PATH. */
  bins: string[];
  /** At least one must be on PATH (when the list is not empty). */
  anyBins: string[];
  /** Every one must be set and non-empty. */
  env: string[];
  /** Config paths that must be truthy (OpenClaw `requires.config`). */
  config: string[];
}

/** An install hint (OpenClaw `install` entries): shown to the user, never run automatically. */
export interface SkillInstallHint {
  kind: string;
  id?: string;
  label?: string;
  /** Package/formula/module name, whichever the kind uses. */
  package?: string;
  bins: string[];
}

/** What a SKILL.md says, validated. */
export interface ParsedSkill {
  name: string;
  description: string;
  homepage?: string;
  license?: string;
  emoji?: string;
  /** Operating systems it supports (`darwin`, `linux`, `win32`); empty: all. */
  os: string[];
  /** The env var that carries the skill's API key; counted as a required env var. */
  primaryEnv?: string;
  /** OpenClaw `always`: recorded, but requirements are still checked. */
  always: boolean;
  requires: SkillRequirements;
  install: SkillInstallHint[];
  /** `user-invocable` (default true). */
  userInvocable: boolean;
  /** `disable-model-invocation` (default false): not announced to the model. */
  disableModelInvocation: boolean;
  /** Which metadata key the OpenClaw block came from (`openclaw`, `clawdbot`, `clawdis`). */
  metadataKey?: string;
  /** The whole metadata object as written (for tools that want more). */
  metadata: Record<string, unknown>;
  /** Front matter keys this parser does not know; kept, not an error. */
  unknownFields: string[];
  /** The Markdown instructions after the front matter. */
  body: string;
  /** 1-based line where the body starts. */
  bodyLine: number;
}

/** Options of {@linkcode parseSkillMd}. */
export interface ParseOptions {
  /** Used in error messages. */
  file: string;
  /** Name to use when the front matter has none (the skill's folder name). */
  fallbackName?: string;
}

/** Skill names double as folder names and tool-facing ids, so they are kept plain. */
export const SKILL_NAME_RE: RegExp = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const KNOWN_FIELDS = new Set([
  "name",
  "description",
  "homepage",
  "license",
  "metadata",
  "user-invocable",
  "disable-model-invocation",
  "version",
  "author",
  "tags",
  "allowed-tools",
]);

/** Older OpenClaw releases used these keys for the same block. */
const METADATA_KEYS = ["openclaw", "clawdbot", "clawdis"] as const;

const stringList = z.union([z.string().min(1), z.array(z.string().min(1))]).transform((v) =>
  typeof v === "string" ? [v] : v
);

const RequiresSchema = z.looseObject({
  bins: stringList.optional(),
  anyBins: stringList.optional(),
  env: stringList.optional(),
  config: stringList.optional(),
});

const InstallSchema = z.looseObject({
  kind: z.string().min(1),
  id: z.string().optional(),
  label: z.string().optional(),
  formula: z.string().optional(),
  package: z.string().optional(),
  module: z.string().optional(),
  url: z.string().optional(),
  bins: stringList.optional(),
});

const OpenClawSchema = z.looseObject({
  emoji: z.string().optional(),
  homepage: z.string().optional(),
  always: z.boolean().optional(),
  primaryEnv: z.string().min(1).optional(),
  skillKey: z.string().optional(),
  os: stringList.optional(),
  requires: RequiresSchema.optional(),
  install: z.array(InstallSchema).optional(),
});

const FrontMatterSchema = z.looseObject({
  name: z.string().regex(
    SKILL_NAME_RE,
    "must be lowercase letters, digits, '-', '_' or '.', at most 64, starting with a letter or digit",
  ).optional(),
  description: z.string().trim().min(1, "must not be empty"),
  homepage: z.string().optional(),
  license: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  "user-invocable": z.boolean().optional(),
  "disable-model-invocation": z.boolean().optional(),
});

interface Located {
  /** 1-based file line of each top-level front matter key. */
  keyLines: Map<string, number>;
  /** Where an inline JSON5 metadata block was, if any. */
  metadataSource?: { text: string; line: number };
}

/**
 * Parses SKILL.md text. Throws {@linkcode SkillParseError} naming file, line and field on
 * anything that cannot be read; unknown fields are kept in `unknownFields`, not refused.
 */
export function parseSkillMd(rawText: string, options: ParseOptions): ParsedSkill {
  const file = options.file;
  // A BOM and CRLF line ends come from Windows editors; neither changes meaning.
  const text = rawText.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  const lines = text.split("\n");
  if (lines[0]?.trimEnd() !== "---") {
    throw new SkillParseError(
      { file, line: 1 },
      "no front matter: the file must start with a line `---`",
      "Start SKILL.md with `---`, then `name:` and `description:`, then `---`, then the instructions.",
    );
  }
  let end = -1;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i].trimEnd();
    if (l === "---" || l === "...") {
      end = i;
      break;
    }
  }
  if (end < 0) {
    throw new SkillParseError(
      { file, line: 1 },
      "the front matter is not closed: no second `---` line",
      "Add a line `---` after the last front matter key.",
    );
  }
  const fmLines = lines.slice(1, end);
  const located: Located = { keyLines: new Map() };
  const yamlText = quoteColonScalars(cutInlineMetadata(fmLines, located, file)).join("\n");

  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, uniqueKeys: true, prettyErrors: false });
  // Front matter line 1 is file line 2.
  const fileLine = (offset: number) => lineCounter.linePos(offset).line + 1;
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = lineCounter.linePos(err.pos[0]);
    throw new SkillParseError(
      { file, line: pos.line + 1, column: pos.col },
      `invalid YAML front matter: ${firstLine(err.message)}`,
      "Check the indentation and quoting on that line (values with `:` or `#` need quotes).",
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new SkillParseError(
      { file, line: 2 },
      "the front matter must be a mapping of `key: value` lines",
    );
  }
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      if (isScalar(pair.key) && pair.key.range) {
        located.keyLines.set(String(pair.key.value), fileLine((pair.key.range as Range)[0]));
      }
    }
  }
  const raw: Record<string, unknown> = (doc.toJS() as Record<string, unknown> | null) ?? {};

  let metadata: Record<string, unknown> = {};
  if (located.metadataSource) {
    metadata = parseJson5Metadata(located.metadataSource, file);
    raw.metadata = metadata;
  }

  const fm = FrontMatterSchema.safeParse(raw);
  if (!fm.success) {
    const issue = fm.error.issues[0];
    const top = String(issue.path[0] ?? "");
    const field = issue.path.length ? issue.path.join(".") : undefined;
    const missing = issue.code === "invalid_type" && raw[top] === undefined;
    throw new SkillParseError(
      { file, line: located.keyLines.get(top) ?? 1, field },
      missing ? "is required but missing" : issue.message,
      missing ? `Add \`${top}: ...\` to the front matter.` : undefined,
    );
  }
  if (fm.data.metadata) metadata = fm.data.metadata;

  const name = fm.data.name ?? options.fallbackName;
  if (!name) {
    throw new SkillParseError(
      { file, line: 2, field: "name" },
      "is required but missing",
      "Add `name: my-skill` (lowercase, '-' between words) to the front matter.",
    );
  }
  if (!SKILL_NAME_RE.test(name)) {
    throw new SkillParseError(
      { file, line: 2, field: "name" },
      `the folder name "${name}" is not a valid skill name and the front matter has none`,
      "Add `name: my-skill` (lowercase, '-' between words) to the front matter.",
    );
  }

  let metadataKey: string | undefined;
  let openclaw: z.infer<typeof OpenClawSchema> = {};
  for (const key of METADATA_KEYS) {
    if (metadata[key] === undefined) continue;
    const parsed = OpenClawSchema.safeParse(metadata[key]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = ["metadata", key, ...issue.path.map(String)].join(".");
      const leaf = String(issue.path[issue.path.length - 1] ?? key);
      throw new SkillParseError(
        { file, line: lineOfKey(located, leaf), field },
        issue.message,
        "See docs/skills.md for the types of metadata.openclaw fields.",
      );
    }
    metadataKey = key;
    openclaw = parsed.data;
    break;
  }

  const req = openclaw.requires ?? {};
  const bodyLines = lines.slice(end + 1);
  let blank = 0;
  while (blank < bodyLines.length - 1 && bodyLines[blank].trim() === "") blank++;
  // Line numbers are 1-based and the closing `---` is line end + 1.
  const bodyLine = end + 2 + blank;
  return {
    name,
    description: fm.data.description.trim(),
    homepage: fm.data.homepage ?? openclaw.homepage,
    license: fm.data.license,
    emoji: openclaw.emoji,
    os: openclaw.os ?? [],
    primaryEnv: openclaw.primaryEnv,
    always: openclaw.always ?? false,
    requires: {
      bins: req.bins ?? [],
      anyBins: req.anyBins ?? [],
      env: req.env ?? [],
      config: req.config ?? [],
    },
    install: (openclaw.install ?? []).map((h) => ({
      kind: h.kind,
      id: h.id,
      label: h.label,
      package: h.formula ?? h.package ?? h.module ?? h.url,
      bins: h.bins ?? [],
    })),
    userInvocable: fm.data["user-invocable"] ?? true,
    disableModelInvocation: fm.data["disable-model-invocation"] ?? false,
    metadataKey,
    metadata,
    unknownFields: Object.keys(raw).filter((k) => !KNOWN_FIELDS.has(k)),
    body: bodyLines.slice(blank).join("\n").trimEnd() + "\n",
    bodyLine,
  };
}

/**
 * Finds `metadata:` whose value starts with `{` (same line or the next lines), removes the
 * object's lines from the YAML (blank lines keep the numbering) and records its text.
 */
function cutInlineMetadata(fmLines: string[], located: Located, file: string): string[] {
  const out = [...fmLines];
  const idx = fmLines.findIndex((l) => /^metadata\s*:/.test(l));
  if (idx < 0) return out;
  const rest = fmLines[idx].replace(/^metadata\s*:/, "");
  let startLine = idx;
  let startCol = fmLines[idx].length - rest.length;
  if (rest.trim() === "") {
    // The object may start on the next non-blank, indented line.
    let j = idx + 1;
    while (j < fmLines.length && fmLines[j].trim() === "") j++;
    if (j >= fmLines.length || !fmLines[j].trimStart().startsWith("{")) return out;
    startLine = j;
    startCol = 0;
  } else if (!rest.trimStart().startsWith("{")) {
    return out; // block YAML or a quoted string: YAML handles it
  }
  // Scan to the matching close brace, minding strings and comments, so the block may span
  // lines whatever their indentation.
  let depth = 0;
  let inString: string | null = null;
  let endLine = -1;
  let endCol = -1;
  scan: for (let li = startLine; li < fmLines.length; li++) {
    const l = fmLines[li];
    for (let ci = li === startLine ? startCol : 0; ci < l.length; ci++) {
      const c = l[ci];
      if (inString) {
        if (c === "\\") ci++;
        else if (c === inString) inString = null;
        continue;
      }
      if (c === '"' || c === "'") inString = c;
      else if (c === "/" && l[ci + 1] === "/") break;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) {
          endLine = li;
          endCol = ci;
          break scan;
        }
      }
    }
  }
  if (endLine < 0) {
    throw new SkillParseError(
      { file, line: startLine + 2, field: "metadata" },
      "the inline metadata object is never closed (unbalanced `{`)",
      "Close every `{` and `[` of the metadata object.",
    );
  }
  const after = fmLines[endLine].slice(endCol + 1).trim();
  if (after !== "" && !after.startsWith("#")) {
    throw new SkillParseError(
      { file, line: endLine + 2, field: "metadata" },
      `unexpected text after the metadata object: "${after}"`,
    );
  }
  const parts: string[] = [];
  for (let li = startLine; li <= endLine; li++) {
    let l = fmLines[li];
    if (li === endLine) l = l.slice(0, endCol + 1);
    if (li === startLine) l = " ".repeat(startCol) + l.slice(startCol);
    parts.push(l);
  }
  located.metadataSource = { text: parts.join("\n"), line: startLine + 2 };
  located.keyLines.set("metadata", idx + 2);
  out[idx] = "metadata:";
  for (let li = idx + 1; li <= endLine; li++) out[li] = "";
  return out;
}

/**
 * OpenClaw reads front matter line by line, so skills in the wild write
 * `description: Do X: with a colon` unquoted, which strict YAML rejects. A top-level plain
 * scalar containing `": "` is never valid YAML, so quoting it only turns an error into the
 * meaning its author intended.
 */
function quoteColonScalars(lines: string[]): string[] {
  return lines.map((l) => {
    const m = /^([A-Za-z][\w-]*):[ \t]+(.*?)\s*$/.exec(l);
    if (!m) return l;
    const value = m[2];
    if (!value.includes(": ") || /^["'[{|>&*!%@`#]/.test(value)) return l;
    return `${m[1]}: ${JSON.stringify(value)}`;
  });
}

function parseJson5Metadata(
  source: { text: string; line: number },
  file: string,
): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON5.parse(source.text);
  } catch (e) {
    const err = e as Error & { lineNumber?: number; columnNumber?: number };
    throw new SkillParseError(
      {
        file,
        line: err.lineNumber ? source.line + err.lineNumber - 1 : source.line,
        column: err.columnNumber,
        field: "metadata",
      },
      `cannot parse the inline metadata: ${
        err.message.replace(/^JSON5: /, "").replace(/ at \d+:\d+$/, "")
      }`,
      "Fix the JSON at that place (quotes balanced, `:` between key and value, `,` between entries).",
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SkillParseError({ file, line: source.line, field: "metadata" }, "must be an object");
  }
  return value as Record<string, unknown>;
}

/** Best-effort line of a metadata key, for errors inside the JSON5 block. */
function lineOfKey(located: Located, key: string): number | undefined {
  const src = located.metadataSource;
  if (!src) return located.keyLines.get("metadata");
  const re = new RegExp(`["']?${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}["']?\\s*:`);
  const idx = src.text.split("\n").findIndex((l) => re.test(l));
  return idx < 0 ? src.line : src.line + idx;
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}
