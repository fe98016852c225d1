/**
 * Anthropic Messages API (`POST {base}/v1/messages`, `stream: true`).
 *
 * Streaming: SSE with named events: `message_start` (input usage), `content_block_start`
 * (a `text` or `tool_use` block with its id and name), `content_block_delta` (`text_delta` or
 * `input_json_delta` fragments of the tool input), `content_block_stop`, `message_delta`
 * (`stop_reason`, output usage), `message_stop`; `ping` and unknown events are ignored,
 * `error` ends the stream. Tool results go back as `tool_result` blocks in a user message.
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
  toolArguments,
  truncated,
} from "./http.ts";
import type { ChatEvent, ChatMessage, ChatRequest, Provider, StopReason } from "./types.ts";

/** Options of {@linkcode createAnthropicProvider}. */
export interface AnthropicOptions {
  /** Default `https://api.anthropic.com`. */
  baseUrl?: string;
  apiKey: Secret;
  credentialName?: string;
  http?: HttpOptions;
}

/** The default Anthropic endpoint. */
export const ANTHROPIC_BASE_URL = "https://api.anthropic.com";
/** The API version header wirken speaks. */
export const ANTHROPIC_VERSION = "2023-06-01";

const Event = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("message_start"),
    message: z.object({
      usage: z.object({ input_tokens: z.number(), output_tokens: z.number().optional() })
        .optional(),
    }),
  }),
  z.object({
    type: z.literal("content_block_start"),
    index: z.number().int(),
    content_block: z.object({
      type: z.string(),
      text: z.string().optional(),
      id: z.string().optional(),
      name: z.string().optional(),
    }),
  }),
  z.object({
    type: z.literal("content_block_delta"),
    index: z.number().int(),
    delta: z.object({
      type: z.string(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
    }),
  }),
  z.object({ type: z.literal("content_block_stop"), index: z.number().int() }),
  z.object({
    type: z.literal("message_delta"),
    delta: z.object({ stop_reason: z.string().nullish() }),
    usage: z.object({ output_tokens: z.number() }).optional(),
  }),
  z.object({ type: z.literal("message_stop") }),
  z.object({ type: z.literal("ping") }),
  z.object({
    type: z.literal("error"),
    error: z.object({ type: z.string().optional() }).optional(),
  }),
]);

const ModelList = z.object({ data: z.array(z.object({ id: z.string() })) });

/** The `messages` array of a Messages request. */
export function toAnthropicMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: m.content });
    else if (m.role === "assistant") {
      const content: Record<string, unknown>[] = [];
      if (m.content) content.push({ type: "text", text: m.content });
      for (const c of m.toolCalls ?? []) {
        content.push({
          type: "tool_use",
          id: c.id,
          name: c.name,
          input: toolArguments(c.arguments),
        });
      }
      // Anthropic refuses an empty assistant turn; an empty answer carries nothing anyway.
      if (content.length) out.push({ role: "assistant", content });
    } else {
      out.push({
        role: "user",
        content: m.results.map((r) => ({
          type: "tool_result",
          tool_use_id: r.callId,
          content: r.content,
          ...(r.isError ? { is_error: true } : {}),
        })),
      });
    }
  }
  return out;
}

function stopReason(reason: string | null | undefined): StopReason {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "tool_use":
      return "tool_calls";
    case "max_tokens":
      return "length";
    default:
      return "other";
  }
}

