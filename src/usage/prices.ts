/**
 * The built-in price table (US dollars per million tokens, list prices of the providers' own
 * APIs) and the lookup that lets `config.prices` override or extend it. A model not found
 * costs nothing in the report and is marked unpriced, so a missing entry never blocks a turn:
 * token budgets still apply to it.
 *
 * @module
 */

/** USD per million tokens. */
export interface Price {
  input: number;
  output: number;
}

/**
 * Keys are model ids, or ids with a trailing `*` matching a prefix (dated snapshots such as
 * `gpt-4o-2024-08-06`). The longest matching key wins.
 */
export const BUILTIN_PRICES: Readonly<Record<string, Price>> = {
  "gpt-4o*": { input: 2.5, output: 10 },
  "gpt-4o-mini*": { input: 0.15, output: 0.6 },
  "gpt-4.1*": { input: 2, output: 8 },
  "gpt-4.1-mini*": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano*": { input: 0.1, output: 0.4 },
  "o3*": { input: 2, output: 8 },
  "o4-mini*": { input: 1.1, output: 4.4 },
  "claude-opus-4*": { input: 15, output: 75 },
  "claude-sonnet-4*": { input: 3, output: 15 },
  "claude-3-7-sonnet*": { input: 3, output: 15 },
  "claude-3-5-haiku*": { input: 0.8, output: 4 },
  "gemini-2.5-pro*": { input: 1.25, output: 10 },
  "gemini-2.5-flash*": { input: 0.3, output: 2.5 },
  "gemini-2.0-flash*": { input: 0.1, output: 0.4 },
};

/** Provider kinds that run on the user's own machine: no per-token price. */
const FREE_KINDS: ReadonlySet<string> = new Set(["ollama"]);

function lookup(table: Readonly<Record<string, Price>>, model: string): Price | undefined {
  if (table[model]) return table[model];
  let best: [string, Price] | undefined;
  for (const [key, price] of Object.entries(table)) {
    if (!key.endsWith("*") || !model.startsWith(key.slice(0, -1))) continue;
    if (!best || key.length > best[0].length) best = [key, price];
  }
  return best?.[1];
}

/**
 * The price of `model` on a provider of `kind`: config (`<kind>:<model>`, then `<model>`, each
 * also as a `*` prefix), then the built-in table; null when unknown.
 */
export function priceOf(
  overrides: Readonly<Record<string, Price>>,
  kind: string,
  model: string,
): Price | null {
  return lookup(overrides, `${kind}:${model}`) ?? lookup(overrides, model) ??
    (FREE_KINDS.has(kind) ? { input: 0, output: 0 } : undefined) ??
    lookup(BUILTIN_PRICES, model) ?? null;
}

/** Cost in USD of a call. */
export function costOf(price: Price | null, inputTokens: number, outputTokens: number): number {
  if (!price) return 0;
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}

/** The highest input and output prices among `prices` (unknown ones ignored); null if none known. */
export function maxPrice(prices: readonly (Price | null)[]): Price | null {
  const known = prices.filter((p): p is Price => p !== null);
  if (known.length === 0) return null;
  return {
    input: Math.max(...known.map((p) => p.input)),
    output: Math.max(...known.map((p) => p.output)),
  };
}
