/**
 * Cancelling the wizard: Ctrl+C / Escape at a prompt, or Ctrl+C while a check runs, ends setup
 * with this error before anything is written.
 *
 * @module
 */
import * as p from "@clack/prompts";
import { WirkenError } from "../errors.ts";

/** The user pressed Ctrl+C / Escape. */
export class SetupCancelled extends WirkenError {
  constructor() {
    super("Setup cancelled; nothing was changed.", { exitCode: 130 });
  }
}

/** A prompt's answer, or {@linkcode SetupCancelled} when the prompt was cancelled. */
export function answered<T>(value: T): Exclude<T, symbol> {
  if (p.isCancel(value)) throw new SetupCancelled();
  return value as Exclude<T, symbol>;
}

/**
 * Runs a live check between two log lines. Not clack's spinner: it puts the terminal in raw mode
 * and ends the process with exit code 0 on Ctrl+C, so a cancelled check would look like success.
 * Here the terminal stays in cooked mode, Ctrl+C arrives as SIGINT, and it cancels setup (exit
 * 130, nothing written) instead of waiting for the check.
 */
export async function spin<T>(
  label: string,
  check: () => Promise<T>,
  done: (result: T) => string,
): Promise<T> {
  p.log.step(`${label}...`);
  let interrupt = () => {};
  const cancelled = new Promise<never>((_, reject) => {
    interrupt = () => reject(new SetupCancelled());
  });
  return await onSigint(interrupt, async () => {
    const result = await Promise.race([check(), cancelled]);
    p.log.info(done(result));
    return result;
  });
}

/**
 * Runs `fn` with `handler` as the process's SIGINT listener, removed afterwards however `fn`
 * ends. Where the platform has no SIGINT listeners, `fn` runs without one.
 */
export async function onSigint<T>(handler: () => void, fn: () => Promise<T>): Promise<T> {
  let listening = false;
  try {
    Deno.addSignalListener("SIGINT", handler);
    listening = true;
  } catch { /* no SIGINT listeners on this platform */ }
  try {
    return await fn();
  } finally {
    if (listening) Deno.removeSignalListener("SIGINT", handler);
  }
}
