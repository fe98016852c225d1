/**
 * Budget reservations: concurrent turns of one sender never pass a token budget together (the
 * fake model spends every token it is allowed: `max_tokens` of output), a call's `max_tokens`
 * is lowered to what is left, holds are released when calls end, and cost budgets reserve at
 * the chain's price; holds live in usage.db, so two processes share them.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import { createAgentRuntime } from "../../src/router/runtime.ts";
import { UsageStore } from "../../src/usage/store.ts";
import { estimatePromptTokens, HOLD_TTL_MS, reserveCall } from "../../src/usage/reserve.ts";
import type { ChatRequest } from "../../src/providers/types.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { RecordingAudit } from "../agent/fakes.ts";

Deno.test("budgets: concurrent turns of one sender never pass a budget of N tokens", async () => {
  const dir = await Deno.makeTempDir();
  const N = 20_000;
  // Worst case on purpose: every answer uses all the output tokens it was allowed, and is slow
  // enough that all ten turns are in flight together.
  const model = fakeChat((_n, body) => ({
    text: "ok",
    delayMs: 50,
    usage: { prompt: 40, completion: Number(body.max_tokens) },
  }));
  const audit = new RecordingAudit();
  const rt = createAgentRuntime({
    config: ConfigSchema.parse({
      provider: { kind: "custom", model: "m", baseUrl: model.baseUrl },
      channels: { telegram: { allowFrom: ["alice", "bob"] } },
      budgets: { perSender: { dailyTokens: N } },
    }),
    sessionsDb: join(dir, "sessions.db"),
    usageDb: join(dir, "usage.db"),
    workspaceRoot: join(dir, "workspace"),
    audit,
    permit: () => Promise.resolve("allow"),
    env: { get: () => undefined },
  });
  try {
    // Ten conversations (so no session lock orders them), all from alice, all at once.
    const results = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          rt.handle({ handle: openSession("telegram", `g${i}`), sender: "alice", text: "hi" }),
      ),
    );
    const answered = results.filter((r) => r.status === "answered");
    const refused = results.filter((r) => r.status === "limited" && r.reason === "budget");
    assertEquals(answered.length + refused.length, 10, JSON.stringify(results));
    assert(answered.length >= 4, `${answered.length} answered`);
    assert(refused.length >= 1, "the turns past the budget were refused");
    for (const r of refused) {
      assert(r.status === "limited");
      assertStringIncludes(r.message, "daily token budget of alice");
    }
    const spent = answered.reduce(
      (n, r) => r.status === "answered" ? n + r.usage.inputTokens + r.usage.outputTokens : n,
      0,
    );
    assert(spent <= N, `${spent} tokens spent of a budget of ${N}`);
    // The model never saw a refused turn, and was asked for at most what fit.
    assertEquals(model.requests.length, answered.length);
    const asked = model.requests.map((b) => Number(b.max_tokens));
    assert(asked.some((m) => m < 4096), `max_tokens lowered near the end: ${asked}`);
    // Holds are released: bob (his own budget) and, once alice's turns ended, the store's
    // real totals alone decide.
    const bob = await rt.handle({
      handle: openSession("telegram", "b"),
      sender: "bob",
      text: "hi",
    });
    assertEquals(bob.status, "answered");
  } finally {
    rt.close();
    await model.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function request(text: string, maxTokens = 4096): ChatRequest {
  return { model: "m", system: "sys", messages: [{ role: "user", content: text }], maxTokens };
}

Deno.test("reserveCall: holds count against later calls until released; max_tokens is lowered to fit", async () => {
  const dir = await Deno.makeTempDir();
  const store = UsageStore.open(join(dir, "usage.db"));
  try {
    const config = ConfigSchema.parse({ budgets: { agents: { a: { dailyTokens: 1000 } } } });
    const who = { agent: "a", channel: "telegram", sender: "u" };
    const now = Date.parse("2026-05-04T10:00:00Z");
    const req = request("hello", 600);
    const prompt = estimatePromptTokens(req);
    const first = reserveCall(config, store, who, now, req, null);
    assert(first.ok);
    assertEquals(first.reservation.maxTokens, 600);
    // A long prompt no longer fits next to the first call's hold.
    const long = reserveCall(config, store, who, now, request("x".repeat(1600)), null);
    assert(!long.ok);
    assertStringIncludes(long.refuse.message, "has too little left for another answer");
    assertEquals(long.refuse.limit, "dailyTokens");
    // A short one does, with its answer cut to what is left: 1000 - (prompt + 600) - prompt.
    const second = reserveCall(config, store, who, now, req, null);
    assert(second.ok);
    assertEquals(second.reservation.maxTokens, 1000 - (prompt + 600) - prompt);
    const third = reserveCall(config, store, who, now, req, null);
    assert(!third.ok, "the two holds take the whole budget");
    // Released (twice is harmless): the room comes back.
    first.reservation.release();
    first.reservation.release();
    second.reservation.release();
    const again = reserveCall(config, store, who, now, req, null);
    assert(again.ok);
    assertEquals(again.reservation.maxTokens, 600);
    again.reservation.release();
    // Recorded usage counts like a hold: used up is said so.
    store.record({
      at: now,
      ...who,
      model: "custom:m",
      inputTokens: 500,
      outputTokens: 500,
      costUsd: 0,
      priced: false,
    });
    const over = reserveCall(config, store, who, now, req, null);
    assert(!over.ok);
    assertStringIncludes(over.refuse.message, "is used up (1,000 tokens of 1,000 tokens");
    // Another agent is not held by this one's budget.
    assert(reserveCall(config, store, { ...who, agent: "b" }, now, req, null).ok);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reserveCall: a cost budget reserves at the price given and lowers max_tokens to fit", async () => {
  const dir = await Deno.makeTempDir();
  const store = UsageStore.open(join(dir, "usage.db"));
  try {
    const config = ConfigSchema.parse({ budgets: { perSender: { dailyUsd: 0.01 } } });
    const who = { agent: "a", channel: "telegram", sender: "u" };
    const now = Date.now();
    // $10 per million output tokens: $0.01 buys at most 1000 tokens, less the prompt's cost.
    const price = { input: 1, output: 10 };
    const req = request("x".repeat(400));
    const prompt = estimatePromptTokens(req);
    const r = reserveCall(config, store, who, now, req, price);
    assert(r.ok);
    assertEquals(r.reservation.maxTokens, Math.floor((0.01 - prompt / 1e6) / 1e-5));
    const next = reserveCall(config, store, who, now, req, price);
    assert(!next.ok, "the first call holds the whole budget");
    assertStringIncludes(next.refuse.message, "daily cost budget");
    r.reservation.release();
    // An unpriced model holds nothing against a cost budget (its usage records cost 0).
    const free = reserveCall(config, store, who, now, req, null);
    assert(free.ok);
    assertEquals(free.reservation.maxTokens, 4096);
    free.reservation.release();
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reserveCall: holds are shared through usage.db (gateway and `wirken ask`), and a killed process's hold expires", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "usage.db");
  // Two stores on one file: what the gateway and a `wirken ask` process each open.
  const gateway = UsageStore.open(path);
  const ask = UsageStore.open(path);
  try {
    const config = ConfigSchema.parse({ budgets: { perSender: { dailyTokens: 1000 } } });
    const who = { agent: "a", channel: "telegram", sender: "u" };
    const now = Date.parse("2026-05-04T10:00:00Z");
    // The first call may take the whole budget: its prompt plus 4096 answer tokens do not fit.
    const req = request("hello");
    const first = reserveCall(config, gateway, who, now, req, null);
    assert(first.ok);
    assertEquals(first.reservation.maxTokens, 1000 - estimatePromptTokens(req));
    const other = reserveCall(config, ask, who, now, req, null);
    assert(!other.ok, "the other process sees the gateway's hold");
    first.reservation.release();
    const again = reserveCall(config, ask, who, now, req, null);
    assert(again.ok, "released: the room is back for the other process");
    // Never released (its process was killed): it stops counting once it expires.
    assert(!reserveCall(config, gateway, who, now + 1000, req, null).ok);
    const later = reserveCall(config, gateway, who, now + HOLD_TTL_MS + 1, req, null);
    assert(later.ok, "an expired hold no longer counts");
    later.reservation.release();
  } finally {
    gateway.close();
    ask.close();
    await Deno.remove(dir, { recursive: true });
  }
});
