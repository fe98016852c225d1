/**
 * Model failover through the runtime against two fake OpenAI-compatible servers: A answers 429
 * and 500, B answers; the turn succeeds on B and the audit says so; A is skipped while its
 * breaker is open; auth errors never fail over; a confidential provider never falls over to a
 * non-confidential one unless the agent allows it.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import type { ChatEvent, Provider } from "../../src/providers/types.ts";
import { createAgentRuntime } from "../../src/router/runtime.ts";
import { failoverChain } from "../../src/router/failover.ts";
import { fakeChat, type Step } from "../fakes/openai_chat.ts";
import { answer, RecordingAudit, ScriptedProvider } from "../agent/fakes.ts";

const MSG = { handle: openSession("webchat", "c1"), sender: "local", text: "hi" };

async function withServers(
  a: (n: number) => Step,
  b: (n: number) => Step,
  fn: (urls: { a: string; b: string }, counts: () => [number, number]) => Promise<void>,
): Promise<void> {
  const A = fakeChat(a);
  const B = fakeChat(b);
  try {
    await fn({ a: A.baseUrl, b: B.baseUrl }, () => [A.requests.length, B.requests.length]);
  } finally {
    await A.close();
    await B.close();
  }
}

function runtime(dir: string, config: unknown, audit: RecordingAudit) {
  return createAgentRuntime({
    config: ConfigSchema.parse(config),
    sessionsDb: join(dir, "sessions.db"),
    usageDb: join(dir, "usage.db"),
    workspaceRoot: join(dir, "workspace"),
    audit,
    permit: () => Promise.resolve("allow"),
    env: { get: (k) => (k === "WIRKEN_API_KEY" ? "sk-fake" : undefined) },
    // One retry, quickly: failover starts once the retry policy has given up.
    http: { retries: 1, baseDelayMs: 1, maxDelayMs: 5 },
  });
}

Deno.test("failover: A answers 429 then 500, B answers; audit names B; A skipped while its breaker is open", async () => {
  const dir = await Deno.makeTempDir();
  await withServers(
    (n) => ({ status: n < 2 ? 429 : 500 }),
    () => ({ text: "from B", usage: { prompt: 7, completion: 3 } }),
    async (urls, counts) => {
      const audit = new RecordingAudit();
      const rt = runtime(dir, {
        provider: { kind: "custom", model: "model-a", baseUrl: urls.a },
        agents: [{
          id: "default",
          fallbacks: [{ kind: "custom", model: "model-b", baseUrl: urls.b }],
        }],
        failover: { breakerFailures: 2, breakerSeconds: 600 },
      }, audit);
      try {
        const r1 = await rt.handle(MSG);
        assert(r1.status === "answered", JSON.stringify(r1));
        assertEquals([r1.text, r1.model], ["from B", "custom:model-b"]);
        assertEquals(counts(), [2, 1], "A tried twice (one retry), then B");
        const r2 = await rt.handle({ ...MSG, text: "again" });
        assert(r2.status === "answered" && r2.model === "custom:model-b");
        assertEquals(counts(), [4, 2]);
        // Two failed calls in a row: A's breaker is open, so it is not even asked.
        const r3 = await rt.handle({ ...MSG, text: "third" });
        assert(r3.status === "answered" && r3.model === "custom:model-b");
        assertEquals(counts(), [4, 3]);
        const failovers = audit.events.filter((e) => e.kind === "model.failover").map((e) =>
          e.payload
        );
        assertEquals(failovers, [
          { from: "custom:model-a", to: "custom:model-b", reason: "rate_limit" },
          { from: "custom:model-a", to: "custom:model-b", reason: "unavailable" },
          { from: "custom:model-a", to: "custom:model-b", reason: "circuit open" },
        ]);
        const outs = audit.events.filter((e) => e.kind === "message.out");
        assertEquals(outs.map((e) => e.payload?.model), Array(3).fill("custom:model-b"));
        const usage = audit.events.filter((e) => e.kind === "model.usage").map((e) => e.payload);
        assertEquals(usage[0], {
          model: "custom:model-b",
          inputTokens: 7,
          outputTokens: 3,
          costUsd: 0,
        });
      } finally {
        rt.close();
      }
    },
  );
});

Deno.test("failover: an auth error (401) does not fall over to the next model", async () => {
  const dir = await Deno.makeTempDir();
  await withServers(() => ({ status: 401 }), () => ({ text: "from B" }), async (urls, counts) => {
    const audit = new RecordingAudit();
    const rt = runtime(dir, {
      provider: { kind: "custom", model: "model-a", baseUrl: urls.a },
      agents: [{ id: "default", fallbacks: [{ kind: "custom", model: "b", baseUrl: urls.b }] }],
    }, audit);
    try {
      const r = await rt.handle(MSG);
      assertEquals(r.status, "failed");
      assertEquals(counts()[1], 0);
      assert(!audit.events.some((e) => e.kind === "model.failover"));
    } finally {
      rt.close();
    }
  });
});

class Failing implements Provider {
  readonly baseUrl = "http://127.0.0.1:1";
  constructor(readonly kind: Provider["kind"]) {}
  // deno-lint-ignore require-yield
  async *chat(): AsyncGenerator<ChatEvent> {
    throw new ProviderError("rate_limit", "busy", { status: 429 });
  }
  models = () => Promise.resolve([]);
  health = () => Promise.resolve({ ok: false, message: "", latencyMs: 0 });
}

Deno.test("failover: no fallback from a confidential provider to a non-confidential one unless allowed", async () => {
  const dir = await Deno.makeTempDir();
  const agent = {
    id: "default",
    provider: { kind: "tinfoil", model: "llama3-3-70b" },
    fallbacks: [{ kind: "openai", model: "gpt-4o" }, { kind: "privatemode", model: "m" }],
  };
  const primary = { kind: "tinfoil" as const, model: "llama3-3-70b" };
  const parsed = ConfigSchema.parse({ agents: [agent] }).agents[0];
  assertEquals(failoverChain(primary, parsed).map((m) => m.kind), ["tinfoil", "privatemode"]);
  const allowed = ConfigSchema.parse({ agents: [{ ...agent, allowNonConfidentialFallback: true }] })
    .agents[0];
  assertEquals(failoverChain(primary, allowed).map((m) => m.kind), [
    "tinfoil",
    "openai",
    "privatemode",
  ]);

  // Through the runtime: tinfoil and privatemode are rate-limited; OpenAI is never asked.
  const asked: string[] = [];
  const rt = createAgentRuntime({
    config: ConfigSchema.parse({ agents: [agent] }),
    sessionsDb: join(dir, "sessions.db"),
    workspaceRoot: join(dir, "workspace"),
    audit: new RecordingAudit(),
    permit: () => Promise.resolve("allow"),
    env: { get: () => undefined },
    providerFactory: (s) => {
      asked.push(s.kind);
      return s.kind === "openai" ? new ScriptedProvider([answer("leaked")]) : new Failing(s.kind);
    },
  });
  try {
    const r = await rt.handle(MSG);
    assertEquals(r.status, "failed");
    assertEquals(asked, ["tinfoil", "privatemode"]);
  } finally {
    rt.close();
  }
});
