import { assert, assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createOpenAIProvider } from "../../src/providers/openai.ts";
import { cutAt, sse, startFakeServer } from "./fake_server.ts";
import { collect, FAST, type Fixture, KEY, providerSuite, runToolConversation } from "./harness.ts";

function chunk(delta: Record<string, unknown>, finish: string | null = null) {
  return {
    id: "c1",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}
const usage = {
  id: "c1",
  object: "chat.completion.chunk",
  choices: [],
  usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
};

function call(index: number, id: string, name: string, args: string) {
  return [
    chunk({ tool_calls: [{ index, id, type: "function", function: { name, arguments: "" } }] }),
    // Arguments arrive in fragments, as OpenAI streams them.
    chunk({ tool_calls: [{ index, function: { arguments: args.slice(0, 5) } }] }),
    chunk({ tool_calls: [{ index, function: { arguments: args.slice(5) } }] }),
  ];
}

export const openaiFixture: Fixture = {
  name: "openai",
  model: "gpt-4o",
  make: (url, http) =>
    createOpenAIProvider({
      baseUrl: url + "/v1",
      apiKey: new Secret(KEY),
      http,
      credentialName: "provider.openai.api_key",
    }),
  textStream: (text) => ({
    headers: { "content-type": "text/event-stream" },
    chunks: sse(
      { data: chunk({ role: "assistant", content: "" }) },
      { data: chunk({ content: text }) },
      { data: chunk({}, "stop") },
      { data: usage },
      "[DONE]",
    ),
  }),
  rawTextStream: (pieces) => ({
    chunks: [
      ...cutAt(pieces, (t) => sse({ data: chunk({ content: t }) })[0]),
      ...sse({ data: chunk({}, "stop") }, "[DONE]"),
    ],
  }),
  cutStream: () => ({ chunks: sse({ data: chunk({ content: "Hal" }) }) }),
  malformedStream: () => ({
    chunks: [...sse({ data: chunk({ content: "a" }) }), 'data: {"choices":[{"delta":\n\n'],
  }),
  toolRounds: () => [
    {
      chunks: sse(
        { data: chunk({ role: "assistant", content: "Check" }) },
        { data: chunk({ content: "ing." }) },
        ...[
          ...(call(0, "call_A", "get_weather", '{"city":"Paris"}')),
          ...(call(1, "call_B", "get_time", '{"tz":"Europe/Paris"}')),
        ].map((data) => ({ data })),
        { data: chunk({}, "tool_calls") },
        { data: usage },
        "[DONE]",
      ),
    },
    {
      chunks: sse(
        ...(call(0, "call_C", "get_weather", '{"city":"Berlin"}')).map((data) => ({ data })),
        { data: chunk({}, "tool_calls") },
        "[DONE]",
      ),
    },
    openaiFixture.textStream("Paris 18°C, Berlin 15°C 🌍 完成"),
  ],
  checkRequest: (req) => {
    if (req.url.pathname === "/v1/chat/completions") {
      assertEquals(req.method, "POST");
      assertEquals(req.headers.get("authorization"), `Bearer ${KEY}`);
      assertEquals(req.headers.get("content-type"), "application/json");
    }
  },
};

providerSuite(openaiFixture);

Deno.test("openai: request body and tool results in OpenAI format", async () => {
  const server = startFakeServer((r) => openaiFixture.checkRequest(r));
  try {
    server.push(...openaiFixture.toolRounds());
    const provider = openaiFixture.make(server.url, FAST);
    await runToolConversation(provider, "gpt-4o");
    const first = JSON.parse(server.requests[0].body);
    assertEquals(first.model, "gpt-4o");
    assertEquals(first.stream, true);
    assertEquals(first.stream_options, { include_usage: true });
    assertEquals(first.max_completion_tokens, 512);
    assertEquals(first.messages[0], { role: "system", content: "You are terse." });
    assertEquals(first.tools[0].type, "function");
    assertEquals(first.tools[0].function.name, "get_weather");
    assertEquals(first.tools[0].function.parameters.required, ["city"]);
    const third = JSON.parse(server.requests[2].body);
    const msgs = third.messages;
    assertEquals(msgs[2], {
      role: "assistant",
      content: "Checking.",
      tool_calls: [
        {
          id: "call_A",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
        },
        {
          id: "call_B",
          type: "function",
          function: { name: "get_time", arguments: '{"tz":"Europe/Paris"}' },
        },
      ],
    });
    assertEquals(msgs[3], {
      role: "tool",
      tool_call_id: "call_A",
      content: "result:get_weather:Paris",
    });
    assertEquals(msgs[4], {
      role: "tool",
      tool_call_id: "call_B",
      content: "result:get_time:Europe/Paris",
    });
    assertEquals(msgs[5].tool_calls[0].id, "call_C");
    assertEquals(msgs[6].tool_call_id, "call_C");
  } finally {
    await server.close();
  }
});

Deno.test("openai: usage is reported, models listed, health ok", async () => {
  const server = startFakeServer();
  try {
    server.push(openaiFixture.textStream("x"), {
      chunks: ['{"object":"list","data":[{"id":"gpt-4o"},{"id":"gpt-4.1"}]}'],
    });
    const provider = openaiFixture.make(server.url, FAST);
    const r = await collect(
      provider.chat({ model: "m", messages: [{ role: "user", content: "q" }] }),
    );
    assert(r.events.some((e) => e.type === "usage" && e.inputTokens === 9 && e.outputTokens === 3));
    assertEquals(await provider.models(), ["gpt-4.1", "gpt-4o"]);
    assertEquals(server.requests[1].url.pathname, "/v1/models");
    const h = await provider.health();
    assert(h.ok, h.message);
  } finally {
    await server.close();
  }
});

Deno.test("openai: health reports a bad key without throwing", async () => {
  const server = startFakeServer();
  try {
    server.push({ status: 401, chunks: ["{}"] });
    const h = await openaiFixture.make(server.url, FAST).health();
    assertEquals(h.ok, false);
    assert(h.message.includes("rejected the API key"));
  } finally {
    await server.close();
  }
});
