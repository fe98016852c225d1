/**
 * The org policy's audit sections through the real audit services: a local retention shorter
 * than the policy minimum does not prune younger events, and a policy SIEM destination that
 * local config disabled (and pointed elsewhere) still receives every event.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { FakeClock, MemoryCredentials, tempDir } from "../audit/helpers.ts";
import { FakeSiem, waitFor } from "../audit/fake_siem.ts";
import { startAuditServices } from "../../src/audit/service.ts";
import { parseConfig } from "../../src/config/load.ts";
import { applyPolicy } from "../../src/policy/effective.ts";
import { basePolicy } from "./fake_org.ts";

const TUNING = { baseDelayMs: 5, maxDelayMs: 20, holdRetryMs: 50, pollMs: 20, lingerMs: 0 };

Deno.test("policy audit: events younger than the policy minimum survive a 7-day local retention", async () => {
  const { dir, cleanup } = await tempDir();
  const credentials = new MemoryCredentials();
  const clock = new FakeClock();
  const local = parseConfig(JSON.stringify({ audit: { retentionDays: 7 } }), "config.json");
  const policy = basePolicy(1, { audit: { minRetentionDays: 365 } });
  const config = applyPolicy(local, policy).config;
  const path = join(dir, "audit.db");
  const start = (c = config) =>
    startAuditServices({ path, credentials, config: c, clock: clock.now });
  let s = start();
  try {
    for (let i = 0; i < 5; i++) await s.log.append({ kind: "message.in", actor: `u${i}` });
    await s.stop();
    // 100 days on: local config alone (7 days) would prune them; under the policy they stay.
    clock.advanceDays(100);
    s = start();
    assertEquals(s.log.firstSeq(), 1, "nothing younger than 365 days was pruned");
    await s.stop();
    // Past the minimum they go, behind a checkpoint, as usual.
    clock.advanceDays(300);
    s = start();
    assert((s.log.firstSeq() ?? 0) > 5, "events older than the minimum are pruned");
    assert(s.log.verify().ok);
    await s.stop();
    // Control: the same local config without the policy prunes at 7 days.
    const path2 = join(dir, "audit2.db");
    const unbound = startAuditServices({
      path: path2,
      credentials,
      config: local,
      clock: clock.now,
    });
    for (let i = 0; i < 3; i++) await unbound.log.append({ kind: "message.in", actor: `u${i}` });
    await unbound.stop();
    clock.advanceDays(10);
    const again = startAuditServices({ path: path2, credentials, config: local, clock: clock.now });
    assert((again.log.firstSeq() ?? 0) > 3);
    await again.stop();
  } finally {
    await s.stop().catch(() => {});
    await cleanup();
  }
});

Deno.test("policy SIEM: a destination the policy names receives every event though local config disabled it", async () => {
  const { dir, cleanup } = await tempDir();
  const corp = new FakeSiem("webhook", "corp-secret");
  corp.up();
  const credentials = new MemoryCredentials({ "siem.corp.hmac_secret": "corp-secret" });
  const local = parseConfig(
    JSON.stringify({
      siem: {
        destinations: [{
          name: "corp",
          kind: "webhook",
          url: "https://nowhere.example.invalid/",
          enabled: false,
        }],
      },
    }),
    "config.json",
  );
  const policy = basePolicy(1, {
    siem: { destinations: [{ name: "corp", kind: "webhook", url: corp.url }] },
  });
  const s = startAuditServices({
    path: join(dir, "audit.db"),
    credentials,
    config: applyPolicy(local, policy).config,
    siemTuning: TUNING,
  });
  try {
    for (let i = 0; i < 4; i++) await s.log.append({ kind: "message.in", actor: `u${i}` });
    await waitFor(() => corp.accepted.length === 4, "forwarded to the policy's destination");
    assertEquals(corp.accepted, [1, 2, 3, 4]);
    assertEquals(corp.problems, []);
  } finally {
    await s.stop();
    await corp.down();
    await cleanup();
  }
});
