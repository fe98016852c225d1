import { assertEquals } from "../assert.ts";
import { sse, startFakeServer } from "./fake_server.ts";
import { collect, FAST, providerSuite, runToolConversation } from "./harness.ts";
import { geminiFixture, textStream } from "./gemini_fixture.ts";

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

Deno.test("gemini: a blocked prompt is a clear error, not a cut-off stream", async () => {
  const server = startFakeServer();
  try {
    server.push({ chunks: sse({ data: { promptFeedback: { blockReason: "SAFETY" } } }) });
    const p = geminiFixture.make(server.url, FAST);
    let msg = "";
    try {
      await collect(p.chat({ model: "g", messages: [{ role: "user", content: "q" }] }));
    } catch (e) {
      msg = (e as Error).message;
    }
    assertEquals(msg, "Gemini blocked this request (SAFETY).");
  } finally {
    await server.close();
  }
});
