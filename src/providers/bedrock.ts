/**
 * AWS Bedrock Converse streaming (`POST {runtime}/model/{modelId}/converse-stream`), signed
 * with SigV4 by `aws4fetch` (service `bedrock`), or authenticated with a Bedrock API key
 * (`Authorization: Bearer`).
 *
 * The answer is an `application/vnd.amazon.eventstream` binary stream (see `eventstream.ts`);
 * each message's `:event-type` header names a ConverseStream event whose JSON payload is:
 * `messageStart {role}`, `contentBlockStart {contentBlockIndex, start.toolUse {toolUseId,
 * name}}`, `contentBlockDelta {contentBlockIndex, delta.text | delta.toolUse.input}` (input
 * is a JSON text fragment), `contentBlockStop`, `messageStop {stopReason}`, `metadata {usage}`.
 * A message whose `:message-type` is `exception` carries an error (`:exception-type`).
 * Tool results go back as `toolResult` blocks in a user message.
 *
 * @module
 */
import { AwsV4Signer } from "aws4fetch";
import { z } from "zod";
import type { Secret } from "../secret.ts";
import { ProviderError } from "./errors.ts";
import { EventStreamDecoder, EventStreamError } from "./eventstream.ts";
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

/** AWS credentials; the secret parts travel as `Secret`. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: Secret;
  sessionToken?: Secret;
}

/** Options of {@linkcode createBedrockProvider}: SigV4 `credentials` or a Bedrock `apiKey`. */
export interface BedrockOptions {
  region: string;
  credentials?: AwsCredentials;
  /** A Bedrock API key (bearer token); used instead of SigV4 when given. */
  apiKey?: Secret;
  /** Runtime endpoint; default `https://bedrock-runtime.{region}.amazonaws.com`. */
  baseUrl?: string;
  /** Control-plane endpoint for the model list; default `https://bedrock.{region}.amazonaws.com`. */
  controlUrl?: string;
  http?: HttpOptions;
}

const Start = z.object({
  contentBlockIndex: z.number().int(),
  start: z.object({
    toolUse: z.object({ toolUseId: z.string(), name: z.string().min(1) }).optional(),
  }).optional(),
});
const Delta = z.object({
  contentBlockIndex: z.number().int(),
  delta: z.object({
    text: z.string().optional(),
    toolUse: z.object({ input: z.string() }).optional(),
  }),
});
const Stop = z.object({ contentBlockIndex: z.number().int() });
const MessageStop = z.object({ stopReason: z.string() });
const Metadata = z.object({
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).optional(),
});
const ModelList = z.object({
  modelSummaries: z.array(z.object({ modelId: z.string() })).default([]),
});

/** The `messages` array of a Converse request. */
export function toBedrockMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: [{ text: m.content }] });
    else if (m.role === "assistant") {
      const content: Record<string, unknown>[] = [];
      if (m.content) content.push({ text: m.content });
      for (const c of m.toolCalls ?? []) {
        content.push({
          toolUse: { toolUseId: c.id, name: c.name, input: toolArguments(c.arguments) },
        });
      }
      if (content.length) out.push({ role: "assistant", content });
    } else {
      out.push({
        role: "user",
        content: m.results.map((r) => ({
          toolResult: {
            toolUseId: r.callId,
            content: [{ text: r.content }],
            status: r.isError ? "error" : "success",
          },
        })),
      });
    }
  }
  return out;
}

