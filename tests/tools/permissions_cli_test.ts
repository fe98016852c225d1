/**
 * `wirken permissions pending|approve|list|revoke` as a user runs them, in a separate process
 * from the approval broker that waits for the answer (as with a running gateway).
 */
import { dataPaths, ensureDataDir } from "../../src/config/paths.ts";
import { ApprovalBroker } from "../../src/permissions/broker.ts";
import { PermissionStore } from "../../src/permissions/store.ts";
import type { AuditEventInput } from "../../src/audit/types.ts";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { tempDataDir, wirken } from "../cli/helpers.ts";

Deno.test("permissions CLI: a terminal approval reaches a waiting broker; list and revoke work", async () => {
  const dataDir = await tempDataDir();
  await ensureDataDir(dataDir);
  const store = PermissionStore.open(dataPaths(dataDir).permissionsDb);
  const events: AuditEventInput[] = [];
  try {
    const broker = new ApprovalBroker({
      store,
      audit: { append: (e) => Promise.resolve(events.push(e)) },
      isOwner: () => true,
      ask: () => Promise.resolve(),
      sandboxFor: () => "bwrap",
      pollMs: 50,
    });
    const request = {
      callId: "c1",
      tool: "exec",
      tier: 2 as const,
      input: { command: "git status" },
      agent: "default",
      session: "telegram:42:default",
      channel: "telegram",
      sender: "alice",
    };
    const decision = broker.check(request);
    let code = "";
    for (let i = 0; i < 100 && !code; i++) {
      await new Promise((r) => setTimeout(r, 20));
      code = store.listPending(Date.now())[0]?.code ?? "";
    }
    assert(code, "the request is pending");

    const pending = await wirken(["permissions", "pending", "--json"], { dataDir });
    assertEquals(pending.code, 0, pending.stderr);
    const listed = JSON.parse(pending.stdout) as Array<
      { code: string; summary: string; sandbox: string }
    >;
    assertEquals(listed.map((p) => p.code), [code]);
    assertEquals(listed[0].summary, "exec: git status");
    const text = await wirken(["permissions", "pending"], { dataDir });
    assertStringIncludes(text.stdout, code);

    const approved = await wirken(["permissions", "approve", code, "--remember"], { dataDir });
    assertEquals(approved.code, 0, approved.stderr);
    assertStringIncludes(approved.stdout, "remembered for 30 days");
    assertEquals(await decision, "allow");
    assert(events.some((e) => e.kind === "tool.approved" && e.actor === "cli"));

    const again = await wirken(["permissions", "approve", code], { dataDir });
    assertEquals(again.code, 1);
    assertStringIncludes(again.stderr, "already approved");

    const list = await wirken(["permissions", "list", "--json"], { dataDir });
    const remembered = JSON.parse(list.stdout) as Array<
      { tool: string; scope: string; user: string }
    >;
    assertEquals(remembered.map((r) => [r.tool, r.scope, r.user]), [["exec", "prog:git", "alice"]]);
    assertEquals(await broker.check({ ...request, callId: "c2" }), "allow", "remembered");

    const revoked = await wirken(["permissions", "revoke", "exec"], { dataDir });
    assertEquals(revoked.code, 0, revoked.stderr);
    assertStringIncludes(revoked.stdout, "Revoked 1");
    assertEquals(store.listRemembered(Date.now()).length, 0, "revoked immediately");
    const none = await wirken(["permissions", "revoke", "exec"], { dataDir });
    assertStringIncludes(none.stdout, "No remembered approvals of exec");
    const unknown = await wirken(["permissions", "approve", "zzzzzz"], { dataDir });
    assertEquals(unknown.code, 1);
    assertStringIncludes(unknown.stderr, "no request with that code");
  } finally {
    store.close();
    await Deno.remove(dataDir.replace(/\/data$/, ""), { recursive: true });
  }
});
