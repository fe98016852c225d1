/**
 * Terminal output of CLI commands. `deno lint` forbids `console.*` (rule `no-console`) so that
 * everything a command prints passes here, where the secret lint rule also watches.
 *
 * @module
 */
import { redact } from "../log/redact.ts";
import { WirkenError } from "../errors.ts";

const encoder = new TextEncoder();

function writeAll(target: { writeSync(b: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
}

/** Prints a line (or lines) on stdout. */
export function print(text = ""): void {
  writeAll(Deno.stdout, text.endsWith("\n") ? text : text + "\n");
}

/** Prints on stderr. */
export function printError(text: string): void {
  writeAll(Deno.stderr, text.endsWith("\n") ? text : text + "\n");
}

/** Prints `value` as one JSON document on stdout, through the redaction path. */
export function printJson(value: unknown): void {
  print(JSON.stringify(redact(value), null, 2));
}

/** Prints an error as `error: message` plus its fix; never a stack trace unless `verbose`. */
export function printFailure(error: unknown, verbose = false): number {
  if (error instanceof WirkenError) {
    printError(`error: ${error.message}`);
    if (error.fix) printError(`  fix: ${error.fix}`);
    if (verbose && error.cause instanceof Error) printError(`  cause: ${error.cause.message}`);
    return error.exitCode;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  printError(`error: ${e.message}`);
  printError("  This is unexpected; rerun with --verbose and report it.");
  if (verbose && e.stack) printError(e.stack);
  return 1;
}

/** Formats rows as an aligned text table with a header. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}
