/**
 * Budget reservations: before each provider call a turn holds what the call can cost at most
 * (its estimated prompt plus the answer's `max_tokens`) against every budget that applies, and
 * is refused when that would pass one. When little is left, the call's `max_tokens` is lowered to
 * what still fits instead, so the provider cannot answer past the budget. Holds are released
 * when the call ends, after its real usage is recorded, so concurrent turns of one sender (or
 * one agent) see each other's calls in flight and cannot together overshoot.
 *
 * Holds live in the usage database and are checked and taken in one write transaction, so the
 * gateway and `wirken ask` see each other's calls too; a hold left by a killed process stops
 * counting after {@linkcode HOLD_TTL_MS}. The prompt size is an estimate (about 4 characters per
 * token), so a prompt much denser than that can still pass a budget by the difference.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { ChatRequest } from "../providers/types.ts";
import { estimateTokens } from "../agent/context.ts";
import { applicableBudgets, BUDGET_LIMITS, type BudgetVerdict, formatAmount } from "./budget.ts";
import type { Price } from "./prices.ts";
import type { UsageStore } from "./store.ts";

/** An answer allowed fewer tokens than this is not worth asking for: the call is refused. */
export const MIN_ANSWER_TOKENS = 16;

/**
 * How long a hold counts at most: longer than any one provider call, so only a hold whose
 * process was killed before releasing it ever expires.
 */
export const HOLD_TTL_MS = 30 * 60_000;

/** Estimated prompt tokens of a request: system prompt, messages and tool specs. */
export function estimatePromptTokens(request: ChatRequest): number {
  return estimateTokens(
    (request.system ?? "") + JSON.stringify(request.messages) + JSON.stringify(request.tools ?? []),
  );
}

/** A granted reservation. */
export interface Reservation {
  /** The `max_tokens` the call may use (the request's, or less so the budget holds). */
  maxTokens: number;
  /** Gives the hold back; call once the call ended and its usage is recorded. Idempotent. */
  release(): void;
}

/** A refused reservation: the message for the user and the audit details. */
export type Refusal = NonNullable<BudgetVerdict["refuse"]>;

/**
 * Reserves one provider call of `request` for `who` at `now`, or refuses it. `price` is the
 * highest price the call may be charged at (failover may move it to another model); null when
 * the model has no price (cost limits then hold nothing, as usage records cost 0).
 */
export function reserveCall(
  config: Pick<Config, "budgets">,
  store: UsageStore,
  who: { agent: string; channel: string; sender: string },
  now: number,
  request: ChatRequest,
  price: Price | null,
): { ok: true; reservation: Reservation } | { ok: false; refuse: Refusal } {
  const budgets = applicableBudgets(config, who);
  const wanted = request.maxTokens ?? 4096;
  if (budgets.length === 0) return { ok: true, reservation: { maxTokens: wanted, release() {} } };
  const prompt = estimatePromptTokens(request);
  // Checked and held in one transaction: two processes cannot both take the last of a budget.
  return store.exclusive(() => reserveIn(store, budgets, who, now, prompt, wanted, price));
}

function reserveIn(
  store: UsageStore,
  budgets: ReturnType<typeof applicableBudgets>,
  who: { agent: string; channel: string; sender: string },
  now: number,
  prompt: number,
  wanted: number,
  price: Price | null,
): { ok: true; reservation: Reservation } | { ok: false; refuse: Refusal } {
  let allowed = wanted;
  for (const { scope, label, b } of budgets) {
    const h = store.held(scope, now);
    for (const [key, period, kind, name] of BUDGET_LIMITS) {
      const max = b[key];
      if (max === undefined) continue;
      const t = store.totals(scope, period, now);
      const used = kind === "usd" ? t.costUsd + h.usd : t.inputTokens + t.outputTokens + h.tokens;
      // How many answer tokens still fit under this limit after the prompt.
      let fits: number;
      if (used >= max) {
        fits = -1;
      } else if (kind === "tokens") {
        fits = max - used - prompt;
      } else if (!price) {
        fits = Infinity;
      } else {
        const left = max - used - (prompt * price.input) / 1e6;
        fits = left < 0 ? -1 : price.output === 0 ? Infinity : left / (price.output / 1e6);
      }
      if (fits < MIN_ANSWER_TOKENS) {
        const when = period === "day" ? "tomorrow (UTC)" : "next month (UTC)";
        const state = used >= max ? "is used up" : "has too little left for another answer";
        return {
          ok: false,
          refuse: {
            message:
              `The ${name} budget of ${label} ${state} (${formatAmount(kind, used)} of ${
                formatAmount(kind, max)
              } used or in progress), so I am not answering until ${when}. Ask the owner of this ` +
              `gateway to raise it.`,
            scope: label,
            limit: key,
            used,
            max,
          },
        };
      }
      allowed = Math.min(allowed, Math.floor(fits));
    }
  }
  const id = store.hold(
    who,
    {
      tokens: prompt + allowed,
      usd: price ? (prompt * price.input + allowed * price.output) / 1e6 : 0,
    },
    now,
    now + HOLD_TTL_MS,
  );
  let released = false;
  return {
    ok: true,
    reservation: {
      maxTokens: allowed,
      release() {
        if (released) return;
        released = true;
        try {
          store.release(id);
        } catch {
          // The store closed first (the gateway is stopping): the hold expires on its own.
        }
      },
    },
  };
}

/** Passes `events` through and releases `reservation` when the stream ends, however it ends. */
export async function* releasing<T>(
  events: AsyncIterable<T>,
  reservation: Reservation,
): AsyncGenerator<T> {
  try {
    yield* events;
  } finally {
    reservation.release();
  }
}
