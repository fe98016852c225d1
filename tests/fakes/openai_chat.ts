/**
 * A scripted OpenAI-compatible chat server for end-to-end tests: each `/v1/chat/completions`
 * request is answered by the next step of a script (text, or tool calls), streamed as SSE the
 * way OpenAI streams. Every request body is recorded.
 *
 * @module
 */

/** One model answer: text, tool calls, or both. */
export interface Step {
  text?: string;
  calls?: { name: string; args: unknown }[];
  /** Delay between streamed pieces, to let a test press "stop". */
  delayMs?: number;
  /** Token usage reported in a last chunk (as OpenAI does with `include_usage`). */
  usage?: { prompt: number; completion: number };
  /** Answer with this HTTP error status instead (e.g. 429, 503, 401). */
  status?: number;
}

/** A running fake. */
export interface FakeChat {
  /** Base URL including `/v1`. */
  baseUrl: string;
  /** Parsed JSON bodies of the chat requests, in order. */
  requests: Record<string, unknown>[];
  close(): Promise<void>;
}

function chunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${
    JSON.stringify({
      id: "c",
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
  }\n\n`;
}

/**
 * Starts the fake. `script(n, body)` gives the step for the n-th request (0-based); by default
 * every request gets `{ text: "ok" }`.
 */
export function fakeChat(
  script: (n: number, body: Record<string, unknown>) => Step = () => ({ text: "ok" }),
): FakeChat {
  const requests: Record<string, unknown>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v1/models") {
      return Response.json({ object: "list", data: [{ id: "fake-model", object: "model" }] });
    }
    if (path !== "/v1/chat/completions") return new Response("not found", { status: 404 });
    const body = await req.json() as Record<string, unknown>;
    requests.push(body);
    const step = script(requests.length - 1, body);
    if (step.status) {
      return Response.json({ error: { message: "scripted failure", type: "fake" } }, {
        status: step.status,
      });
    }
    const pieces: string[] = [];
    if (step.text) {
      // Split into a few pieces so streaming is visible.
      const size = Math.max(1, Math.ceil(step.text.length / 4));
      for (let i = 0; i < step.text.length; i += size) {
        pieces.push(chunk({ content: step.text.slice(i, i + size) }));
      }
    }
    (step.calls ?? []).forEach((c, index) => {
      pieces.push(chunk({
        tool_calls: [{
          index,
          id: `call_${requests.length}_${index}`,
          type: "function",
          function: { name: c.name, arguments: JSON.stringify(c.args) },
        }],
      }));
    });
    pieces.push(chunk({}, step.calls?.length ? "tool_calls" : "stop"));
    if (step.usage) {
      pieces.push(`data: ${
        JSON.stringify({
          id: "c",
          object: "chat.completion.chunk",
          choices: [],
          usage: {
            prompt_tokens: step.usage.prompt,
            completion_tokens: step.usage.completion,
            total_tokens: step.usage.prompt + step.usage.completion,
          },
        })
      }\n\n`);
    }
    pieces.push("data: [DONE]\n\n");
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const p of pieces) {
          if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
          try {
            controller.enqueue(enc.encode(p));
          } catch {
            return; // client went away (stop button)
          }
        }
        controller.close();
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream" } });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/v1`,
    requests,
    close: () => server.shutdown(),
  };
}
