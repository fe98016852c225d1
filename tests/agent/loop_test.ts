import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { MAX_TOOL_ROUNDS, runTurn, type TurnOptions } from "../../src/agent/loop.ts";
import { trimHistory } from "../../src/agent/context.ts";
import type { ChatMessage } from "../../src/providers/types.ts";
import { answer, call, makeTools, RecordingAudit, ScriptedProvider } from "./fakes.ts";

function setup(script: ReturnType<typeof answer>[], over: Partial<TurnOptions> = {}) {
  const log: string[] = [];
  const audit = new RecordingAudit(log);
  const provider = new ScriptedProvider(script);
  const permits: string[] = [];
  const opts: TurnOptions = {
    provider,
    agent: { id: "research", model: "m1", systemPrompt: "Answer in French." },
    tools: makeTools(log),
    history: [],
    message: "Weather?",
    audit,
    permit: (r) => {
      permits.push(r.tool);
      log.push(`permit:${r.tool}`);
      return Promise.resolve("allow");
    },
    session: { id: "s1", channel: "telegram", sender: "u1" },
    ...over,
  };
  return { log, audit, provider, permits, opts };
}

Deno.test("agent: plain answer; system prompt per agent; tools announced as JSON Schema", async () => {
  const { provider, opts } = setup([answer("Bonjour")]);
  const r = await runTurn(opts);
  assertEquals(r.text, "Bonjour");
  assertEquals(r.stoppedBy, "answer");
  assertEquals(r.messages, [
    { role: "user", content: "Weather?" },
    { role: "assistant", content: "Bonjour" },
  ]);
  const req = provider.requests[0];
  assertEquals(req.model, "m1");
  assertStringIncludes(req.system ?? "", "You are research");
  assertStringIncludes(req.system ?? "", "Answer in French.");
  assertEquals(req.tools?.[0].name, "get_weather");
  assertEquals(req.tools?.[0].parameters, {
    type: "object",
    properties: { city: { type: "string", minLength: 1, description: "City name" } },
    required: ["city"],
  });
  // Defaults are optional on input.
  assertEquals(req.tools?.[1].parameters.required, ["text"]);
  assertEquals(r.usage, { inputTokens: 10, outputTokens: 5 });
});

Deno.test("agent: parallel calls run in order, each audited before it runs, results go back", async () => {
  const { log, provider, audit, opts } = setup([
    answer(
      "Je regarde.",
      call("a", "get_weather", { city: "Paris" }),
      call("b", "write_note", { text: "x" }),
    ),
    answer("", call("c", "get_weather", { city: "Berlin" })),
    answer("Fini."),
  ]);
  const saved: ChatMessage[] = [];
  const r = await runTurn({ ...opts, onMessage: (m) => void saved.push(m) });
  assertEquals(r.rounds, 2);
  assertEquals(r.text, "Je regarde.Fini.");
  assertEquals(log, [
    "audit:tool.requested:get_weather",
    "permit:get_weather",
    "run:get_weather:Paris",
    "audit:tool.result:get_weather",
    "audit:tool.requested:write_note",
    "permit:write_note",
    "run:write_note:x",
    "audit:tool.result:write_note",
    "audit:tool.requested:get_weather",
    "permit:get_weather",
    "run:get_weather:Berlin",
    "audit:tool.result:get_weather",
  ]);
  assertEquals(audit.events[0], {
    kind: "tool.requested",
    session: "s1",
    agent: "research",
    channel: "telegram",
    actor: "u1",
    payload: { tool: "get_weather", callId: "a", tier: 1, input: { city: "Paris" } },
  });
  const second = provider.requests[1].messages;
  assertEquals(second.at(-1), {
    role: "tool",
    results: [
      { callId: "a", name: "get_weather", content: "Paris: 18°C" },
      { callId: "b", name: "write_note", content: "saved" },
    ],
  });
  assertEquals(saved, r.messages);
  assertEquals(saved.length, 6);
});

