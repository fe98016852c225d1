/**
 * Reading a webhook request or a download whole with a byte cap. The gateway has the same
 * helper in `src/net/read_capped.ts`; adapters may not import it (they reach only
 * `adapters/shared/`, the IPC client, `src/secret.ts` and `src/log/`).
 *
 * @module
 */

/**
 * Reads `body` up to `cap` bytes. Returns `null` as soon as more arrive (the stream is
 * cancelled there); an absent body reads as empty.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null | undefined,
  cap: number,
): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array();
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > cap) {
      await reader.cancel().catch(() => {});
      return null;
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
