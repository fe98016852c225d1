import { assertEquals, assertThrows } from "../tests/assert.ts";
import { fromBase64, toBase64 } from "./encoding.ts";

Deno.test("base64: round trip of every byte value, whitespace ignored, garbage refused", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assertEquals(fromBase64(toBase64(all)), all);
  assertEquals(toBase64(new TextEncoder().encode("wirken")), "d2lya2Vu");
  assertEquals(new TextDecoder().decode(fromBase64(" d2lya2Vu\n")), "wirken");
  assertThrows(() => fromBase64("not base64!"), Error);
});
