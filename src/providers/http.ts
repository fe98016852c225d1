/**
 * The one HTTP path every provider uses: endpoint checks (HTTPS unless loopback), the retry
 * policy (429 and 5xx, exponential backoff honouring `Retry-After`), timeouts (until the
 * response headers, and between two chunks of a stream), and the mapping of failures to short
 * user-facing {@linkcode ProviderError}s that never carry the key or the raw body.
 *
 * Also the stream readers: UTF-8 text chunks, Server-Sent Events (via `eventsource-parser`) and
 * newline-delimited JSON.
 *
 * @module
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { z } from "zod";
import { InsecureUrlError, requireSecureUrl } from "../net/secure_url.ts";
import { ProviderError } from "./errors.ts";
import type { HealthStatus } from "./types.ts";

/** Tunables of {@linkcode HttpClient}; every field has a production default. */
export interface HttpOptions {
  /** Time allowed until the response headers arrive (default 120 s: local models load slowly). */
  timeoutMs?: number;
  /** Time allowed between two chunks of a streamed body (default 120 s). */
  idleTimeoutMs?: number;
  /** Retries after the first attempt on 429/5xx/network errors (default 3). */
  retries?: number;
  /** First backoff delay; doubled each retry, with jitter (default 500 ms). */
  baseDelayMs?: number;
  /** Longest wait before a retry; a `Retry-After` beyond it ends the retries (default 30 s). */
  maxDelayMs?: number;
  /** The fetch implementation (tests may wrap it). */
  fetch?: typeof fetch;
}

/** Who is being talked to, for error messages. */
export interface EndpointInfo {
  /** Display name, e.g. `OpenAI`. */
  name: string;
  /** Vault credential holding the key, named in the fix of an auth error. */
  credentialName?: string;
  /** The fix shown for HTTP 404 (e.g. Ollama: pull the model first). */
  notFoundFix?: string;
}

/**
 * Parses and checks a provider base URL with the project's one secure-URL rule
 * (`src/net/secure_url.ts`: https anywhere, http only on loopback, no credentials in the URL),
 * re-raised as a `ProviderError` so callers handle one error type.
 */
export function checkEndpoint(url: string, endpoint: EndpointInfo): URL {
  try {
    return requireSecureUrl(url, endpoint.name);
  } catch (e) {
    if (!(e instanceof InsecureUrlError)) throw e;
    const insecure = /^http:/i.test(url.trim());
    throw new ProviderError(insecure ? "insecure_url" : "config", e.message, {
      fix: e.fix,
      cause: e,
    });
  }
}

/** Joins a base URL and a path without doubling or dropping slashes. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "");
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504, 529]);

/** Parses `retry-after-ms` / `Retry-After` (seconds or HTTP date) into milliseconds. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const ra = headers.get("retry-after");
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * A short, safe identifier from an error body (e.g. `insufficient_quota`,
 * `model_not_found`), used for classification and shown to the user only when it looks like
 * an identifier. The body itself is never shown: it can echo the request, or the key.
 */
export function errorCode(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const seen: unknown[] = [parsed];
  for (let i = 0; i < seen.length && i < 20; i++) {
    const v = seen[i];
    if (Array.isArray(v)) seen.push(...v);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (const key of ["code", "type", "status", "__type"]) {
        const c = o[key];
        if (typeof c === "string" && /^[A-Za-z][A-Za-z0-9_.#:-]{1,60}$/.test(c) && c !== "error") {
          return c.replace(/^.*#/, "");
        }
      }
      if (o.error !== undefined) seen.push(o.error);
    }
  }
  return undefined;
}

/** Maps an HTTP failure to the user-facing error. `body` is read for classification only. */
export function errorFromStatus(
  status: number,
  body: string,
  endpoint: EndpointInfo,
): ProviderError {
  const code = errorCode(body);
  const lower = body.toLowerCase();
  const name = endpoint.name;
  if (status === 403) {
    // 403 is usually a valid key without access to this model or region (Bedrock model access,
    // organisation restrictions), so "bad key" would send the user the wrong way.
    return new ProviderError(
      "auth",
      `${name} refused access (HTTP 403${code ? `: ${code}` : ""}).`,
      {
        status,
        fix: "Check that this key or account may use this model (and region), or use another key.",
      },
    );
  }
  if (status === 401) {
    return new ProviderError("auth", `${name} rejected the API key (HTTP 401).`, {
      status,
      fix: endpoint.credentialName
        ? `Store a valid key: wirken credentials add ${endpoint.credentialName}`
        : "Check the key or credentials configured for this provider.",
    });
  }
  if (status === 404) {
    return new ProviderError(
      "not_found",
      `${name} does not know this model or endpoint (HTTP 404).`,
      {
        status,
        fix: endpoint.notFoundFix ?? "Check the model id (`wirken status`) and the base URL.",
      },
    );
  }
  if (status === 429 || status === 402) {
    if (status === 402 || /insufficient_quota|quota|billing|credit/.test(lower)) {
      return new ProviderError("quota", `${name} says the account is out of quota or credit.`, {
        status,
        fix: "Check the plan and billing of this account with the provider.",
      });
    }
    return new ProviderError("rate_limit", `${name} is rate-limiting requests (HTTP 429).`, {
      status,
      fix: "Wait a minute and try again, or raise the account's limits.",
    });
  }
  if (status >= 500) {
    return new ProviderError(
      "unavailable",
      `${name} is not available right now (HTTP ${status}).`,
      { status, fix: "Try again later; wirken already retried a few times." },
    );
  }
  const suffix = code ? `: ${code}` : "";
  return new ProviderError(
    "bad_request",
    `${name} refused the request (HTTP ${status}${suffix}).`,
    {
      status,
      fix: "Check the model id and settings of this provider; `--verbose` shows more.",
    },
  );
}

function abortError(endpoint: EndpointInfo): ProviderError {
  return new ProviderError("aborted", `The request to ${endpoint.name} was cancelled.`);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function readBounded(response: Response, max = 16_384): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // An unreadable error body only loses the classification detail.
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.byteLength;
  }
  return new TextDecoder().decode(all.subarray(0, max));
}

