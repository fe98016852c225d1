/**
 * The performance targets of issue 15 and how a run measures up to each: met, or missed by how
 * much. RESULTS.md prints this table from the same run's figures, so the verdicts cannot drift
 * from the numbers.
 *
 * @module
 */
import type { Summary } from "./stats.ts";

/** One target: a figure of one suite, which statistic, and the bound. */
export interface Target {
  what: string;
  suite: string;
  figure: string;
  stat: "median" | "p99" | "value";
  /** `max`: the figure must stay at or below `bound`; `min`: at or above. */
  kind: "max" | "min";
  bound: number;
  unit: string;
}

/** The targets, as the issue states them. */
export const TARGETS: readonly Target[] = [
  {
    what: "cold start, no adapters (passphrase vault: scrypt N=2^17)",
    suite: "gateway",
    figure: "cold start to WebChat answering, no adapters (ms)",
    stat: "median",
    kind: "max",
    bound: 500,
    unit: "ms",
  },
  {
    what: "cold start, no adapters, vault key in the OS keychain (no scrypt)",
    suite: "keychain",
    figure: "cold start to WebChat banner, keychain vault, no adapters (ms)",
    stat: "median",
    kind: "max",
    bound: 500,
    unit: "ms",
  },
  {
    what: "cold start, six adapters",
    suite: "adapters",
    figure: "cold start to all 6 adapters connected (ms)",
    stat: "median",
    kind: "max",
    bound: 2000,
    unit: "ms",
  },
  {
    what: "idle RSS, no adapters",
    suite: "gateway",
    figure: "RSS idle after start (MiB)",
    stat: "value",
    kind: "max",
    bound: 80,
    unit: "MiB",
  },
  {
    what: "idle RSS of the tree, six adapters",
    suite: "adapters",
    figure: "RSS of the tree idle, 6 adapters (MiB)",
    stat: "value",
    kind: "max",
    bound: 250,
    unit: "MiB",
  },
  {
    what: "round trip p50, 1 conversation (through a real adapter)",
    suite: "adapters",
    figure: "round trip via Telegram adapter, 1 conversation (ms)",
    stat: "median",
    kind: "max",
    bound: 5,
    unit: "ms",
  },
  {
    what: "round trip p99, 1 conversation (through a real adapter)",
    suite: "adapters",
    figure: "round trip via Telegram adapter, 1 conversation (ms)",
    stat: "p99",
    kind: "max",
    bound: 20,
    unit: "ms",
  },
  {
    what: "round trip p50, 1 conversation (WebChat)",
    suite: "gateway",
    figure: "round trip, 1 conversation (ms)",
    stat: "median",
    kind: "max",
    bound: 5,
    unit: "ms",
  },
  {
    what: "round trip p99, 1 conversation (WebChat)",
    suite: "gateway",
    figure: "round trip, 1 conversation (ms)",
    stat: "p99",
    kind: "max",
    bound: 20,
    unit: "ms",
  },
  {
    what: "messages/s across 50 conversations (through a real adapter)",
    suite: "adapters",
    figure: "messages/s sustained across 50 conversations",
    stat: "value",
    kind: "min",
    bound: 500,
    unit: "msg/s",
  },
  {
    what: "messages/s across 50 conversations (WebChat)",
    suite: "gateway",
    figure: "messages/s across 50 conversations",
    stat: "value",
    kind: "min",
    bound: 500,
    unit: "msg/s",
  },
  {
    what: "audit appends/s (one durable append at a time)",
    suite: "audit",
    figure: "append_single_per_s",
    stat: "value",
    kind: "min",
    bound: 5000,
    unit: "/s",
  },
  {
    what: "audit appends/s (concurrent appends, group commit)",
    suite: "audit",
    figure: "append_group_commit_per_s",
    stat: "value",
    kind: "min",
    bound: 5000,
    unit: "/s",
  },
];

/** A target checked against a run. */
export interface Verdict {
  target: Target;
  /** `null`: the figure was not measured in this run. */
  measured: number | null;
  met: boolean;
  /** How far off, as a factor of the bound (2 = twice the allowed figure, or half the floor). */
  factor: number | null;
}

/** Checks every target against `results` (suite -> figure -> value). */
export function verdicts(
  results: Record<string, Record<string, Summary | number>>,
  targets: readonly Target[] = TARGETS,
): Verdict[] {
  return targets.map((target) => {
    const v = results[target.suite]?.[target.figure];
    const measured = v === undefined
      ? null
      : typeof v === "number"
      ? v
      : target.stat === "p99"
      ? v.p99
      : v.median;
    if (measured === null) return { target, measured, met: false, factor: null };
    const met = target.kind === "max" ? measured <= target.bound : measured >= target.bound;
    const factor = target.kind === "max" ? measured / target.bound : target.bound / measured;
    return { target, measured, met, factor };
  });
}

/** The verdicts as a Markdown table. */
export function verdictTable(vs: readonly Verdict[]): string[] {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const lines = ["| target | bound | measured | verdict |", "|---|---|---|---|"];
  for (const { target: t, measured, met, factor } of vs) {
    const bound = `${t.kind === "max" ? "≤" : "≥"} ${t.bound} ${t.unit}`;
    const verdict = measured === null
      ? "not measured in this run"
      : met
      ? "met"
      : t.kind === "max"
      ? `missed by ${fmt(measured - t.bound)} ${t.unit} (${factor!.toFixed(2)}x the bound)`
      : `missed by ${fmt(t.bound - measured)} ${t.unit} (${
        (100 * measured / t.bound).toFixed(0)
      }% of the floor)`;
    lines.push(
      `| ${t.what} | ${bound} | ${
        measured === null ? "-" : `${fmt(measured)} ${t.unit}`
      } | ${verdict} |`,
    );
  }
  return lines;
}
