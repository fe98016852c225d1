/**
 * Reading a request or response body whole with a byte cap, so an endless or huge body from a
 * client, a registry or a policy server costs at most the cap in memory.
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
