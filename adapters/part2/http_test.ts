import { assert, assertEquals } from "../../tests/assert.ts";
import { RecentIds } from "./recent.ts";
import { BodyTooLarge, classifyHttp, HttpError, readCappedBody, timingSafeEqual } from "./http.ts";

Deno.test("RecentIds forgets the oldest past its capacity", () => {
  const r = new RecentIds(2);
  assert(r.add("a"));
  assert(!r.add("a"));
  assert(r.add("b"));
  assert(r.add("c"));
  assertEquals(r.size, 2);
  assert(r.add("a"), "a was forgotten");
});

Deno.test("timingSafeEqual", () => {
  const e = new TextEncoder();
  assert(timingSafeEqual(e.encode("abc"), e.encode("abc")));
  assert(!timingSafeEqual(e.encode("abc"), e.encode("abd")));
  assert(!timingSafeEqual(e.encode("abc"), e.encode("abcd")));
});

Deno.test("readCappedBody refuses past the cap, declared or streamed", async () => {
  const ok = await readCappedBody(new Request("http://x/", { method: "POST", body: "abc" }), 3);
  assertEquals(new TextDecoder().decode(ok), "abc");
  let refused = false;
  await readCappedBody(new Request("http://x/", { method: "POST", body: "abcd" }), 3).catch((e) =>
    refused = e instanceof BodyTooLarge
  );
  assert(refused);
});

Deno.test("classifyHttp: 429/5xx/network retry, 4xx does not", () => {
  assert(classifyHttp(new HttpError(503, "")).retryable);
  assertEquals(classifyHttp(new HttpError(429, "", 2000)), { retryable: true, afterMs: 2000 });
  assert(!classifyHttp(new HttpError(400, "")).retryable);
  assert(classifyHttp(new TypeError("connection refused")).retryable);
});
