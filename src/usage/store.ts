/**
 * Token usage and cost of every provider call, in `<data dir>/usage.db`: what `wirken usage`
 * reports and what budgets are checked against. Days and months are UTC.
 *
 * @module
 */
import { type Database, type Migration, openDatabase, writeTransaction } from "../store/sqlite.ts";

/** The usage database's forward-only migrations. */
export const USAGE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "usage",
    up: `
      CREATE TABLE usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        day TEXT NOT NULL,
        month TEXT NOT NULL,
        agent TEXT NOT NULL,
        channel TEXT NOT NULL,
        sender TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX usage_agent ON usage (agent, day);
      CREATE INDEX usage_sender ON usage (channel, sender, day);
    `,
  },
  {
    version: 2,
    // Budget holds of provider calls in flight (src/usage/reserve.ts). In the database, not in
    // memory, so the gateway and `wirken ask` see each other's; a hold left by a killed process
    // stops counting when it expires.
    name: "budget holds",
    up: `
      CREATE TABLE holds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        expires INTEGER NOT NULL,
        agent TEXT NOT NULL,
        channel TEXT NOT NULL,
        sender TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        usd REAL NOT NULL
      ) STRICT;
      CREATE INDEX holds_agent ON holds (agent);
      CREATE INDEX holds_sender ON holds (channel, sender);
    `,
  },
];

/** One provider call's usage. */
export interface UsageRecord {
  at: number;
  agent: string;
  channel: string;
  sender: string;
  /** `kind:model` of the model that answered. */
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** False when the model has no price (cost counted as 0). */
  priced: boolean;
}

/** Totals over some rows. */
export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  calls: number;
}

/** One row of the report: a day, agent, channel and model. */
export interface UsageRow extends UsageTotals {
  day: string;
  agent: string;
  channel: string;
  model: string;
  unpriced: number;
}

/** `YYYY-MM-DD` of `ms` in UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `YYYY-MM` of `ms` in UTC. */
export function utcMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

type Row = Record<string, string | number | null>;

/** The usage store. */
export class UsageStore {
  readonly #db: Database;

  /** Wraps an open database (see {@linkcode UsageStore.open}). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** Opens (creating) the store at `path`. */
  static open(path: string): UsageStore {
    return new UsageStore(openDatabase(path, { migrations: USAGE_MIGRATIONS }));
  }

  /** Records one call. */
  record(r: UsageRecord): void {
    this.#db.prepare(
      `INSERT INTO usage (at, day, month, agent, channel, sender, model, input_tokens,
         output_tokens, cost_usd, priced) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      r.at,
      utcDay(r.at),
      utcMonth(r.at),
      r.agent,
      r.channel,
      r.sender,
      r.model,
      r.inputTokens,
      r.outputTokens,
      r.costUsd,
      r.priced ? 1 : 0,
    );
  }

  /**
   * Totals of one agent, or of one sender on one channel, for the UTC day or month of `now`.
   */
  totals(
    scope: { agent: string } | { channel: string; sender: string },
    period: "day" | "month",
    now: number,
  ): UsageTotals {
    const when = period === "day" ? ["day", utcDay(now)] : ["month", utcMonth(now)];
    const [where, args] = "agent" in scope
      ? ["agent = ?", [scope.agent]]
      : ["channel = ? AND sender = ?", [scope.channel, scope.sender]];
    const r = this.#db.prepare(
      `SELECT COALESCE(SUM(input_tokens), 0) AS i, COALESCE(SUM(output_tokens), 0) AS o,
         COALESCE(SUM(cost_usd), 0) AS c, COUNT(*) AS n
       FROM usage WHERE ${where} AND ${when[0]} = ?`,
    ).get(...args, when[1]) as Row;
    return {
      inputTokens: Number(r.i),
      outputTokens: Number(r.o),
      costUsd: Number(r.c),
      calls: Number(r.n),
    };
  }

  /** Runs `fn` in one write transaction: no other process checks or holds in between. */
  exclusive<T>(fn: () => T): T {
    return writeTransaction(this.#db, fn);
  }

  /** Tokens and USD held by calls in flight for `scope` at `now` (expired holds excluded). */
  held(
    scope: { agent: string } | { channel: string; sender: string },
    now: number,
  ): { tokens: number; usd: number } {
    const [where, args] = "agent" in scope
      ? ["agent = ?", [scope.agent]]
      : ["channel = ? AND sender = ?", [scope.channel, scope.sender]];
    const r = this.#db.prepare(
      `SELECT COALESCE(SUM(tokens), 0) AS t, COALESCE(SUM(usd), 0) AS u FROM holds
       WHERE ${where} AND expires > ?`,
    ).get(...args, now) as Row;
    return { tokens: Number(r.t), usd: Number(r.u) };
  }

  /**
   * Records a hold of `who` from `now` until `expires` (ms); returns its id for
   * {@linkcode UsageStore.release}.
   */
  hold(
    who: { agent: string; channel: string; sender: string },
    amount: { tokens: number; usd: number },
    now: number,
    expires: number,
  ): number {
    const r = this.#db.prepare(
      `INSERT INTO holds (expires, agent, channel, sender, tokens, usd) VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(expires, who.agent, who.channel, who.sender, amount.tokens, amount.usd);
    // Expired holds of crashed processes are cleared as new ones come.
    this.#db.prepare("DELETE FROM holds WHERE expires <= ?").run(now);
    return Number(r.lastInsertRowid);
  }

  /** Removes a hold (idempotent). */
  release(id: number): void {
    this.#db.prepare("DELETE FROM holds WHERE id = ?").run(id);
  }

  /** Usage per day, agent, channel and model since `since` (ms), newest day first. */
  report(q: { since: number; agent?: string; channel?: string }): UsageRow[] {
    const where = ["at >= ?"];
    const args: (string | number)[] = [q.since];
    if (q.agent) (where.push("agent = ?"), args.push(q.agent));
    if (q.channel) (where.push("channel = ?"), args.push(q.channel));
    const rows = this.#db.prepare(
      `SELECT day, agent, channel, model, SUM(input_tokens) AS i, SUM(output_tokens) AS o,
         SUM(cost_usd) AS c, COUNT(*) AS n, SUM(1 - priced) AS u
       FROM usage WHERE ${where.join(" AND ")}
       GROUP BY day, agent, channel, model ORDER BY day DESC, agent, channel, model`,
    ).all(...args) as Row[];
    return rows.map((r) => ({
      day: String(r.day),
      agent: String(r.agent),
      channel: String(r.channel),
      model: String(r.model),
      inputTokens: Number(r.i),
      outputTokens: Number(r.o),
      costUsd: Number(r.c),
      calls: Number(r.n),
      unpriced: Number(r.u),
    }));
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}

/** Where usage lives in a data directory. */
export function usageDbPath(dataRoot: string): string {
  return `${dataRoot}/usage.db`;
}
