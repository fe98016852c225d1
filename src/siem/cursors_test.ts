import { assertEquals } from "../../tests/assert.ts";
import { freshLog } from "../../tests/audit/helpers.ts";
import { CursorStore } from "./cursors.ts";

Deno.test("cursors: delivered never moves backwards; failures count attempts and keep the cursor", async () => {
  const t = await freshLog();
  try {
    const c = new CursorStore(t.log.database);
    const now = new Date("2026-01-01T00:00:00Z");
    assertEquals(c.get("dd"), undefined);
    assertEquals(c.failed("dd", "retrying", "HTTP 500", now).attempts, 1);
    assertEquals(c.get("dd")?.deliveredSeq, 0);
    c.delivered("dd", 10, now);
    c.delivered("dd", 7, now); // a late, smaller ack must not rewind
    assertEquals(c.get("dd")?.deliveredSeq, 10);
    assertEquals(c.get("dd")?.state, "ok");
    assertEquals(c.get("dd")?.attempts, 0);
    c.failed("dd", "held", "HTTP 403", now);
    const held = c.failed("dd", "held", "HTTP 403", now);
    assertEquals([held.state, held.attempts, held.lastError, held.deliveredSeq], [
      "held",
      2,
      "HTTP 403",
      10,
    ]);
    assertEquals(c.all().map((x) => x.destination), ["dd"]);
  } finally {
    await t.cleanup();
  }
});
