/**
 * Budget reservations: before each provider call a turn holds what the call can cost at most
 * (its estimated prompt plus the answer's `max_tokens`) against every budget that applies, and
 * is refused when that would pass one. When little is left, the call's `max_tokens` is lowered to
 * what still fits instead, so the provider cannot answer past the budget. Holds are released
 * when the call ends, after its real usage is recorded, so concurrent turns of one sender (or
 * one agent) see each other's calls in flight and cannot together overshoot.
 *
 * Holds live in memory, per usage store: they cover every turn of one gateway process. The
 * prompt size is an estimate (about 4 characters per token), so a prompt much denser than that
 * can still pass a budget by the difference.
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

interface Held {
  tokens: number;
  usd: number;
}

// Keyed per store, like the store's own rows: tests with separate stores stay independent.
const ledgers = new WeakMap<UsageStore, Map<string, Held>>();

function ledger(store: UsageStore): Map<string, Held> {
  let l = ledgers.get(store);
  if (!l) ledgers.set(store, l = new Map());
  return l;
}

function scopeKey(scope: { agent: string } | { channel: string; sender: string }): string {
  return "agent" in scope
    ? `agent\u0000${scope.agent}`
    : `sender\u0000${scope.channel}\u0000${scope.sender}`;
}

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
  const held = ledger(store);
  let allowed = wanted;
  for (const { scope, label, b } of budgets) {
    const h = held.get(scopeKey(scope)) ?? { tokens: 0, usd: 0 };
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
  const hold: Held = {
    tokens: prompt + allowed,
    usd: price ? (prompt * price.input + allowed * price.output) / 1e6 : 0,
  };
  const keys = budgets.map(({ scope }) => scopeKey(scope));
  for (const k of keys) {
    const h = held.get(k) ?? { tokens: 0, usd: 0 };
    held.set(k, { tokens: h.tokens + hold.tokens, usd: h.usd + hold.usd });
  }
  let released = false;
  return {
    ok: true,
    reservation: {
      maxTokens: allowed,
      release() {
        if (released) return;
        released = true;
        for (const k of keys) {
          const h = held.get(k);
          if (!h) continue;
          const left = { tokens: h.tokens - hold.tokens, usd: h.usd - hold.usd };
          if (left.tokens <= 0 && left.usd <= 1e-12) held.delete(k);
          else held.set(k, left);
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
