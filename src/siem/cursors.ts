/**
 * Per-destination delivery cursors, stored in `audit.db` beside the events (so a cursor can
 * never point into a different log) and written with `synchronous=FULL` like the events.
 *
 * @module
 */
import type { Database } from "../store/sqlite.ts";

/** Delivery state of a destination. */
export type CursorState = "new" | "ok" | "retrying" | "held";

/** One destination's cursor. */
export interface Cursor {
  /** Destination name. */
  destination: string;
  /** Highest seq the destination acknowledged with a 2xx; 0 when nothing yet. */
  deliveredSeq: number;
  /** Delivery state. */
  state: CursorState;
  /** Consecutive failed attempts. */
  attempts: number;
  /** Why the last attempt failed, or null. */
  lastError: string | null;
  /** ISO time of the last 2xx, or null. */
  lastSuccessAt: string | null;
  /** ISO time of the last change. */
  updatedAt: string;
}

interface Row {
  destination: string;
  delivered_seq: number;
  state: string;
  attempts: number;
  last_error: string | null;
  last_success_at: string | null;
  updated_at: string;
}

const STATES: ReadonlySet<string> = new Set(["new", "ok", "retrying", "held"]);

function fromRow(r: Row): Cursor {
  return {
    destination: r.destination,
    deliveredSeq: r.delivered_seq,
    state: (STATES.has(r.state) ? r.state : "retrying") as CursorState,
    attempts: r.attempts,
    lastError: r.last_error,
    lastSuccessAt: r.last_success_at,
    updatedAt: r.updated_at,
  };
}

/** Reads and writes cursors on an open `audit.db` handle. */
export class CursorStore {
  readonly #db: Database;

  /** `db` is the audit log's handle (`AuditLog.database`). */
  constructor(db: Database) {
    this.#db = db;
  }

  /** The cursor of `destination`, or undefined before its first attempt. */
  get(destination: string): Cursor | undefined {
    const r = this.#db.prepare("SELECT * FROM siem_cursors WHERE destination = ?").get(
      destination,
    ) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Every stored cursor, by name. */
  all(): Cursor[] {
    return (this.#db.prepare("SELECT * FROM siem_cursors ORDER BY destination")
      .all() as unknown as Row[])
      .map(fromRow);
  }

  /** Records that `destination` acknowledged everything through `seq`. Never moves backwards. */
  delivered(destination: string, seq: number, now: Date): void {
    this.#db.prepare(`INSERT INTO siem_cursors
        (destination, delivered_seq, state, attempts, last_error, last_success_at, updated_at)
      VALUES (?, ?, 'ok', 0, NULL, ?, ?)
      ON CONFLICT (destination) DO UPDATE SET
        delivered_seq = MAX(delivered_seq, excluded.delivered_seq), state = 'ok', attempts = 0,
        last_error = NULL, last_success_at = excluded.last_success_at, updated_at = excluded.updated_at`)
      .run(destination, seq, now.toISOString(), now.toISOString());
  }

  /** Records a failed attempt (`retrying` or `held`) without moving the cursor. */
  failed(destination: string, state: "retrying" | "held", error: string, now: Date): Cursor {
    this.#db.prepare(`INSERT INTO siem_cursors
        (destination, delivered_seq, state, attempts, last_error, last_success_at, updated_at)
      VALUES (?, 0, ?, 1, ?, NULL, ?)
      ON CONFLICT (destination) DO UPDATE SET state = excluded.state,
        attempts = attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at`)
      .run(destination, state, error, now.toISOString());
    return this.get(destination)!;
  }
}
