/** The bedrock wire-format fixture: scripted streams and request checks. */
import { assertEquals } from "../assert.ts";
import { Secret } from "../../src/secret.ts";
import { createBedrockProvider } from "../../src/providers/bedrock.ts";
import { encodeEventMessage } from "../../src/providers/eventstream.ts";
import { concat, type Scripted } from "./fake_server.ts";
import { type Fixture } from "./harness.ts";
import { verifySigV4 } from "./sigv4_verify.ts";
export const AKID = "AKIDEXAMPLE";
export const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN = "session-token-example";
export const MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0";
export const enc = new TextEncoder();

export function ev(type: string, payload: unknown): Uint8Array {
  return encodeEventMessage(
    { ":event-type": type, ":content-type": "application/json", ":message-type": "event" },
    enc.encode(JSON.stringify({ ...payload as object, p: "abcdefgh" })),
  );
}
export const start = ev("messageStart", { role: "assistant" });
const delta = (i: number, text: string) =>
  ev("contentBlockDelta", { contentBlockIndex: i, delta: { text } });
const stopBlock = (i: number) => ev("contentBlockStop", { contentBlockIndex: i });
const end = (reason: string) => [
  ev("messageStop", { stopReason: reason }),
  ev("metadata", {
    usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 },
    metrics: { latencyMs: 100 },
  }),
];
const tool = (i: number, id: string, name: string, args: string) => [
  ev("contentBlockStart", { contentBlockIndex: i, start: { toolUse: { toolUseId: id, name } } }),
  ev("contentBlockDelta", {
    contentBlockIndex: i,
    delta: { toolUse: { input: args.slice(0, 3) } },
  }),
  ev("contentBlockDelta", { contentBlockIndex: i, delta: { toolUse: { input: args.slice(3) } } }),
  stopBlock(i),
];
export const H = { "content-type": "application/vnd.amazon.eventstream" };

export function textStream(text: string): Scripted {
  return { headers: H, chunks: [start, delta(0, text), stopBlock(0), ...end("end_turn")] };
}

/** Re-splits a byte stream at arbitrary points, so frames straddle network chunks. */
function rechunk(frames: Uint8Array[], size: number): Uint8Array[] {
  const all = concat(frames);
  const out: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.subarray(i, i + size));
  return out;
}

export const bedrockFixture: Fixture = {
  name: "bedrock",
  model: MODEL,
  make: (url, http) =>
    createBedrockProvider({
      region: "us-east-1",
      credentials: {
        accessKeyId: AKID,
        secretAccessKey: new Secret(SECRET),
        sessionToken: new Secret(TOKEN),
      },
      baseUrl: url,
      controlUrl: url,
      http,
    }),
  textStream,
  rawTextStream: (pieces) => {
    // The text is one frame; the frame's bytes are cut inside the multi-byte characters.
    const frame = delta(0, new TextDecoder().decode(concat(pieces)));
    const cuts = [
      frame.subarray(0, 60),
      frame.subarray(60, frame.length - 7),
      frame.subarray(frame.length - 7),
    ];
    return { headers: H, chunks: [start, ...cuts, stopBlock(0), ...end("end_turn")] };
  },
  cutStream: () => {
    const frame = delta(0, "Hallo");
    return { headers: H, chunks: [start, frame.subarray(0, 20)] };
  },
  malformedStream: () => ({
    headers: H,
    chunks: [
      start,
      encodeEventMessage(
        { ":event-type": "contentBlockDelta", ":message-type": "event" },
        enc.encode('{"delta":'),
      ),
    ],
  }),
  toolRounds: () => [
    {
      headers: H,
      chunks: rechunk([
        start,
        delta(0, "Check"),
        delta(0, "ing."),
        stopBlock(0),
        ...tool(1, "tooluse_A", "get_weather", '{"city":"Paris"}'),
        ...tool(2, "tooluse_B", "get_time", '{"tz":"Europe/Paris"}'),
        ...end("tool_use"),
      ], 37),
    },
    {
      headers: H,
      chunks: [
        start,
        ...tool(0, "tooluse_C", "get_weather", '{"city":"Berlin"}'),
        ...end("tool_use"),
      ],
    },
    textStream("Paris 18°C, Berlin 15°C 🌍 完成"),
  ],
  checkRequest: async (req) => {
    await verifySigV4(req, {
      accessKeyId: AKID,
      secret: SECRET,
      region: "us-east-1",
      service: "bedrock",
      sessionToken: TOKEN,
    });
    if (req.method === "POST") {
      assertEquals(
        req.url.pathname,
        "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream",
      );
    }
  },
};