/** One request as built for each attempt (signing needs a fresh date every time). */
export interface RequestInit2 {
  url: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
}

/** A response whose headers arrived; `abort` ends the underlying connection. */
export interface OpenResponse {
  response: Response;
  abort(): void;
}

/** The HTTP client of one provider endpoint. */
export class HttpClient {
  readonly #endpoint: EndpointInfo;
  readonly #timeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #fetch: typeof fetch;

  /** Builds a client; `endpoint` names the provider in error messages. */
  constructor(endpoint: EndpointInfo, options: HttpOptions = {}) {
    this.#endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.#retries = options.retries ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The endpoint description used in messages. */
  get endpoint(): EndpointInfo {
    return this.#endpoint;
  }

  /**
   * Sends a request, retrying 429/5xx and network failures, and returns once a 2xx response's
   * headers are in. `build` is called for every attempt; it may sign the request.
   */
  async send(
    build: () => RequestInit2 | Promise<RequestInit2>,
    signal?: AbortSignal,
  ): Promise<OpenResponse> {
    let lastError: ProviderError | undefined;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (signal?.aborted) throw abortError(this.#endpoint);
      const req = await build();
      checkEndpoint(req.url, this.#endpoint);
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.#timeoutMs);
      let response: Response;
      try {
        response = await this.#fetch(req.url, {
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal: controller.signal,
          redirect: "error",
        });
      } catch (e) {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) throw abortError(this.#endpoint);
        lastError = timedOut
          ? new ProviderError("timeout", `${this.#endpoint.name} did not answer in time.`, {
            fix: "Check that the provider is reachable; try again later.",
            cause: e,
          })
          : new ProviderError("network", `Cannot reach ${this.#endpoint.name}.`, {
            fix: "Check the network and the base URL (`wirken doctor`).",
            cause: e,
          });
        if (attempt < this.#retries) {
          await this.#backoff(attempt, undefined, signal);
          continue;
        }
        throw lastError;
      }
      clearTimeout(timer);
      if (response.ok) {
        return {
          response,
          abort: () => {
            signal?.removeEventListener("abort", onAbort);
            controller.abort();
          },
        };
      }
      signal?.removeEventListener("abort", onAbort);
      const body = await readBounded(response);
      lastError = errorFromStatus(response.status, body, this.#endpoint);
      if (!RETRYABLE.has(response.status) || lastError.kind === "quota") throw lastError;
      if (attempt >= this.#retries) throw lastError;
      const wait = retryAfterMs(response.headers);
      if (wait !== undefined && wait > this.#maxDelayMs) throw lastError;
      await this.#backoff(attempt, wait, signal);
    }
    throw lastError ?? abortError(this.#endpoint);
  }

  async #backoff(attempt: number, retryAfter: number | undefined, signal?: AbortSignal) {
    const exp = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** attempt);
    // Jitter spreads retries of several gateways; Retry-After is honoured as a lower bound.
    const jittered = exp / 2 + Math.random() * exp / 2;
    const wait = Math.min(this.#maxDelayMs, Math.max(retryAfter ?? 0, jittered));
    try {
      await sleep(wait, signal);
    } catch {
      throw abortError(this.#endpoint);
    }
  }

  /** Sends the request and validates its JSON body with `schema`; a mismatch is a malformed answer. */
  async parsed<T>(
    schema: z.ZodType<T>,
    build: () => RequestInit2 | Promise<RequestInit2>,
    signal?: AbortSignal,
  ): Promise<T> {
    const result = schema.safeParse(await this.json(build, signal));
    if (!result.success) throw malformed(this.#endpoint, result.error);
    return result.data;
  }

  /** Sends a request and parses its JSON answer (for model lists and health checks). */
  async json(
    build: () => RequestInit2 | Promise<RequestInit2>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const open = await this.send(build, signal);
    try {
      const text = await open.response.text().catch((e) => {
        throw new ProviderError("network", `The answer from ${this.#endpoint.name} broke off.`, {
          cause: e,
        });
      });
      return parseJson(text, this.#endpoint);
    } finally {
      // Detaches the listener from the caller's signal; the body is already read.
      open.abort();
    }
  }

  /**
   * The body as UTF-8 text chunks. A multi-byte character split across network chunks is
   * decoded whole (the decoder keeps the partial bytes). A gap longer than the idle timeout,
   * a broken connection or cancellation raise a `ProviderError`.
   */
  async *text(open: OpenResponse, signal?: AbortSignal): AsyncGenerator<string> {
    const decoder = new TextDecoder("utf-8", { fatal: false });
    for await (const bytes of this.bytes(open, signal)) {
      const s = decoder.decode(bytes, { stream: true });
      if (s) yield s;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  }

  /** The raw body bytes, with the same timeouts as {@linkcode HttpClient.text}. */
  async *bytes(open: OpenResponse, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const body = open.response.body;
    if (!body) return;
    const reader = body.getReader();
    try {
      while (true) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<"idle">((resolve) => {
          timer = setTimeout(() => resolve("idle"), this.#idleTimeoutMs);
        });
        let result: ReadableStreamReadResult<Uint8Array> | "idle";
        try {
          result = await Promise.race([reader.read(), idle]);
        } catch (e) {
          if (signal?.aborted) throw abortError(this.#endpoint);
          throw new ProviderError("network", `The answer from ${this.#endpoint.name} broke off.`, {
            fix: "Try again; if it keeps happening, check the network or the provider's status.",
            cause: e,
          });
        } finally {
          clearTimeout(timer);
        }
        if (result === "idle") {
          throw new ProviderError("timeout", `${this.#endpoint.name} stopped sending mid-answer.`, {
            fix: "Try again later.",
          });
        }
        if (result.done) break;
        yield result.value;
      }
    } finally {
      reader.cancel().catch(() => {});
      open.abort();
    }
  }

  /** Server-Sent Events of the body, parsed by `eventsource-parser`. */
  async *sse(open: OpenResponse, signal?: AbortSignal): AsyncGenerator<EventSourceMessage> {
    const queue: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => queue.push(e) });
    for await (const chunk of this.text(open, signal)) {
      parser.feed(chunk);
      while (queue.length) yield queue.shift()!;
    }
    // Flushes a final event that had no trailing blank line.
    parser.reset({ consume: true });
    while (queue.length) yield queue.shift()!;
  }

  /** Newline-delimited JSON lines of the body (Ollama), each parsed. */
  async *ndjson(open: OpenResponse, signal?: AbortSignal): AsyncGenerator<unknown> {
    let buffer = "";
    for await (const chunk of this.text(open, signal)) {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) yield parseJson(line, this.#endpoint);
      }
    }
    if (buffer.trim()) yield parseJson(buffer.trim(), this.#endpoint);
  }
}

/** Parses JSON from a provider; failure is a `protocol` error that does not quote the text. */
export function parseJson(text: string, endpoint: EndpointInfo): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw malformed(endpoint, e);
  }
}

/** The error for a stream event that does not have the documented shape. */
export function malformed(endpoint: EndpointInfo, cause?: unknown): ProviderError {
  return new ProviderError("protocol", `${endpoint.name} sent a malformed answer.`, {
    fix: "Try again; if it persists the endpoint may not speak this provider's format.",
    cause,
  });
}

/** The error for a stream that ended before its final event. */
export function truncated(endpoint: EndpointInfo): ProviderError {
  return new ProviderError("network", `The answer from ${endpoint.name} was cut off.`, {
    fix: "Try again; if it keeps happening, check the network or the provider's status.",
  });
}

/** A health check that lists models: proves reachability and, where needed, the key. */
export async function healthFromModels(
  name: string,
  models: (signal?: AbortSignal) => Promise<string[]>,
  signal?: AbortSignal,
): Promise<HealthStatus> {
  const start = performance.now();
  try {
    const list = await models(signal);
    return {
      ok: true,
      message: `${name} answers (${list.length} models).`,
      latencyMs: Math.round(performance.now() - start),
    };
  } catch (e) {
    const message = e instanceof ProviderError ? e.message : `${name} health check failed.`;
    return { ok: false, message, latencyMs: Math.round(performance.now() - start) };
  }
}

/**
 * A tool call's argument string as the JSON object the wire formats want. The agent already
 * told the model when its arguments were malformed, so anything that is not an object is sent
 * as an empty input rather than failing the whole request.
 */
export function toolArguments(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args || "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
