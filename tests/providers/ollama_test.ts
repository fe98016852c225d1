import { assertEquals } from "../assert.ts";
import { createOllamaProvider, OLLAMA_BASE_URL } from "../../src/providers/ollama.ts";
import { startFakeServer } from "./fake_server.ts";
import { FAST, providerSuite, runToolConversation } from "./harness.ts";
import { ollamaFixture } from "./ollama_fixture.ts";

providerSuite(ollamaFixture);

Deno.test("ollama: default URL is loopback 11434", () => {
  assertEquals(OLLAMA_BASE_URL, "http://127.0.0.1:11434");
  assertEquals(createOllamaProvider().baseUrl, "http://127.0.0.1:11434");
});

Deno.test("ollama: body, tool_calls echo and tool messages", async () => {
  const server = startFakeServer((r) => ollamaFixture.checkRequest(r));
  try {
    server.push(...ollamaFixture.toolRounds());
    await runToolConversation(ollamaFixture.make(server.url, FAST), "llama3.2");
    const first = JSON.parse(server.requests[0].body);
    assertEquals(first.stream, true);
    assertEquals(first.options, { num_predict: 512 });
    assertEquals(first.tools[0].function.name, "get_weather");
    const m = JSON.parse(server.requests[2].body).messages;
    assertEquals(m[0], { role: "system", content: "You are terse." });
    assertEquals(m[2], {
      role: "assistant",
      content: "Checking.",
      tool_calls: [
        { function: { name: "get_weather", arguments: { city: "Paris" } } },
        { function: { name: "get_time", arguments: { tz: "Europe/Paris" } } },
      ],
    });
    assertEquals(m[3], {
      role: "tool",
      content: "result:get_weather:Paris",
      tool_name: "get_weather",
    });
    assertEquals(m[4], {
      role: "tool",
      content: "result:get_time:Europe/Paris",
      tool_name: "get_time",
    });
  } finally {
    await server.close();
  }
});

Deno.test("ollama: models from /api/tags", async () => {
  const server = startFakeServer();
  try {
    server.push({ chunks: ['{"models":[{"name":"qwen3:8b"},{"name":"llama3.2:latest"}]}'] });
    assertEquals(await ollamaFixture.make(server.url, FAST).models(), [
      "llama3.2:latest",
      "qwen3:8b",
    ]);
  } finally {
    await server.close();
  }
});

Deno.test("ollama: the caller's context window is requested as num_ctx", async () => {
  const server = startFakeServer();
  try {
    server.push(ollamaFixture.textStream("ok"));
    const p = ollamaFixture.make(server.url, FAST);
    for await (
      const _ of p.chat({
        model: "llama3.2",
        messages: [{ role: "user", content: "q" }],
        contextTokens: 8192,
      })
    ) {
      // drain
    }
    assertEquals(JSON.parse(server.requests[0].body).options, { num_ctx: 8192 });
  } finally {
    await server.close();
  }
});
