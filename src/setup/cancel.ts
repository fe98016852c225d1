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
 * Runs a check behind a spinner. The spinner takes over SIGINT while it spins (so the process
 * would not stop on Ctrl+C); a Ctrl+C there cancels setup instead of waiting for the check.
 */
export async function spin<T>(
  label: string,
  check: () => Promise<T>,
  done: (result: T) => string,
): Promise<T> {
  let cancel: (e: Error) => void = () => {};
  const cancelled = new Promise<never>((_, reject) => (cancel = reject));
  const s = p.spinner({ onCancel: () => cancel(new SetupCancelled()) });
  s.start(label);
  let result: T;
  try {
    result = await Promise.race([check(), cancelled]);
  } catch (e) {
    if (!s.isCancelled) s.error(e instanceof Error ? e.message : String(e));
    throw e;
  }
  s.stop(done(result));
  return result;
}
