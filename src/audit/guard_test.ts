import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { freshLog } from "../../tests/audit/helpers.ts";
import { recordThenRun } from "./guard.ts";
import { AuditError } from "./errors.ts";

Deno.test("recordThenRun: the action starts only after the event is durable", async () => {
  const t = await freshLog();
  try {
    const seen: number[] = [];
    const out = await recordThenRun(t.log, {
      kind: "tool.requested",
      actor: "agent",
      payload: { tool: "exec" },
    }, (seq) => {
      // The event is already in the database when the action runs.
      seen.push(seq, t.log.head()?.seq ?? 0);
      return Promise.resolve("ran");
    });
    assertEquals([out, seen], ["ran", [1, 1]]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("recordThenRun: when the audit write fails, the action never runs", async () => {
  const t = await freshLog();
  try {
    t.log.close();
    let ran = false;
    await assertRejects(
      () =>
        recordThenRun(t.log, { kind: "tool.requested", actor: "agent" }, () => {
          ran = true;
          return Promise.resolve();
        }),
      AuditError,
    );
    assertEquals(ran, false);
  } finally {
    await t.cleanup();
  }
});

Deno.test("the audit database is opened with synchronous=FULL and WAL", async () => {
  const t = await freshLog();
  try {
    assertEquals({ ...t.log.database.prepare("PRAGMA synchronous").get() }, { synchronous: 2 });
    assertEquals({ ...t.log.database.prepare("PRAGMA journal_mode").get() }, {
      journal_mode: "wal",
    });
  } finally {
    await t.cleanup();
  }
});
