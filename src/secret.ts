/**
 * The `Secret` type: a credential value that refuses to be printed.
 *
 * Every path that turns a value into text (`String()`, template literals, `JSON.stringify`,
 * `Deno.inspect`/`console.log`, Node's `util.inspect`) yields `[REDACTED]`. The only way to
 * reach the value is {@linkcode Secret.reveal}, and the repo's lint plugin
 * (`lint/wirken_plugin.ts`) rejects passing a `Secret` or a `.reveal()` result to a logging call.
 *
 * @module
 */

/** What every printing path of a {@linkcode Secret} produces. */
export const REDACTED = "[REDACTED]";

const denoInspect = Symbol.for("Deno.customInspect");
const nodeInspect = Symbol.for("nodejs.util.inspect.custom");

/** A string credential whose text form is always `[REDACTED]`. */
export class Secret {
  // A private field is invisible to structuredClone, Object.keys, spread and JSON.
  readonly #value: string;

  /** Wraps `value`; an empty value is refused, since it can only be a mistake. */
  constructor(value: string) {
    if (typeof value !== "string" || value.length === 0) {
      throw new TypeError("A Secret needs a non-empty string value");
    }
    this.#value = value;
    Object.freeze(this);
  }

  /** The plain value. Call it only where the value leaves for its one legitimate use. */
  reveal(): string {
    return this.#value;
  }

  /** Compares two secrets in time independent of where they first differ. */
  equals(other: Secret): boolean {
    const a = new TextEncoder().encode(this.#value);
    const b = new TextEncoder().encode(other.#value);
    let diff = a.length ^ b.length;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
    }
    return diff === 0;
  }

  /** Always `[REDACTED]`. */
  toString(): string {
    return REDACTED;
  }

  /** Always `[REDACTED]`, so `JSON.stringify` never carries the value. */
  toJSON(): string {
    return REDACTED;
  }

  /** Always `[REDACTED]`, for template literals and `+` concatenation. */
  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  /** Used by `Deno.inspect` and therefore `console.log`. */
  [denoInspect](): string {
    return `Secret(${REDACTED})`;
  }

  /** Used by Node's `util.inspect` (npm libraries that log through it). */
  [nodeInspect](): string {
    return `Secret(${REDACTED})`;
  }
}

/** True when `value` is a {@linkcode Secret}. */
export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
