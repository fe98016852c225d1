/**
 * Rate limiting with token buckets: one per sender (on a channel), one per channel, one
 * global. A message passes only if all three have a token, and then takes one from each, so a
 * refused message costs nothing. There is no exemption for loopback: WebChat on 127.0.0.1 and
 * `wirken ask` are limited like any chat channel (their channels are `webchat` and `cli`).
 *
 * Bucket state lives behind {@linkcode BucketState}: in memory for the gateway, or in SQLite
 * (`sqlite_state.ts`) where separate processes must share it, as successive `wirken ask` runs do.
 *
 * @module
 */

/** A bucket's size and refill rate. */
export interface BucketSpec {
  /** Messages per minute; the bucket also holds at most this many (a minute's burst). */
  perMinute: number;
}

/** The three limits. */
export interface RateLimits {
  sender: BucketSpec;
  channel: BucketSpec;
  global: BucketSpec;
}

/** A bucket's stored state. */
export interface Bucket {
  tokens: number;
  /** Wall-clock milliseconds of the last update. */
  updatedMs: number;
}

/** Where buckets are kept. `transaction` makes a check atomic across processes. */
export interface BucketState {
  get(key: string): Bucket | undefined;
  set(key: string, bucket: Bucket): void;
  transaction<T>(fn: () => T): T;
}

/** Which limit refused a message. */
export type LimitScope = "sender" | "channel" | "global";

/** The verdict for one message. */
export type RateDecision =
  | { allowed: true }
  | { allowed: false; scope: LimitScope; retryAfterMs: number; message: string };

/** In-memory bucket state (the gateway's default). Idle full buckets are pruned. */
export class MemoryBucketState implements BucketState {
  readonly #map = new Map<string, Bucket>();
  /** Bucket for `key`. */
  get(key: string): Bucket | undefined {
    return this.#map.get(key);
  }
  /** Stores a bucket; prunes when the map grows large so idle senders do not leak memory. */
  set(key: string, bucket: Bucket): void {
    this.#map.set(key, bucket);
    if (this.#map.size > 50_000) {
      const cutoff = bucket.updatedMs - 10 * 60_000;
      for (const [k, b] of this.#map) if (b.updatedMs < cutoff) this.#map.delete(k);
    }
  }
  /** Runs `fn` (a single process needs no locking). */
  transaction<T>(fn: () => T): T {
    return fn();
  }
}

/** The user-facing sentence for a refusal. */
export function refusalMessage(scope: LimitScope, retryAfterMs: number): string {
  const s = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const when = s === 1 ? "a second" : `${s} seconds`;
  if (scope === "sender") {
    return `You are sending messages faster than I can answer them. Please wait ${when} and try again.`;
  }
  return `I am handling many messages right now. Please try again in ${when}.`;
}

/** The limiter. `now` is wall-clock milliseconds (tests pass a fake clock). */
export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #state: BucketState;
  readonly #now: () => number;

  /** Builds a limiter; every `perMinute` must be positive. */
  constructor(
    limits: RateLimits,
    state: BucketState = new MemoryBucketState(),
    now: () => number = Date.now,
  ) {
    for (const [k, v] of Object.entries(limits)) {
      if (!(v.perMinute > 0)) throw new RangeError(`rate limit ${k} must be positive`);
    }
    this.#limits = limits;
    this.#state = state;
    this.#now = now;
  }

  /** Decides for one message from `sender` on `channel`, taking tokens when allowed. */
  check(source: { channel: string; sender: string }): RateDecision {
    return this.#state.transaction(() => {
      const now = this.#now();
      const keys: [LimitScope, string][] = [
        // The separator cannot occur in a channel id, so keys of different scopes never meet.
        ["sender", `s|${source.channel}|${source.sender}`],
        ["channel", `c|${source.channel}`],
        ["global", "g"],
      ];
      const current = keys.map(([scope, key]) => {
        const spec = this.#limits[scope];
        const b = this.#state.get(key);
        const rate = spec.perMinute / 60_000;
        const tokens = b
          ? Math.min(spec.perMinute, b.tokens + Math.max(0, now - b.updatedMs) * rate)
          : spec.perMinute;
        return { scope, key, tokens, rate };
      });
      const empty = current.find((c) => c.tokens < 1);
      if (empty) {
        const retryAfterMs = Math.ceil((1 - empty.tokens) / empty.rate);
        return {
          allowed: false,
          scope: empty.scope,
          retryAfterMs,
          message: refusalMessage(empty.scope, retryAfterMs),
        };
      }
      for (const c of current) this.#state.set(c.key, { tokens: c.tokens - 1, updatedMs: now });
      return { allowed: true };
    });
  }
}
