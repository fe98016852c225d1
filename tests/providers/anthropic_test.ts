import { assertEquals } from "../assert.ts";
import { sse, startFakeServer } from "./fake_server.ts";
import { FAST, providerSuite, runToolConversation } from "./harness.ts";
import { anthropicFixture, start } from "./anthropic_fixture.ts";

providerSuite(anthropicFixture);

Deno.test("anthropic: body and tool_result blocks in Messages format", async () => {
  const server = startFakeServer((r) => anthropicFixture.checkRequest(r));
  try {
    server.push(...anthropicFixture.toolRounds());
    await runToolConversation(anthropicFixture.make(server.url, FAST), "claude-sonnet-4-5");
    const first = JSON.parse(server.requests[0].body);
    assertEquals(first.system, "You are terse.");
    assertEquals(first.max_tokens, 512);
    assertEquals(first.stream, true);
    assertEquals(first.tools[0], {
      name: "get_weather",
      description: "Weather of a city.",
      input_schema: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      },
    });
    const msgs = JSON.parse(server.requests[2].body).messages;
    assertEquals(msgs[1], {
      role: "assistant",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "toolu_A", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "toolu_B", name: "get_time", input: { tz: "Europe/Paris" } },
      ],
    });
    assertEquals(msgs[2], {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_A", content: "result:get_weather:Paris" },
        { type: "tool_result", tool_use_id: "toolu_B", content: "result:get_time:Europe/Paris" },
      ],
    });
    assertEquals(msgs[3].content, [
      { type: "tool_use", id: "toolu_C", name: "get_weather", input: { city: "Berlin" } },
    ]);
    assertEquals(msgs[4].content[0].tool_use_id, "toolu_C");
  } finally {
    await server.close();
  }
});

Deno.test("anthropic: an error event becomes a short unavailable error", async () => {
  const server = startFakeServer();
  try {
    server.push({
      chunks: sse(start, {
        event: "error",
        data: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
      }),
    });
    const p = anthropicFixture.make(server.url, FAST);
    let msg = "";
    try {
      for await (const _ of p.chat({ model: "m", messages: [{ role: "user", content: "x" }] })) {
        // drain
      }
    } catch (e) {
      msg = (e as Error).message;
    }
    assertEquals(msg, "Anthropic is overloaded right now.");
  } finally {
    await server.close();
  }
});
