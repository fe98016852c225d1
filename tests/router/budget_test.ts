/**
 * Usage and budgets through the runtime with a fake provider: recorded numbers match the
 * provider's usage fields, a budget of N tokens stops the next turn with the message (and an
 * audit event), per-sender budgets are independent, a warning comes before the stop, and cost
 * comes from the price table (config overrides the built-in one).
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import { createAgentRuntime } from "../../src/router/runtime.ts";
import { UsageStore } from "../../src/usage/store.ts";
import { priceOf } from "../../src/usage/prices.ts";
import { fakeChat } from "../fakes/openai_chat.ts";
import { makeTools, RecordingAudit } from "../agent/fakes.ts";

Deno.test("budgets: usage matches the provider, N tokens stop the next turn, senders are independent", async () => {
  const dir = await Deno.makeTempDir();
  const model = fakeChat(() => ({ text: "ok", usage: { prompt: 60, completion: 40 } }));
  const audit = new RecordingAudit();
  const config = ConfigSchema.parse({
    provider: { kind: "custom", model: "house-model", baseUrl: model.baseUrl },
    channels: { telegram: { allowFrom: ["alice", "bob"] } },
    prices: { "custom:house-model": { input: 1, output: 2 } },
    budgets: { perSender: { dailyTokens: 200, warnAt: 0.5 } },
  });
  let now = Date.parse("2026-05-04T10:00:00Z");
  const rt = createAgentRuntime({
    config,
    sessionsDb: join(dir, "sessions.db"),
    usageDb: join(dir, "usage.db"),
    workspaceRoot: join(dir, "workspace"),
    audit,
    permit: () => Promise.resolve("allow"),
    env: { get: () => undefined },
    now: () => now,
  });
  const alice = { handle: openSession("telegram", "g1"), sender: "alice", text: "hi" };
  try {
    const r1 = await rt.handle(alice);
    assert(r1.status === "answered");
    assertEquals(r1.usage, { inputTokens: 60, outputTokens: 40 });
    assertEquals(r1.text, "ok", "nothing was used before this turn: no warning");
    const r2 = await rt.handle(alice);
    assert(r2.status === "answered");
    assertStringIncludes(r2.text, "50% of the daily token budget");
    // 200 tokens used: the next turn is refused with the message, and audited.
    const r3 = await rt.handle(alice);
    assert(r3.status === "limited" && r3.reason === "budget", JSON.stringify(r3));
    assertStringIncludes(r3.message, "daily token budget of alice is used up (200 tokens of 200");
    assertEquals(r3.retryAfterMs, 14 * 3_600_000);
    assertEquals(model.requests.length, 2, "the refused turn never reached the model");
    const refused = audit.events.find((e) => e.kind === "budget.refused");
    assertEquals(refused?.actor, "alice");
    // Bob's budget is his own.
    const r4 = await rt.handle({ ...alice, sender: "bob" });
    assertEquals(r4.status, "answered");
    // Tomorrow (UTC) alice may talk again.
    now += 86_400_000;
    assertEquals((await rt.handle(alice)).status, "answered");
  } finally {
    rt.close();
    await model.close();
  }
  // The recorded numbers: per call, with cost from the config's price.
  const store = UsageStore.open(join(dir, "usage.db"));
  try {
    const rows = store.report({ since: 0 });
    const byAgentModel = rows.map((r) => [r.channel, r.model, r.inputTokens, r.outputTokens]);
    assertEquals(byAgentModel, [
      ["telegram", "custom:house-model", 60, 40],
      ["telegram", "custom:house-model", 180, 120],
    ]);
    assert(Math.abs(rows[1].costUsd - (180 * 1 + 120 * 2) / 1_000_000) < 1e-12);
    const usageEvents = audit.events.filter((e) => e.kind === "model.usage");
    assertEquals(usageEvents.length, 4);
    assertEquals(usageEvents[0].payload, {
      model: "custom:house-model",
      inputTokens: 60,
      outputTokens: 40,
      costUsd: 0.00014,
    });
  } finally {
    store.close();
  }
});

Deno.test("prices: config overrides, built-in prefixes, local models free, unknown null", () => {
  assertEquals(priceOf({}, "openai", "gpt-4o-2024-08-06"), { input: 2.5, output: 10 });
  assertEquals(priceOf({}, "openai", "gpt-4o-mini"), { input: 0.15, output: 0.6 });
  assertEquals(priceOf({ "gpt-4o": { input: 1, output: 1 } }, "openai", "gpt-4o"), {
    input: 1,
    output: 1,
  });
  assertEquals(priceOf({}, "ollama", "llama3.2"), { input: 0, output: 0 });
  assertEquals(priceOf({}, "custom", "my-model"), null);
});

Deno.test("budgets: a turn of many tool rounds is stopped at the round that finds the budget used up", async () => {
  const dir = await Deno.makeTempDir();
  // The model calls a tool forever, 100 tokens a call.
  const model = fakeChat(() => ({
    calls: [{ name: "get_weather", args: { city: "Oslo" } }],
    usage: { prompt: 90, completion: 10 },
  }));
  const audit = new RecordingAudit();
  const rt = createAgentRuntime({
    config: ConfigSchema.parse({
      provider: { kind: "custom", model: "m", baseUrl: model.baseUrl },
      budgets: { agents: { default: { dailyTokens: 250 } } },
    }),
    sessionsDb: join(dir, "sessions.db"),
    usageDb: join(dir, "usage.db"),
    workspaceRoot: join(dir, "workspace"),
    audit,
    permit: () => Promise.resolve("allow"),
    tools: makeTools([]),
    env: { get: () => undefined },
  });
  try {
    const r = await rt.handle({
      handle: openSession("webchat", "c"),
      sender: "local",
      text: "go",
    });
    assert(r.status === "limited" && r.reason === "budget", JSON.stringify(r));
    assertStringIncludes(r.message, "daily token budget of agent default");
    // Each call first reserves its prompt and answer (src/usage/reserve.ts): the first call's
    // prompt (~160 estimated tokens with the tool specs) leaves 90 tokens of answer, and at 100
    // used the second call no longer fits in 250, so it is refused before it is made rather
    // than after it overshot.
    assertEquals(model.requests.map((b) => b.max_tokens), [90]);
    const refused = audit.events.filter((e) => e.kind === "budget.refused");
    assertEquals(refused.map((e) => e.payload?.midTurn), [true]);
    const usedTokens = audit.events.filter((e) => e.kind === "model.usage")
      .reduce((n, e) => n + Number(e.payload?.inputTokens) + Number(e.payload?.outputTokens), 0);
    assert(usedTokens <= 250, `${usedTokens} tokens used of a 250 budget`);
  } finally {
    rt.close();
    await model.close();
  }
});
