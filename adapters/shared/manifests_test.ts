import { assert, assertEquals } from "../../tests/assert.ts";
import { CHANNELS } from "../../src/config/schema.ts";
import { isSecretEnv } from "../../src/gateway/supervisor.ts";
import { MANIFESTS } from "./manifests.ts";

Deno.test("every channel has a consistent manifest", () => {
  assertEquals(Object.keys(MANIFESTS).sort(), [...CHANNELS].sort());
  for (const ch of CHANNELS) {
    const m = MANIFESTS[ch];
    assertEquals(m.channel, ch);
    assert(m.apiHosts.length > 0, ch);
    for (const h of m.apiHosts) assert(/^[a-z0-9.-]+:\d+$/.test(h), `${ch}: ${h}`);
    assert(m.credentials.some((c) => c.required), `${ch} needs a credential`);
    for (const c of m.credentials) assert(c.name.startsWith(`channel.${ch}.`), c.name);
    // Env grants are settings, never secrets (secrets travel over stdin).
    for (const e of m.env) assert(!isSecretEnv(e), `${ch}: ${e} looks secret`);
    if (m.apiBaseEnv) assert(m.env.includes(m.apiBaseEnv), `${ch}: ${m.apiBaseEnv} not granted`);
    if (m.webhook) assert(m.env.includes(m.webhook.portEnv), `${ch}: ${m.webhook.portEnv}`);
    assert(m.limits.maxTextChars > 0 && m.limits.maxAttachmentBytes > 0);
  }
});
