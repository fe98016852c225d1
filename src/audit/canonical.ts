/**
 * Canonical JSON, the byte form an audit event is hashed in. Specified in `docs/audit.md` so an
 * outside tool can recompute every hash: it is the RFC 8785 (JCS) form restricted to what
 * `JSON.parse` yields: object keys sorted by UTF-16 code units, no whitespace, strings and
 * numbers exactly as ECMAScript `JSON.stringify` writes them.
 *
 * @module
 */

/** A value that canonical JSON can represent. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** Thrown for values canonical JSON refuses (non-finite numbers, undefined in arrays, ...). */
export class CanonicalJsonError extends Error {}

/** The canonical JSON text of `value`. Keys whose value is `undefined` are omitted. */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      // NaN and Infinity have no JSON form; silently turning them into null would make two
      // different inputs hash alike, so they are refused and callers normalise first.
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`non-finite number ${value}`);
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        return `[${
          value.map((v) => {
            if (v === undefined) throw new CanonicalJsonError("undefined inside an array");
            return canonicalJson(v);
          }).join(",")
        }]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new CanonicalJsonError(`not a plain object: ${proto?.constructor?.name}`);
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is exactly what JCS prescribes.
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot represent a ${typeof value} in canonical JSON`);
  }
}

/**
 * Turns any payload into plain JSON data (dates to strings, NaN to null, undefined dropped),
 * the same way `JSON.stringify` would, so it can then be canonicalised without surprises.
 */
export function toJsonData(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  return text === undefined ? null : JSON.parse(text) as JsonValue;
}
