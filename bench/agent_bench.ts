/**
 * Gateway overhead per agent turn, with an instant fake provider so the provider's own time is
 * (near) zero: allow-list, rate limits, agent binding, session lookup and history load, context
 * assembly, the turn loop, session writes and durable audit appends (`synchronous=FULL`).
 *
 * Figures (milliseconds per turn):
 * - `turn_ms`: a plain answer, in-memory provider.
 * - `turn_ms_memory_audit`: the same with an in-memory audit sink, to show how much of a turn
 *   is the audit log's fsync rather than wirken's own work.
 * - `tool_turn_ms`: two parallel tool calls then an answer (two provider rounds, two tools,
 *   each tool audited before it runs and after).
 * - `http_turn_ms`: a plain answer through the real OpenAI provider code (HTTP, SSE parsing)
 *   against an instant loopback server.
 *
 * `bench/run.ts` picks this module up and calls {@linkcode run}.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { openAuditLog } from "../src/audit/log.ts";
import { openSession } from "../src/ipc/session.ts";
import { ConfigSchema } from "../src/config/schema.ts";
import { createOpenAIProvider } from "../src/providers/openai.ts";
import type { ChatEvent, ChatRequest, Provider } from "../src/providers/types.ts";
import { RateLimiter } from "../src/ratelimit/limiter.ts";
import { dispatch, type DispatchDeps } from "../src/router/dispatch.ts";
import { openSessionStore } from "../src/sessions/store.ts";
import { defineTool } from "../src/tools/types.ts";
import { summarize, type Summary } from "./stats.ts";

/** A provider that answers at once from a function of the request. */
class InstantProvider implements Provider {
  readonly kind = "custom" as const;
  readonly baseUrl = "http://127.0.0.1:1";
  constructor(private readonly answer: (r: ChatRequest) => ChatEvent[]) {}
  async *chat(request: ChatRequest): AsyncGenerator<ChatEvent> {
    for (const e of this.answer(request)) yield e;
  }
  models(): Promise<string[]> {
    return Promise.resolve([]);
  }
  health(): Promise<{ ok: boolean; message: string; latencyMs: number }> {
    return Promise.resolve({ ok: true, message: "instant", latencyMs: 0 });
  }
}

const plain = (): ChatEvent[] => [
  { type: "text", text: "The answer is 42." },
  { type: "usage", inputTokens: 100, outputTokens: 8 },
  { type: "done", stopReason: "stop" },
];

const withTools = (r: ChatRequest): ChatEvent[] =>
  r.messages.at(-1)?.role === "tool" ? plain() : [
    {
      type: "tool_call",
      call: { id: "a", name: "lookup", arguments: '{"q":"paris"}' },
    },
    {
      type: "tool_call",
      call: { id: "b", name: "lookup", arguments: '{"q":"berlin"}' },
    },
    { type: "done", stopReason: "tool_calls" },
  ];

const lookup = defineTool({
  name: "lookup",
  description: "Looks something up.",
  tier: 1,
  inputSchema: z.object({ q: z.string() }),
  run: (i) => Promise.resolve({ content: `result for ${i.q}` }),
});

async function measure(
  deps: DispatchDeps,
  turns: number,
): Promise<Summary> {
  const samples: number[] = [];
  for (let i = 0; i < turns + 20; i++) {
    const t0 = performance.now();
    const r = await dispatch(deps, {
      // 50 conversations, so histories grow the way a busy gateway's do.
      handle: openSession("webchat", `c${i % 50}`),
      sender: "local",
      text: `question ${i}`,
    });
    const dt = performance.now() - t0;
    if (r.status !== "answered") throw new Error(`turn ${i}: ${r.status}`);
    if (i >= 20) samples.push(dt); // the first turns warm up JIT and SQLite caches
  }
  return summarize(samples);
}

/**
 * Runs the agent benchmarks in a temp dir and returns their figures. `size` is the number of
 * turns, or the options object `bench/run.ts` hands every suite.
 */
export async function run(
  size: number | { turns?: number } = 300,
): Promise<Record<string, Summary | number>> {
  const turns = typeof size === "number" ? size : size.turns ?? 300;
  const dir = await Deno.makeTempDir({ prefix: "wirken-agent-bench-" });
  const sessions = openSessionStore(join(dir, "sessions.db"));
  const audit = openAuditLog(join(dir, "audit.db"));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    const chunk = (d: unknown) => `data: ${JSON.stringify(d)}\n\n`;
    return new Response(
      chunk({ choices: [{ index: 0, delta: { content: "The answer is 42." } }] }) +
        chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) + "data: [DONE]\n\n",
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  const http = createOpenAIProvider({
    kind: "custom",
    baseUrl: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/v1`,
  });
  const base = (provider: Provider): DispatchDeps => ({
    config: ConfigSchema.parse({}),
    sessions,
    limiter: new RateLimiter({
      sender: { perMinute: 1e9 },
      channel: { perMinute: 1e9 },
      global: { perMinute: 1e9 },
    }),
    audit,
    permit: () => Promise.resolve("allow"),
    tools: [lookup],
    provider: () => provider,
    workspaceRoot: join(dir, "workspace"),
  });
  try {
    const memoryAudit = { append: () => Promise.resolve(0) };
    return {
      turn_ms: await measure(base(new InstantProvider(plain)), turns),
      turn_ms_memory_audit: await measure(
        { ...base(new InstantProvider(plain)), audit: memoryAudit },
        turns,
      ),
      tool_turn_ms: await measure(base(new InstantProvider(withTools)), turns),
      http_turn_ms: await measure(base(http), turns),
    };
  } finally {
    await server.shutdown();
    sessions.close();
    audit.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const r = await run(Number(Deno.args[0] ?? 300));
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(r, null, 2) + "\n"));
}