Deno.test("agent: unknown tool and schema-failing arguments are told to the model; loop continues", async () => {
  const { log, provider, opts } = setup([
    answer(
      "",
      call("a", "launch_rockets", {}),
      call("b", "get_weather", { town: "Paris" }),
      call("c", "write_note", "{not json"),
    ),
    answer("Désolé."),
  ]);
  const r = await runTurn(opts);
  assertEquals(r.text, "Désolé.");
  assertEquals(log.filter((l) => l.startsWith("run:")), [], "nothing ran");
  assertEquals(
    log.filter((l) => l.startsWith("audit:")),
    [],
    "invalid calls are not audited as requests",
  );
  const results = provider.requests[1].messages.at(-1);
  assert(results?.role === "tool");
  assertEquals(results.results.map((x) => x.isError), [true, true, true]);
  assertStringIncludes(results.results[0].content, 'Unknown tool "launch_rockets"');
  assertStringIncludes(results.results[0].content, "get_weather, write_note");
  assertStringIncludes(results.results[1].content, "do not match its schema");
  assertStringIncludes(results.results[1].content, "city");
  assertStringIncludes(results.results[2].content, "not valid JSON");
});

Deno.test("agent: a tool does NOT run when the audit append fails", async () => {
  const { log, audit, provider, opts } = setup([
    answer("", call("a", "write_note", { text: "secret plan" })),
    answer("Impossible."),
  ]);
  audit.failNext = 1;
  const r = await runTurn(opts);
  assertEquals(r.text, "Impossible.");
  assertEquals(log.filter((l) => l.startsWith("run:") || l.startsWith("permit:")), []);
  const res = provider.requests[1].messages.at(-1);
  assert(res?.role === "tool" && res.results[0].isError);
  assertStringIncludes(res.results[0].content, "audit log could not record");
});

Deno.test("agent: a denied call is not run, is audited and told to the model", async () => {
  const { log, audit, provider, opts } = setup([
    answer("", call("a", "write_note", { text: "x" })),
    answer("OK."),
  ], { permit: () => Promise.resolve("deny") });
  await runTurn(opts);
  assertEquals(log.filter((l) => l.startsWith("run:")), []);
  assertEquals(audit.events.map((e) => e.kind), ["tool.requested", "tool.denied"]);
  const res = provider.requests[1].messages.at(-1);
  assert(res?.role === "tool");
  assertStringIncludes(res.results[0].content, "did not allow");
});

Deno.test("agent: a throwing tool becomes an error result", async () => {
  const { audit, provider, opts } = setup([
    answer("", call("a", "write_note", { text: "boom" })),
    answer("Raté."),
  ]);
  await runTurn(opts);
  const res = provider.requests[1].messages.at(-1);
  assert(res?.role === "tool");
  assertEquals(res.results[0].isError, true);
  assertStringIncludes(res.results[0].content, "disk on fire");
  assertEquals(audit.events.at(-1)?.kind, "tool.error");
});

Deno.test("agent: a model calling tools forever is stopped at round 20 with a clear message", async () => {
  const log: string[] = [];
  const provider = new ScriptedProvider(
    [],
    (n) => answer("", call(`c${n}`, "get_weather", { city: `C${n}` })),
  );
  const { opts } = setup([]);
  const events: string[] = [];
  const r = await runTurn({
    ...opts,
    provider,
    tools: makeTools(log),
    onEvent: (e) => events.push(e.type),
  });
  assertEquals(MAX_TOOL_ROUNDS, 20);
  assertEquals(r.stoppedBy, "round_limit");
  assertEquals(r.rounds, 20);
  assertEquals(log.filter((l) => l.startsWith("run:")).length, 20);
  assertEquals(provider.requests.length, 21);
  assertStringIncludes(r.text, "stopped after 20 rounds");
  // The unanswered calls of the last answer are not stored.
  const last = r.messages.at(-1);
  assert(last?.role === "assistant" && !last.toolCalls);
  assert(events.includes("round_limit"));
});

Deno.test("agent: a configured lower cap is honoured, a higher one clamped to 20", async () => {
  const forever = (n: number) => answer("", call(`c${n}`, "get_weather", { city: "X" }));
  const { opts } = setup([]);
  const p3 = new ScriptedProvider([], forever);
  assertEquals((await runTurn({ ...opts, provider: p3, maxToolRounds: 3 })).rounds, 3);
  const p99 = new ScriptedProvider([], forever);
  assertEquals((await runTurn({ ...opts, provider: p99, maxToolRounds: 99 })).rounds, 20);
});

