import { assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createAnthropicProvider } from "../../src/providers/anthropic.ts";
import { cutAt, type Scripted, sse, startFakeServer } from "./fake_server.ts";
import { FAST, type Fixture, KEY, providerSuite, runToolConversation } from "./harness.ts";

const start = {
  event: "message_start",
  data: {
    type: "message_start",
    message: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      content: [],
      model: "claude-sonnet-4-5",
      stop_reason: null,
      usage: { input_tokens: 25, output_tokens: 1 },
    },
  },
};
const ping = { event: "ping", data: { type: "ping" } };
const textStart = (index: number) => ({
  event: "content_block_start",
  data: { type: "content_block_start", index, content_block: { type: "text", text: "" } },
});
const textDelta = (index: number, text: string) => ({
  event: "content_block_delta",
  data: { type: "content_block_delta", index, delta: { type: "text_delta", text } },
});
const stop = (index: number) => ({
  event: "content_block_stop",
  data: { type: "content_block_stop", index },
});
const toolBlock = (index: number, id: string, name: string, args: string) => [
  {
    event: "content_block_start",
    data: {
      type: "content_block_start",
      index,
      content_block: { type: "tool_use", id, name, input: {} },
    },
  },
  {
    event: "content_block_delta",
    data: {
      type: "content_block_delta",
      index,
      delta: { type: "input_json_delta", partial_json: "" },
    },
  },
  {
    event: "content_block_delta",
    data: {
      type: "content_block_delta",
      index,
      delta: { type: "input_json_delta", partial_json: args.slice(0, 4) },
    },
  },
  {
    event: "content_block_delta",
    data: {
      type: "content_block_delta",
      index,
      delta: { type: "input_json_delta", partial_json: args.slice(4) },
    },
  },
  stop(index),
];
const end = (reason: string) => [
  {
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: reason, stop_sequence: null },
      usage: { output_tokens: 15 },
    },
  },
  { event: "message_stop", data: { type: "message_stop" } },
];

function textStream(text: string): Scripted {
  return {
    chunks: sse(start, textStart(0), ping, textDelta(0, text), stop(0), ...end("end_turn")),
  };
}

export const anthropicFixture: Fixture = {
  name: "anthropic",
  model: "claude-sonnet-4-5",
  make: (url, http) => createAnthropicProvider({ baseUrl: url, apiKey: new Secret(KEY), http }),
  textStream,
  rawTextStream: (pieces) => ({
    chunks: [
      ...sse(start, textStart(0)),
      ...cutAt(pieces, (t) => sse(textDelta(0, t))[0]),
      ...sse(stop(0), ...end("end_turn")),
    ],
  }),
  cutStream: () => ({ chunks: sse(start, textStart(0), textDelta(0, "Hal")) }),
  malformedStream: () => ({
    chunks: [
      ...sse(start, textStart(0)),
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{\n\n',
    ],
  }),
  toolRounds: () => [
    {
      chunks: sse(
        start,
        textStart(0),
        textDelta(0, "Check"),
        textDelta(0, "ing."),
        stop(0),
        ...toolBlock(1, "toolu_A", "get_weather", '{"city":"Paris"}'),
        ...toolBlock(2, "toolu_B", "get_time", '{"tz":"Europe/Paris"}'),
        ...end("tool_use"),
      ),
    },
    {
      chunks: sse(
        start,
        ...toolBlock(0, "toolu_C", "get_weather", '{"city":"Berlin"}'),
        ...end("tool_use"),
      ),
    },
    textStream("Paris 18°C, Berlin 15°C 🌍 完成"),
  ],
  checkRequest: (req) => {
    assertEquals(req.headers.get("x-api-key"), KEY);
    assertEquals(req.headers.get("anthropic-version"), "2023-06-01");
    assertEquals(req.headers.get("authorization"), null);
    if (req.method === "POST") assertEquals(req.url.pathname, "/v1/messages");
  },
};

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
