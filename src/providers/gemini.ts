/**
 * Google Gemini (`POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`).
 *
 * Streaming: SSE `data:` lines, each a whole `GenerateContentResponse` whose
 * `candidates[0].content.parts` carry `text` and/or complete `functionCall`s (Gemini does not
 * fragment call arguments). The last chunk has a `finishReason`; there is no `[DONE]`, so a
 * stream ending before any `finishReason` was cut off. Tool results go back as
 * `functionResponse` parts in a `user` turn. Parameters are declared with
 * `parametersJsonSchema` (plain JSON Schema) rather than the OpenAPI subset of `parameters`.
 *
 * Gemini call ids are optional (older models send none), so wirken numbers calls itself and
 * echoes the model's id only when it sent one. A `thoughtSignature` on a call part is kept and
 * sent back with the call, as the API requires for thinking models.
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

/** Options of {@linkcode createGeminiProvider}. */
export interface GeminiOptions {
  /** Default `https://generativelanguage.googleapis.com`. */
  baseUrl?: string;
  apiKey: Secret;
  credentialName?: string;
  http?: HttpOptions;
}

/** The default Gemini endpoint. */
export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com";

const Part = z.object({
  text: z.string().optional(),
  thought: z.boolean().optional(),
  functionCall: z.object({
    id: z.string().optional(),
    name: z.string().min(1),
    args: z.record(z.string(), z.unknown()).nullish(),
  }).optional(),
  thoughtSignature: z.string().optional(),
});

const Chunk = z.object({
  candidates: z.array(z.object({
    content: z.object({ parts: z.array(Part).optional() }).optional(),
    finishReason: z.string().optional(),
  })).optional(),
  promptFeedback: z.object({ blockReason: z.string().optional() }).optional(),
  usageMetadata: z.object({
    promptTokenCount: z.number().optional(),
    candidatesTokenCount: z.number().optional(),
  }).optional(),
  error: z.unknown().optional(),
});

const ModelList = z.object({
  models: z.array(z.object({
    name: z.string(),
    supportedGenerationMethods: z.array(z.string()).optional(),
  })).default([]),
});

/** Prefix of locally generated call ids; never sent to Gemini as an id. */
const LOCAL_ID = "gemini-call-";

/** Removes JSON Schema keywords Gemini rejects (`$schema`), recursively harmless otherwise. */
function geminiSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _drop, ...rest } = schema;
  return rest;
}

/** The `contents` array of a Gemini request. */
export function toGeminiContents(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", parts: [{ text: m.content }] });
    else if (m.role === "assistant") {
      const parts: Record<string, unknown>[] = [];
      if (m.content) parts.push({ text: m.content });
      for (const c of m.toolCalls ?? []) {
        const fc: Record<string, unknown> = { name: c.name, args: toolArguments(c.arguments) };
        if (!c.id.startsWith(LOCAL_ID)) fc.id = c.id;
        parts.push({
          functionCall: fc,
          ...(c.signature ? { thoughtSignature: c.signature } : {}),
        });
      }
      if (parts.length) out.push({ role: "model", parts });
    } else {
      out.push({
        role: "user",
        parts: m.results.map((r) => {
          const fr: Record<string, unknown> = {
            name: r.name,
            // `response` must be an object; `error` tells the model the call failed.
            response: r.isError ? { error: r.content } : { result: r.content },
          };
          if (!r.callId.startsWith(LOCAL_ID)) fr.id = r.callId;
          return { functionResponse: fr };
        }),
      });
    }
  }
  return out;
}

function stopReason(reason: string): StopReason {
  switch (reason) {
    case "STOP":
      return "stop";
    case "MAX_TOKENS":
      return "length";
    default:
      return "other";
  }
}

