/**
 * Turns argv into the command to run and its context, or a precise usage error.
 *
 * Built on `node:util` `parseArgs` (JSR's `@std/cli` is unreachable from our machines).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { closest } from "./suggest.ts";
import type { CommandSpec, OptionSpec } from "./spec.ts";

/** Flags every command accepts. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: "boolean", short: "h", description: "Show help for this command." },
  verbose: { type: "boolean", short: "v", description: "Show debug output." },
};

/** The `--json` flag, added to commands declaring `json: true`. */
export const JSON_OPTION: OptionSpec = {
  type: "boolean",
  description: "Print machine-readable JSON on stdout.",
};

/** What parsing decided. */
export type Parsed =
  | { kind: "version" }
  | { kind: "help"; path: readonly CommandSpec[] }
  | {
    kind: "run";
    path: readonly CommandSpec[];
    args: Record<string, string | string[] | undefined>;
    flags: Record<string, string | boolean | string[] | undefined>;
  };

/** Options a leaf accepts: its own, the globals and `--json` when declared. */
export function optionsOf(spec: CommandSpec): Record<string, OptionSpec> {
  return {
    ...(spec.options ?? {}),
    ...(spec.json ? { json: JSON_OPTION } : {}),
    ...GLOBAL_OPTIONS,
  };
}

/** The full command name, e.g. `wirken channel add`. */
export function commandName(path: readonly CommandSpec[]): string {
  return path.map((c) => c.name).join(" ");
}

const GLOBAL_FLAG_TOKENS = new Set(["--help", "-h", "--verbose", "-v", "--json"]);

/** Parses `argv` (without the program name) against the command tree rooted at `root`. */
export function parse(root: CommandSpec, argv: readonly string[]): Parsed {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    return { kind: "version" };
  }
  const path: CommandSpec[] = [root];
  const rest: string[] = [];
  let i = 0;
  // Descend through group names; global flags may appear before the subcommand.
  for (; i < argv.length; i++) {
    const token = argv[i];
    const current = path[path.length - 1];
    if (!current.subcommands) break;
    if (token === "--") break;
    if (token.startsWith("-")) {
      if (token === "--version" || token === "-V") return { kind: "version" };
      if (GLOBAL_FLAG_TOKENS.has(token)) {
        rest.push(token);
        continue;
      }
      const where = commandName(path);
      throw new UsageError(
        `unknown flag ${token} for \`${where}\``,
        `see \`${where} --help\``,
      );
    }
    const next = current.subcommands.find((c) => c.name === token);
    if (!next) {
      const names = current.subcommands.map((c) => c.name);
      const guess = closest(token, names);
      const where = commandName(path);
      throw new UsageError(
        `unknown command \`${token}\` for \`${where}\``,
        guess ? `did you mean \`${where} ${guess}\`?` : `choose one of: ${names.join(", ")}`,
      );
    }
    path.push(next);
  }
  const leaf = path[path.length - 1];
  const tokens = [...rest, ...argv.slice(i)];
  if (leaf.subcommands) {
    if (tokens.includes("--help") || tokens.includes("-h") || path.length === 1) {
      return { kind: "help", path };
    }
    const where = commandName(path);
    throw new UsageError(
      `\`${where}\` needs a subcommand: ${leaf.subcommands.map((c) => c.name).join(", ")}`,
      `see \`${where} --help\``,
    );
  }
  return parseLeaf(path, tokens);
}

function parseLeaf(path: readonly CommandSpec[], tokens: string[]): Parsed {
  const leaf = path[path.length - 1];
  const where = commandName(path);
  const options = optionsOf(leaf);
  if (tokens.includes("--help") || tokens.includes("-h")) return { kind: "help", path };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: tokens,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          // parseArgs rejects keys that are present but undefined.
          {
            type: o.type,
            ...(o.short ? { short: o.short } : {}),
            ...(o.multiple ? { multiple: true } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw usageFromParseArgs(e as Error & { code?: string }, where, Object.keys(options));
  }
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    const spec = options[name];
    if (spec?.choices) {
      for (const v of Array.isArray(value) ? value : [value]) {
        if (typeof v === "string" && !spec.choices.includes(v)) {
          const guess = closest(v, spec.choices);
          throw new UsageError(
            `invalid value "${v}" for --${name} in \`${where}\``,
            `use one of: ${spec.choices.join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}`,
          );
        }
      }
    }
    flags[name] = value as string | boolean | string[];
  }
  return { kind: "run", path, args: bindPositionals(leaf, where, parsed.positionals), flags };
}

function bindPositionals(
  leaf: CommandSpec,
  where: string,
  positionals: string[],
): Record<string, string | string[] | undefined> {
  const specs = leaf.args ?? [];
  const args: Record<string, string | string[] | undefined> = {};
  let p = 0;
  for (const a of specs) {
    if (a.variadic) {
      args[a.name] = positionals.slice(p);
      p = positionals.length;
      if (a.required && (args[a.name] as string[]).length === 0) throw missing(a.name, where);
      continue;
    }
    const v = positionals[p++];
    if (v === undefined && a.required) throw missing(a.name, where);
    args[a.name] = v;
  }
  if (p < positionals.length) {
    throw new UsageError(
      `unexpected argument "${positionals[p]}" for \`${where}\``,
      `see \`${where} --help\``,
    );
  }
  return args;
}

function missing(name: string, where: string): UsageError {
  return new UsageError(`missing argument <${name}> for \`${where}\``, `see \`${where} --help\``);
}

function usageFromParseArgs(e: Error & { code?: string }, where: string, names: string[]): Error {
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? "";
    const guess = closest(flag.replace(/^-+/, ""), names);
    return new UsageError(
      `unknown flag ${flag} for \`${where}\``,
      guess ? `did you mean --${guess}?` : `see \`${where} --help\``,
    );
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /'([^']+)'/.exec(e.message)?.[1]?.split(" ")[0] ?? "a flag";
    return new UsageError(`${flag} needs a value in \`${where}\``, `see \`${where} --help\``);
  }
  return new UsageError(`${e.message} (in \`${where}\`)`, `see \`${where} --help\``);
}
