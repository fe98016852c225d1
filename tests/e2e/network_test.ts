/**
 * A network attacker between the gateway and its provider or SIEM. The gateway must never send
 * the provider key or the audit trail over plain HTTP off the machine: a provider configured
 * with an `http://` URL on another host is refused before any request (so the key never leaves),
 * and a SIEM destination like that stops the gateway at start. The hosts are `.invalid`, so
 * nothing could leave the machine even if the check were missing (the error would then name DNS,
 * not HTTPS).
 */
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { withE2e } from "./harness.ts";

Deno.test("e2e network: a plain-http provider off this machine gets no request and no key", async () => {
  await withE2e({
    siem: false,
    config: {
      provider: {
        kind: "custom",
        model: "fake-model",
        baseUrl: "http://provider.wirken-e2e.invalid/v1",
        credential: "provider.custom.api_key",
      },
    },
  }, async (e) => {
    await e.start();
    const chat = await e.webchat();
    const out = await e.turn(chat, "hello", () => "deny", 20_000);
    await chat.close();
    const errors = out.events.filter((ev) => ev.type === "error").map((ev) => String(ev.message));
    assertEquals(errors.length, 1, JSON.stringify(out.events));
    assertStringIncludes(errors[0].toLowerCase(), "https");
    assertEquals(e.model.requests.length, 0);
  });
});

Deno.test("e2e network: a plain-http SIEM destination off this machine stops the gateway at start", async () => {
  await withE2e({
    siem: false,
    config: {
      siem: {
        destinations: [{ name: "audit", kind: "webhook", url: "http://siem.wirken-e2e.invalid/x" }],
      },
    },
  }, async (e) => {
    const run = await e.cli(["run", "--port", "0"]);
    assert(run.code !== 0, "the gateway refused to start");
    assertStringIncludes((run.stdout + run.stderr).toLowerCase(), "https");
  });
});
