/** The anthropic wire-format fixture: scripted streams and request checks. */
import { assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createAnthropicProvider } from "../../src/providers/anthropic.ts";
import { cutAt, type Scripted, sse } from "./fake_server.ts";
import { type Fixture, KEY } from "./harness.ts";
export const start = {
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
