import { assert, assertEquals, assertRejects } from "../assert.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import {
  errorCode,
  errorFromStatus,
  retryAfterMs,
  toolArguments,
} from "../../src/providers/http.ts";
import { startFakeServer } from "./fake_server.ts";
import { collect, FAST } from "./harness.ts";
import { openaiFixture } from "./openai_fixture.ts";

const ep = { name: "OpenAI", credentialName: "provider.openai.api_key" };
const hi = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };

Deno.test("http: Retry-After in seconds, milliseconds and HTTP date", () => {
  assertEquals(retryAfterMs(new Headers({ "retry-after": "3" })), 3000);
  assertEquals(retryAfterMs(new Headers({ "retry-after-ms": "250" })), 250);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assertEquals(
    retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }), now),
    5000,
  );
  assertEquals(retryAfterMs(new Headers({ "retry-after": "soon" })), undefined);
});

Deno.test("http: status mapping is short, classifies quota, never echoes the body", () => {
  const q = errorFromStatus(429, '{"error":{"code":"insufficient_quota","message":"sk-abc"}}', ep);
  assertEquals(q.kind, "quota");
  const nf = errorFromStatus(404, '{"error":{"message":"The model gpt-9 does not exist"}}', ep);
  assertEquals(nf.kind, "not_found");
  const bad = errorFromStatus(400, '{"error":{"type":"invalid_request_error","message":"x"}}', ep);
  assertEquals(bad.message, "OpenAI refused the request (HTTP 400: invalid_request_error).");
  assertEquals(errorFromStatus(503, "<html>down</html>", ep).kind, "unavailable");
  assertEquals(errorCode('{"__type":"com.amazon#ValidationException"}'), "ValidationException");
  assertEquals(errorCode("not json"), undefined);
  for (const e of [q, nf, bad]) {
    assert(!e.message.includes("sk-abc") && !e.message.includes("gpt-9"));
  }
});

Deno.test({
  name: "http: a Retry-After beyond the longest wait fails at once instead of hanging",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = startFakeServer();
    try {
      server.push({ status: 429, headers: { "retry-after": "3600" }, chunks: ["{}"] });
      const p = openaiFixture.make(server.url, FAST);
      const t0 = performance.now();
      const e = await assertRejects(() => collect(p.chat(hi)), ProviderError);
      assertEquals(e.kind, "rate_limit");
      assert(performance.now() - t0 < 2000);
      assertEquals(server.requests.length, 1);
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "http: header timeout and idle timeout mid-stream",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = startFakeServer();
    try {
      const p = openaiFixture.make(server.url, {
        ...FAST,
        retries: 0,
        timeoutMs: 150,
        idleTimeoutMs: 150,
      });
      server.push({ ...openaiFixture.textStream("late"), delayMs: 600 });
      const slow = await assertRejects(() => collect(p.chat(hi)), ProviderError);
      assertEquals(slow.kind, "timeout");
      server.push({ ...openaiFixture.textStream("stall"), gapMs: 600 });
      const stalled = await assertRejects(() => collect(p.chat(hi)), ProviderError);
      assertEquals(stalled.kind, "timeout");
      assert(stalled.message.includes("stopped sending"));
    } finally {
      await server.close();
    }
  },
});

Deno.test({
  name: "http: cancelling the signal aborts a stream with an `aborted` error",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = startFakeServer();
    try {
      server.push({ ...openaiFixture.textStream("x"), gapMs: 300 });
      const ac = new AbortController();
      const p = openaiFixture.make(server.url, FAST);
      setTimeout(() => ac.abort(), 100);
      const e = await assertRejects(async () => {
        for await (const _ of p.chat(hi, ac.signal)) {
          // drain
        }
      }, ProviderError);
      assertEquals(e.kind, "aborted");
    } finally {
      await server.close();
    }
  },
});

Deno.test("http: 403 says access, not a bad key; Ollama's 404 says to pull the model", () => {
  const denied = errorFromStatus(403, '{"__type":"AccessDeniedException"}', ep);
  assertEquals(denied.message, "OpenAI refused access (HTTP 403: AccessDeniedException).");
  const pull = errorFromStatus(404, '{"error":"model not found"}', {
    name: "Ollama",
    notFoundFix: "Pull the model first",
  });
  assertEquals(pull.fix, "Pull the model first");
});

Deno.test("http: a model list of the wrong shape is a protocol error, not a crash", async () => {
  const server = startFakeServer();
  try {
    server.push({ status: 200, chunks: ['{"data":[{"name":"no id here"}]}'] });
    const p = openaiFixture.make(server.url, FAST);
    const e = await assertRejects(() => p.models(), ProviderError);
    assertEquals(e.kind, "protocol");
  } finally {
    await server.close();
  }
});

Deno.test("http: tool arguments that are not a JSON object are sent as an empty input", () => {
  assertEquals(toolArguments('{"path":"a.txt"}'), { path: "a.txt" });
  assertEquals(toolArguments(""), {});
  assertEquals(toolArguments("[1,2]"), {});
  assertEquals(toolArguments('"text"'), {});
  assertEquals(toolArguments("{broken"), {});
});
