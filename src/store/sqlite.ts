/**
 * The one way wirken opens a SQLite file: `node:sqlite`, WAL, foreign keys, 0600 permissions,
 * and forward-only versioned migrations.
 *
 * `node:sqlite` replaces JSR's `@db/sqlite` (JSR is unreachable from our machines, and the
 * built-in module needs no FFI permission or native download).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { StoreError } from "../errors.ts";
import { FILE_MODE } from "../config/paths.ts";

/** A database handle; re-exported so other rooms need not import `node:sqlite` themselves. */
export type Database = DatabaseSync;

/** One schema step. Versions start at 1 and increase by 1; a step is never edited once shipped. */
export interface Migration {
  version: number;
  name: string;
  /** SQL run inside the migration's transaction. */
  up: string;
}

/** Options of {@linkcode openDatabase}. */
export interface OpenOptions {
  /** The store's migrations, in order. */
  migrations: readonly Migration[];
  /** `FULL` for stores whose writes must survive power loss (audit); default `NORMAL`. */
  synchronous?: "NORMAL" | "FULL";
}

/**
 * Opens (creating if needed) the database at `path` and applies pending migrations.
 *
 * Refuses a file whose schema is newer than this build knows, rather than corrupting it.
 */
export function openDatabase(path: string, options: OpenOptions): Database {
  checkMigrations(path, options.migrations);
  createPrivateFile(path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
    // First: switching to WAL takes a lock, and two processes opening a new file at once
    // must wait for each other rather than fail with "database is locked".
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`);
    db.exec("PRAGMA foreign_keys = ON");
  } catch (e) {
    throw new StoreError(`Cannot open the database ${path}: ${(e as Error).message}`, {
      fix: "Check that the file is a wirken database and that you own it (wirken doctor).",
      cause: e,
    });
  }
  try {
    migrate(db, path, options.migrations);
  } catch (e) {
    db.close();
    throw e;
  }
  // WAL side files appear on first write; they hold the same data, so the same mode.
  for (const side of ["-wal", "-shm"]) tightenIfPresent(path + side);
  reuseStatements(db);
  return db;
}

/** How many distinct statements one handle keeps compiled (the stores use a few dozen). */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * Makes `db.prepare(sql)` hand back the statement compiled the last time for the same SQL, so
 * the stores' per-message queries are compiled once instead of on every call (measured: ~0.4 ms
 * of CPU a message in bench/). `get`, `all` and `run` finish before returning, so sharing a
 * statement between callers is safe; `iterate` is lazy, so it always runs on a fresh statement
 * (two iterations of the same query may be open at once).
 */
function reuseStatements(db: DatabaseSync): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, StatementSync>();
  db.prepare = (sql: string) => {
    const hit = cache.get(sql);
    if (hit) {
      // Most recently used last, so the first key is the one to evict.
      cache.delete(sql);
      cache.set(sql, hit);
      return hit;
    }
    const stmt = compile(sql);
    stmt.iterate = ((...params: unknown[]) => {
      const fresh = compile(sql);
      return Reflect.apply(fresh.iterate, fresh, params);
    }) as StatementSync["iterate"];
    cache.set(sql, stmt);
    if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return stmt;
  };
}

/**
 * Runs `fn` under `BEGIN IMMEDIATE`: the write lock is taken before the first read, so two
 * processes cannot both read the same state and then both act on it (spend the last token,
 * pass the same budget). Rolled back when `fn` throws.
 */
export function writeTransaction<T>(db: Database, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const out = fn();
    db.exec("COMMIT");
    return out;
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/** The schema version recorded in `db` (0 for a fresh file). */
export function schemaVersion(db: Database): number {
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as
    | { v: number | null }
    | undefined;
  return row?.v ?? 0;
}

function checkMigrations(path: string, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new StoreError(
        `Migrations for ${path} are out of order: position ${i + 1} has version ${m.version}.`,
        { fix: "This is a bug in wirken; please report it." },
      );
    }
  });
}

function migrate(db: DatabaseSync, path: string, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const tooNew = (current: number) =>
    new StoreError(
      `${path} has schema version ${current}, newer than this wirken knows (${migrations.length}).`,
      { fix: "Upgrade wirken; an older version must not write to a newer database." },
    );
  if (schemaVersion(db) > migrations.length) throw tooNew(schemaVersion(db));
  const record = db.prepare(
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
  );
  for (;;) {
    db.exec("BEGIN IMMEDIATE");
    // Re-read under the write lock: another process may have migrated meanwhile.
    const current = schemaVersion(db);
    const m = migrations[current];
    if (!m) {
      db.exec("COMMIT");
      if (current > migrations.length) throw tooNew(current);
      return;
    }
    try {
      db.exec(m.up);
      record.run(m.version, m.name, new Date().toISOString());
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw new StoreError(
        `Migration ${m.version} (${m.name}) of ${path} failed: ${(e as Error).message}`,
        {
          fix: "The database was left at its previous version; report this with the message.",
          cause: e,
        },
      );
    }
  }
}

function createPrivateFile(path: string): void {
  try {
    const f = Deno.openSync(path, { create: true, read: true, write: true, mode: FILE_MODE });
    f.close();
    tightenIfPresent(path);
  } catch (e) {
    throw new StoreError(`Cannot create ${path}: ${(e as Error).message}`, {
      fix: "Check that the data directory exists and is yours (wirken doctor).",
      cause: e,
    });
  }
}

function tightenIfPresent(path: string): void {
  try {
    const info = Deno.statSync(path);
    if (info.mode !== null && (info.mode & 0o777) !== FILE_MODE) Deno.chmodSync(path, FILE_MODE);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
