import { assert, assertFalse } from "../tests/assert.ts";
import { equalBytes, equalStrings } from "./timing_safe.ts";

Deno.test("timing-safe: equal only for the same bytes and length", () => {
  assert(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assertFalse(equalBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])));
  // A prefix is not equal, whichever side is longer, and a zero tail does not pad it out.
  assertFalse(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])));
  assertFalse(equalBytes(new Uint8Array([1, 2, 0]), new Uint8Array([1, 2])));
  assert(equalStrings("Basic d2lya2VuOnRva2Vu", "Basic d2lya2VuOnRva2Vu"));
  assertFalse(equalStrings("Basic d2lya2VuOnRva2Vu", "Basic d2lya2VuOnRva2Vv"));
  assertFalse(equalStrings("", "x"));
  assert(equalStrings("", ""));
});
