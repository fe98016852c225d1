/**
 * The SKILL.md corpus in tests/fixtures/skills/corpus: realistic files with varied front matter
 * (JSON5 metadata, block scalars, missing and unknown fields, CRLF, BOM), parsed into the
 * expected fields; the broken ones (`b*`) give precise errors with file, line and field.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { SkillParseError } from "../../src/skills/errors.ts";
import { type ParsedSkill, parseSkillMd } from "../../src/skills/parse.ts";

const CORPUS = fileURLToPath(new URL("../fixtures/skills/corpus/", import.meta.url));

function load(name: string): ParsedSkill {
  const file = join(CORPUS, name, "SKILL.md");
  return parseSkillMd(Deno.readTextFileSync(file), { file, fallbackName: name });
}

function fail(name: string): SkillParseError {
  try {
    load(name);
  } catch (e) {
    assert(e instanceof SkillParseError, `${name}: expected SkillParseError, got ${e}`);
    return e;
  }
  throw new Error(`${name}: expected a parse error`);
}

type Expect = Partial<Omit<ParsedSkill, "requires">> & {
  requires?: Partial<ParsedSkill["requires"]>;
};

const VALID: Record<string, Expect> = {
  "01-weather-json": {
    name: "weather",
    homepage: "https://wttr.in/:help",
    emoji: "🌤️",
    requires: { bins: ["curl"] },
    metadataKey: "openclaw",
  },
  "02-json5-trailing": {
    name: "github-pr",
    emoji: "🐙",
    requires: { bins: ["gh", "git"], env: ["GH_TOKEN"] },
  },
  "03-multiline-json": {
    name: "fastmail",
    requires: { bins: ["python3", "curl"] },
    install: [{
      kind: "brew",
      id: "brew",
      label: "Install Fastmail CLI (brew)",
      package: "fastmail-cli",
      bins: ["fastmail"],
    }],
    bodyLine: 24,
  },
  "04-block-yaml-metadata": {
    name: "notes-yaml",
    emoji: "📝",
    requires: { bins: ["ls"], env: ["NOTES_DIR"] },
  },
  "05-folded-description": {
    name: "summarize",
    description: "Summarize long documents, web pages and transcripts.",
  },
  "06-literal-description": { description: "First line.\nSecond line." },
  "07-no-metadata": {
    name: "plain",
    requires: { bins: [], anyBins: [], env: [], config: [] },
    metadataKey: undefined,
  },
  "08-unknown-fields": { unknownFields: ["x-custom", "category"] },
  "09-crlf": { name: "crlf-skill", requires: { env: ["API_TOKEN"] }, body: "Body line.\n" },
  "10-bom": { name: "bom-skill" },
  "11-clawdbot-key": {
    metadataKey: "clawdbot",
    always: true,
    os: ["darwin"],
    requires: { anyBins: ["codex", "claude"] },
  },
  "12-primary-env": { primaryEnv: "OPENAI_API_KEY", requires: { env: ["OPENAI_API_KEY"] } },
  "13-os-linux": { os: ["linux"], requires: { bins: ["systemctl"] } },
  "14-comments-json5": { emoji: "🧪", requires: { bins: ["jq"] } },
  "15-quoted-description": {
    name: "quoted",
    description: "Search: the web, with colons and # hashes",
    license: "MIT",
  },
  "16-user-invocable": { userInvocable: true, disableModelInvocation: true },
  "17-requires-config": { requires: { config: ["skills.entries.needs-config.enabled"] } },
  "18-install-node": {
    install: [{
      kind: "node",
      id: "node",
      label: "Install via npm",
      package: "@mermaid-js/mermaid-cli",
      bins: ["mmdc"],
    }],
  },
  "19-homepage-in-metadata": { homepage: "https://example.com/hp" },
  "20-bins-as-string": { requires: { bins: ["ffmpeg"] } },
  "21-other-metadata": {
    metadataKey: undefined,
    metadata: { author: "someone", tags: ["a", "b"] },
  },
  "22-empty-body": { body: "\n" },
  "23-tags-list": { unknownFields: [] },
  "24-dots-end": { name: "dots", body: "Body after dots.\n" },
  "25-unquoted-colon": {
    description: "Work with GitHub: issues, PRs and runs",
    homepage: "https://example.com/x",
  },
};

for (const [dir, expect] of Object.entries(VALID)) {
  Deno.test(`corpus: ${dir} parses into the expected fields`, () => {
    const got = load(dir);
    const { requires, ...rest } = expect;
    for (const [k, v] of Object.entries(rest)) {
      assertEquals(got[k as keyof ParsedSkill], v, `${dir}: field ${k}`);
    }
    for (const [k, v] of Object.entries(requires ?? {})) {
      assertEquals(got.requires[k as keyof ParsedSkill["requires"]], v, `${dir}: requires.${k}`);
    }
    assert(got.description.length > 0);
  });
}

const BROKEN: Record<string, { line: number; field?: string; includes: string }> = {
  "b01-no-frontmatter": { line: 1, includes: "no front matter" },
  "b02-unclosed": { line: 1, includes: "not closed" },
  "b03-bad-yaml": { line: 3, includes: "invalid YAML" },
  "b04-missing-description": { line: 1, field: "description", includes: "required but missing" },
  "b05-bad-json5": { line: 8, field: "metadata", includes: "cannot parse the inline metadata" },
  "b06-bins-not-list": { line: 4, field: "metadata.openclaw.requires.bins", includes: "" },
  "b07-bad-name": { line: 2, field: "name", includes: "lowercase" },
  "b08-unbalanced": { line: 4, field: "metadata", includes: "never closed" },
  "b09-duplicate-key": { line: 4, includes: "invalid YAML" },
};

for (const [dir, expect] of Object.entries(BROKEN)) {
  Deno.test(`corpus: ${dir} gives a precise error`, () => {
    const err = fail(dir);
    assertStringIncludes(err.location.file, join(dir, "SKILL.md"));
    assertEquals(err.location.line, expect.line, `${dir}: line (${err.message})`);
    if (expect.field) assertEquals(err.location.field, expect.field, `${dir}: field`);
    assertStringIncludes(err.message, expect.includes);
    assertStringIncludes(err.message, `SKILL.md:${expect.line}`);
    assert(err.fix, "every parse error carries a fix");
  });
}

Deno.test("corpus: at least 30 files", () => {
  const n = [...Deno.readDirSync(CORPUS)].filter((e) => e.isDirectory).length;
  assert(n >= 30, `only ${n} corpus entries`);
});