function stopReason(reason: string): StopReason {
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

function exceptionError(type: string): ProviderError {
  if (/throttl/i.test(type)) {
    return new ProviderError("rate_limit", "Bedrock is throttling requests.", {
      fix: "Wait a minute and try again, or raise the account's Bedrock quotas.",
    });
  }
  if (/validation/i.test(type)) {
    return new ProviderError("bad_request", `Bedrock refused the request (${type}).`, {
      fix: "Check the model id and that the model supports tool use in this region.",
    });
  }
  return new ProviderError("unavailable", "Bedrock reported an error mid-answer.", {
    fix: "Try again later.",
  });
}

/** Creates the Bedrock provider. */
export function createBedrockProvider(options: BedrockOptions): Provider {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(options.region)) {
    throw new ProviderError("config", `"${options.region}" is not an AWS region.`, {
      fix: "Set the region, e.g. AWS_REGION=us-east-1.",
    });
  }
  if (!options.credentials && !options.apiKey) {
    throw new ProviderError("config", "Bedrock needs AWS credentials or a Bedrock API key.", {
      fix: "Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or a profile) or store a Bedrock API key.",
    });
  }
  const baseUrl = options.baseUrl ?? `https://bedrock-runtime.${options.region}.amazonaws.com`;
  const controlUrl = options.controlUrl ?? `https://bedrock.${options.region}.amazonaws.com`;
  const endpoint = { name: "Bedrock", credentialName: "provider.bedrock.api_key" };
  checkEndpoint(baseUrl, endpoint);
  checkEndpoint(controlUrl, endpoint);
  const http = new HttpClient(endpoint, options.http);

  async function signed(
    method: "GET" | "POST",
    url: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<RequestInit2> {
    if (options.apiKey) {
      return {
        url,
        method,
        headers: { ...headers, authorization: `Bearer ${options.apiKey.reveal()}` },
        body,
      };
    }
    const creds = options.credentials!;
    // Secrets are revealed only into the signer, which derives the signature from them.
    const signer = new AwsV4Signer({
      method,
      url,
      headers,
      body,
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey.reveal(),
      sessionToken: creds.sessionToken?.reveal(),
      service: "bedrock",
      region: options.region,
    });
    const s = await signer.sign();
    const out: Record<string, string> = {};
    s.headers.forEach((v, k) => (out[k] = v));
    return { url: s.url.toString(), method, headers: out, body };
  }

  async function* chat(request: ChatRequest, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const body: Record<string, unknown> = { messages: toBedrockMessages(request.messages) };
    if (request.system) body.system = [{ text: request.system }];
    const inference: Record<string, unknown> = { maxTokens: request.maxTokens ?? 4096 };
    if (request.temperature !== undefined) inference.temperature = request.temperature;
    body.inferenceConfig = inference;
    if (request.tools?.length) {
      body.toolConfig = {
        tools: request.tools.map((t) => ({
          toolSpec: {
            name: t.name,
            description: t.description,
            inputSchema: { json: t.parameters },
          },
        })),
      };
    }
    const payload = JSON.stringify(body);
    const url = joinUrl(baseUrl, `model/${encodeURIComponent(request.model)}/converse-stream`);
    const open = await http.send(
      () =>
        signed("POST", url, {
          "content-type": "application/json",
          accept: "application/vnd.amazon.eventstream",
        }, payload),
      signal,
    );

    const decoder = new EventStreamDecoder();
    const blocks = new Map<number, { id: string; name: string; args: string }>();
    let stop: StopReason | undefined;
    let calls = 0;
    const text = new TextDecoder();
    const json = (p: Uint8Array): unknown => parseJson(text.decode(p), endpoint);
    for await (const chunk of http.bytes(open, signal)) {
      let messages;
      try {
        messages = decoder.push(chunk);
      } catch (e) {
        if (e instanceof EventStreamError) throw malformed(endpoint, e);
        throw e;
      }
      for (const m of messages) {
        const messageType = m.headers[":message-type"];
        if (messageType === "exception" || messageType === "error") {
          const t = m.headers[":exception-type"] ?? m.headers[":error-code"];
          throw exceptionError(typeof t === "string" ? t : "");
        }
        const eventType = m.headers[":event-type"];
        const check = <T>(schema: z.ZodType<T>): T => {
          const r = schema.safeParse(json(m.payload));
          if (!r.success) throw malformed(endpoint, r.error);
          return r.data;
        };
        switch (eventType) {
          case "contentBlockStart": {
            const e = check(Start);
            const tu = e.start?.toolUse;
            if (tu) blocks.set(e.contentBlockIndex, { id: tu.toolUseId, name: tu.name, args: "" });
            break;
          }
          case "contentBlockDelta": {
            const e = check(Delta);
            if (e.delta.text) yield { type: "text", text: e.delta.text };
            if (e.delta.toolUse) {
              const b = blocks.get(e.contentBlockIndex);
              if (!b) throw malformed(endpoint);
              b.args += e.delta.toolUse.input;
            }
            break;
          }
          case "contentBlockStop": {
            const e = check(Stop);
            const b = blocks.get(e.contentBlockIndex);
            if (b) {
              blocks.delete(e.contentBlockIndex);
              calls++;
              yield {
                type: "tool_call",
                call: { id: b.id, name: b.name, arguments: b.args || "{}" },
              };
            }
            break;
          }
          case "messageStop":
            stop = stopReason(check(MessageStop).stopReason);
            break;
          case "metadata": {
            const e = check(Metadata);
            if (e.usage) {
              yield {
                type: "usage",
                inputTokens: e.usage.inputTokens,
                outputTokens: e.usage.outputTokens,
              };
            }
            break;
          }
          default:
            // messageStart and events added later carry nothing wirken needs; still validate
            // that the payload is JSON so corruption is noticed.
            json(m.payload);
        }
      }
    }
    if (stop === undefined || decoder.pending > 0) throw truncated(endpoint);
    yield { type: "done", stopReason: calls > 0 && stop === "stop" ? "tool_calls" : stop };
  }

  async function models(signal?: AbortSignal): Promise<string[]> {
    const json = await http.json(
      () => signed("GET", joinUrl(controlUrl, "foundation-models"), { accept: "application/json" }),
      signal,
    );
    const parsed = ModelList.safeParse(json);
    if (!parsed.success) throw malformed(endpoint, parsed.error);
    return parsed.data.modelSummaries.map((m) => m.modelId).sort();
  }

  return {
    kind: "bedrock",
    baseUrl,
    chat,
    models,
    health: (signal) => healthFromModels("Bedrock", models, signal),
  };
}
