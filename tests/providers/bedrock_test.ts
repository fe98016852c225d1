import { assert, assertEquals, assertRejects } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createBedrockProvider } from "../../src/providers/bedrock.ts";
import {
  crc32,
  encodeEventMessage,
  EventStreamDecoder,
  EventStreamError,
} from "../../src/providers/eventstream.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import { startFakeServer } from "./fake_server.ts";
import { collect, FAST, providerSuite, runToolConversation } from "./harness.ts";
import { verifySigV4 } from "./sigv4_verify.ts";
import {
  AKID,
  bedrockFixture,
  enc,
  ev,
  H,
  MODEL,
  SECRET,
  start,
  textStream,
} from "./bedrock_fixture.ts";

providerSuite(bedrockFixture);

Deno.test("bedrock: the verifier rejects a signature made with another secret", async () => {
  const server = startFakeServer();
  try {
    server.push(textStream("x"));
    await collect(
      bedrockFixture.make(server.url, FAST).chat({
        model: MODEL,
        messages: [{ role: "user", content: "q" }],
      }),
    );
    const req = server.requests[0];
    await verifySigV4(req, {
      accessKeyId: AKID,
      secret: SECRET,
      region: "us-east-1",
      service: "bedrock",
    });
    await assertRejects(
      () =>
        verifySigV4(req, {
          accessKeyId: AKID,
          secret: SECRET + "x",
          region: "us-east-1",
          service: "bedrock",
        }),
      Error,
      "mismatch",
    );
    await assertRejects(
      () =>
        verifySigV4({ ...req, body: req.body + " " }, {
          accessKeyId: AKID,
          secret: SECRET,
          region: "us-east-1",
          service: "bedrock",
        }),
      Error,
      "mismatch",
    );
  } finally {
    await server.close();
  }
});

Deno.test("bedrock: Converse body, toolUse echo and toolResult blocks", async () => {
  const server = startFakeServer((r) => bedrockFixture.checkRequest(r));
  try {
    server.push(...bedrockFixture.toolRounds());
    await runToolConversation(bedrockFixture.make(server.url, FAST), MODEL);
    const first = JSON.parse(server.requests[0].body);
    assertEquals(first.system, [{ text: "You are terse." }]);
    assertEquals(first.inferenceConfig, { maxTokens: 512 });
    assertEquals(first.toolConfig.tools[0], {
      toolSpec: {
        name: "get_weather",
        description: "Weather of a city.",
        inputSchema: {
          json: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    });
    const m = JSON.parse(server.requests[2].body).messages;
    assertEquals(m[0], { role: "user", content: [{ text: "Weather in Paris and Berlin?" }] });
    assertEquals(m[1], {
      role: "assistant",
      content: [
        { text: "Checking." },
        { toolUse: { toolUseId: "tooluse_A", name: "get_weather", input: { city: "Paris" } } },
        { toolUse: { toolUseId: "tooluse_B", name: "get_time", input: { tz: "Europe/Paris" } } },
      ],
    });
    assertEquals(m[2], {
      role: "user",
      content: [
        {
          toolResult: {
            toolUseId: "tooluse_A",
            content: [{ text: "result:get_weather:Paris" }],
            status: "success",
          },
        },
        {
          toolResult: {
            toolUseId: "tooluse_B",
            content: [{ text: "result:get_time:Europe/Paris" }],
            status: "success",
          },
        },
      ],
    });
    assertEquals(m[4].content[0].toolResult.toolUseId, "tooluse_C");
  } finally {
    await server.close();
  }
});

Deno.test("bedrock: a throttling exception frame is a rate-limit error", async () => {
  const server = startFakeServer();
  try {
    server.push({
      headers: H,
      chunks: [
        start,
        encodeEventMessage({
          ":message-type": "exception",
          ":exception-type": "throttlingException",
        }, enc.encode('{"message":"slow down"}')),
      ],
    });
    const e = await assertRejects(
      () =>
        collect(
          bedrockFixture.make(server.url, FAST).chat({
            model: MODEL,
            messages: [{ role: "user", content: "q" }],
          }),
        ),
      ProviderError,
    );
    assertEquals(e.kind, "rate_limit");
    assert(!e.message.includes("slow down"));
  } finally {
    await server.close();
  }
});

Deno.test("bedrock: models are listed from the control plane, signed", async () => {
  const server = startFakeServer((r) => bedrockFixture.checkRequest(r));
  try {
    server.push({ chunks: ['{"modelSummaries":[{"modelId":"b"},{"modelId":"a"}]}'] });
    assertEquals(await bedrockFixture.make(server.url, FAST).models(), ["a", "b"]);
    assertEquals(server.requests[0].url.pathname, "/foundation-models");
  } finally {
    await server.close();
  }
});

Deno.test("bedrock: an API key is sent as a bearer token instead of SigV4", async () => {
  const server = startFakeServer();
  try {
    server.push(textStream("ok"));
    const p = createBedrockProvider({
      region: "eu-west-1",
      apiKey: new Secret("bedrock-key-1"),
      baseUrl: server.url,
      controlUrl: server.url,
      http: FAST,
    });
    assertEquals(
      (await collect(p.chat({ model: MODEL, messages: [{ role: "user", content: "q" }] }))).text,
      "ok",
    );
    assertEquals(server.requests[0].headers.get("authorization"), "Bearer bedrock-key-1");
  } finally {
    await server.close();
  }
});

Deno.test("eventstream: CRC-32 check value and corruption detection", () => {
  assertEquals(crc32(enc.encode("123456789")), 0xcbf43926);
  const frame = ev("messageStop", { stopReason: "end_turn" });
  const d = new EventStreamDecoder();
  // Byte by byte: a frame split anywhere decodes once complete.
  let got = 0;
  for (const b of frame) got += d.push(Uint8Array.of(b)).length;
  assertEquals(got, 1);
  const bad = frame.slice();
  bad[bad.length - 10] ^= 1;
  let err: unknown;
  try {
    new EventStreamDecoder().push(bad);
  } catch (e) {
    err = e;
  }
  assert(err instanceof EventStreamError && err.message.includes("message CRC"));
  const badPrelude = frame.slice();
  badPrelude[2] ^= 1;
  try {
    new EventStreamDecoder().push(badPrelude);
    err = undefined;
  } catch (e) {
    err = e;
  }
  assert(err instanceof EventStreamError && err.message.includes("prelude CRC"));
});
