/**
 * Makes npm chat libraries load inside an adapter's narrow permissions. Several read the whole
 * environment at import time (the `debug` package does `Object.keys(process.env)`) or ask the
 * OS for its release for a User-Agent (`@slack/web-api`), which Deno refuses without a full
 * `--allow-env` / `--allow-sys`. Instead of widening the grants, the adapter replaces
 * `process.env` with a snapshot of its manifest's own variables and answers the OS questions
 * with fixed strings, before it imports the library.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";

let applied = false;

/** Applies the shim once; `envNames` are the manifest's variables (read where granted). */
export function prepareNodeLibraries(envNames: readonly string[]): void {
  if (applied) return;
  applied = true;
  const snapshot: Record<string, string> = {};
  for (const name of envNames) {
    try {
      const v = Deno.env.get(name);
      if (v !== undefined) snapshot[name] = v;
    } catch { /* not granted: the library does not see it either */ }
  }
  Object.defineProperty(process, "env", { value: snapshot, configurable: true, writable: true });
  const fixed: Record<string, () => string> = {
    release: () => "unknown",
    hostname: () => "wirken-adapter",
    version: () => "unknown",
  };
  for (const [name, fn] of Object.entries(fixed)) {
    try {
      Object.defineProperty(os, name, { value: fn, configurable: true, writable: true });
    } catch { /* a frozen binding: the library will fail loudly, which the tests catch */ }
  }
}
