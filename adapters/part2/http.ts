/**
 * HTTP helpers of the part-2 (webhook and REST) adapters that `adapters/shared/` does not
 * have: reading a request body under a byte cap before any parsing or signature work,
 * constant-time comparison, and a JSON API call whose failures classify for
 * `adapters/shared/pacing.ts` `withRetry`.
 *
 * @module
 */
import type { RetryHint } from "../shared/pacing.ts";
import { readCapped } from "../shared/read_capped.ts";

/** A body over the cap. */
export class BodyTooLarge extends Error {
  /** `limit` is the cap in bytes. */
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/**
 * Reads the whole body of `req`, refusing (with {@linkcode BodyTooLarge}) as soon as more than
 * `max` bytes arrive, so a huge or endless body costs at most `max` bytes of memory. A
 * `content-length` over the cap is refused before reading anything.
 */
export async function readCappedBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > max) {
    await req.body?.cancel().catch(() => {});
    throw new BodyTooLarge(max);
  }
  const body = await readCapped(req.body, max);
  if (body === null) throw new BodyTooLarge(max);
  return body;
}

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Length is not secret here (a hex HMAC always has the same length); content is.
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** A platform API answered with an error status. */
export class HttpError extends Error {
  /** `detail` is a capped excerpt of the answer's body (platform error text, no headers). */
  constructor(
    readonly status: number,
    detail: string,
    readonly retryAfterMs?: number,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ""}`);
    this.name = "HttpError";
  }
}

/** Classifies an API failure for `withRetry`: network errors, 429 and 5xx are retried. */
export function classifyHttp(e: unknown): RetryHint {
  if (e instanceof HttpError) {
    return { retryable: e.status === 429 || e.status >= 500, afterMs: e.retryAfterMs };
  }
  // An aborted call (adapter stopping) is final; a TypeError from fetch is the network.
  if (e instanceof DOMException && e.name === "AbortError") return { retryable: false };
  return { retryable: e instanceof TypeError || (e instanceof DOMException) };
}

/**
 * One API call: `fetch` with a timeout, an {@linkcode HttpError} for any non-2xx answer, and
 * the answer's JSON (or `{}` for an empty body).
 */
export async function callJson(
  url: string,
  init: RequestInit,
  signal?: AbortSignal,
  timeoutMs = 20_000,
): Promise<unknown> {
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  const res = await fetch(url, { ...init, signal: AbortSignal.any(signals) });
  const text = await res.text();
  if (!res.ok) {
    const after = Number(res.headers.get("retry-after"));
    throw new HttpError(
      res.status,
      text.slice(0, 300),
      Number.isFinite(after) && after > 0 ? after * 1000 : undefined,
    );
  }
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(res.status, "the answer is not JSON");
  }
}
