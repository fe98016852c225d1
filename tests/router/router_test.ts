import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import { bindAgent, effectiveModel } from "../../src/router/bindings.ts";
import { dispatch, type DispatchDeps } from "../../src/router/dispatch.ts";
import { RateLimiter } from "../../src/ratelimit/limiter.ts";
import { openSessionStore } from "../../src/sessions/store.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import type { ChatEvent, Provider } from "../../src/providers/types.ts";
import { answer, call, makeTools, RecordingAudit, ScriptedProvider } from "../agent/fakes.ts";

const config = ConfigSchema.parse({
  provider: { kind: "openai", model: "gpt-4o" },
  channels: { telegram: { allowFrom: ["alice", "bob"] }, discord: { allowFrom: ["carol"] } },
  agents: [
    { id: "default" },
    { id: "research", model: "o3", systemPrompt: "Cite sources.", tools: ["get_weather"] },
    { id: "ops", provider: { kind: "ollama", model: "qwen3" } },
  ],
  routes: [
    { channel: "telegram", agent: "research" },
    { channel: "telegram", conversation: "ops-room", agent: "ops" },
    { channel: "telegram", conversation: "ops-room", sender: "bob", agent: "default" },
    { channel: "discord", agent: "ghost" },
  ],
  limits: { messagesPerMinute: 2 },
});

Deno.test("router: most specific route wins; unknown agents are skipped", () => {
  const a = (channel: string, conversation: string, sender: string) =>
    bindAgent(config, { channel, conversation, sender }).id;
  assertEquals(a("telegram", "1", "alice"), "research");
  assertEquals(a("telegram", "ops-room", "alice"), "ops");
  assertEquals(a("telegram", "ops-room", "bob"), "default");
  assertEquals(a("discord", "1", "carol"), "default", "route to a missing agent is skipped");
  assertEquals(a("webchat", "x", "local"), "default");
});

Deno.test("router: effective model: agent provider, agent model, top-level, default Ollama", () => {
  const byId = (id: string) => config.agents.find((x) => x.id === id)!;
  assertEquals(effectiveModel(config, byId("research")), {
    kind: "openai",
    model: "o3",
    baseUrl: undefined,
    credential: undefined,
  });
  assertEquals(effectiveModel(config, byId("ops")).kind, "ollama");
  const bare = ConfigSchema.parse({});
  assertEquals(effectiveModel(bare, bare.agents[0]).kind, "ollama");
  assertEquals(effectiveModel(bare, bare.agents[0]).model, "llama3.2");
});

