import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { ProviderError } from "../providers/errors.ts";
import type { ChatEvent, ChatRequest, Provider, ProviderErrorKind } from "../providers/types.ts";
import { CircuitBreaker, failoverProvider } from "./failover.ts";

function provider(script: (req: ChatRequest) => ChatEvent[], failAfter?: ProviderErrorKind) {
  const seen: string[] = [];
  const p: Provider = {
    kind: "custom",
    baseUrl: "http://127.0.0.1:1",
    async *chat(req) {
      seen.push(req.model);
      for (const e of script(req)) {
        await Promise.resolve();
        yield e;
      }
      if (failAfter) throw new ProviderError(failAfter, failAfter);
    },
    models: () => Promise.resolve([]),
    health: () => Promise.resolve({ ok: true, message: "", latencyMs: 0 }),
  };
  return { p, seen };
}

async function drain(p: Provider): Promise<string> {
  let text = "";
  for await (const e of p.chat({ model: "x", messages: [] })) if (e.type === "text") text += e.text;
  return text;
}

const A = { kind: "custom" as const, model: "a", baseUrl: "http://a" };
const B = { kind: "custom" as const, model: "b", baseUrl: "http://b" };

Deno.test("failover: no second answer once the first model has streamed text", async () => {
  const a = provider(() => [{ type: "text", text: "half an ans" }], "network");
  const b = provider(() => [{ type: "text", text: "whole" }]);
  const moves: string[] = [];
  const fp = failoverProvider(
    [{ model: A, provider: () => a.p }, { model: B, provider: () => b.p }],
    new CircuitBreaker(),
    { onFailover: (f, t) => moves.push(`${f.model}->${t.model}`) },
  );
  await assertRejects(() => drain(fp), ProviderError);
  assertEquals([b.seen, moves], [[], []]);
});

Deno.test("failover: the breaker opens after N failures and closes after its time", async () => {
  let now = 0;
  const breaker = new CircuitBreaker(2, 1000, () => now);
  const a = provider(() => [], "unavailable");
  const b = provider(() => [{ type: "text", text: "b" }]);
  const chain = [{ model: A, provider: () => a.p }, { model: B, provider: () => b.p }];
  const moves: string[] = [];
  const hooks = { onFailover: (_f: unknown, _t: unknown, why: string) => moves.push(why) };
  for (let i = 0; i < 3; i++) {
    assertEquals(await drain(failoverProvider(chain, breaker, hooks)), "b");
  }
  assertEquals(a.seen.length, 2, "skipped on the third turn");
  assertEquals(moves, ["unavailable", "unavailable", "circuit open"]);
  now = 1001;
  await drain(failoverProvider(chain, breaker, hooks));
  assertEquals(a.seen.length, 3, "tried again once the breaker closed");
  // Models come from the chain, not the request.
  assertEquals(b.seen, ["b", "b", "b", "b"]);
});
