/**
 * Ollama (`POST {base}/api/chat`, `stream: true`), the default provider when nothing is
 * configured, at `http://127.0.0.1:11434`.
 *
 * Streaming: newline-delimited JSON; each line has `message.content` (a text piece) and
 * possibly `message.tool_calls` (complete calls with object `arguments`); the last line has
 * `done: true`, `done_reason` and token counts. A line `{"error": ...}` ends the stream.
 * Tool results go back as `role: "tool"` messages with `tool_name`. Ollama's calls carry no
 * ids in most versions, so wirken numbers them.
 *
 * @module
 */
import { z } from "zod";
import type { Secret } from "../secret.ts";
import { ProviderError } from "./errors.ts";
import {
  checkEndpoint,
  healthFromModels,
  HttpClient,
  type HttpOptions,
  joinUrl,
  malformed,
  type RequestInit2,
  toolArguments,
  truncated,
} from "./http.ts";
import type { ChatEvent, ChatMessage, ChatRequest, Provider, StopReason } from "./types.ts";

/** Options of {@linkcode createOllamaProvider}. */
export interface OllamaOptions {
  /** Default {@linkcode OLLAMA_BASE_URL}. */
  baseUrl?: string;
  /** Only for an Ollama behind an authenticating proxy; plain Ollama needs none. */
  apiKey?: Secret;
  http?: HttpOptions;
}

/** Where a local Ollama listens by default. */
export const OLLAMA_BASE_URL = "http://127.0.0.1:11434";

const Line = z.object({
  message: z.object({
    content: z.string().optional(),
    thinking: z.string().optional(),
    tool_calls: z.array(z.object({
      id: z.string().optional(),
      function: z.object({
        name: z.string().min(1),
        arguments: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish(),
      }),
    })).nullish(),
  }).optional(),
  done: z.boolean().optional(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().optional(),
  eval_count: z.number().optional(),
  error: z.unknown().optional(),
});

const Tags = z.object({ models: z.array(z.object({ name: z.string() })).default([]) });

/** The `messages` array of an Ollama chat request. */
export function toOllamaMessages(
  system: string | undefined,
  messages: readonly ChatMessage[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (system) out.push({ role: "system", content: system });
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: m.content });
    else if (m.role === "assistant") {
      const msg: Record<string, unknown> = { role: "assistant", content: m.content };
      if (m.toolCalls?.length) {
        msg.tool_calls = m.toolCalls.map((c) => ({
          function: { name: c.name, arguments: toolArguments(c.arguments) },
        }));
      }
      out.push(msg);
    } else {
      for (const r of m.results) {
        out.push({ role: "tool", content: r.content, tool_name: r.name });
      }
    }
  }
  return out;
}

function stopReason(reason: string | undefined): StopReason {
  if (reason === "length") return "length";
  return "stop";
}

/** Creates the Ollama provider. */
export function createOllamaProvider(options: OllamaOptions = {}): Provider {
  const baseUrl = options.baseUrl ?? OLLAMA_BASE_URL;
  const endpoint = {
    name: "Ollama",
    credentialName: "provider.ollama.api_key",
    notFoundFix: "Pull the model first (`ollama pull <model>`); `ollama list` shows what is there.",
  };
  checkEndpoint(baseUrl, endpoint);
  const http = new HttpClient(endpoint, options.http);

  function headers(): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json" };
    if (options.apiKey) h.authorization = `Bearer ${options.apiKey.reveal()}`;
    return h;
  }

  async function* chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: toOllamaMessages(request.system, request.messages),
      stream: true,
    };
    if (request.tools?.length) {
      body.tools = request.tools.map((t) => ({
        type: "function",
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
    }
    const opts: Record<string, unknown> = {};
    if (request.maxTokens !== undefined) opts.num_predict = request.maxTokens;
    if (request.temperature !== undefined) opts.temperature = request.temperature;
    if (request.contextTokens !== undefined) opts.num_ctx = request.contextTokens;
    if (Object.keys(opts).length) body.options = opts;
    const payload = JSON.stringify(body);
    const build = (): RequestInit2 => ({
      url: joinUrl(baseUrl, "api/chat"),
      method: "POST",
      headers: headers(),
      body: payload,
    });
    const open = await http.send(build, signal);

    let calls = 0;
    let done = false;
    let stop: StopReason = "stop";
    for await (const raw of http.ndjson(open, signal)) {
      const parsed = Line.safeParse(raw);
      if (!parsed.success) throw malformed(endpoint, parsed.error);
      const line = parsed.data;
      if (line.error !== undefined && line.error !== null) {
        throw new ProviderError("unavailable", "Ollama reported an error mid-answer.", {
          fix: "Check `ollama ps` and the Ollama log; the model may have run out of memory.",
        });
      }
      if (line.message?.content) yield { type: "text", text: line.message.content };
      for (const tc of line.message?.tool_calls ?? []) {
        const args = tc.function.arguments;
        yield {
          type: "tool_call",
          call: {
            id: tc.id ?? `ollama-call-${calls}`,
            name: tc.function.name,
            arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}),
          },
        };
        calls++;
      }
      if (line.done) {
        done = true;
        stop = stopReason(line.done_reason);
        yield {
          type: "usage",
          inputTokens: line.prompt_eval_count ?? 0,
          outputTokens: line.eval_count ?? 0,
        };
        break;
      }
    }
    if (!done) throw truncated(endpoint);
    yield { type: "done", stopReason: calls > 0 ? "tool_calls" : stop };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const list = await http.parsed(Tags, () => ({
      url: joinUrl(baseUrl, "api/tags"),
      method: "GET",
      headers: headers(),
    }), signal);
    return list.models.map((m) => m.name).sort();
  }

  return {
    kind: "ollama",
    baseUrl,
    chat,
    models,
    health: (signal) => healthFromModels("Ollama", models, signal),
  };
}
