/**
 * Expiry and rotation: the hard check applied when the gateway needs a credential, the 14-day
 * warnings shown by `wirken run` and `wirken doctor`, and parsing of `--expires 90d`-style dates.
 * Works on any {@linkcode CredentialStore}, so rooms testing with fakes get the same behaviour.
 *
 * @module
 */
import type { Secret } from "../secret.ts";
import { CredentialExpiredError, CredentialNotFoundError, VaultError } from "./errors.ts";
import type { CredentialInfo, CredentialStore } from "./types.ts";

/** How far ahead `wirken run` and `doctor` warn. */
export const WARN_WITHIN_DAYS = 14;
const DAY_MS = 86_400_000;

/**
 * The value of `name` for use: throws {@linkcode CredentialNotFoundError} when absent and
 * {@linkcode CredentialExpiredError} (naming `wirken credentials rotate NAME`) when expired.
 * This is what the gateway should call; `store.get` alone does not enforce expiry.
 */
export function requireCredential(
  store: CredentialStore,
  name: string,
  now: Date = new Date(),
): Secret {
  const info = store.info ? store.info(name) : store.list().find((c) => c.name === name);
  if (info?.expiresAt && info.expiresAt.getTime() <= now.getTime()) {
    throw new CredentialExpiredError(name, info.expiresAt);
  }
  const value = store.get(name);
  if (value === undefined) throw new CredentialNotFoundError(name);
  return value;
}

/** One warning about a credential's dates. */
export interface CredentialWarning {
  name: string;
  kind: "expired" | "expires-soon" | "rotation-overdue" | "rotation-due-soon";
  /** The date the warning is about. */
  at: Date;
  /** One line for the terminal, naming the fixing command. */
  message: string;
}

/**
 * Warnings for credentials expired, expiring, or due for rotation within `withinDays`
 * (default 14). Sorted by date, soonest first.
 */
export function credentialWarnings(
  infos: readonly CredentialInfo[],
  options: { now?: Date; withinDays?: number } = {},
): CredentialWarning[] {
  const now = options.now ?? new Date();
  const horizon = now.getTime() + (options.withinDays ?? WARN_WITHIN_DAYS) * DAY_MS;
  const out: CredentialWarning[] = [];
  for (const c of infos) {
    const fix = `wirken credentials rotate ${c.name}`;
    if (c.expiresAt && c.expiresAt.getTime() <= horizon) {
      const past = c.expiresAt.getTime() <= now.getTime();
      out.push({
        name: c.name,
        kind: past ? "expired" : "expires-soon",
        at: c.expiresAt,
        message: past
          ? `credential ${c.name} expired on ${day(c.expiresAt)}; run: ${fix}`
          : `credential ${c.name} expires on ${day(c.expiresAt)} (${
            daysUntil(now, c.expiresAt)
          }); run: ${fix}`,
      });
      continue;
    }
    const due = c.rotationDueAt;
    if (due && due.getTime() <= horizon) {
      const past = due.getTime() <= now.getTime();
      out.push({
        name: c.name,
        kind: past ? "rotation-overdue" : "rotation-due-soon",
        at: due,
        message: past
          ? `credential ${c.name} was due for rotation on ${day(due)}; run: ${fix}`
          : `credential ${c.name} is due for rotation on ${day(due)} (${
            daysUntil(now, due)
          }); run: ${fix}`,
      });
    }
  }
  return out.sort((a, b) => a.at.getTime() - b.at.getTime());
}

/**
 * Parses a user-given date: an ISO date/time (`2026-12-31`, `2026-12-31T12:00:00Z`) or a span
 * from `now` (`90d`, `12w`, `6m` for 30-day months, `1y`, `36h`). `never`/`none` give `null`.
 */
export function parseWhen(text: string, now: Date = new Date()): Date | null {
  const t = text.trim().toLowerCase();
  if (t === "never" || t === "none") return null;
  const span = /^(\d{1,5})\s*(h|d|w|m|y)$/.exec(t);
  if (span) {
    const n = Number(span[1]);
    const unitMs = { h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS, m: 30 * DAY_MS, y: 365 * DAY_MS }[
      span[2] as "h" | "d" | "w" | "m" | "y"
    ];
    return new Date(now.getTime() + n * unitMs);
  }
  if (/^\d{4}-\d{2}-\d{2}([t ][\d:.]+(z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const d = new Date(t.length === 10 ? `${t}T00:00:00Z` : t.toUpperCase().replace(" ", "T"));
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new VaultError(`"${text}" is not a date or a time span.`, {
    fix: "Use an ISO date like 2026-12-31, a span like 90d, 12w, 6m, 1y, or 'never'.",
    exitCode: 2,
  });
}

/** Parses a rotation period such as `90d`, `12w`, `6m`, `1y` into whole days. */
export function parsePeriodDays(text: string): number {
  const m = /^(\d{1,5})\s*(d|w|m|y)$/.exec(text.trim().toLowerCase());
  const days = m ? Number(m[1]) * { d: 1, w: 7, m: 30, y: 365 }[m[2] as "d" | "w" | "m" | "y"] : 0;
  if (!m || days < 1 || days > 36_500) {
    throw new VaultError(`"${text}" is not a rotation period.`, {
      fix: "Use a span like 30d, 12w, 6m or 1y.",
      exitCode: 2,
    });
  }
  return days;
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function daysUntil(now: Date, at: Date): string {
  const n = Math.ceil((at.getTime() - now.getTime()) / DAY_MS);
  return n <= 1 ? "within a day" : `in ${n} days`;
}

/**
 * `store` as the gateway should use it: `get` throws {@linkcode CredentialExpiredError} for an
 * expired credential instead of handing out its value (a missing one is still `undefined`).
 */
export function enforcingExpiry<S extends CredentialStore>(
  store: S,
  now: () => Date = () => new Date(),
): S {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === "get") {
        return (name: string) => {
          const info = target.info ? target.info(name) : target.list().find((c) => c.name === name);
          if (info?.expiresAt && info.expiresAt.getTime() <= now().getTime()) {
            throw new CredentialExpiredError(name, info.expiresAt);
          }
          return target.get(name);
        };
      }
      // `target` as `this`: the vault keeps its state in private fields a proxy cannot reach.
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
