/**
 * Tampering with `audit.db` by hand (triggers dropped through raw SQLite): `verify` must catch
 * each edit and name the seq of the first broken link.
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertFalse, assertStringIncludes } from "../assert.ts";
import { freshLog, tamper } from "./helpers.ts";
import { openAuditLog } from "../../src/audit/log.ts";
import { checkpointMessage } from "../../src/audit/chain.ts";
import { generateSigningKey, signerFromSecret } from "../../src/audit/keys.ts";
import { describeVerifyResult } from "../../src/audit/verify.ts";
import { canonicalJson } from "../../src/audit/canonical.ts";

async function logWith(n: number) {
  const t = await freshLog();
  for (let i = 1; i <= n; i++) {
    await t.log.append({
      kind: "message.in",
      actor: `u${i}`,
      session: "s",
      payload: { text: `m${i}` },
    });
  }
  return t;
}

Deno.test("tamper: editing one payload byte is caught at that seq", async () => {
  const t = await logWith(10);
  try {
    tamper(t.path, `UPDATE events SET payload = '{"text":"m6!"}' WHERE seq = 6`);
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 6);
    assertStringIncludes(r.failures[0].problem, "altered");
    assertStringIncludes(describeVerifyResult(r), "seq 6");
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: editing a column outside the payload (actor) is caught too", async () => {
  const t = await logWith(5);
  try {
    tamper(t.path, `UPDATE events SET actor = 'someone-else' WHERE seq = 3`);
    assertEquals(t.log.verify().failures[0].seq, 3);
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: deleting a middle row is caught and names the missing seq", async () => {
  const t = await logWith(10);
  try {
    tamper(t.path, "DELETE FROM events WHERE seq = 5");
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 5);
    assertStringIncludes(r.failures[0].problem, "missing");
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: deleting a middle row and rehashing the rest is caught by the signed head", async () => {
  const t = await logWith(6);
  try {
    // The attacker renumbers and rechains everything after the hole: links and hashes are
    // consistent again, but they cannot re-sign the head.
    const events = t.log.query({ limit: 100 });
    const { chainHash } = await import("../../src/audit/chain.ts");
    let prev = events[2].hash;
    const rows: string[] = [];
    for (const e of events.slice(4)) {
      const moved = { ...e, seq: e.seq - 1 };
      const hash = chainHash(prev, moved);
      rows.push(
        `INSERT INTO events VALUES (${moved.seq}, '${e.time}', '${e.session}', NULL, NULL, '${e.actor}', '${e.kind}', '${
          canonicalJson(e.payload)
        }', '${prev}', '${hash}')`,
      );
      prev = hash;
    }
    tamper(
      t.path,
      `DELETE FROM events WHERE seq >= 4; ${
        rows.join(";")
      }; UPDATE chain_head SET seq = 5, hash = '${prev}'`,
    );
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 5);
    assertStringIncludes(r.failures[0].problem, "signature");
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: swapping two rows is caught at the lower seq", async () => {
  const t = await logWith(8);
  try {
    tamper(
      t.path,
      `UPDATE events SET seq = -1 WHERE seq = 4;
       UPDATE events SET seq = 4 WHERE seq = 5;
       UPDATE events SET seq = 5 WHERE seq = -1;`,
    );
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 4);
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: truncating the tail is caught and names the first missing seq", async () => {
  const t = await logWith(10);
  try {
    tamper(t.path, "DELETE FROM events WHERE seq > 7");
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 8);
    assertStringIncludes(r.failures[0].problem, "truncated");
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: deleting the oldest rows without a checkpoint is caught at seq 1", async () => {
  const t = await logWith(10);
  try {
    tamper(t.path, "DELETE FROM events WHERE seq <= 3");
    const r = t.log.verify();
    assertFalse(r.ok);
    assertEquals(r.failures[0].seq, 1);
    assertStringIncludes(r.failures[0].problem, "no signed checkpoint");
  } finally {
    await t.cleanup();
  }
});

Deno.test("tamper: a forged checkpoint (edited throughSeq, or signed by another key) is caught", async () => {
  const t = await logWith(10);
  try {
    t.clock.advanceDays(100);
    await t.log.append({ kind: "message.in", actor: "late" });
    const res = t.log.prune({ retentionDays: 90 });
    assertEquals(res.throughSeq, 10);
    assertEquals(res.checkpointSeq, 12);
    assert(t.log.verify().ok, describeVerifyResult(t.log.verify()));

    // 1. Widen the checkpoint to also hide seq 11, keeping its signature: the signature fails.
    const raw = new DatabaseSync(t.path);
    const cp = JSON.parse(
      (raw.prepare("SELECT payload FROM events WHERE seq = 12").get() as { payload: string })
        .payload,
    );
    const e11 = raw.prepare("SELECT hash FROM events WHERE seq = 11").get() as { hash: string };
    raw.close();
    const widened = { ...cp, throughSeq: 11, throughHash: e11.hash, prunedCount: 11 };
    tamper(
      t.path,
      `UPDATE events SET payload = '${
        canonicalJson(widened)
      }' WHERE seq = 12; DELETE FROM events WHERE seq = 11`,
    );
    let r = t.log.verify();
    assertFalse(r.ok);
    // The forged checkpoint is named, and nothing anchors the oldest remaining event any more.
    assert(
      r.failures.some((f) => f.seq === 12 && f.problem.includes("forged")),
      describeVerifyResult(r),
    );
    assertStringIncludes(r.failures[0].problem, "no signed checkpoint covers them");

    // 2. Re-sign it with the attacker's own key: the pinned gateway key rejects it.
    const attacker = signerFromSecret(generateSigningKey());
    const resigned = {
      ...widened,
      publicKey: attacker.publicKey,
      signature: attacker.sign(checkpointMessage(11, e11.hash)),
    };
    tamper(t.path, `UPDATE events SET payload = '${canonicalJson(resigned)}' WHERE seq = 12`);
    r = t.log.verify();
    assertFalse(r.ok);
    assert(r.failures.some((f) => f.seq === 12 && f.problem.includes("untrusted key")));

    // Without a pinned key the signature itself verifies, but the chain still breaks at 12's hash.
    const unpinned = openAuditLog(t.path);
    const r2 = unpinned.verify();
    unpinned.close();
    assertFalse(r2.ok);
    assertFalse(r2.keyPinned);
  } finally {
    await t.cleanup();
  }
});