/** Creates the Anthropic provider. */
export function createAnthropicProvider(options: AnthropicOptions): Provider {
  const baseUrl = options.baseUrl ?? ANTHROPIC_BASE_URL;
  const endpoint = {
    name: "Anthropic",
    credentialName: options.credentialName ?? "provider.anthropic.api_key",
  };
  checkEndpoint(baseUrl, endpoint);
  const http = new HttpClient(endpoint, options.http);

  function headers(): Record<string, string> {
    return {
      "content-type": "application/json",
      "anthropic-version": ANTHROPIC_VERSION,
      // Revealed only into the header of the request leaving for Anthropic.
      "x-api-key": options.apiKey.reveal(),
    };
  }

  async function* chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const body: Record<string, unknown> = {
      model: request.model,
      max_tokens: request.maxTokens ?? 4096,
      messages: toAnthropicMessages(request.messages),
      stream: true,
    };
    if (request.system) body.system = request.system;
    if (request.tools?.length) {
      body.tools = request.tools.map((t) => ({
        name: t.name,
        description: t.description,
        input_schema: t.parameters,
      }));
    }
    if (request.temperature !== undefined) body.temperature = request.temperature;
    const payload = JSON.stringify(body);
    const build = (): RequestInit2 => ({
      url: joinUrl(baseUrl, "v1/messages"),
      method: "POST",
      headers: headers(),
      body: payload,
    });
    const open = await http.send(build, signal);

    const blocks = new Map<number, { id: string; name: string; args: string }>();
    let inputTokens = 0;
    let outputTokens = 0;
    let stop: StopReason = "stop";
    let finished = false;
    for await (const ev of http.sse(open, signal)) {
      const parsed = Event.safeParse(parseJson(ev.data, endpoint));
      if (!parsed.success) {
        // Unknown event types are allowed by Anthropic's versioning policy; skip them.
        const t = (parseJson(ev.data, endpoint) as { type?: unknown } | null)?.type;
        if (typeof t === "string" && !Event.options.some((o) => o.shape.type.value === t)) {
          continue;
        }
        throw malformed(endpoint, parsed.error);
      }
      const e = parsed.data;
      switch (e.type) {
        case "message_start":
          inputTokens = e.message.usage?.input_tokens ?? 0;
          outputTokens = e.message.usage?.output_tokens ?? 0;
          break;
        case "content_block_start":
          if (e.content_block.type === "tool_use") {
            if (!e.content_block.id || !e.content_block.name) throw malformed(endpoint);
            blocks.set(e.index, { id: e.content_block.id, name: e.content_block.name, args: "" });
          } else if (e.content_block.type === "text" && e.content_block.text) {
            yield { type: "text", text: e.content_block.text };
          }
          break;
        case "content_block_delta":
          if (e.delta.type === "text_delta" && e.delta.text) {
            yield { type: "text", text: e.delta.text };
          } else if (e.delta.type === "input_json_delta") {
            const b = blocks.get(e.index);
            if (!b) throw malformed(endpoint);
            b.args += e.delta.partial_json ?? "";
          }
          break;
        case "content_block_stop": {
          const b = blocks.get(e.index);
          if (b) {
            blocks.delete(e.index);
            yield {
              type: "tool_call",
              call: { id: b.id, name: b.name, arguments: b.args || "{}" },
            };
          }
          break;
        }
        case "message_delta":
          stop = stopReason(e.delta.stop_reason);
          if (e.usage) outputTokens = e.usage.output_tokens;
          break;
        case "message_stop":
          finished = true;
          break;
        case "ping":
          break;
        case "error": {
          const overloaded = e.error?.type === "overloaded_error";
          throw new ProviderError(
            "unavailable",
            overloaded
              ? "Anthropic is overloaded right now."
              : "Anthropic reported an error mid-answer.",
            { fix: "Try again in a moment." },
          );
        }
      }
      if (finished) break;
    }
    if (!finished) throw truncated(endpoint);
    yield { type: "usage", inputTokens, outputTokens };
    yield { type: "done", stopReason: stop };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const list = await http.parsed(ModelList, () => ({
      url: joinUrl(baseUrl, "v1/models"),
      method: "GET",
      headers: headers(),
    }), signal);
    return list.data.map((m) => m.id).sort();
  }

  return {
    kind: "anthropic",
    baseUrl,
    chat,
    models,
    health: (signal) => healthFromModels("Anthropic", models, signal),
  };
}
