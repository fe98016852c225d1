/**
 * The test suite every provider runs: a 3-round tool conversation with parallel calls, a
 * multi-byte character split across network chunks, and the error cases (401, 429 with
 * Retry-After, 500 then success, a stream cut mid-way, malformed JSON in a stream, plain http
 * to a remote host). Each provider's test file supplies a {@linkcode Fixture} in its format.
 *
 * @module
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../assert.ts";
import type { HttpOptions } from "../../src/providers/http.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import type {
  ChatEvent,
  ChatMessage,
  ChatRequest,
  Provider,
  ToolCall,
  ToolSpec,
} from "../../src/providers/types.ts";
import { type FakeServer, type Recorded, type Scripted, startFakeServer } from "./fake_server.ts";

/** HTTP options that keep tests fast: short backoff, short timeouts. */
export const FAST: HttpOptions = {
  retries: 2,
  baseDelayMs: 5,
  maxDelayMs: 3_000,
  timeoutMs: 5_000,
  idleTimeoutMs: 5_000,
};

/** A key that must never appear in any error message. */
export const KEY = "sk-test-KEY-never-shown-1234567890";

/** What a test file provides for its provider. */
export interface Fixture {
  name: string;
  model: string;
  make(baseUrl: string, http: HttpOptions): Provider;
  /** A successful stream answering `text` (the text may be split into raw chunks). */
  textStream(text: string): Scripted;
  /** A stream with the given raw body pieces in place of the text parts (for UTF-8 splits). */
  rawTextStream(pieces: Uint8Array[]): Scripted;
  /** A stream that stops before its final event. */
  cutStream(): Scripted;
  /** A stream with a malformed event. */
  malformedStream(): Scripted;
  /** The three answers of the tool conversation (see {@linkcode runToolConversation}). */
  toolRounds(): Scripted[];
  /** Checks every request's headers/auth; throws on a mismatch. */
  checkRequest(req: Recorded): void | Promise<void>;
}

/** The collected result of one streamed answer. */
export interface Collected {
  text: string;
  calls: ToolCall[];
  events: ChatEvent[];
}

/** Drains a chat stream. */
export async function collect(stream: AsyncIterable<ChatEvent>): Promise<Collected> {
  const out: Collected = { text: "", calls: [], events: [] };
  for await (const e of stream) {
    out.events.push(e);
    if (e.type === "text") out.text += e.text;
    if (e.type === "tool_call") out.calls.push(e.call);
  }
  return out;
}

/** The tools of the conversation. */
export const TOOLS: ToolSpec[] = [
  {
    name: "get_weather",
    description: "Weather of a city.",
    parameters: {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    },
  },
  {
    name: "get_time",
    description: "Time in a zone.",
    parameters: { type: "object", properties: { tz: { type: "string" } }, required: ["tz"] },
  },
];

/** The final text of the conversation: non-ASCII on purpose. */
export const FINAL_TEXT = "Paris 18°C, Berlin 15°C 🌍 完成";

/**
 * Drives three rounds: round 1 answers text plus two parallel calls (`get_weather` Paris,
 * `get_time` Europe/Paris), round 2 one call (`get_weather` Berlin), round 3 the final text.
 * Returns the per-round results and the full history as sent in the last request.
 */
export async function runToolConversation(
  provider: Provider,
  model: string,
): Promise<{ rounds: Collected[]; messages: ChatMessage[] }> {
  const messages: ChatMessage[] = [{ role: "user", content: "Weather in Paris and Berlin?" }];
  const rounds: Collected[] = [];
  for (let i = 0; i < 3; i++) {
    const request: ChatRequest = {
      model,
      system: "You are terse.",
      messages: [...messages],
      tools: TOOLS,
      maxTokens: 512,
    };
    const r = await collect(provider.chat(request));
    rounds.push(r);
    messages.push({ role: "assistant", content: r.text, toolCalls: r.calls });
    if (r.calls.length === 0) break;
    messages.push({
      role: "tool",
      results: r.calls.map((c) => ({
        callId: c.id,
        name: c.name,
        content: `result:${c.name}:${JSON.parse(c.arguments).city ?? JSON.parse(c.arguments).tz}`,
      })),
    });
  }
  return { rounds, messages };
}

/** Asserts the provider-neutral outcome of {@linkcode runToolConversation}. */
export function assertConversation(rounds: Collected[]): void {
  assertEquals(rounds.length, 3);
  assertEquals(rounds[0].text, "Checking.");
  assertEquals(rounds[0].calls.map((c) => [c.name, JSON.parse(c.arguments)]), [
    ["get_weather", { city: "Paris" }],
    ["get_time", { tz: "Europe/Paris" }],
  ]);
  assert(rounds[0].calls[0].id !== rounds[0].calls[1].id, "parallel calls have distinct ids");
  assertEquals(rounds[1].calls.map((c) => [c.name, JSON.parse(c.arguments)]), [
    ["get_weather", { city: "Berlin" }],
  ]);
  assertEquals(rounds[2].text, FINAL_TEXT);
  assertEquals(rounds[2].calls, []);
  const last = rounds[2].events.at(-1);
  assertEquals(last, { type: "done", stopReason: "stop" });
  assertEquals(rounds[0].events.at(-1), { type: "done", stopReason: "tool_calls" });
}

