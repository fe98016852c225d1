/**
 * Base64 for the bytes wirken stores and signs as text (keys, signatures, policy payloads). One
 * pair of functions, so every room encodes the same way.
 *
 * @module
 */

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Bytes of standard base64 text (ASCII whitespace is ignored); throws on malformed input. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
