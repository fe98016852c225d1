import { join } from "node:path";
import { assert, assertEquals } from "../../tests/assert.ts";
import { openAuditLog } from "../audit/log.ts";
import { createLogger } from "../log/logger.ts";
import { PermissionStore } from "../permissions/store.ts";
import { recordInterrupted, reportInterrupted } from "./interrupted.ts";

const request = {
  agent: "default",
  tool: "exec",
  tier: 2 as const,
  scope: "prog:ls",
  sender: "u1",
  summary: "exec: ls",
  sandbox: "bwrap",
};

Deno.test("gateway start: approval requests the last process was waiting on are expired; `wirken ask`'s are kept", async () => {
  const dir = await Deno.makeTempDir();
  const paths = { sessions: join(dir, "sessions.db"), permissions: join(dir, "permissions.db") };
  const audit = openAuditLog(join(dir, "audit.db"));
  try {
    const before = PermissionStore.open(paths.permissions);
    const now = Date.now();
    const window = { createdAt: now, expiresAt: now + 3_600_000 };
    const chat = before.addPending({
      ...request,
      ...window,
      callId: "ollama-call-0",
      channel: "telegram",
      // An id from before re-keying: no answer from the conversation could match it any more.
      session: "matrix:!room:example.org:default",
    });
    const ask = before.addPending({
      ...request,
      ...window,
      callId: "c1",
      channel: "cli",
      session: "cli:term:default",
    });
    before.close();

    await recordInterrupted(
      paths.sessions,
      audit,
      createLogger({ terminal: null }),
      paths.permissions,
    );

    const after = PermissionStore.open(paths.permissions);
    try {
      // The turn that waited died with the process: nothing would run on an approval now, so
      // nothing may offer it (WebChat, `wirken permissions pending`) or accept it.
      assertEquals(after.getPending(chat.code)?.status, "expired");
      assertEquals(after.getPending(chat.code)?.decidedBy, "gateway");
      assert(!after.decide(chat.code, "approved", "u1", "cli", false, Date.now()));
      // `wirken ask` runs in its own process, which may still be waiting.
      assertEquals(after.listPending(Date.now()).map((p) => p.code), [ask.code]);
    } finally {
      after.close();
    }
  } finally {
    audit.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gateway stop: waiting for an adapter to report a cut-off turn ends with the stop, its timer with it", async () => {
  let polled!: () => void;
  const firstPoll = new Promise<void>((r) => polled = r);
  const server = {
    connected: () => {
      polled();
      return false;
    },
    send: () => Promise.reject(new Error("never connected")),
  };
  const stop = new AbortController();
  let settled = false;
  const done = reportInterrupted(
    [{
      session: "telegram:42:default",
      channel: "telegram",
      conversation: "42",
      callId: "c",
      tool: "exec",
      state: "started",
    }],
    server,
    createLogger({ terminal: null }),
    stop.signal,
  ).then(() => settled = true);
  await firstPoll;
  stop.abort();
  // Any timer still pending when the test ends fails it (Deno's op sanitizer); a zero-delay
  // timer only lets the stop's own work (no timer) finish first.
  await Promise.race([done, new Promise((r) => setTimeout(r, 0))]);
  assert(settled, "still waiting after the gateway stopped");
});
