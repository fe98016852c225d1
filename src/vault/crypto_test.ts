import { assert, assertEquals, assertNotEquals, assertThrows } from "../../tests/assert.ts";
import { generateKey, NONCE_BYTES, OpenFailure, openSealed, seal } from "./crypto.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("crypto: round trip binds the name and uses a fresh 24-byte nonce per write", () => {
  const key = generateKey();
  const a = seal(key, "provider.openai.api_key", enc.encode("sk-test"));
  const b = seal(key, "provider.openai.api_key", enc.encode("sk-test"));
  assertEquals(a.nonce.length, NONCE_BYTES);
  assertNotEquals(a.nonce, b.nonce);
  assertNotEquals(a.ciphertext, b.ciphertext);
  assertEquals(dec.decode(openSealed(key, "provider.openai.api_key", a)), "sk-test");
});

Deno.test("crypto: wrong key, other name, flipped bits and truncation are all refused", () => {
  const key = generateKey();
  const s = seal(key, "n", enc.encode("value"));
  assertThrows(() => openSealed(generateKey(), "n", s), OpenFailure, "authentication");
  assertThrows(() => openSealed(key, "m", s), OpenFailure, "authentication");
  for (let i = 0; i < s.ciphertext.length; i++) {
    const ct = s.ciphertext.slice();
    ct[i] ^= 1;
    assertThrows(() => openSealed(key, "n", { nonce: s.nonce, ciphertext: ct }), OpenFailure);
  }
  for (let i = 0; i < s.nonce.length; i++) {
    const nonce = s.nonce.slice();
    nonce[i] ^= 0x80;
    assertThrows(() => openSealed(key, "n", { nonce, ciphertext: s.ciphertext }), OpenFailure);
  }
  assertThrows(
    () => openSealed(key, "n", { nonce: s.nonce.slice(0, 12), ciphertext: s.ciphertext }),
    OpenFailure,
    "nonce",
  );
  assertThrows(
    () => openSealed(key, "n", { nonce: s.nonce, ciphertext: s.ciphertext.slice(0, 10) }),
    OpenFailure,
    "truncated",
  );
  assertThrows(
    () => openSealed(key, "n", { nonce: s.nonce, ciphertext: s.ciphertext.slice(0, -1) }),
    OpenFailure,
  );
});

Deno.test("crypto: keys are 32 random bytes", () => {
  const a = generateKey();
  assertEquals(a.length, 32);
  assert(!a.every((b) => b === 0));
  assertThrows(() => seal(new Uint8Array(16), "n", enc.encode("x")), TypeError);
});
