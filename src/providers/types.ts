/**
 * The one interface every LLM provider implements, and the provider-neutral shapes of a
 * conversation. Each provider file translates these to and from its own wire format; nothing
 * here knows about tools, channels or storage.
 *
 * @module
 */
/** The wire formats wirken speaks (mirrors `PROVIDER_KINDS` in the config schema). */
export type ProviderKind =
  | "openai"
  | "anthropic"
  | "gemini"
  | "bedrock"
  | "tinfoil"
  | "privatemode"
  | "ollama"
  | "custom";

/** A tool as announced to the model. `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** One tool call the model asked for. */
export interface ToolCall {
  /** The provider's call id (generated locally for providers that have none, e.g. Gemini). */
  id: string;
  name: string;
  /**
   * The arguments as JSON text, exactly as the model produced them. Kept as text because a
   * model may emit malformed JSON, which the agent loop reports back instead of crashing.
   */
  arguments: string;
  /** Opaque provider data that must be echoed back with the call (Gemini `thoughtSignature`). */
  signature?: string;
}

/** The outcome of one tool call, sent back to the model. */
export interface ToolResultPart {
  callId: string;
  /** Name of the tool (Gemini and Ollama identify results by name). */
  name: string;
  content: string;
  isError?: boolean;
}

/** One message of a conversation, provider-neutral. */
export type ChatMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: ToolCall[] }
  /** Every result of one tool round, in call order (providers group or split them as needed). */
  | { role: "tool"; results: ToolResultPart[] };

/** What the agent asks a provider for. */
export interface ChatRequest {
  model: string;
  system?: string;
  messages: readonly ChatMessage[];
  tools?: readonly ToolSpec[];
  /** Upper bound of generated tokens (Anthropic and Bedrock require one; default 4096). */
  maxTokens?: number;
  temperature?: number;
  /**
   * The context window the caller sized the history for. Only Ollama uses it (as `num_ctx`):
   * it otherwise runs with a small default window and silently drops the start of the prompt.
   */
  contextTokens?: number;
}

/** Why the model stopped. */
export type StopReason = "stop" | "tool_calls" | "length" | "other";

/** One event of a streamed answer. */
export type ChatEvent =
  | { type: "text"; text: string }
  /** Emitted once the call's arguments are complete; several may come in one answer. */
  | { type: "tool_call"; call: ToolCall }
  | { type: "usage"; inputTokens: number; outputTokens: number }
  /** Always the last event of a successful stream. */
  | { type: "done"; stopReason: StopReason };

/** Result of {@linkcode Provider.health}. */
export interface HealthStatus {
  ok: boolean;
  /** Short user-facing sentence. */
  message: string;
  latencyMs: number;
}

/** A model provider. Errors are thrown (or raised from the iterator) as `ProviderError`. */
export interface Provider {
  /** The wire format. */
  readonly kind: ProviderKind;
  /** The base URL requests go to (no credentials in it). */
  readonly baseUrl: string;
  /** Streams one answer. Cancelling `signal` aborts the HTTP request. */
  chat(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatEvent>;
  /** Model ids the endpoint offers. */
  models(signal?: AbortSignal): Promise<string[]>;
  /** Checks the endpoint answers and the credential is accepted; never throws. */
  health(signal?: AbortSignal): Promise<HealthStatus>;
}

/** What went wrong, in categories a user can act on. */
export type ProviderErrorKind =
  | "auth"
  | "quota"
  | "rate_limit"
  | "not_found"
  | "bad_request"
  | "unavailable"
  | "timeout"
  | "network"
  | "protocol"
  | "insecure_url"
  | "config"
  | "aborted";
