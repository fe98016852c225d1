/** Retention: pruning with an injected clock keeps `verify` passing, and tampering still fails. */
import {
  assert,
  assertEquals,
  assertFalse,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../assert.ts";
import { freshLog, tamper } from "./helpers.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import { AuditError } from "../../src/audit/errors.ts";
import { describeVerifyResult } from "../../src/audit/verify.ts";
import { startPruneScheduler } from "../../src/audit/retention.ts";

async function appendN(
  log: { append: (e: { kind: "message.in"; actor: string }) => Promise<number> },
  n: number,
) {
  for (let i = 0; i < n; i++) await log.append({ kind: "message.in", actor: `u${i}` });
}

Deno.test("prune: 90-day-old events go, a signed checkpoint anchors the rest, verify passes", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 10);
    t.clock.advanceDays(50);
    await appendN(t.log, 5); // seq 11..15, younger than 90 days at prune time
    t.clock.advanceDays(50);
    assertEquals(t.log.prune({ retentionDays: 90, dryRun: true }), {
      pruned: 10,
      throughSeq: 10,
      checkpointSeq: null,
      heldBy: undefined,
    });
    const res = t.log.prune({ retentionDays: 90 });
    assertEquals(res, { pruned: 10, throughSeq: 10, checkpointSeq: 16, heldBy: undefined });
    assertEquals(t.log.firstSeq(), 11);
    const r = t.log.verify();
    assert(r.ok, describeVerifyResult(r));
    assertEquals(r.anchor, { checkpointSeq: 16, throughSeq: 10 });
    assertStringIncludes(describeVerifyResult(r), "anchored by signed checkpoint seq 16");

    // Nothing more is old enough: a second run is a no-op, no checkpoint is written.
    assertEquals(t.log.prune({ retentionDays: 90 }).pruned, 0);
    assertEquals(t.log.head()?.seq, 16);

    // Later, the first checkpoint itself ages out; the new checkpoint anchors the chain.
    await appendN(t.log, 2); // 17, 18
    t.clock.advanceDays(200);
    await appendN(t.log, 1); // 19
    const res2 = t.log.prune({ retentionDays: 90 });
    assertEquals(res2.throughSeq, 18);
    assertEquals(res2.checkpointSeq, 20);
    const r2 = t.log.verify();
    assert(r2.ok, describeVerifyResult(r2));
    assertEquals(t.log.query().map((e) => e.seq), [19, 20]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune: removing an event after the checkpoint still fails verify, naming its seq", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 10);
    t.clock.advanceDays(100);
    await appendN(t.log, 5); // 11..15
    t.log.prune({ retentionDays: 90 });
    assert(t.log.verify().ok);
    tamper(t.path, "DELETE FROM events WHERE seq = 11");
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 11, describeVerifyResult(r));
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune: the delete trigger still refuses rows beyond the checkpoint", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 3);
    t.clock.advanceDays(100);
    await appendN(t.log, 3);
    t.log.prune({ retentionDays: 90 });
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(t.path);
    assertThrows(
      () => db.exec("DELETE FROM events WHERE seq = 4"),
      Error,
      "covered by a checkpoint",
    );
    db.close();
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune: only a contiguous prefix goes, even when the clock jumped back", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 3); // day 0
    t.clock.advanceDays(100);
    await appendN(t.log, 1); // seq 4, day 100
    t.clock.advanceDays(-100);
    await appendN(t.log, 2); // seq 5, 6 stamped day 0 again (clock jumped back)
    t.clock.advanceDays(100);
    const res = t.log.prune({ retentionDays: 90 });
    assertEquals(res.throughSeq, 3);
    assert(t.log.verify().ok);
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune: undelivered SIEM events are kept, and the hold is reported", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 10);
    t.clock.advanceDays(100);
    await appendN(t.log, 1);
    const res = t.log.prune({ retentionDays: 90, keepAfter: new Map([["siem:datadog", 4]]) });
    assertEquals(res.throughSeq, 4);
    assertEquals(res.heldBy, "siem:datadog");
    assert(t.log.verify().ok);
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune: refused without the signing key, and with a bad retention", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 2);
    t.clock.advanceDays(100);
    const keyless = openAuditLog(t.path, { clock: t.clock.now });
    assertThrows(() => keyless.prune({ retentionDays: 90 }), AuditError, "signing key");
    keyless.close();
    assertThrows(() => t.log.prune({ retentionDays: 0 }), AuditError, "positive");
    await assertRejects(
      () => Promise.resolve().then(() => t.log.prune({ retentionDays: -1 })),
      AuditError,
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune scheduler runs at start and on its interval", async () => {
  const t = await freshLog();
  try {
    await appendN(t.log, 3);
    t.clock.advanceDays(100);
    await appendN(t.log, 1);
    const results: number[] = [];
    const s = startPruneScheduler(t.log, {
      retentionDays: 90,
      intervalMs: 20,
      onResult: (r) => results.push(r instanceof Error ? -1 : r.pruned),
    });
    assertEquals(results, [3]);
    await t.log.append({ kind: "message.in", actor: "x" });
    t.clock.advanceDays(100);
    await new Promise((r) => setTimeout(r, 60));
    s.stop();
    assert(results.length >= 2);
    assert(results.includes(3) && results.slice(1).some((n) => n > 0), String(results));
    assert(t.log.verify().ok);
  } finally {
    await t.cleanup();
  }
});

Deno.test("prune scheduler removes a large backlog in bounded steps, each behind its own checkpoint", async () => {
  const t = await freshLog();
  try {
    await t.log.appendBatch(
      Array.from({ length: 25 }, (_, i) => ({ kind: "message.in" as const, actor: `u${i}` })),
    );
    t.clock.advanceDays(100);
    await appendN(t.log, 1); // seq 26
    const results: number[] = [];
    const s = startPruneScheduler(t.log, {
      retentionDays: 90,
      maxEventsPerStep: 10,
      onResult: (r) => results.push(r instanceof Error ? -1 : r.pruned),
    });
    s.stop();
    assertEquals(results, [25]);
    const cps = t.log.query({ kinds: ["audit.checkpoint"] });
    assertEquals(cps.map((e) => e.payload.throughSeq), [10, 20, 25]);
    assert(t.log.verify().ok, describeVerifyResult(t.log.verify()));
  } finally {
    await t.cleanup();
  }
});
