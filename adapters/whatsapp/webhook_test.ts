import { assert, assertEquals } from "../../tests/assert.ts";
import { notification, signBody, textMessage } from "../../tests/fakes/whatsapp_graph.ts";
import { Secret } from "../../src/secret.ts";
import { extractMessages, textOf, verificationChallenge, verifySignature } from "./webhook.ts";

const secret = new Secret("test-app-secret");
const body = new TextEncoder().encode('{"object":"whatsapp_business_account","entry":[]}');

Deno.test("verifySignature: Meta's sha256=<hex> over the raw body", async () => {
  const good = await signBody("test-app-secret", body);
  assert(await verifySignature(secret, body, good));
  assert(await verifySignature(secret, body, good.toUpperCase().replace("SHA256=", "sha256=")));
  assert(!(await verifySignature(secret, body, null)), "missing header");
  assert(!(await verifySignature(secret, body, "")), "empty header");
  assert(!(await verifySignature(secret, body, good.replace("sha256=", "sha1="))));
  assert(!(await verifySignature(secret, body, await signBody("another-secret", body))));
  const changed = new Uint8Array(body);
  changed[5] ^= 1;
  assert(!(await verifySignature(secret, changed, good)), "one flipped bit");
});

Deno.test("verificationChallenge: only subscribe with the right token echoes the challenge", () => {
  const token = new Secret("verify-me");
  const q = (s: string) => new URLSearchParams(s);
  assertEquals(
    verificationChallenge(
      q("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=123"),
      token,
    ),
    "123",
  );
  assertEquals(
    verificationChallenge(q("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=123"), token),
    null,
  );
  assertEquals(verificationChallenge(q("hub.mode=subscribe&hub.challenge=123"), token), null);
  assertEquals(
    verificationChallenge(q("hub.mode=other&hub.verify_token=verify-me&hub.challenge=1"), token),
    null,
  );
  assertEquals(
    verificationChallenge(
      q("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=%3Cscript%3E"),
      token,
    ),
    null,
    "markup is never echoed",
  );
});

Deno.test("extractMessages: only our number's messages; malformed ones dropped singly", () => {
  const n = notification("PN1", [
    textMessage("111", "wamid.1", "hello"),
    { from: "111", id: "wamid.2" }, // no timestamp/type: dropped
    {
      from: "111",
      id: "wamid.3",
      timestamp: "1700000000",
      type: "interactive",
      interactive: {
        type: "button_reply",
        button_reply: { id: "approve abc123", title: "Approve" },
      },
    },
  ], [{ wa_id: "111", name: "Ann" }]);
  const got = extractMessages(n, "PN1");
  assertEquals(got.map((g) => g.message.id), ["wamid.1", "wamid.3"]);
  assertEquals(got[0].senderName, "Ann");
  assertEquals(textOf(got[1].message), "approve abc123");
  assertEquals(extractMessages(n, "PN2"), [], "another number of the same app");
  assertEquals(extractMessages({ object: "page", entry: [] }, "PN1"), []);
  assertEquals(extractMessages("garbage", "PN1"), []);
});
