import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { InsecureUrlError, isLoopbackHost, requireSecureUrl } from "./secure_url.ts";

Deno.test("requireSecureUrl: https anywhere, http only on loopback, no credentials", () => {
  assertEquals(requireSecureUrl("https://corp.example/p", "policy").host, "corp.example");
  assertEquals(requireSecureUrl("http://127.0.0.1:8080/p", "policy").port, "8080");
  assertEquals(requireSecureUrl("http://[::1]:1/p", "policy").hostname, "[::1]");
  for (
    const bad of [
      "http://corp.example/p",
      "http://127.0.0.1.evil.example/p",
      "http://localhost.evil.example/x",
      "ftp://corp.example/p",
      "https://user:pw@corp.example/p",
      "not a url",
    ]
  ) assertThrows(() => requireSecureUrl(bad, "policy"), InsecureUrlError);
});

Deno.test("isLoopbackHost: look-alikes are not loopback", () => {
  for (const h of ["localhost", "a.localhost", "127.0.0.1", "127.1.2.3", "[::1]"]) {
    assertEquals(isLoopbackHost(h), true, h);
  }
  for (const h of ["127.0.0.1.nip.io", "localhost.evil", "0.0.0.0", "10.0.0.1", "::2"]) {
    assertEquals(isLoopbackHost(h), false, h);
  }
});