function simple(model: string): ChatRequest {
  return { model, messages: [{ role: "user", content: "hi" }] };
}

async function withServer(
  fx: Fixture,
  fn: (server: FakeServer, provider: Provider) => Promise<void>,
  http: HttpOptions = FAST,
): Promise<void> {
  const server = startFakeServer((r) => fx.checkRequest(r));
  try {
    await fn(server, fx.make(server.url, http));
  } finally {
    await server.close();
  }
}

/** Registers the shared tests for one provider. */
export function providerSuite(fx: Fixture): void {
  const t = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${fx.name}: ${name}`, fn, sanitizeOps: false, sanitizeResources: false });

  t("3-round tool conversation with parallel calls", async () => {
    await withServer(fx, async (server, provider) => {
      server.push(...fx.toolRounds());
      const { rounds } = await runToolConversation(provider, fx.model);
      assertConversation(rounds);
      assertEquals(server.requests.length, 3);
    });
  });

  t("multi-byte characters split across chunks arrive intact", async () => {
    await withServer(fx, async (server, provider) => {
      const enc = new TextEncoder();
      const emoji = enc.encode("Hi 🌍");
      const cjk = enc.encode("完成");
      // 🌍 is 4 bytes: cut after its 2nd byte; 完 is 3 bytes: cut after its 1st.
      server.push(
        fx.rawTextStream([
          emoji.subarray(0, 5),
          emoji.subarray(5),
          cjk.subarray(0, 1),
          cjk.subarray(1),
        ]),
      );
      const r = await collect(provider.chat(simple(fx.model)));
      assertEquals(r.text, "Hi 🌍完成");
    });
  });

  t("401 is a short auth error without key or body", async () => {
    await withServer(fx, async (server, provider) => {
      server.push({ status: 401, chunks: [`{"error":{"message":"bad key ${KEY}"}}`] });
      const e = await assertRejects(() => collect(provider.chat(simple(fx.model))), ProviderError);
      assertEquals(e.kind, "auth");
      assert(!e.message.includes(KEY) && !(e.fix ?? "").includes(KEY));
      assert(!e.message.includes("bad key"));
      assertEquals(server.requests.length, 1, "401 is not retried");
    });
  });

  t("429 with Retry-After is retried after the delay", async () => {
    await withServer(fx, async (server, provider) => {
      server.push(
        { status: 429, headers: { "retry-after": "1" }, chunks: ["{}"] },
        fx.textStream("ok"),
      );
      const start = performance.now();
      const r = await collect(provider.chat(simple(fx.model)));
      assertEquals(r.text, "ok");
      assert(performance.now() - start >= 950, "waited for Retry-After");
      assertEquals(server.requests.length, 2);
    });
  });

  t("429 persisting gives a rate-limit error", async () => {
    await withServer(fx, async (server, provider) => {
      server.push({ status: 429, headers: { "retry-after": "0" }, chunks: ["{}"] });
      const e = await assertRejects(() => collect(provider.chat(simple(fx.model))), ProviderError);
      assertEquals(e.kind, "rate_limit");
      assertEquals(server.requests.length, 3);
    });
  });

  t("500 then success", async () => {
    await withServer(fx, async (server, provider) => {
      server.push({ status: 500, chunks: ["oops"] }, fx.textStream("recovered"));
      const r = await collect(provider.chat(simple(fx.model)));
      assertEquals(r.text, "recovered");
      assertEquals(server.requests.length, 2);
    });
  });

  t("a stream cut mid-way is an error, not a silent short answer", async () => {
    await withServer(fx, async (server, provider) => {
      server.push(fx.cutStream());
      const e = await assertRejects(() => collect(provider.chat(simple(fx.model))), ProviderError);
      assertStringIncludes(e.message, "cut off");
    });
  });

  t("a dropped connection mid-stream is an error", async () => {
    await withServer(fx, async (server, provider) => {
      const s = fx.cutStream();
      server.push({ ...s, abort: true });
      const e = await assertRejects(() => collect(provider.chat(simple(fx.model))), ProviderError);
      assert(e.kind === "network", e.message);
    });
  });

  t("malformed JSON in a stream is a protocol error", async () => {
    await withServer(fx, async (server, provider) => {
      server.push(fx.malformedStream());
      const e = await assertRejects(() => collect(provider.chat(simple(fx.model))), ProviderError);
      assertEquals(e.kind, "protocol");
    });
  });

  t("plain http to a remote host is refused", () => {
    let err: unknown;
    try {
      fx.make("http://example.com:8080", FAST);
    } catch (e) {
      err = e;
    }
    assert(err instanceof ProviderError && err.kind === "insecure_url", String(err));
    return Promise.resolve();
  });
}
