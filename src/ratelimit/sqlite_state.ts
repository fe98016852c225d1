/**
 * Bucket state in SQLite, shared by processes (successive `wirken ask` runs, or `ask` beside a
 * running gateway). The `rate_buckets` table is part of the sessions database (its migration
 * 2), which every entry point already opens.
 *
 * @module
 */
import { z } from "zod";
import { SESSION_MIGRATIONS } from "../sessions/store.ts";
import { type Database, openDatabase, writeTransaction } from "../store/sqlite.ts";
import type { Bucket, BucketState } from "./limiter.ts";

const Row = z.object({ tokens: z.number(), updated_ms: z.number() });

/** Bucket state stored in `db`; `transaction` takes SQLite's write lock for the check. */
export class SqliteBucketState implements BucketState {
  readonly #db: Database;

  /** Wraps a database migrated with the sessions migrations. */
  constructor(db: Database) {
    this.#db = db;
  }

  /** Bucket for `key`. */
  get(key: string): Bucket | undefined {
    const row = this.#db.prepare("SELECT tokens, updated_ms FROM rate_buckets WHERE key = ?").get(
      key,
    );
    if (!row) return undefined;
    const r = Row.parse(row);
    return { tokens: r.tokens, updatedMs: r.updated_ms };
  }

  /** Stores a bucket. */
  set(key: string, b: Bucket): void {
    this.#db.prepare(
      `INSERT INTO rate_buckets (key, tokens, updated_ms) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_ms = excluded.updated_ms`,
    ).run(key, b.tokens, Math.round(b.updatedMs));
  }

  /** Runs `fn` under `BEGIN IMMEDIATE`, so two processes cannot both spend the last token. */
  transaction<T>(fn: () => T): T {
    return writeTransaction(this.#db, fn);
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }
}

/** Opens the bucket state kept in the sessions database at `sessionsDbPath`. */
export function openSqliteBucketState(sessionsDbPath: string): SqliteBucketState {
  return new SqliteBucketState(openDatabase(sessionsDbPath, { migrations: SESSION_MIGRATIONS }));
}
