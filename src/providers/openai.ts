/**
 * OpenAI Chat Completions (`POST {base}/chat/completions`, `stream: true`), the format also
 * spoken by Custom, Tinfoil and Privatemode endpoints.
 *
 * Streaming: SSE `data:` lines carrying `chat.completion.chunk` objects, then `data: [DONE]`.
 * Tool calls arrive as `delta.tool_calls[]` fragments keyed by `index` (parallel calls have
 * distinct indexes); the first fragment carries `id` and `function.name`, later ones append to
 * `function.arguments`. With `stream_options.include_usage`, a last chunk with empty `choices`
 * carries `usage`.
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
  parseJson,
  type RequestInit2,
  truncated,
} from "./http.ts";
import type {
  ChatEvent,
  ChatMessage,
  ChatRequest,
  Provider,
  ProviderKind,
  StopReason,
  ToolCall,
} from "./types.ts";

/** Options of {@linkcode createOpenAIProvider}. */
export interface OpenAIOptions {
  /** Which OpenAI-compatible flavour this is (names the provider in messages). */
  kind?: Extract<ProviderKind, "openai" | "custom" | "tinfoil" | "privatemode">;
  /** Display name, e.g. `OpenAI`, `Tinfoil`. */
  name?: string;
  /** Base URL ending before `/chat/completions` (default `https://api.openai.com/v1`). */
  baseUrl?: string;
  /** Bearer key; omitted for keyless local servers. */
  apiKey?: Secret;
  /** Vault credential name, shown in the fix of an auth error. */
  credentialName?: string;
  /** Extra request headers (never secrets: they are not redacted anywhere). */
  headers?: Record<string, string>;
  /** HTTP tunables (tests shorten the timeouts and backoff). */
  http?: HttpOptions;
}

/** The default OpenAI endpoint. */
export const OPENAI_BASE_URL = "https://api.openai.com/v1";

const ToolCallDelta = z.object({
  index: z.number().int().nonnegative(),
  id: z.string().nullish(),
  function: z.object({
    name: z.string().nullish(),
    arguments: z.string().nullish(),
  }).nullish(),
});

/** One `chat.completion.chunk`; unknown fields are ignored for forward compatibility. */
const Chunk = z.object({
  choices: z.array(z.object({
    delta: z.object({
      content: z.string().nullish(),
      tool_calls: z.array(ToolCallDelta).nullish(),
    }).nullish(),
    finish_reason: z.string().nullish(),
  })).nullish(),
  usage: z.object({
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
  }).nullish(),
  error: z.unknown().optional(),
});

const ModelList = z.object({ data: z.array(z.object({ id: z.string() })) });

/** The `messages` array of a Chat Completions request. */
export function toOpenAIMessages(
  system: string | undefined,
  messages: readonly ChatMessage[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (system) out.push({ role: "system", content: system });
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: m.content });
    else if (m.role === "assistant") {
      const msg: Record<string, unknown> = { role: "assistant", content: m.content || null };
      if (m.toolCalls?.length) {
        msg.tool_calls = m.toolCalls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: c.arguments || "{}" },
        }));
      }
      out.push(msg);
    } else {
      // One `tool` message per result, answering the call with the same id.
      for (const r of m.results) {
        out.push({ role: "tool", tool_call_id: r.callId, content: r.content });
      }
    }
  }
  return out;
}

function stopReason(reason: string): StopReason {
  switch (reason) {
    case "stop":
      return "stop";
    case "tool_calls":
    case "function_call":
      return "tool_calls";
    case "length":
      return "length";
    default:
      return "other";
  }
}