async function withDeps(
  providerFor: (n: number) => ChatEvent[],
  fn: (deps: DispatchDeps, audit: RecordingAudit, seen: string[]) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const sessions = openSessionStore(join(dir, "sessions.db"));
  const audit = new RecordingAudit();
  const seen: string[] = [];
  const deps: DispatchDeps = {
    config,
    sessions,
    limiter: new RateLimiter({
      sender: { perMinute: config.limits.messagesPerMinute },
      channel: { perMinute: config.limits.channelMessagesPerMinute },
      global: { perMinute: config.limits.globalMessagesPerMinute },
    }),
    audit,
    permit: () => Promise.resolve("allow"),
    tools: makeTools([]),
    provider: (m, agent): Provider => {
      seen.push(`${agent.id}:${m.kind}:${m.model}`);
      return new ScriptedProvider([], providerFor);
    },
    workspaceRoot: join(dir, "workspace"),
  };
  try {
    await fn(deps, audit, seen);
  } finally {
    sessions.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("dispatch: allow-list, binding, per-agent tools, session history across messages", async () => {
  await withDeps((n) => answer(`answer ${n}`), async (deps, audit, seen) => {
    const refused = await dispatch(deps, {
      handle: openSession("telegram", "1"),
      sender: "mallory",
      text: "hi",
    });
    assertEquals(refused.status, "refused");
    // The result names the conversation it answers: the reply goes back on this handle.
    assertEquals(refused.handle.key, "telegram:1");
    const r1 = await dispatch(deps, {
      handle: openSession("telegram", "1"),
      sender: "alice",
      text: "hi",
    });
    assert(r1.status === "answered");
    assertEquals(r1.agent, "research");
    assertEquals(r1.session, "telegram:1:research");
    assertEquals(seen, ["research:openai:o3"]);
    const r2 = await dispatch(deps, {
      handle: openSession("telegram", "1"),
      sender: "alice",
      text: "again",
    });
    assert(r2.status === "answered");
    const history = deps.sessions.history(r2.session);
    assertEquals(history.length, 4);
    assert(audit.events.some((e) => e.kind === "message.in"));
    assert(!JSON.stringify(audit.events).includes("again"), "audit records sizes, not text");
  });
});

Deno.test("dispatch: loopback WebChat and `ask` are rate limited with a polite message", async () => {
  await withDeps(() => answer("ok"), async (deps) => {
    const msg = { handle: openSession("webchat", "tab1"), sender: "local", text: "q" };
    assertEquals((await dispatch(deps, msg)).status, "answered");
    assertEquals((await dispatch(deps, msg)).status, "answered");
    const third = await dispatch(deps, msg);
    assert(third.status === "limited");
    assert(third.message.startsWith("You are sending messages faster"));
    const cli = { handle: openSession("cli", "terminal"), sender: "local", text: "q" };
    await dispatch(deps, cli);
    await dispatch(deps, cli);
    assertEquals((await dispatch(deps, cli)).status, "limited");
  });
});

Deno.test("dispatch: per-agent tool allow-list; provider errors become a short failure", async () => {
  await withDeps(
    (n) => n === 0 ? answer("", call("a", "write_note", { text: "x" })) : answer("done"),
    async (deps) => {
      const r = await dispatch(deps, {
        handle: openSession("telegram", "9"),
        sender: "bob",
        text: "note it",
      });
      assert(r.status === "answered");
      const toolMsg = deps.sessions.history(r.session).find((m) => m.role === "tool");
      assert(toolMsg?.role === "tool");
      assert(
        toolMsg.results[0].content.includes('Unknown tool "write_note"'),
        "research may not use write_note",
      );
    },
  );
  await withDeps(() => {
    throw new ProviderError("auth", "OpenAI rejected the API key (HTTP 401).", {
      fix: "Store a valid key",
    });
  }, async (deps) => {
    const r = await dispatch(deps, {
      handle: openSession("webchat", "c"),
      sender: "local",
      text: "q",
    }, {
      agent: "research",
      model: "gpt-4.1",
    });
    assertEquals(r.status, "failed");
    assert(r.status === "failed" && r.message.includes("rejected the API key"));
    const unknown = await dispatch(deps, {
      handle: openSession("webchat", "c"),
      sender: "local",
      text: "q",
    }, {
      agent: "nobody",
    });
    assert(unknown.status === "failed" && unknown.message.includes('no agent "nobody"'));
  });
});

Deno.test("dispatch: two messages to one session at once do not interleave their turns", async () => {
  const provider = new ScriptedProvider([], () => answer("unused"));
  provider.chat = async function* (request) {
    await new Promise((r) => setTimeout(r, 5));
    const last = request.messages.at(-1);
    const events = last?.role === "user"
      ? answer("", call(`c-${last.content}`, "get_weather", { city: last.content }))
      : answer("done");
    for (const e of events) yield e;
  };
  await withDeps(() => answer("x"), async (deps) => {
    const d: DispatchDeps = { ...deps, provider: () => provider };
    const msg = (text: string) => ({
      handle: openSession("webchat", "same"),
      sender: "local",
      text,
    });
    const [a, b] = await Promise.all([dispatch(d, msg("Oslo")), dispatch(d, msg("Rome"))]);
    assert(a.status === "answered" && b.status === "answered");
    const roles = deps.sessions.history(a.session).map((m) => m.role);
    assertEquals(roles, [
      "user",
      "assistant",
      "tool",
      "assistant",
      "user",
      "assistant",
      "tool",
      "assistant",
    ]);
  });
});
