import { assertEquals } from "../../tests/assert.ts";
import { readCapped } from "./read_capped.ts";

function chunks(sizes: number[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < sizes.length) c.enqueue(new Uint8Array(sizes[i++]).fill(i));
      else c.close();
    },
    cancel: () => onCancel?.(),
  });
}

Deno.test("readCapped: joins chunks up to the cap, stops and cancels past it", async () => {
  assertEquals((await readCapped(chunks([3, 2]), 5))?.length, 5);
  assertEquals(await readCapped(chunks([1, 1]), 2), new Uint8Array([1, 2]));
  let cancelled = false;
  // An endless body: the read must end at the cap, not at the end of the stream.
  const endless = new ReadableStream<Uint8Array>({
    pull: (c) => c.enqueue(new Uint8Array(1024)),
    cancel: () => {
      cancelled = true;
    },
  });
  assertEquals(await readCapped(endless, 10_000), null);
  assertEquals(cancelled, true);
  assertEquals(await readCapped(null, 1), new Uint8Array());
  assertEquals(await readCapped(chunks([]), 0), new Uint8Array());
});
