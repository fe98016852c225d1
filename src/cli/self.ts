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

/**
 * True inside a `deno compile` binary, whose permissions are baked in. `Deno.build.standalone`
 * says so; the arguments (tests) apply the same signs by hand: a compiled binary serves its
 * modules from a virtual `deno-compile-<name>` directory and is not called `deno`.
 */
export function isCompiled(execPath?: string, moduleUrl?: string): boolean {
  if (execPath === undefined && moduleUrl === undefined) return Deno.build.standalone;
  if ((moduleUrl ?? import.meta.url).includes("/deno-compile-")) return true;
  const base = (execPath ?? Deno.execPath()).split(/[\\/]/).pop() ?? "";
  return !/^deno(\.exe)?$/i.test(base);
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
