/** The gemini wire-format fixture: scripted streams and request checks. */
import { assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createGeminiProvider } from "../../src/providers/gemini.ts";
import { cutAt, type Scripted, sse } from "./fake_server.ts";
import { type Fixture, KEY } from "./harness.ts";
function resp(parts: unknown[], finishReason?: string) {
  return {
    candidates: [{
      content: { role: "model", parts },
      index: 0,
      ...(finishReason ? { finishReason } : {}),
    }],
    ...(finishReason
      ? { usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 7, totalTokenCount: 27 } }
      : {}),
    modelVersion: "gemini-2.5-flash",
  };
}

export function textStream(text: string): Scripted {
  return { chunks: sse({ data: resp([{ text }]) }, { data: resp([{ text: "" }], "STOP") }) };
}

export const geminiFixture: Fixture = {
  name: "gemini",
  model: "gemini-2.5-flash",
  make: (url, http) => createGeminiProvider({ baseUrl: url, apiKey: new Secret(KEY), http }),
  textStream,
  rawTextStream: (pieces) => ({
    chunks: [
      ...cutAt(pieces, (t) => sse({ data: resp([{ text: t }]) })[0]),
      ...sse({ data: resp([], "STOP") }),
    ],
  }),
  cutStream: () => ({ chunks: sse({ data: resp([{ text: "Hal" }]) }) }),
  malformedStream: () => ({
    chunks: [...sse({ data: resp([{ text: "a" }]) }), 'data: {"candidates":[{"content":\n\n'],
  }),
  toolRounds: () => [
    {
      chunks: sse(
        { data: resp([{ text: "Check" }]) },
        { data: resp([{ text: "ing." }]) },
        {
          data: resp([
            {
              functionCall: { name: "get_weather", args: { city: "Paris" } },
              thoughtSignature: "sig1",
            },
            { functionCall: { name: "get_time", args: { tz: "Europe/Paris" } } },
          ], "STOP"),
        },
      ),
    },
    {
      chunks: sse({
        data: resp([{
          functionCall: { id: "fc-9", name: "get_weather", args: { city: "Berlin" } },
        }], "STOP"),
      }),
    },
    textStream("Paris 18°C, Berlin 15°C 🌍 完成"),
  ],
  checkRequest: (req) => {
    assertEquals(req.headers.get("x-goog-api-key"), KEY);
    assertEquals(req.url.searchParams.get("key"), null);
    if (req.method === "POST") {
      assertEquals(req.url.pathname, "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
      assertEquals(req.url.searchParams.get("alt"), "sse");
    }
  },
};
