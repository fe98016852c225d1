import { assert, assertEquals } from "../../tests/assert.ts";
import { rsaKeyPair, signJwt } from "../../tests/fakes/botframework.ts";
import { KeySet, TokenRejected, verifyToken } from "./jwt.ts";

async function setup() {
  const pair = await rsaKeyPair();
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  let keys = [{ kty: "RSA", kid: "k1", n: jwk.n, e: jwk.e }];
  let fetches = 0;
  const fakeFetch = ((input: string | URL | Request) => {
    fetches++;
    const url = String(input);
    if (url.endsWith("/openid")) {
      return Promise.resolve(Response.json({ jwks_uri: "https://keys.test/jwks" }));
    }
    return Promise.resolve(Response.json({ keys }));
  }) as typeof fetch;
  const set = new KeySet("https://keys.test/openid", { fetch: fakeFetch });
  return {
    pair,
    set,
    fetches: () => fetches,
    rotate(kid: string) {
      keys = [{ kty: "RSA", kid, n: jwk.n, e: jwk.e }];
    },
  };
}

const claims = () => ({
  iss: "https://api.botframework.com",
  aud: "app",
  serviceurl: "https://smba.trafficmanager.net/amer/",
  exp: Math.floor(Date.now() / 1000) + 60,
});
const expect = {
  appId: "app",
  serviceUrl: "https://smba.trafficmanager.net/amer",
  channelId: "msteams",
};

Deno.test("verifyToken accepts a good token; keys are cached, refreshed on a new kid", async () => {
  const s = await setup();
  const t1 = await signJwt(claims(), s.pair.privateKey, "k1");
  assertEquals((await verifyToken(`Bearer ${t1}`, s.set, expect)).claims.aud, "app");
  await verifyToken(`Bearer ${t1}`, s.set, expect);
  assertEquals(s.fetches(), 2, "metadata + JWKS once");
  s.rotate("k2");
  const t2 = await signJwt(claims(), s.pair.privateKey, "k2");
  await verifyToken(`Bearer ${t2}`, s.set, expect);
  assertEquals(s.fetches(), 4, "an unknown kid refreshes");
  const t3 = await signJwt(claims(), s.pair.privateKey, "k3");
  for (let i = 0; i < 5; i++) {
    const err = await verifyToken(`Bearer ${t3}`, s.set, expect).catch((e) => e);
    assert(err instanceof TokenRejected && /unknown key/.test(err.message));
  }
  assertEquals(s.fetches(), 4, "made-up kids do not trigger a fetch each (once a minute)");
});

Deno.test("verifyToken refuses an HS256 header and tampered claims", async () => {
  const s = await setup();
  const good = await signJwt(claims(), s.pair.privateKey, "k1");
  const [h, , sig] = good.split(".");
  const evil = btoa(JSON.stringify({ ...claims(), aud: "app", iss: "https://evil" }))
    .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const err = await verifyToken(`Bearer ${h}.${evil}.${sig}`, s.set, expect).catch((e) => e);
  assert(err instanceof TokenRejected && /signature/.test(err.message));
  const hs = await signJwt(claims(), s.pair.privateKey, "k1", "HS256").catch(() => null);
  if (hs) {
    const e2 = await verifyToken(`Bearer ${hs}`, s.set, expect).catch((e) => e);
    assert(e2 instanceof TokenRejected && /algorithm/.test(e2.message));
  }
});
