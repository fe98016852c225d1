/**
 * How a `wirken` command is declared. Each command group lives in its own file in `src/cli/`
 * and exports one {@linkcode CommandSpec}; `tree.ts` lists the groups. Spec files import only
 * light modules at top level: a command body loads what it needs with `await import(...)`, so
 * `wirken --help` and `--version` stay fast.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** One flag. Names are kebab-case (`--api-key-env`); values arrive under the same name. */
export interface OptionSpec {
  type: "string" | "boolean";
  description: string;
  short?: string;
  /** Allowed values, checked before the command runs. */
  choices?: readonly string[];
  /** May be given more than once (values arrive as an array). */
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `<name>`. */
  valueName?: string;
}

/** A positional argument. */
export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  /** Collects every remaining positional (joined by the command as it likes). */
  variadic?: boolean;
}

/** What a command body receives. */
export interface CommandContext {
  /** Positionals, by the names of {@linkcode CommandSpec.args}. */
  args: Record<string, string | string[] | undefined>;
  /** Flag values by long name. */
  flags: Record<string, string | boolean | string[] | undefined>;
  /** `--json` was given: print one JSON document on stdout, nothing else. */
  json: boolean;
  /** `--verbose` was given. */
  verbose: boolean;
  /** The data directory (`WIRKEN_DATA_DIR` or `~/.wirken`); not created until a body asks. */
  dataDir: string;
  /** Terminal logger for this invocation (file logging is the body's choice). */
  log: Logger;
  /** Environment (a map in tests). */
  env: { get(name: string): string | undefined };
  /** The argv that started the program, for re-invocation. */
  argv: readonly string[];
}

/** A command: a leaf with `run`, or a group with `subcommands`. */
export interface CommandSpec {
  name: string;
  /** One line, shown in the parent's command list. */
  summary: string;
  /** Longer help text, optional. */
  description?: string;
  /** At least one full example invocation. */
  examples: readonly string[];
  args?: readonly ArgSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** Accepts `--json`. Every list/show command does. */
  json?: boolean;
  subcommands?: readonly CommandSpec[];
  /** The body; returns the exit code (default 0). */
  run?: (ctx: CommandContext) => Promise<number | void>;
}
