/**
 * Help text, generated from the command specs (so it cannot drift from what parses).
 *
 * @module
 */
import { commandName, optionsOf } from "./parse.ts";
import type { CommandSpec } from "./spec.ts";

/** Where the documentation lives (docs/ in the repository). */
export const DOCS_URL = "https://github.com/wirken/wirken/tree/main/docs";

/** The help page of the command at the end of `path`. */
export function helpText(path: readonly CommandSpec[]): string {
  const spec = path[path.length - 1];
  const name = commandName(path);
  const out: string[] = [`${name} - ${spec.summary}`, ""];
  if (spec.description) out.push(spec.description, "");
  if (spec.subcommands) {
    out.push(`Usage: ${name} <command> [options]`, "", "Commands:");
    const visible = spec.subcommands;
    const width = Math.max(...visible.map((c) => c.name.length));
    for (const c of visible) out.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
    out.push("", `Run \`${name} <command> --help\` for details.`);
  } else {
    const args = (spec.args ?? []).map((a) => {
      const inner = `<${a.name}>${a.variadic ? "..." : ""}`;
      return a.required ? inner : `[${inner}]`;
    });
    out.push(`Usage: ${[name, ...args, "[options]"].join(" ")}`);
    if (spec.args?.length) {
      out.push("", "Arguments:");
      const width = Math.max(...spec.args.map((a) => a.name.length + 2));
      for (const a of spec.args) out.push(`  ${`<${a.name}>`.padEnd(width)}  ${a.description}`);
    }
  }
  const options = spec.subcommands
    ? { help: optionsOf(spec).help, verbose: optionsOf(spec).verbose }
    : optionsOf(spec);
  const rows = Object.entries(options).map(([long, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${long}${
      o.type === "string" ? ` ${o.valueName ?? "<value>"}` : ""
    }`;
    const choices = o.choices ? ` (${o.choices.join(" | ")})` : "";
    return [flag, o.description + choices];
  });
  if (path.length === 1) rows.push(["-V, --version", "Print the version."]);
  const width = Math.max(...rows.map((r) => r[0].length));
  out.push("", "Options:", ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`));
  out.push("", spec.examples.length > 1 ? "Examples:" : "Example:");
  for (const ex of spec.examples) out.push(`  ${ex}`);
  // The root page points at the guides, which say more than a help page can.
  if (path.length === 1) out.push("", `Documentation: ${DOCS_URL}`);
  return out.join("\n");
}
