import { assert, assertEquals, assertFalse } from "../../tests/assert.ts";
import { HandshakeError } from "./errors.ts";
import {
  FailureLimiter,
  HANDSHAKE_DOMAIN,
  handshakeMessage,
  NonceRegistry,
  verifyHandshake,
} from "./handshake.ts";
import { generateAdapterKey, importSigner } from "./keys.ts";
import { fromBase64 } from "./keys.ts";

Deno.test("the signed message is domain || adapterId || 0x00 || nonce", () => {
  const nonce = new Uint8Array(32).fill(9);
  const msg = handshakeMessage("slack", nonce);
  const expected = new Uint8Array([
    ...new TextEncoder().encode(HANDSHAKE_DOMAIN),
    ...new TextEncoder().encode("slack"),
    0,
    ...nonce,
  ]);
  assertEquals(msg, expected);
  assertEquals(HANDSHAKE_DOMAIN, "wirken-ipc-adapter-handshake-v1\0");
});

Deno.test("nonces are single use and expire", () => {
  let now = 1000;
  const reg = new NonceRegistry(5000, () => now);
  const a = reg.issue();
  assert(reg.consume(a));
  assertFalse(reg.consume(a));
  const b = reg.issue();
  now += 5001;
  assertFalse(reg.consume(b));
  assertFalse(reg.consume(new Uint8Array(32)));
});

Deno.test("the failure limiter blocks a peer after max failures in the window", () => {
  let now = 0;
  const lim = new FailureLimiter(3, 1000, () => now);
  assertFalse(lim.record("telegram"));
  assertFalse(lim.record("telegram"));
  assert(lim.record("telegram"));
  assert(lim.blocked("telegram"));
  assertFalse(lim.blocked("anonymous"));
  now += 1001;
  assertFalse(lim.blocked("telegram"));
});

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert(e instanceof HandshakeError);
    return e.reason;
  }
  throw new Error("expected a HandshakeError");
}

Deno.test("verifyHandshake: good, wrong key, other nonce, other adapterId, unknown id", async () => {
  const tg = await generateAdapterKey();
  const sl = await generateAdapterKey();
  const keys = { telegram: fromBase64(tg.publicKeyBase64), slack: fromBase64(sl.publicKeyBase64) };
  const tgSigner = await importSigner(tg.seed);
  const slSigner = await importSigner(sl.seed);
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const response = async (id: string, signer = tgSigner, n = nonce, signedId = id) => ({
    type: "authResponse" as const,
    adapterId: id,
    publicKey: signer.publicKey,
    signature: await signer.sign(handshakeMessage(signedId, n)),
    protocolVersion: 1,
    adapterNonce: new Uint8Array(32),
  });
  assertEquals(await verifyHandshake(await response("telegram"), nonce, keys), "telegram");
  // The Slack adapter's key claiming Telegram.
  assertEquals(
    await reason(verifyHandshake(await response("telegram", slSigner), nonce, keys)),
    "public key does not match the one registered for telegram",
  );
  // A valid signature over another nonce (replay).
  const other = crypto.getRandomValues(new Uint8Array(32));
  assertEquals(
    await reason(verifyHandshake(await response("telegram", tgSigner, other), nonce, keys)),
    "bad signature for telegram",
  );
  // Signed for another adapterId.
  assertEquals(
    await reason(
      verifyHandshake(await response("telegram", tgSigner, nonce, "slack"), nonce, keys),
    ),
    "bad signature for telegram",
  );
  assertEquals(
    await reason(verifyHandshake(await response("irc"), nonce, keys)),
    'unknown adapterId "irc"',
  );
  assertEquals(
    await reason(verifyHandshake(await response("discord"), nonce, keys)),
    "no key registered for channel discord",
  );
  const old = { ...(await response("telegram")), protocolVersion: 0 };
  assert((await reason(verifyHandshake(old, nonce, keys))).startsWith("protocol version 0"));
});
