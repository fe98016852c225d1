import { assert, assertEquals, assertFalse } from "../../tests/assert.ts";
import { Secret } from "../secret.ts";
import { fromBase64, generateAdapterKey, importSigner, toBase64, verifySignature } from "./keys.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

Deno.test("Ed25519 matches RFC 8032 test vectors 1 and 2", async () => {
  const vectors = [
    {
      seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      msg: "",
      sig:
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    {
      seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      msg: "72",
      sig:
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
  ];
  for (const v of vectors) {
    const signer = await importSigner(new Secret(toBase64(hex(v.seed))));
    assertEquals(signer.publicKey, hex(v.pub));
    assertEquals(await signer.sign(hex(v.msg)), hex(v.sig));
    assert(await verifySignature(hex(v.pub), hex(v.sig), hex(v.msg)));
    const tampered = hex(v.sig);
    tampered[0] ^= 1;
    assertFalse(await verifySignature(hex(v.pub), tampered, hex(v.msg)));
  }
});

Deno.test("generated keys sign and verify; garbage keys just fail", async () => {
  const { seed, publicKeyBase64 } = await generateAdapterKey();
  assertEquals(publicKeyBase64.length, 44);
  const signer = await importSigner(seed);
  const sig = await signer.sign(new Uint8Array([1, 2, 3]));
  assert(await verifySignature(fromBase64(publicKeyBase64), sig, new Uint8Array([1, 2, 3])));
  assertFalse(await verifySignature(new Uint8Array(32).fill(0xff), sig, new Uint8Array([1])));
  assertFalse(await verifySignature(new Uint8Array(5), sig, new Uint8Array([1])));
});
