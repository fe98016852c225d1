/**
 * Generates `docs/cli.md` (from the command specs) and `docs/configuration.md` (from the zod
 * config schema), so neither can drift from the code. `deno task docs` rewrites them;
 * `tests/docs_test.ts` fails when a committed copy is stale.
 *
 * @module
 */
import { z } from "zod";
import { ConfigSchema } from "../src/config/schema.ts";
import { helpText } from "../src/cli/help.ts";
import { commandName } from "../src/cli/parse.ts";
import type { CommandSpec } from "../src/cli/spec.ts";
import { rootCommand } from "../src/cli/tree.ts";

/** `docs/cli.md`: every command's `--help` output. */
export function cliMarkdown(): string {
  const out = [
    "# CLI reference",
    "",
    "Generated from the command definitions in `src/cli/` by `deno task docs`; do not edit by hand.",
    "Every block below is exactly what `--help` prints.",
    "",
  ];
  const visit = (path: CommandSpec[]) => {
    out.push(`${"#".repeat(Math.min(path.length + 1, 4))} \`${commandName(path)}\``, "");
    out.push("```", helpText(path), "```", "");
    for (const c of path[path.length - 1].subcommands ?? []) visit([...path, c]);
  };
  visit([rootCommand]);
  return out.join("\n");
}

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  anyOf?: JsonSchema[];
};

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" \\| ");
  const base = Array.isArray(s.type) ? s.type.join(" \\| ") : s.type ?? "any";
  const extra = [
    s.format ? `${s.format}` : "",
    s.pattern ? `pattern \`${s.pattern}\`` : "",
    s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER ? `>= ${s.minimum}` : "",
    s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : "",
    s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? `<= ${s.maximum}` : "",
  ].filter(Boolean);
  if (base === "array" && s.items) return `array of ${typeOf(s.items)}`;
  return extra.length ? `${base} (${extra.join(", ")})` : base;
}

function exampleOf(s: JsonSchema): unknown {
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  if (s.anyOf) return exampleOf(s.anyOf[0]);
  switch (Array.isArray(s.type) ? s.type[0] : s.type) {
    case "boolean":
      return true;
    case "number":
    case "integer":
      return s.minimum ?? 1;
    case "array":
      return s.items ? [exampleOf(s.items)] : [];
    case "object":
      return {};
    default:
      return s.format === "uri" ? "https://example.com" : undefined;
  }
}

function rows(s: JsonSchema, path: string, required: boolean, acc: string[][]): void {
  const cell = (v: unknown) => v === undefined ? "" : `\`${JSON.stringify(v)}\``;
  const isObject = s.type === "object" &&
    (s.properties || typeof s.additionalProperties === "object");
  // `agents[]`-style rows add nothing to the rows of their fields.
  if (path && !(isObject && !s.description)) {
    acc.push([
      `\`${path}\``,
      isObject ? "object" : typeOf(s),
      s.default !== undefined ? cell(s.default) : required ? "required" : "unset",
      isObject ? "" : cell(exampleOf(s)),
      (s.description ?? "").replace(/\|/g, "\\|"),
    ]);
  }
  if (s.properties) {
    for (const [k, v] of Object.entries(s.properties)) {
      rows(v, path ? `${path}.${k}` : k, s.required?.includes(k) ?? false, acc);
    }
  }
  if (typeof s.additionalProperties === "object") {
    const names = s.propertyNames?.enum?.join("\\|") ?? "name";
    rows(s.additionalProperties, `${path}.<${names}>`, false, acc);
  }
  if (s.type === "array" && s.items?.type === "object") rows(s.items, `${path}[]`, false, acc);
}

/** `docs/configuration.md`: every key of `config.json` with type, default and example. */
export function configurationMarkdown(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: "input" }) as JsonSchema;
  const acc: string[][] = [];
  rows(schema, "", true, acc);
  return [
    "# Configuration reference",
    "",
    "`config.json` in the data directory (`~/.wirken`, or `WIRKEN_DATA_DIR`). Generated from the",
    "zod schema in `src/config/schema.ts` by `deno task docs`; do not edit by hand.",
    "",
    "The file never holds secrets: keys and tokens live in the encrypted vault and the config only",
    'names them. Unknown keys are refused. "unset" means optional with no default.',
    "",
    "| key | type | default | example | meaning |",
    "|---|---|---|---|---|",
    ...acc.map((r) => `| ${r.join(" | ")} |`),
    "",
    "Environment variables: `WIRKEN_DATA_DIR` (data directory), `WIRKEN_PORT` (WebChat port,",
    "overridden by `--port`).",
    "",
  ].join("\n");
}

/** The generated files, by path relative to the repo root. */
export function generatedDocs(): Record<string, string> {
  return { "docs/cli.md": cliMarkdown(), "docs/configuration.md": configurationMarkdown() };
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url);
  for (const [path, text] of Object.entries(generatedDocs())) {
    await Deno.writeTextFile(new URL(path, root), text);
  }
}
