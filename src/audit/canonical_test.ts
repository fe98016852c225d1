import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { canonicalJson, CanonicalJsonError, toJsonData } from "./canonical.ts";

Deno.test("canonical JSON sorts keys by UTF-16 code units and drops whitespace", () => {
  assertEquals(
    canonicalJson({ b: 1, a: [true, null, "x"], "\u00e9": 2, A: { z: 1, y: 2 } }),
    '{"A":{"y":2,"z":1},"a":[true,null,"x"],"b":1,"\u00e9":2}',
  );
});

Deno.test("canonical JSON writes numbers and strings like JSON.stringify (RFC 8785)", () => {
  assertEquals(
    canonicalJson([1e21, 0.1, -0, 1.5e-7, '\u2028\n"\\']),
    '[1e+21,0.1,0,1.5e-7,"\u2028\\n\\"\\\\"]',
  );
});

Deno.test("canonical JSON refuses what has no single JSON form", () => {
  assertThrows(() => canonicalJson({ a: NaN }), CanonicalJsonError);
  assertThrows(() => canonicalJson([undefined]), CanonicalJsonError);
  assertThrows(() => canonicalJson(new Date()), CanonicalJsonError);
  assertEquals(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

Deno.test("toJsonData normalises like JSON.stringify and is idempotent under canonical JSON", () => {
  const data = toJsonData({ d: new Date(0), n: NaN, u: undefined, big: 2 ** 60 });
  assertEquals(data, { d: "1970-01-01T00:00:00.000Z", n: null, big: 2 ** 60 });
  const text = canonicalJson(data);
  assertEquals(canonicalJson(JSON.parse(text)), text);
});

Deno.test("the fast event text equals canonical JSON of the whole event", async () => {
  const { canonicalEvent, canonicalEventText } = await import("./chain.ts");
  const { canonicalJson } = await import("./canonical.ts");
  const e = {
    seq: 12,
    time: "2026-01-01T00:00:00.000Z",
    session: null,
    agent: 'a\u2028"',
    channel: "webchat",
    actor: "ü",
    kind: "tool.requested" as const,
    payload: { z: [1, { b: 2, a: null }], "é": "x" },
  };
  const full = canonicalJson({ v: 1, ...e });
  assertEquals(canonicalEvent(e), full);
  assertEquals(canonicalEventText(e, canonicalJson(e.payload)), full);
});
