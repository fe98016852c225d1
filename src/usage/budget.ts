/**
 * Budgets: before a turn, the usage already spent by the agent and by the sender is compared
 * with their limits. A limit reached refuses the turn with a clear message, and a share of a
 * limit past `warnAt` adds a warning to the answer. Each provider call inside the turn then
 * reserves its own most possible cost first (./reserve.ts), so no call passes a limit. Scheduled runs speak as their owner, so
 * the owner's and the agent's budgets stop a task that would burn money in a loop.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { UsageStore, UsageTotals } from "./store.ts";

type Budget = NonNullable<Config["budgets"]["perSender"]>;

/** The verdict for one turn. */
export interface BudgetVerdict {
  /** Set when the turn must not run: the message for the user. */
  refuse?: { message: string; scope: string; limit: string; used: number; max: number };
  /** Set when a limit is nearly reached: a line to add to the answer. */
  warn?: string;
}

/** Each limit of a budget: key, period, unit, and its name in messages. */
export const BUDGET_LIMITS = [
  ["dailyTokens", "day", "tokens", "daily token"],
  ["monthlyTokens", "month", "tokens", "monthly token"],
  ["dailyUsd", "day", "usd", "daily cost"],
  ["monthlyUsd", "month", "usd", "monthly cost"],
] as const;

/** An amount of a limit's unit as shown to users. */
export function formatAmount(kind: "tokens" | "usd", n: number): string {
  return kind === "usd" ? `$${n.toFixed(2)}` : `${Math.round(n).toLocaleString("en-US")} tokens`;
}

/** The budgets that apply to a turn of `agent` from `sender` on `channel`. */
export function applicableBudgets(
  config: Pick<Config, "budgets">,
  who: { agent: string; channel: string; sender: string },
): { scope: { agent: string } | { channel: string; sender: string }; label: string; b: Budget }[] {
  const out: ReturnType<typeof applicableBudgets> = [];
  const a = config.budgets.agents[who.agent];
  if (a) out.push({ scope: { agent: who.agent }, label: `agent ${who.agent}`, b: a });
  const s = config.budgets.senders[`${who.channel}:${who.sender}`] ?? config.budgets.perSender;
  if (s) {
    out.push({
      scope: { channel: who.channel, sender: who.sender },
      label: who.channel === "webchat" || who.channel === "cli" ? "you" : `${who.sender}`,
      b: s,
    });
  }
  return out;
}

/** Checks every applicable budget against the store at `now`. */
export function checkBudgets(
  config: Pick<Config, "budgets">,
  store: UsageStore,
  who: { agent: string; channel: string; sender: string },
  now: number,
): BudgetVerdict {
  const verdict: BudgetVerdict = {};
  for (const { scope, label, b } of applicableBudgets(config, who)) {
    const cache = new Map<string, UsageTotals>();
    const totals = (period: "day" | "month") => {
      let t = cache.get(period);
      if (!t) cache.set(period, t = store.totals(scope, period, now));
      return t;
    };
    for (const [key, period, kind, name] of BUDGET_LIMITS) {
      const max = b[key];
      if (max === undefined) continue;
      const t = totals(period);
      const used = kind === "usd" ? t.costUsd : t.inputTokens + t.outputTokens;
      if (used >= max) {
        const when = period === "day" ? "tomorrow (UTC)" : "next month (UTC)";
        verdict.refuse = {
          message: `The ${name} budget of ${label} is used up (${formatAmount(kind, used)} of ${
            formatAmount(kind, max)
          }), so I am not answering until ${when}. Ask the owner of this gateway to raise it.`,
          scope: label,
          limit: key,
          used,
          max,
        };
        return verdict;
      }
      if (!verdict.warn && used >= b.warnAt * max) {
        verdict.warn = `(Note: ${
          Math.floor((used / max) * 100)
        }% of the ${name} budget of ${label} is used.)`;
      }
    }
  }
  return verdict;
}

/** Ms until the next UTC day or month starts, for `retryAfterMs`. */
export function msUntilReset(limit: string, now: number): number {
  const d = new Date(now);
  const next = limit.startsWith("daily")
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return next - now;
}
