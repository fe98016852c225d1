/**
 * The one redaction path for anything wirken writes to a log: `Secret` values and fields whose
 * names say they hold credentials become `[REDACTED]`. When the gateway has installed a text
 * scanner ({@linkcode setLogTextRedactor}: the guard's secret scanner over the vault), every
 * logged string is also scanned, so a credential value inside a message or an error is
 * replaced by `[REDACTED:<name>]`.
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

/** Anything that can redact secrets inside a text (the guard's `SecretScanner` is one). */
export interface TextRedactor {
  redactText(text: string): { text: string };
}

// Process-wide on purpose: loggers are created everywhere, the vault scanner exists once.
let textRedactor: TextRedactor | undefined;

/** Installs (or, with `undefined`, removes) the scanner applied to every logged string. */
export function setLogTextRedactor(redactor: TextRedactor | undefined): void {
  textRedactor = redactor;
}

/** `text` with secrets replaced when a scanner is installed; unchanged otherwise. */
export function redactString(text: string): string {
  if (!textRedactor) return text;
  try {
    return textRedactor.redactText(text).text;
  } catch {
    // A failing scanner must not take logging down, nor let the line out unscanned.
    return "[REDACTED: scanner failed]";
  }
}

/** A deep copy of `value` safe to log; cycles and depth beyond 8 are cut. */
export function redact(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (isSecret(value)) return REDACTED;
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "function" || typeof value === "symbol") return String(value);
    return value;
  }
  if (seen.has(value)) return "[Circular]";
  if (depth >= 8) return "[Truncated]";
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: redactString(value.message) };
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