Deno.test("agent: history is passed and trimmed to the context budget", async () => {
  const big = "x".repeat(40_000);
  const history: ChatMessage[] = [
    { role: "user", content: big },
    { role: "assistant", content: big },
    { role: "user", content: "recent question" },
    { role: "assistant", content: "recent answer" },
  ];
  const { provider, opts } = setup([answer("ok")], {
    history,
    agent: { id: "a", model: "m", contextTokens: 8_000, maxTokens: 1000 },
  });
  await runTurn(opts);
  const sent = provider.requests[0].messages;
  assertEquals(sent.map((m) => m.role === "user" || m.role === "assistant" ? m.content : "tool"), [
    "recent question",
    "recent answer",
    "Weather?",
  ]);
});

Deno.test("trimHistory: never starts with a tool result or an assistant turn", () => {
  const msgs: ChatMessage[] = [
    { role: "user", content: "a".repeat(4000) },
    { role: "assistant", content: "", toolCalls: [{ id: "1", name: "t", arguments: "{}" }] },
    { role: "tool", results: [{ callId: "1", name: "t", content: "r" }] },
    { role: "assistant", content: "done" },
    { role: "user", content: "next" },
  ];
  assertEquals(trimHistory(msgs, 100), [{ role: "user", content: "next" }]);
  assertEquals(trimHistory(msgs, 100_000).length, 5);
  // The newest message survives even alone over budget.
  assertEquals(trimHistory([{ role: "user", content: "z".repeat(1000) }], 1).length, 1);
});

Deno.test("agent: one answer with 500 calls runs only the per-answer cap; the rest are refused and audited once", async () => {
  const many = Array.from(
    { length: 500 },
    (_, i) => call(`m${i}`, "get_weather", { city: `C${i}` }),
  );
  const { log, provider, audit, opts } = setup([answer("", ...many), answer("done")]);
  const r = await runTurn({ ...opts, maxToolCallsPerRound: 16 });
  assertEquals(r.text, "done");
  assertEquals(log.filter((l) => l.startsWith("run:")).length, 16);
  assertEquals(audit.events.filter((e) => e.kind === "tool.requested").length, 16);
  const limited = audit.events.filter((e) => e.kind === "tool.limited");
  assertEquals(limited.length, 1);
  assertEquals(limited[0].payload?.refused, 484);
  assertEquals(limited[0].payload?.limit, "round");
  assertEquals(limited[0].payload?.tools, ["get_weather"]);
  // Every call has a result (providers reject one without), the excess says why it did not run.
  const results = provider.requests[1].messages.at(-1);
  assert(results?.role === "tool");
  assertEquals(results.results.length, 500);
  assertEquals(results.results[15].content, "C15: 18°C");
  assertEquals(results.results[16].isError, true);
  assertStringIncludes(results.results[16].content, "at most 16 tool calls");
  assertEquals(results.results.map((x) => x.callId), many.map((c) => c.id));
});

Deno.test("agent: the default per-answer cap is 16, and the per-turn cap counts every round", async () => {
  const wide = (n: number) =>
    answer(
      "",
      ...Array.from({ length: 20 }, (_, i) => call(`r${n}c${i}`, "get_weather", { city: "X" })),
    );
  const { log, audit, opts } = setup([]);
  const provider = new ScriptedProvider([], (n) => n < 3 ? wide(n) : answer("enough"));
  const r = await runTurn({ ...opts, provider, maxToolCallsPerTurn: 40 });
  assertEquals(r.text, "enough");
  // 16 + 16 + 8: the third round meets the turn's cap of 40 half-way.
  assertEquals(log.filter((l) => l.startsWith("run:")).length, 40);
  const limited = audit.events.filter((e) => e.kind === "tool.limited");
  assertEquals(limited.map((e) => [e.payload?.limit, e.payload?.refused]), [
    ["round", 4],
    ["round", 4],
    ["turn", 12],
  ]);
  const third = provider.requests[3].messages.at(-1);
  assert(third?.role === "tool");
  assertStringIncludes(third.results[8].content, "limit of 40 tool calls");
  assertStringIncludes(third.results[16].content, "at most 16 tool calls");
});
