/**
 * The CLI entry: parse argv, print help/version or run the chosen command, map errors to exit
 * codes (2 for usage errors, 1 otherwise) with a one-line message and a fix.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { resolveDataDir } from "../config/paths.ts";
import { createLogger } from "../log/logger.ts";
import { helpText } from "./help.ts";
import { print, printError, printFailure } from "./output.ts";
import { parse } from "./parse.ts";
import { rootCommand } from "./tree.ts";
import { UsageError } from "../errors.ts";

/** The version printed by `wirken --version`. */
export const VERSION: string = denoJson.version;

/** Runs the CLI with `argv` (program name excluded) and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  try {
    const parsed = parse(rootCommand, argv);
    if (parsed.kind === "version") {
      print(`wirken ${VERSION}`);
      return 0;
    }
    if (parsed.kind === "help") {
      print(helpText(parsed.path));
      return 0;
    }
    const leaf = parsed.path[parsed.path.length - 1];
    if (!leaf.run) throw new UsageError(`\`${leaf.name}\` cannot be run on its own`);
    const code = await leaf.run({
      args: parsed.args,
      flags: parsed.flags,
      json: parsed.flags.json === true,
      verbose,
      dataDir: resolveDataDir(),
      log: createLogger({ verbose }),
      env: Deno.env,
      argv,
    });
    return code ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      printError(`error: ${e.message}`);
      if (e.fix) printError(`  ${e.fix}`);
      return e.exitCode;
    }
    return printFailure(e, verbose);
  }
}
