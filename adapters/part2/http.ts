/**
 * HTTP helpers of the part-2 adapters: reading a request body under a byte cap (before any
 * parsing or signature work), constant-time comparison, and one retry policy for platform
 * API calls.
 *
 * @module
 */

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
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(max);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reads a response body under a byte cap (media downloads); throws past it. */
export async function readCappedResponse(res: Response, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLarge(max);
  }
  return await readCappedBody(new Request("http://local/", { method: "POST", body: res.body }), max);
}

/** Compares two byte strings in time that depends only on their lengths. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Length is not secret here (a hex HMAC always has the same length); content is.
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Options of {@linkcode fetchWithRetry}. */
export interface RetryOptions {
  /** Attempts in all (default 3). */
  attempts?: number;
  /** First delay (default 300 ms), doubling; a `retry-after` header wins, capped at 5 s. */
  baseDelayMs?: number;
  signal?: AbortSignal;
  /** Per-attempt timeout (default 20 s). */
  timeoutMs?: number;
}

/**
 * `fetch` with a small retry policy for platform APIs: network errors, 429 and 5xx are retried
 * with backoff; every other answer is returned as is. `init` must be re-sendable (a string or
 * bytes body, not a stream).
 */
export async function fetchWithRetry(
  url: string,
  init: RequestInit,
  options: RetryOptions = {},
): Promise<Response> {
  const attempts = options.attempts ?? 3;
  let delay = options.baseDelayMs ?? 300;
  let last: unknown = null;
  for (let i = 0; i < attempts; i++) {
    const signals = [AbortSignal.timeout(options.timeoutMs ?? 20_000)];
    if (options.signal) signals.push(options.signal);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.any(signals) });
      if (res.status !== 429 && res.status < 500) return res;
      if (i === attempts - 1) return res;
      const after = Number(res.headers.get("retry-after"));
      await res.body?.cancel().catch(() => {});
      if (Number.isFinite(after) && after > 0) delay = Math.min(5000, after * 1000);
    } catch (e) {
      if (options.signal?.aborted) throw e;
      last = e;
      if (i === attempts - 1) throw e;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay *= 2;
  }
  throw last instanceof Error ? last : new Error(String(last));
}

/** A short description of a failed API answer (status and a capped body, no headers). */
export async function describeFailure(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  return `HTTP ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}`;
}
