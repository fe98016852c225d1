/**
 * The one redaction path for anything wirken writes to a log: `Secret` values and fields whose
 * names say they hold credentials become `[REDACTED]`.
 *
 * @module
 */
import { isSecret, REDACTED } from "../secret.ts";

/** Field names whose values are credentials whatever their type. */
const SENSITIVE_KEY =
  /^(authorization|cookie|set-cookie|password|passphrase|secret|token|api[-_]?key|private[-_]?key|access[-_]?token|refresh[-_]?token|client[-_]?secret|bot[-_]?token|.*(_|-)token|.*Token|.*Secret|.*Password|.*ApiKey)$/i;

/** True when a field called `key` must never be logged in clear. */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/** A deep copy of `value` safe to log; cycles and depth beyond 8 are cut. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (isSecret(value)) return REDACTED;
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "function" || typeof value === "symbol") return String(value);
    return value;
  }
  if (seen.has(value)) return "[Circular]";
  if (depth >= 8) return "[Truncated]";
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSensitiveKey(k) && v !== undefined && v !== null
      ? REDACTED
      : redact(v, depth + 1, seen);
  }
  return out;
}
