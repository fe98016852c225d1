/**
 * Timing helpers shared by adapters: retrying platform calls that were rate limited or failed
 * transiently, a typing indicator that repeats while the agent works, and a throttle for
 * streamed edits (platforms rate-limit edits; one edit per interval at most, the last always
 * wins).
 *
 * @module
 */

/** What a failed platform call tells us, extracted by each adapter from its library's error. */
export interface RetryHint {
  /** Worth trying again (429, 5xx, network). */
  retryable: boolean;
  /** The platform's own wait, in ms (429 `retry_after`). */
  afterMs?: number;
}

/** Options of {@linkcode withRetry}. */
export interface RetryOptions {
  /** Classifies an error. */
  classify(error: unknown): RetryHint;
  /** Attempts in all (default 5). */
  attempts?: number;
  /** First backoff (default 500 ms), doubling; a platform's `afterMs` wins. */
  baseMs?: number;
  /** Longest single wait (default 60 s); a longer `retry_after` gives up. */
  maxWaitMs?: number;
  signal?: AbortSignal;
}

/** Runs `fn`, retrying as {@linkcode RetryOptions} says. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = o.attempts ?? 5;
  const maxWait = o.maxWaitMs ?? 60_000;
  for (let i = 1;; i++) {
    try {
      return await fn();
    } catch (e) {
      const hint = o.classify(e);
      const wait = hint.afterMs ?? (o.baseMs ?? 500) * 2 ** (i - 1);
      if (!hint.retryable || i >= attempts || wait > maxWait || o.signal?.aborted) throw e;
      await sleep(wait, o.signal);
    }
  }
}

/** Resolves after `ms` (early when `signal` aborts). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/**
 * Shows "typing..." in conversations while the agent works: started when a message is
 * forwarded, repeated every `everyMs` (platform indicators fade after 5-10 s), stopped by the
 * reply or after `maxMs`.
 */
export class TypingIndicators {
  readonly #active = new Map<string, { timer: ReturnType<typeof setInterval>; until: number }>();

  /** `send` shows the indicator once; errors are ignored (it is cosmetic). */
  constructor(
    private readonly send: (conversationId: string) => Promise<unknown>,
    private readonly everyMs = 4500,
    private readonly maxMs = 120_000,
  ) {}

  /** Starts (or extends) the indicator in `conversationId`. */
  start(conversationId: string): void {
    const now = Date.now();
    const current = this.#active.get(conversationId);
    if (current) {
      current.until = now + this.maxMs;
      return;
    }
    this.send(conversationId).catch(() => {});
    const entry = {
      until: now + this.maxMs,
      timer: setInterval(() => {
        if (Date.now() > entry.until) return this.stop(conversationId);
        this.send(conversationId).catch(() => {});
      }, this.everyMs),
    };
    this.#active.set(conversationId, entry);
  }

  /** Stops the indicator in `conversationId`. */
  stop(conversationId: string): void {
    const e = this.#active.get(conversationId);
    if (!e) return;
    clearInterval(e.timer);
    this.#active.delete(conversationId);
  }

  /** Stops every indicator. */
  close(): void {
    for (const id of [...this.#active.keys()]) this.stop(id);
  }
}

/**
 * Bounds the rate of edits to one message: each {@linkcode EditThrottle.turn} for a message id
 * resolves at least `intervalMs` after the previous one, so a fast stream of edits is spaced
 * out instead of tripping the platform's rate limit.
 */
export class EditThrottle {
  readonly #last = new Map<string, number>();

  /** `intervalMs`: least time between two edits of one message. */
  constructor(private readonly intervalMs = 1000) {}

  /** Waits until `messageId` may be edited again, then records the edit. */
  async turn(messageId: string, signal?: AbortSignal): Promise<void> {
    const last = this.#last.get(messageId) ?? 0;
    const wait = last + this.intervalMs - Date.now();
    this.#last.set(messageId, Math.max(Date.now(), last + this.intervalMs));
    if (wait > 0) await sleep(wait, signal);
    if (this.#last.size > 1000) this.#last.clear();
  }
}
