/**
 * The audit records of one turn that follow what already happened (model usage, the answer) are
 * appended together, so they share one durable commit, while message.in stays durable before
 * the model is ever called (write before execute).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import { createAgentRuntime } from "../../src/router/runtime.ts";
import type { AuditEventInput, AuditSink } from "../../src/audit/types.ts";
import { fakeChat } from "../fakes/openai_chat.ts";

/** A sink whose appends become durable a macrotask later, like a commit that takes time. */
class SlowAudit implements AuditSink {
  log: { kind: string; inFlight: string[] }[] = [];
  durable: string[] = [];
  #inFlight = new Set<string>();
  append(e: AuditEventInput): Promise<number> {
    this.log.push({ kind: e.kind, inFlight: [...this.#inFlight] });
    this.#inFlight.add(e.kind);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.#inFlight.delete(e.kind);
        this.durable.push(e.kind);
        resolve(this.durable.length);
      }, 5)
    );
  }
}

Deno.test("dispatch: usage and message.out share one append round; message.in is durable before the model", async () => {
  const dir = await Deno.makeTempDir();
  const audit = new SlowAudit();
  let durableAtModelCall: string[] = [];
  const model = fakeChat(() => {
    durableAtModelCall = [...audit.durable];
    return { text: "ok", usage: { prompt: 10, completion: 2 } };
  });
  const rt = createAgentRuntime({
    config: ConfigSchema.parse({
      provider: { kind: "custom", model: "m", baseUrl: model.baseUrl },
      channels: { telegram: { allowFrom: ["alice"] } },
    }),
    sessionsDb: join(dir, "sessions.db"),
    usageDb: join(dir, "usage.db"),
    workspaceRoot: join(dir, "workspace"),
    audit,
    permit: () => Promise.resolve("allow"),
    env: { get: () => undefined },
  });
  try {
    const r = await rt.handle({
      handle: openSession("telegram", "c1"),
      sender: "alice",
      text: "hi",
    });
    assertEquals(r.status, "answered");
  } finally {
    rt.close();
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert(
    durableAtModelCall.includes("message.in"),
    `durable at the model call: ${durableAtModelCall}`,
  );
  const kinds = audit.log.map((x) => x.kind);
  assertEquals(kinds, ["message.in", "model.usage", "message.out"]);
  const out = audit.log.find((x) => x.kind === "message.out")!;
  assertEquals(out.inFlight, ["model.usage"], "message.out did not wait for usage's own commit");
  assertEquals(audit.durable, ["message.in", "model.usage", "message.out"]);
});
