import { assert, assertEquals, assertFalse, assertThrows } from "../../tests/assert.ts";
import { Secret } from "../secret.ts";
import { credentialNames } from "../vault/types.ts";
import { MemoryCredentials } from "../../tests/audit/helpers.ts";
import { AuditError } from "./errors.ts";
import {
  ensureSigningKey,
  fromBase64,
  signerFromSecret,
  toBase64,
  verifySignature,
} from "./keys.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("Ed25519 matches RFC 8032 test vector 1", () => {
  const seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const signer = signerFromSecret(new Secret(toBase64(seed)));
  assertEquals(
    signer.publicKey,
    toBase64(hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")),
  );
  const sig = signer.sign(new Uint8Array(0));
  assertEquals(
    fromBase64(sig),
    hex(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
  );
  assert(verifySignature(signer.publicKey, new Uint8Array(0), sig));
  assertFalse(verifySignature(signer.publicKey, new Uint8Array([1]), sig));
  assertFalse(verifySignature("not base64!", new Uint8Array(0), sig));
});

Deno.test("a malformed vault key is refused with a fix", () => {
  assertThrows(() => signerFromSecret(new Secret("short")), AuditError, "32-byte");
});

Deno.test("ensureSigningKey creates the key once and then reuses it", () => {
  const store = new MemoryCredentials();
  const a = ensureSigningKey(store);
  const b = ensureSigningKey(store);
  assert(a.equals(b));
  assert(store.get(credentialNames.auditSigningKey));
});
