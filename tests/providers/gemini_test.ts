import { assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createGeminiProvider } from "../../src/providers/gemini.ts";
import { cutAt, type Scripted, sse, startFakeServer } from "./fake_server.ts";
import { collect, FAST, type Fixture, KEY, providerSuite, runToolConversation } from "./harness.ts";

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

function textStream(text: string): Scripted {
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

providerSuite(geminiFixture);

Deno.test("gemini: body, functionCall echo and functionResponse parts", async () => {
  const server = startFakeServer((r) => geminiFixture.checkRequest(r));
  try {
    server.push(...geminiFixture.toolRounds());
    await runToolConversation(geminiFixture.make(server.url, FAST), "gemini-2.5-flash");
    const first = JSON.parse(server.requests[0].body);
    assertEquals(first.systemInstruction, { parts: [{ text: "You are terse." }] });
    assertEquals(first.generationConfig, { maxOutputTokens: 512 });
    assertEquals(first.tools[0].functionDeclarations[1], {
      name: "get_time",
      description: "Time in a zone.",
      parametersJsonSchema: {
        type: "object",
        properties: { tz: { type: "string" } },
        required: ["tz"],
      },
    });
    const c = JSON.parse(server.requests[2].body).contents;
    assertEquals(c[0], { role: "user", parts: [{ text: "Weather in Paris and Berlin?" }] });
    assertEquals(c[1], {
      role: "model",
      parts: [
        { text: "Checking." },
        {
          functionCall: { name: "get_weather", args: { city: "Paris" } },
          thoughtSignature: "sig1",
        },
        { functionCall: { name: "get_time", args: { tz: "Europe/Paris" } } },
      ],
    });
    assertEquals(c[2], {
      role: "user",
      parts: [
        {
          functionResponse: {
            name: "get_weather",
            response: { result: "result:get_weather:Paris" },
          },
        },
        {
          functionResponse: {
            name: "get_time",
            response: { result: "result:get_time:Europe/Paris" },
          },
        },
      ],
    });
    assertEquals(c[3].parts[0].functionCall.id, "fc-9");
    assertEquals(c[4].parts[0].functionResponse.id, "fc-9");
  } finally {
    await server.close();
  }
});

Deno.test("gemini: models strips the models/ prefix", async () => {
  const server = startFakeServer();
  try {
    server.push({
      chunks: [JSON.stringify({
        models: [
          { name: "models/gemini-2.5-flash", supportedGenerationMethods: ["generateContent"] },
          { name: "models/embedding-001", supportedGenerationMethods: ["embedContent"] },
        ],
      })],
    });
    assertEquals(await geminiFixture.make(server.url, FAST).models(), ["gemini-2.5-flash"]);
    const r = server.requests[0];
    assertEquals(r.url.pathname, "/v1beta/models");
  } finally {
    await server.close();
  }
});

Deno.test("gemini: usage reported", async () => {
  const server = startFakeServer();
  try {
    server.push(textStream("x"));
    const r = await collect(
      geminiFixture.make(server.url, FAST).chat({
        model: "g",
        messages: [{ role: "user", content: "q" }],
      }),
    );
    assertEquals(r.events.filter((e) => e.type === "usage"), [
      { type: "usage", inputTokens: 20, outputTokens: 7 },
    ]);
  } finally {
    await server.close();
  }
});
