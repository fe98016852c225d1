/**
 * Latency distributions for the report: benchmarks record their raw samples here while they
 * run, and `bench/run.ts` draws them as cumulative distributions (log-scaled milliseconds) in
 * one hand-written SVG next to RESULTS.md. No plotting dependency: the chart is a few paths.
 *
 * @module
 */

const recorded = new Map<string, number[]>();

/** Keeps `samples` (milliseconds) under `name` for the plot of this run. */
export function recordDistribution(name: string, samples: readonly number[]): void {
  recorded.set(name, [...samples]);
}

/** The distributions recorded so far, by name. */
export function distributions(): ReadonlyMap<string, readonly number[]> {
  return recorded;
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"];

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/**
 * An SVG of the cumulative distribution of each series: x is latency on a log scale, y the
 * share of samples at or below it, with the median and p99 marked in the legend.
 */
export function cdfSvg(series: ReadonlyMap<string, readonly number[]>, title: string): string {
  const W = 900, H = 120 + 360 + 24 * series.size, L = 70, R = 50, T = 50, PH = 360;
  const all = [...series.values()].flat().filter((v) => v > 0);
  if (all.length === 0) throw new Error("nothing to plot");
  const lo = Math.floor(Math.log10(Math.min(...all)));
  const hi = Math.ceil(Math.log10(Math.max(...all)));
  const span = Math.max(1, hi - lo);
  const x = (v: number) => L + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * (W - L - R);
  const y = (p: number) => T + (1 - p) * PH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"` +
    ` font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${esc(title)}</text>`,
  ];
  for (let d = lo; d <= hi; d++) {
    for (const m of d < hi ? [1, 2, 5] : [1]) {
      const v = m * 10 ** d;
      const gx = x(v).toFixed(1);
      parts.push(
        `<line x1="${gx}" y1="${T}" x2="${gx}" y2="${T + PH}" stroke="#ddd"/>`,
        `<text x="${gx}" y="${T + PH + 16}" text-anchor="middle">${
          v >= 1 ? v : v.toPrecision(1)
        }</text>`,
      );
    }
  }
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    const gy = y(p).toFixed(1);
    parts.push(
      `<line x1="${L}" y1="${gy}" x2="${W - R}" y2="${gy}" stroke="#eee"/>`,
      `<text x="${L - 6}" y="${gy}" text-anchor="end" dominant-baseline="middle">${
        p * 100
      }%</text>`,
    );
  }
  parts.push(
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${PH}" fill="none" stroke="#444"/>`,
    `<text x="${(L + W - R) / 2}" y="${T + PH + 36}" text-anchor="middle">` +
      `milliseconds (log scale)</text>`,
    `<text x="18" y="${T + PH / 2}" text-anchor="middle" transform="rotate(-90 18 ${
      T + PH / 2
    })">share of samples at or below</text>`,
  );
  let i = 0;
  for (const [name, samples] of series) {
    const s = [...samples].sort((a, b) => a - b);
    const color = COLORS[i % COLORS.length];
    // At most ~400 points per line: enough for the shape, small enough for a diff.
    const step = Math.max(1, Math.floor(s.length / 400));
    const pts: string[] = [];
    for (let k = 0; k < s.length; k += step) {
      pts.push(`${x(s[k]).toFixed(1)},${y((k + 1) / s.length).toFixed(1)}`);
    }
    pts.push(`${x(s[s.length - 1]).toFixed(1)},${y(1).toFixed(1)}`);
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`,
    );
    const rank = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
    const ly = T + PH + 60 + i * 24;
    parts.push(
      `<line x1="${L}" y1="${ly}" x2="${L + 30}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${L + 40}" y="${ly}" dominant-baseline="middle">${esc(name)}: n=${s.length}, ` +
        `median ${rank(0.5).toFixed(1)}, p99 ${rank(0.99).toFixed(1)}</text>`,
    );
    i++;
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
