/** The gateway-facing bundle: key created in the vault, forwarding, pruning held by SIEM lag. */
import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { FakeClock, MemoryCredentials, tempDir } from "./helpers.ts";
import { FakeSiem, waitFor } from "./fake_siem.ts";
import { readAuditStatus, startAuditServices } from "../../src/audit/service.ts";
import { SiemDestinationSchema } from "../../src/config/schema.ts";
import { credentialNames } from "../../src/vault/types.ts";
import { Secret } from "../../src/secret.ts";
import { SiemError } from "../../src/siem/errors.ts";

Deno.test("audit services: signing key created, events forwarded, pruned at start behind SIEM delivery, status readable", async () => {
  const { dir, cleanup } = await tempDir();
  const fake = new FakeSiem("webhook", "hook-secret");
  fake.up();
  const path = join(dir, "audit.db");
  const clock = new FakeClock();
  const credentials = new MemoryCredentials({ "siem.hook.hmac_secret": "hook-secret" });
  const config = {
    audit: { retentionDays: 90 },
    siem: {
      destinations: [SiemDestinationSchema.parse({ name: "hook", kind: "webhook", url: fake.url })],
    },
  };
  const tuning = { baseDelayMs: 5, maxDelayMs: 20, holdRetryMs: 50, pollMs: 20, lingerMs: 0 };
  let s = startAuditServices({ path, credentials, config, clock: clock.now, siemTuning: tuning });
  try {
    assert(credentials.get(credentialNames.auditSigningKey), "signing key created in the vault");
    for (let i = 0; i < 10; i++) await s.log.append({ kind: "message.in", actor: `u${i}` });
    await waitFor(() => fake.accepted.length === 10, "forwarded");
    await s.stop();

    // 100 days later the gateway starts again: the start-up prune removes the delivered events.
    clock.advanceDays(100);
    s = startAuditServices({ path, credentials, config, clock: clock.now, siemTuning: tuning });
    assertEquals(s.log.firstSeq(), 11);
    assert(s.log.verify().ok);
    await waitFor(() => fake.accepted.length === 11, "checkpoint forwarded too");
    assertEquals(fake.accepted, Array.from({ length: 11 }, (_, i) => i + 1));
    await s.stop();

    const status = await readAuditStatus(path, config, clock.now());
    assertEquals(status?.headSeq, 11);
    assertEquals(status?.siem[0].lagEvents, 0);
    assertEquals(await readAuditStatus(join(dir, "none.db"), config), null);
  } finally {
    await s.stop().catch(() => {});
    await fake.down();
    await cleanup();
  }
});

Deno.test("audit services: a bad SIEM url stops start-up before anything runs", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const credentials = new MemoryCredentials();
    credentials.set("x", new Secret("y"));
    assertThrows(
      () =>
        startAuditServices({
          path: join(dir, "audit.db"),
          credentials,
          config: {
            audit: { retentionDays: 90 },
            siem: {
              destinations: [
                SiemDestinationSchema.parse({
                  name: "w",
                  kind: "webhook",
                  url: "http://siem.example.com/",
                }),
              ],
            },
          },
        }),
      SiemError,
    );
  } finally {
    await cleanup();
  }
});
