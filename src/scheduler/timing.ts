/**
 * When a scheduled task runs: a cron expression (parsed by `croner`, in the task's time zone),
 * a fixed interval (`--every 30m`), or one moment (`--at <ISO time>`). Everything here is pure
 * and takes "now" as an argument, so tests drive it with any clock.
 *
 * @module
 */
import { Cron } from "croner";
import { UsageError } from "../errors.ts";

/** How a task's run times are described. */
export type Timing =
  | { kind: "cron"; expr: string; tz: string }
  | { kind: "every"; ms: number }
  | { kind: "at"; at: number };

/** The shortest interval `--every` accepts: a task cannot turn into a busy loop. */
export const MIN_INTERVAL_MS = 60_000;

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `30m`, `2h`, `1d`, `1h30m` into milliseconds; refuses anything under a minute. */
export function parseInterval(text: string): number {
  const s = text.trim();
  const re = /(\d+)\s*([smhd])/gy;
  let total = 0;
  let matched = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched += m[0].length;
  }
  if (!s || matched !== s.length || !Number.isSafeInteger(total)) {
    throw new UsageError(
      `"${text}" is not an interval.`,
      "Use a number and a unit: 90s, 30m, 2h, 1d, or combined like 1h30m.",
    );
  }
  if (total < MIN_INTERVAL_MS) {
    throw new UsageError(
      `"${text}" is shorter than a minute.`,
      "Scheduled tasks run at most once a minute; use --every 1m or longer.",
    );
  }
  return total;
}

/** True when `tz` is an IANA time zone name this runtime knows. */
export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The time zone of this machine (the default of a cron task). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/**
 * Checks a cron expression and time zone; throws a {@linkcode UsageError} with croner's reason.
 * Five fields (minute precision) only: a seconds field would let a task run 60 times a minute.
 */
export function parseCron(expr: string, tz: string): Timing {
  const e = expr.trim().replace(/\s+/g, " ");
  if (!validTimeZone(tz)) {
    throw new UsageError(
      `Unknown time zone "${tz}".`,
      "Use an IANA name such as Europe/Berlin, America/New_York or UTC.",
    );
  }
  if (e.split(" ").length !== 5 && !e.startsWith("@")) {
    throw new UsageError(
      `The cron expression "${expr}" needs five fields (minute hour day month weekday).`,
      'For example "0 8 * * 1-5" is 08:00 on weekdays.',
    );
  }
  try {
    const c = new Cron(e, { timezone: tz, paused: true });
    c.stop();
  } catch (err) {
    throw new UsageError(
      `The cron expression "${expr}" is not valid: ${(err as Error).message}.`,
      'For example "0 8 * * 1-5" is 08:00 on weekdays; "*/15 * * * *" every 15 minutes.',
    );
  }
  return { kind: "cron", expr: e, tz };
}

/** Parses `--at`: an ISO 8601 time with a date (a time without offset is read in `tz`). */
export function parseAt(text: string, tz: string): Timing {
  const hasOffset = /(Z|[+-]\d\d:?\d\d)$/i.test(text.trim());
  let ms: number;
  if (hasOffset) {
    ms = Date.parse(text.trim());
  } else {
    // A one-shot cron-free conversion: find the UTC instant whose wall time in `tz` is `text`.
    const local = Date.parse(text.trim() + "Z");
    ms = Number.isNaN(local) ? NaN : local - zoneOffsetMs(local, tz);
    // Near a DST change the offset at the guess may differ from the offset at the answer.
    if (!Number.isNaN(ms)) ms = local - zoneOffsetMs(ms, tz);
  }
  if (!/^\d{4}-\d\d-\d\d/.test(text.trim()) || Number.isNaN(ms)) {
    throw new UsageError(
      `"${text}" is not an ISO time.`,
      "For example 2026-12-24T18:00 (in the task's time zone) or 2026-12-24T17:00Z.",
    );
  }
  return { kind: "at", at: ms };
}

/** The offset of `tz` from UTC at instant `ms` (positive east of Greenwich). */
function zoneOffsetMs(ms: number, tz: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The first run strictly after `after` (ms since the epoch), or null when there is none (a
 * one-shot task already past). `anchor` is when an interval task was created: its runs fall on
 * `anchor + k * interval`, so a restart does not shift them.
 */
export function nextRun(timing: Timing, after: number, anchor = after): number | null {
  switch (timing.kind) {
    case "cron": {
      const c = new Cron(timing.expr, { timezone: timing.tz, paused: true });
      const next = c.nextRun(new Date(after));
      c.stop();
      return next ? next.getTime() : null;
    }
    case "every": {
      if (after < anchor) return anchor;
      const k = Math.floor((after - anchor) / timing.ms) + 1;
      return anchor + k * timing.ms;
    }
    case "at":
      return timing.at > after ? timing.at : null;
  }
}

/** A short human description: `cron "0 8 * * 1-5" (Europe/Berlin)`, `every 30m`, `at ...`. */
export function describeTiming(t: Timing): string {
  switch (t.kind) {
    case "cron":
      return `cron "${t.expr}" (${t.tz})`;
    case "every":
      return `every ${formatInterval(t.ms)}`;
    case "at":
      return `at ${new Date(t.at).toISOString()}`;
  }
}

function formatInterval(ms: number): string {
  let rest = Math.round(ms / 1000);
  let out = "";
  for (const [unit, secs] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    const n = Math.floor(rest / secs);
    if (n) out += `${n}${unit}`;
    rest -= n * secs;
  }
  return out || "0s";
}
