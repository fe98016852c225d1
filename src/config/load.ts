/**
 * The one place `config.json` is read and written.
 *
 * A bad file yields a {@linkcode ConfigError} naming the path, the field and the fix, never a
 * stack trace. Saving is atomic and 0600.
 *
 * @module
 */
import type { z } from "zod";
import { ConfigError } from "../errors.ts";
import { writeFileAtomic } from "./paths.ts";
import { type Config, ConfigSchema } from "./schema.ts";

/** Reads and validates `path`; a missing file yields the defaults (a fresh install). */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return ConfigSchema.parse({});
    throw new ConfigError(`Cannot read ${path}: ${(e as Error).message}`, {
      fix: `Check the file's owner and permissions (chmod 600 ${path}).`,
      cause: e,
    });
  }
  return parseConfig(text, path);
}

/** Validates config text; `path` is only used in messages. */
export function parseConfig(text: string, path: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`, {
      fix: `Fix the syntax at the position shown, or move the file aside and run \`wirken setup\`.`,
    });
  }
  const result = ConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  throw configErrorFrom(result.error, path);
}

/** Writes `config` to `path` atomically after validating it. */
export async function saveConfig(path: string, config: Config): Promise<void> {
  const checked = ConfigSchema.safeParse(config);
  if (!checked.success) throw configErrorFrom(checked.error, path);
  await writeFileAtomic(path, JSON.stringify(checked.data, null, 2) + "\n");
}

function configErrorFrom(error: z.ZodError, path: string): ConfigError {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    return `  ${field}: ${describeIssue(issue)}`;
  });
  const more = error.issues.length > 5 ? `\n  ... and ${error.issues.length - 5} more` : "";
  const first = error.issues[0];
  const field = first?.path.length ? first.path.join(".") : "the top level";
  return new ConfigError(`${path} is invalid:\n${lines.join("\n")}${more}`, {
    fix: `Edit ${field} in ${path} (see docs/configuration.md), or re-run \`wirken setup\`.`,
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${
        issue.keys.map((k) => `"${k}"`).join(", ")
      } (remove or check the spelling)`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message;
  }
}
