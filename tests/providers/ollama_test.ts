import { assertEquals } from "../assert.ts";
import { createOllamaProvider, OLLAMA_BASE_URL } from "../../src/providers/ollama.ts";
import { cutAt, type Scripted, startFakeServer } from "./fake_server.ts";
import { FAST, type Fixture, providerSuite, runToolConversation } from "./harness.ts";

const nd = (...lines: unknown[]) => lines.map((l) => JSON.stringify(l) + "\n");
const msg = (content: string, tool_calls?: unknown[]) => ({
  model: "llama3.2",
  created_at: "2026-01-01T00:00:00Z",
  message: { role: "assistant", content, ...(tool_calls ? { tool_calls } : {}) },
  done: false,
});
const fin = {
  model: "llama3.2",
  created_at: "2026-01-01T00:00:01Z",
  message: { role: "assistant", content: "" },
  done: true,
  done_reason: "stop",
  prompt_eval_count: 26,
  eval_count: 10,
};

function textStream(text: string): Scripted {
  return { headers: { "content-type": "application/x-ndjson" }, chunks: nd(msg(text), fin) };
}

export const ollamaFixture: Fixture = {
  name: "ollama",
  model: "llama3.2",
  make: (url, http) => createOllamaProvider({ baseUrl: url, http }),
  textStream,
  rawTextStream: (pieces) => ({
    chunks: [...cutAt(pieces, (t) => nd(msg(t))[0]), ...nd(fin)],
  }),
  cutStream: () => ({ chunks: nd(msg("Hal")) }),
  malformedStream: () => ({ chunks: [...nd(msg("a")), '{"message":{"content":\n'] }),
  toolRounds: () => [
    {
      chunks: nd(
        msg("Check"),
        msg("ing."),
        msg("", [
          { function: { name: "get_weather", arguments: { city: "Paris" } } },
          { function: { name: "get_time", arguments: { tz: "Europe/Paris" } } },
        ]),
        fin,
      ),
    },
    {
      chunks: nd(
        msg("", [{ function: { name: "get_weather", arguments: { city: "Berlin" } } }]),
        fin,
      ),
    },
    textStream("Paris 18°C, Berlin 15°C 🌍 完成"),
  ],
  checkRequest: (req) => {
    assertEquals(req.headers.get("authorization"), null);
    if (req.method === "POST") assertEquals(req.url.pathname, "/api/chat");
  },
};

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
