/**
 * Comparisons of secrets (keys, tokens, proxy credentials) whose running time depends only on
 * the lengths, so a caller cannot learn a secret byte by byte from how fast it is refused.
 *
 * @module
 */

/** True when `a` and `b` hold the same bytes; no early exit on the first difference. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** {@linkcode equalBytes} over the UTF-8 bytes of two strings. */
export function equalStrings(a: string, b: string): boolean {
  const enc = new TextEncoder();
  return equalBytes(enc.encode(a), enc.encode(b));
}
