import { join } from "node:path";
import { assert, assertEquals } from "../assert.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { openSession } from "../../src/ipc/session.ts";
import { createAgentRuntime, type RuntimeEvent } from "../../src/router/runtime.ts";
import { answer, call, makeTools, RecordingAudit, ScriptedProvider } from "../agent/fakes.ts";

const config = ConfigSchema.parse({
  agents: [{ id: "default", name: "Helper" }, { id: "ops", model: "qwen3" }],
  limits: { messagesPerMinute: 3 },
});

function make(dir: string, script: (n: number) => ReturnType<typeof answer>) {
  let n = 0;
  const kinds: string[] = [];
  const runtime = createAgentRuntime({
    config,
    sessionsDb: join(dir, "sessions.db"),
    workspaceRoot: join(dir, "workspace"),
    audit: new RecordingAudit(),
    permit: () => Promise.resolve("allow"),
    tools: makeTools([]),
    env: { get: () => undefined },
    providerFactory: (settings) => {
      kinds.push(settings.kind);
      return new ScriptedProvider([], () => script(n++));
    },
  });
  return { runtime, kinds };
}

Deno.test("runtime: stream yields progress then the result; sessions survive a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = make(
      dir,
      (n) =>
        n === 0 ? answer("Looking.", call("a", "get_weather", { city: "Oslo" })) : answer(" Cold."),
    );
    const msg = { handle: openSession("webchat", "tab-1"), sender: "local", text: "Oslo?" };
    const events: RuntimeEvent[] = [];
    for await (const e of first.runtime.stream(msg)) events.push(e);
    assertEquals(events.map((e) => e.type), ["text", "tool_call", "tool_result", "text", "result"]);
    const last = events.at(-1);
    assert(last?.type === "result" && last.result.status === "answered");
    assertEquals(last.result.text, "Looking. Cold.");
    assertEquals(first.kinds, ["ollama"], "nothing configured: the default provider is Ollama");
    assertEquals(first.runtime.agents(), [
      { id: "default", name: "Helper", provider: "ollama", model: "llama3.2" },
      { id: "ops", name: "ops", provider: "ollama", model: "qwen3" },
    ]);
    first.runtime.close();

    // A new runtime on the same files (a gateway restart) sees the conversation.
    const second = make(dir, () => answer("Still cold."));
    assertEquals(second.runtime.sessions().map((s) => s.id), ["webchat:tab-1:default"]);
    assertEquals(second.runtime.transcript("webchat:tab-1:default").length, 4);
    const r = await second.runtime.handle({ ...msg, text: "And now?" });
    assert(r.status === "answered");
    assertEquals(second.runtime.transcript(r.session).length, 6);
    second.runtime.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runtime: two runtimes on one data dir (gateway + ask) share the rate limit", async () => {
  const dir = await Deno.makeTempDir();
  const a = make(dir, () => answer("ok"));
  const b = make(dir, () => answer("ok"));
  try {
    const msg = { handle: openSession("webchat", "c"), sender: "local", text: "q" };
    assertEquals((await a.runtime.handle(msg)).status, "answered");
    assertEquals((await b.runtime.handle(msg)).status, "answered");
    assertEquals((await a.runtime.handle(msg)).status, "answered");
    assertEquals((await b.runtime.handle(msg)).status, "limited");
  } finally {
    a.runtime.close();
    b.runtime.close();
    await Deno.remove(dir, { recursive: true });
  }
});
