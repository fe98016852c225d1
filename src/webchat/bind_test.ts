import { assert, assertFalse, assertThrows } from "../../tests/assert.ts";
import { WirkenError } from "../errors.ts";
import { checkBind, isLoopback } from "./bind.ts";

Deno.test("bind: loopback names and addresses", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"]) {
    assert(isLoopback(h), h);
  }
  for (const h of ["0.0.0.0", "::", "192.168.1.2", "127.0.0.256", "localhost.evil", "128.0.0.1"]) {
    assertFalse(isLoopback(h), h);
  }
});

Deno.test("bind: a non-loopback address without TLS refuses to start, with the fix", () => {
  checkBind({ hostname: "127.0.0.1" });
  checkBind({ hostname: "0.0.0.0", tls: { certFile: "/c.pem", keyFile: "/k.pem" } });
  const e = assertThrows(() => checkBind({ hostname: "0.0.0.0" }), WirkenError, "without TLS");
  assert(e.fix?.includes("TLS certificate"));
  assertThrows(
    () => checkBind({ hostname: "10.0.0.5", tls: { certFile: "/c.pem", keyFile: "" } }),
    WirkenError,
  );
});
