/**
 * How to start this same program again (the service unit, the supervisor's adapters): the
 * compiled binary alone, or `deno run <flags> main.ts` when running from source.
 *
 * @module
 */

/** The permission flags of `deno task wirken` (a test keeps deno.json in step). */
export const GATEWAY_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--unstable-worker-options",
];

/** True inside a `deno compile` binary, whose permissions are baked in. */
export function isCompiled(): boolean {
  return Deno.build.standalone;
}

/** Absolute path of the repo's `main.ts` (meaningful only when running from source). */
export function mainModulePath(): string {
  return new URL("../../main.ts", import.meta.url).pathname;
}

/** The argv that runs `wirken <args>` as this process was run: `[program, ...args]`. */
export function selfCommand(
  args: readonly string[],
  flags: readonly string[] = GATEWAY_FLAGS,
): string[] {
  return isCompiled()
    ? [Deno.execPath(), ...args]
    : [Deno.execPath(), "run", ...flags, mainModulePath(), ...args];
}
