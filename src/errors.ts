/**
 * The base of every error a user may see. Each carries a `fix`: one sentence saying what to do,
 * which the CLI prints under the message instead of a stack trace.
 *
 * @module
 */

/** An error with a user-facing message, a suggested fix and the exit code the CLI uses. */
export class WirkenError extends Error {
  /** What the user should do about it. */
  readonly fix: string | undefined;
  /** Process exit code when this error ends a command. */
  readonly exitCode: number;

  /** Builds an error; `fix` is printed below the message by the CLI. */
  constructor(message: string, options: { fix?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.fix = options.fix;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line itself was wrong (unknown command, bad flag): exit code 2. */
export class UsageError extends WirkenError {
  /** Builds a usage error; `fix` usually names the closest valid command. */
  constructor(message: string, fix?: string) {
    super(message, { fix, exitCode: 2 });
  }
}

/** `config.json` could not be read or does not match the schema. */
export class ConfigError extends WirkenError {}

/** A SQLite store could not be opened or migrated. */
export class StoreError extends WirkenError {}

/** A feature whose command exists but whose body has not been built. */
export class NotAvailableError extends WirkenError {
  /** `what` names the command, e.g. `wirken skills install`. */
  constructor(what: string, issue: string) {
    super(`${what} is not available yet in this version of wirken.`, {
      fix: `It is planned (${issue}); until then there is nothing to run.`,
      exitCode: 1,
    });
  }
}
