import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { freshLog } from "../../tests/audit/helpers.ts";
import { Secret } from "../secret.ts";
import { AuditError } from "./errors.ts";
import { chainHash, GENESIS_HASH } from "./chain.ts";
import { describeVerifyResult } from "./verify.ts";
import type { AuditKind } from "./types.ts";

Deno.test("append assigns consecutive seqs, chains hashes and verifies", async () => {
  const t = await freshLog();
  try {
    const a = await t.log.append({
      kind: "message.in",
      actor: "u1",
      session: "s1",
      payload: { text: "hi" },
    });
    const b = await t.log.append({ kind: "tool.requested", actor: "agent", session: "s1" });
    assertEquals([a, b], [1, 2]);
    const [e1, e2] = t.log.query();
    assertEquals(e1.prevHash, GENESIS_HASH);
    assertEquals(e2.prevHash, e1.hash);
    assertEquals(e1.hash, chainHash(GENESIS_HASH, e1));
    assertEquals(e1.time, "2026-01-01T00:00:00.000Z");
    const r = t.log.verify();
    assert(r.ok, describeVerifyResult(r));
    assertEquals(r.anchor, "genesis");
    assert(r.keyPinned);
    assertEquals(r.warnings, []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("concurrent appends are group-committed yet each resolves with its own seq", async () => {
  const t = await freshLog();
  try {
    const seqs = await Promise.all(
      Array.from({ length: 50 }, (_, i) => t.log.append({ kind: "message.out", actor: `a${i}` })),
    );
    assertEquals(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
    const batch = await t.log.appendBatch([
      { kind: "auth.success", actor: "x" },
      { kind: "auth.failure", actor: "y" },
    ]);
    assertEquals(batch, [51, 52]);
    assertEquals(t.log.query({ afterSeq: 49, limit: 10 }).map((e) => e.actor), ["a49", "x", "y"]);
    assert(t.log.verify().ok);
  } finally {
    await t.cleanup();
  }
});

Deno.test("secrets in payloads are redacted before they are stored or hashed", async () => {
  const t = await freshLog();
  try {
    await t.log.append({
      kind: "credential.access",
      actor: "gateway",
      payload: {
        name: "provider.openai.api_key",
        apiKey: "sk-live-123",
        nested: { value: new Secret("s3cr3t") },
      },
    });
    const raw = new DatabaseSync(t.path).prepare("SELECT payload FROM events").get() as {
      payload: string;
    };
    assertEquals(
      raw.payload,
      '{"apiKey":"[REDACTED]","name":"provider.openai.api_key","nested":{"value":"[REDACTED]"}}',
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("append rejects unknown kinds and missing actors without writing", async () => {
  const t = await freshLog();
  try {
    await assertRejects(
      () => t.log.append({ kind: "nope" as unknown as AuditKind, actor: "x" }),
      AuditError,
      "Unknown audit kind",
    );
    await assertRejects(() => t.log.append({ kind: "message.in", actor: "" }), AuditError, "actor");
    assertEquals(t.log.head(), null);
  } finally {
    await t.cleanup();
  }
});

Deno.test("the events table refuses UPDATE, DELETE of uncheckpointed rows and out-of-order INSERT", async () => {
  const t = await freshLog();
  try {
    await t.log.append({ kind: "message.in", actor: "u" });
    await t.log.append({ kind: "message.in", actor: "u" });
    const db = new DatabaseSync(t.path);
    const refuse = (sql: string, part: string) => {
      try {
        db.exec(sql);
      } catch (e) {
        assertStringIncludes((e as Error).message, part);
        return;
      }
      throw new Error(`${sql} was not refused`);
    };
    refuse("UPDATE events SET actor = 'x' WHERE seq = 1", "UPDATE is refused");
    refuse("DELETE FROM events WHERE seq = 1", "covered by a checkpoint");
    refuse(
      "INSERT INTO events VALUES (7, 't', NULL, NULL, NULL, 'a', 'message.in', '{}', 'p', 'h')",
      "only the next seq",
    );
    db.close();
    assert(t.log.verify().ok);
  } finally {
    await t.cleanup();
  }
});

Deno.test("append fails closed once the tail no longer matches the head", async () => {
  const t = await freshLog();
  try {
    await t.log.append({ kind: "message.in", actor: "u" });
    await t.log.append({ kind: "message.in", actor: "u" });
    const db = new DatabaseSync(t.path);
    db.exec("DROP TRIGGER events_delete_only_checkpointed; DELETE FROM events WHERE seq = 2");
    db.close();
    await assertRejects(
      () => t.log.append({ kind: "tool.requested", actor: "a" }),
      AuditError,
      "tampered",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("query filters by session, kind and time, newest first on request", async () => {
  const t = await freshLog();
  try {
    await t.log.append({ kind: "message.in", actor: "u", session: "s1" });
    t.clock.advanceDays(1);
    await t.log.append({ kind: "tool.requested", actor: "u", session: "s2" });
    t.clock.advanceDays(1);
    await t.log.append({ kind: "message.in", actor: "u", session: "s1" });
    assertEquals(t.log.query({ session: "s1" }).map((e) => e.seq), [1, 3]);
    assertEquals(t.log.query({ kinds: ["tool.requested"] }).map((e) => e.seq), [2]);
    assertEquals(
      t.log.query({ since: new Date("2026-01-02T00:00:00Z"), order: "desc" }).map((e) => e.seq),
      [3, 2],
    );
    assertEquals(t.log.query({ until: new Date("2026-01-02T00:00:00Z") }).map((e) => e.seq), [1]);
  } finally {
    await t.cleanup();
  }
});
