/**
 * Summary statistics for benchmark samples.
 *
 * @module
 */

/** Median, p99, min and max of a sample set, plus its size. */
export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

/** Summarises `samples` (nearest-rank percentiles). */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error("no samples");
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, median: rank(0.5), p99: rank(0.99), min: s[0], max: s[s.length - 1] };
}