/** Creates the Gemini provider. */
export function createGeminiProvider(options: GeminiOptions): Provider {
  const baseUrl = options.baseUrl ?? GEMINI_BASE_URL;
  const endpoint = {
    name: "Gemini",
    credentialName: options.credentialName ?? "provider.gemini.api_key",
  };
  checkEndpoint(baseUrl, endpoint);
  const http = new HttpClient(endpoint, options.http);

  function headers(): Record<string, string> {
    // A header rather than `?key=`, so the key never appears in a URL (or a log of one).
    return { "content-type": "application/json", "x-goog-api-key": options.apiKey.reveal() };
  }

  async function* chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const body: Record<string, unknown> = { contents: toGeminiContents(request.messages) };
    if (request.system) body.systemInstruction = { parts: [{ text: request.system }] };
    if (request.tools?.length) {
      body.tools = [{
        functionDeclarations: request.tools.map((t) => ({
          name: t.name,
          description: t.description,
          parametersJsonSchema: geminiSchema(t.parameters),
        })),
      }];
    }
    const gen: Record<string, unknown> = {};
    if (request.maxTokens !== undefined) gen.maxOutputTokens = request.maxTokens;
    if (request.temperature !== undefined) gen.temperature = request.temperature;
    if (Object.keys(gen).length) body.generationConfig = gen;
    const payload = JSON.stringify(body);
    const model = request.model.replace(/^models\//, "");
    const build = (): RequestInit2 => ({
      url: joinUrl(
        baseUrl,
        `v1beta/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`,
      ),
      method: "POST",
      headers: headers(),
      body: payload,
    });
    const open = await http.send(build, signal);

    let finish: StopReason | undefined;
    let calls = 0;
    let usage: { inputTokens: number; outputTokens: number } | undefined;
    for await (const ev of http.sse(open, signal)) {
      const parsed = Chunk.safeParse(parseJson(ev.data, endpoint));
      if (!parsed.success) throw malformed(endpoint, parsed.error);
      const chunk = parsed.data;
      if (chunk.error !== undefined && chunk.error !== null) {
        throw new ProviderError("unavailable", "Gemini reported an error mid-answer.", {
          fix: "Try again; if it persists, check the Gemini status page.",
        });
      }
      if (chunk.promptFeedback?.blockReason) {
        // Gemini refused the prompt itself; no candidate will follow.
        throw new ProviderError(
          "bad_request",
          `Gemini blocked this request (${chunk.promptFeedback.blockReason}).`,
          { fix: "Rephrase the message, or adjust the model's safety settings." },
        );
      }
      const cand = chunk.candidates?.[0];
      for (const part of cand?.content?.parts ?? []) {
        // Thought summaries are the model's private reasoning, not part of the answer.
        if (part.text && !part.thought) yield { type: "text", text: part.text };
        if (part.functionCall) {
          const id = part.functionCall.id ?? `${LOCAL_ID}${calls}`;
          calls++;
          yield {
            type: "tool_call",
            call: {
              id,
              name: part.functionCall.name,
              arguments: JSON.stringify(part.functionCall.args ?? {}),
              ...(part.thoughtSignature ? { signature: part.thoughtSignature } : {}),
            },
          };
        }
      }
      if (chunk.usageMetadata) {
        usage = {
          inputTokens: chunk.usageMetadata.promptTokenCount ?? 0,
          outputTokens: chunk.usageMetadata.candidatesTokenCount ?? 0,
        };
      }
      if (cand?.finishReason) finish = stopReason(cand.finishReason);
    }
    if (finish === undefined) throw truncated(endpoint);
    if (usage) yield { type: "usage", ...usage };
    // Gemini says STOP even when it called functions; report what actually happened.
    yield { type: "done", stopReason: calls > 0 && finish === "stop" ? "tool_calls" : finish };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const list = await http.parsed(ModelList, () => ({
      url: joinUrl(baseUrl, "v1beta/models?pageSize=1000"),
      method: "GET",
      headers: headers(),
    }), signal);
    return list.models
      .filter((m) =>
        !m.supportedGenerationMethods || m.supportedGenerationMethods.includes("generateContent")
      )
      .map((m) => m.name.replace(/^models\//, ""))
      .sort();
  }

  return {
    kind: "gemini",
    baseUrl,
    chat,
    models,
    health: (signal) => healthFromModels("Gemini", models, signal),
  };
}
