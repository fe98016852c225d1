/**
 * `deno test --coverage=DIR` exports `DENO_COVERAGE_DIR=DIR`; a `deno run` child inherits it and
 * writes its own profile there, so code that only runs in the gateway or an adapter process still
 * counts. Tests that start children with `clearEnv: true` spread this into the child's env.
 *
 * @module
 */

/** `{ DENO_COVERAGE_DIR }` when coverage is being collected, otherwise nothing. */
export function coverageEnv(): Record<string, string> {
  const dir = Deno.env.get("DENO_COVERAGE_DIR");
  return dir ? { DENO_COVERAGE_DIR: dir } : {};
}