/** Creates an OpenAI (or OpenAI-compatible) provider. */
export function createOpenAIProvider(options: OpenAIOptions = {}): Provider {
  const kind = options.kind ?? "openai";
  const name = options.name ?? "OpenAI";
  const baseUrl = options.baseUrl ?? OPENAI_BASE_URL;
  const endpoint = { name, credentialName: options.credentialName };
  checkEndpoint(baseUrl, endpoint);
  const http = new HttpClient(endpoint, options.http);

  function headers(): Record<string, string> {
    const h: Record<string, string> = {
      "content-type": "application/json",
      accept: "text/event-stream",
      ...options.headers,
    };
    // The key is revealed here only, into the header of the request leaving for the provider.
    if (options.apiKey) h.authorization = `Bearer ${options.apiKey.reveal()}`;
    return h;
  }

  async function* chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: toOpenAIMessages(request.system, request.messages),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.tools?.length) {
      body.tools = request.tools.map((t) => ({
        type: "function",
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
    }
    if (request.maxTokens !== undefined) {
      // OpenAI deprecated `max_tokens` for `max_completion_tokens`; compatible servers know
      // the old name.
      body[kind === "openai" ? "max_completion_tokens" : "max_tokens"] = request.maxTokens;
    }
    if (request.temperature !== undefined) body.temperature = request.temperature;
    const payload = JSON.stringify(body);
    const build = (): RequestInit2 => ({
      url: joinUrl(baseUrl, "chat/completions"),
      method: "POST",
      headers: headers(),
      body: payload,
    });
    const open = await http.send(build, signal);

    const calls = new Map<number, { id: string; name: string; args: string }>();
    let finish: StopReason | undefined;
    let sawDone = false;
    const flushCalls = function* (): Generator<ChatEvent> {
      const ordered = [...calls.entries()].sort((a, b) => a[0] - b[0]);
      calls.clear();
      for (const [index, c] of ordered) {
        if (!c.name) throw malformed(endpoint);
        const call: ToolCall = { id: c.id || `call_${index}`, name: c.name, arguments: c.args };
        yield { type: "tool_call", call };
      }
    };

    for await (const ev of http.sse(open, signal)) {
      if (ev.data === "[DONE]") {
        sawDone = true;
        break;
      }
      const parsed = Chunk.safeParse(parseJson(ev.data, endpoint));
      if (!parsed.success) throw malformed(endpoint, parsed.error);
      const chunk = parsed.data;
      if (chunk.error !== undefined && chunk.error !== null) {
        throw new ProviderError("unavailable", `${name} reported an error mid-answer.`, {
          fix: "Try again; if it persists, check the provider's status page.",
        });
      }
      for (const choice of chunk.choices ?? []) {
        const delta = choice.delta;
        if (delta?.content) yield { type: "text", text: delta.content };
        for (const tc of delta?.tool_calls ?? []) {
          const cur = calls.get(tc.index) ?? { id: "", name: "", args: "" };
          if (tc.id) cur.id = tc.id;
          if (tc.function?.name) cur.name += tc.function.name;
          if (tc.function?.arguments) cur.args += tc.function.arguments;
          calls.set(tc.index, cur);
        }
        if (choice.finish_reason) {
          finish = stopReason(choice.finish_reason);
          yield* flushCalls();
        }
      }
      if (chunk.usage) {
        yield {
          type: "usage",
          inputTokens: chunk.usage.prompt_tokens,
          outputTokens: chunk.usage.completion_tokens,
        };
      }
    }
    // Some compatible servers omit [DONE]; a finish_reason is then the end marker.
    if (!sawDone && finish === undefined) throw truncated(endpoint);
    const hadCalls = calls.size > 0;
    yield* flushCalls();
    yield { type: "done", stopReason: finish ?? (hadCalls ? "tool_calls" : "stop") };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const list = await http.parsed(ModelList, () => ({
      url: joinUrl(baseUrl, "models"),
      method: "GET",
      headers: headers(),
    }), signal);
    return list.data.map((m) => m.id).sort();
  }

  return {
    kind,
    baseUrl,
    chat,
    models,
    health: (signal) => healthFromModels(name, models, signal),
  };
}
