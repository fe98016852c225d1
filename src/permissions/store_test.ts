import { join } from "node:path";
import { assertEquals } from "../../tests/assert.ts";
import { PermissionStore } from "./store.ts";

Deno.test("store: a decision happens once; late and second answers change nothing", async () => {
  const dir = await Deno.makeTempDir();
  const store = PermissionStore.open(join(dir, "permissions.db"));
  try {
    const p = store.addPending({
      callId: "c",
      agent: "a",
      tool: "exec",
      tier: 2,
      scope: "prog:ls",
      channel: "telegram",
      session: "s",
      sender: "u",
      summary: "exec: ls",
      sandbox: "bwrap",
      createdAt: 1000,
      expiresAt: 2000,
    });
    assertEquals(p.code.length, 6);
    assertEquals(store.decide(p.code, "approved", "u", "telegram", false, 2500), false, "too late");
    assertEquals(store.decide(p.code.toUpperCase(), "denied", "u", "telegram", false, 1500), true);
    assertEquals(store.decide(p.code, "approved", "u", "telegram", false, 1600), false, "second");
    assertEquals(store.getPending(p.code)?.status, "denied");
    assertEquals(store.listPending(1700).length, 0);
    store.remember(
      { agent: "a", tool: "exec", scope: "prog:ls", channel: "telegram", sender: "u" },
      "u",
      0,
      100,
    );
    assertEquals(store.listRemembered(50).length, 1);
    assertEquals(store.listRemembered(100).length, 0, "expired");
    assertEquals(store.pruneDecided(5000), 1);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
