/** The OpenAI wire-format fixture, shared by the OpenAI-compatible providers' tests. */
import { assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createOpenAIProvider } from "../../src/providers/openai.ts";
import { cutAt, sse } from "./fake_server.ts";
import { type Fixture, KEY } from "./harness.ts";

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
