import { assert, assertEquals, assertFalse, assertThrows } from "../../tests/assert.ts";
import {
  constantTimeEqual,
  cookieName,
  createWebChatAuth,
  randomToken,
  sameOrigin,
} from "./auth.ts";

Deno.test("auth: tokens are random, 256-bit, URL-safe", () => {
  const a = randomToken();
  assertEquals(a.length, 43);
  assert(/^[A-Za-z0-9_-]+$/.test(a));
  assert(a !== randomToken());
});

Deno.test("auth: login needs the exact token and opens distinct sessions", () => {
  const auth = createWebChatAuth();
  assertEquals(auth.login(""), null);
  assertEquals(auth.login(auth.loginToken.slice(0, -1)), null);
  assertEquals(auth.login(auth.loginToken + "x"), null);
  const s1 = auth.login(auth.loginToken)!;
  const s2 = auth.login(auth.loginToken)!;
  assert(s1.id !== s2.id && s1.csrf !== s1.id);
  assertEquals(auth.session(s1.id), s1);
  assertEquals(auth.session(undefined), null);
  assertEquals(auth.session("nope"), null);
  auth.logout(s1.id);
  assertEquals(auth.session(s1.id), null);
  assertEquals(auth.session(s2.id), s2);
  assertThrows(() => createWebChatAuth("short"), Error, "at least 32");
});

Deno.test("auth: session count is capped, oldest dropped first", () => {
  const auth = createWebChatAuth();
  const first = auth.login(auth.loginToken)!;
  for (let i = 0; i < 40; i++) auth.login(auth.loginToken);
  assertEquals(auth.session(first.id), null);
});

Deno.test("auth: same-origin rule is exact (scheme, host and port)", () => {
  assert(sameOrigin("http://localhost:18790", "localhost:18790"));
  assert(sameOrigin("http://127.0.0.1:5", "127.0.0.1:5"));
  assertFalse(sameOrigin(undefined, "localhost:18790"));
  assertFalse(sameOrigin("null", "localhost:18790"));
  assertFalse(sameOrigin("http://localhost:3000", "localhost:18790"), "other port is same-site");
  assertFalse(sameOrigin("https://localhost:18790", "localhost:18790"));
  assertFalse(sameOrigin("http://evil.example", "localhost:18790"));
  assertFalse(sameOrigin("http://localhost:18790.evil.example", "localhost:18790"));
});

Deno.test("auth: helpers", () => {
  assertEquals(cookieName("localhost:18790"), "wirken_session_18790");
  assertEquals(cookieName("[::1]:9"), "wirken_session_9");
  assertEquals(cookieName("localhost"), "wirken_session_80");
  assert(constantTimeEqual("abc", "abc"));
  assertFalse(constantTimeEqual("abc", "abd"));
  assertFalse(constantTimeEqual("abc", "abcd"));
});
