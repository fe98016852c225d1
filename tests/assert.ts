/**
 * Test assertions. `@std/assert` lives on JSR, which our machines cannot reach, so these are
 * thin, named wrappers over Node's `node:assert/strict` (built into Deno).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

// Newer @types/node (pulled in by discord.js and @slack/bolt) overloads `message` as either
// `string` or `Error | function`, so `string | undefined` matches neither; undefined behaves
// the same at run time, hence the casts below.

/** Fails unless `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message as string);
}

/** Fails when `value` is truthy. */
export function assertFalse(value: unknown, message?: string): void {
  nodeAssert.ok(!value, message as string);
}

/** Deep, strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message as string);
}

/** Deep, strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message as string);
}

/** Fails unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  nodeAssert.ok(
    text.includes(part),
    message ?? `expected ${JSON.stringify(text.slice(0, 2000))} to include ${JSON.stringify(part)}`,
  );
}

/** Fails unless `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message as string);
}

/** Fails unless `fn` throws an instance of `type` (whose message includes `includes`). */
export function assertThrows<E extends Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  includes?: string,
): E {
  try {
    fn();
  } catch (e) {
    nodeAssert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    if (includes) assertStringIncludes(e.message, includes);
    return e;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** Async variant of {@linkcode assertThrows}. */
export async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    nodeAssert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    if (includes) assertStringIncludes(e.message, includes);
    return e;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be thrown` });
}
