/**
 * The per-connection frame-rate limit of the IPC server: a token bucket that first throttles an
 * adapter sending faster than the sustained rate, then cuts it off if the excess goes on.
 *
 * Every frame an authenticated adapter sends takes a token, except a reply to a request the
 * gateway has pending (an `outboundResult` or `approvalDecision` it asked for: the gateway's own
 * sending bounds those); the bucket holds `burst` tokens and
 * refills at `perSecond`. A frame that finds the bucket empty is an excess frame: the server
 * waits until its token has accrued before handling it (throttling, so the flood runs at most
 * at the sustained rate), and counts it. When `cutAfter` excess frames come in a row (the
 * bucket never got back a second's worth of tokens in between) the excess is sustained, not a burst, and the
 * connection is closed. At the throttled rate that is `cutAfter / perSecond` seconds of
 * continuous flooding.
 *
 * The defaults are generous for real traffic: a busy adapter sends an inbound frame per
 * platform message, an `outboundResult` per message or streaming edit the gateway asked for,
 * and a heartbeat every 10 s, which is tens of frames a second. A burst of 2,000 frames passes
 * untouched (the gateway's own backpressure, 64 messages in flight, slows the adapter first).
 *
 * @module
 */

/** The numbers of the limit. */
export interface FrameRateLimits {
  /** Frames that may arrive at once (the bucket's size). */
  burst: number;
  /** Sustained frames per second (the refill rate). */
  perSecond: number;
  /** Excess frames in a row after which the connection is cut. */
  cutAfter: number;
}

/** Defaults: 2,000 at once, 500 a second, cut after 5 s of sustained excess. */
export const DEFAULT_FRAME_RATE: Readonly<FrameRateLimits> = Object.freeze({
  burst: 2000,
  perSecond: 500,
  cutAfter: 2500,
});

/** What to do with one frame. */
export type FrameVerdict =
  /** Handle it now. */
  | { action: "pass" }
  /** Over the rate: handle it after `ms` (the time its token needs to accrue). */
  | { action: "wait"; ms: number }
  /** Sustained excess: close the connection; `reason` is for the log and the audit event. */
  | { action: "cut"; reason: string };

/** One connection's bucket; see the module doc. */
export class FrameRateLimiter {
  readonly #limits: FrameRateLimits;
  readonly #now: () => number;
  #tokens: number;
  #last: number;
  #streak = 0;
  #frames = 0;

  /** `now` is the clock (tests pass a fake one). */
  constructor(limits: FrameRateLimits = DEFAULT_FRAME_RATE, now: () => number = Date.now) {
    if (!(limits.burst >= 1 && limits.perSecond > 0 && limits.cutAfter >= 1)) {
      throw new RangeError("frame rate limits need burst >= 1, perSecond > 0, cutAfter >= 1");
    }
    this.#limits = { ...limits };
    this.#now = now;
    this.#tokens = limits.burst;
    this.#last = now();
  }

  /** Frames seen so far on this connection. */
  get frames(): number {
    return this.#frames;
  }

  /** Takes a token for one arriving frame. */
  admit(): FrameVerdict {
    const { burst, perSecond, cutAfter } = this.#limits;
    const now = this.#now();
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#last) / 1000) * perSecond);
    this.#last = now;
    this.#frames++;
    // The adapter slowed down long enough to win back a second's worth of tokens (or half the
    // bucket): whatever came before was a burst, not a sustained flood. A flooder held to the
    // sustained rate never has more than a token or two in hand.
    if (this.#tokens >= Math.min(burst / 2, perSecond)) this.#streak = 0;
    // The token is taken even when the bucket is empty (a debt): the wait below pays it off, so
    // a flooder is held to exactly the sustained rate.
    this.#tokens -= 1;
    if (this.#tokens >= 0) return { action: "pass" };
    this.#streak++;
    if (this.#streak >= cutAfter) {
      return {
        action: "cut",
        reason: `frame rate over limit: ${this.#streak} frames in a row above ${perSecond}/s ` +
          `(burst ${burst}) after ${this.#frames} frames`,
      };
    }
    return { action: "wait", ms: Math.ceil((-this.#tokens / perSecond) * 1000) };
  }
}
