/**
 * Runs a keychain helper program (`security`, `secret-tool`) with a timeout. Key material goes
 * over stdin, never argv, because argv is visible to every local user in `ps`.
 *
 * @module
 */

/** The outcome of one helper run. */
export interface HelperResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The program was not found. */
  missing: boolean;
  timedOut: boolean;
}

/** Runs `program args` feeding `stdin`, killing it after `timeoutMs`. */
export async function runHelper(
  program: string,
  args: readonly string[],
  options: { stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<HelperResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs ?? 10_000);
  try {
    const child = new Deno.Command(program, {
      args: [...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
      env: options.env,
    }).spawn();
    const writer = child.stdin.getWriter();
    try {
      if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    } catch {
      // The helper may exit before reading stdin (e.g. it failed early); its status says why.
    }
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      missing: false,
      timedOut,
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      // Callers that report stderr must not say "no message" when the program is not there.
      const stderr = `${program} was not found (is it installed?)`;
      return { code: 127, stdout: "", stderr, missing: true, timedOut: false };
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
