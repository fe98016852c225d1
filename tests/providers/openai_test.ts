import { assert, assertEquals } from "../assert.ts";
import { startFakeServer } from "./fake_server.ts";
import { collect, FAST, providerSuite, runToolConversation } from "./harness.ts";
import { openaiFixture } from "./openai_fixture.ts";

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
